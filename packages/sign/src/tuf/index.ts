export { type BundleVerifierOptions, createBundleVerifier, releaseKeysOf } from './bundle-verifier.js';
export {
  isTopRole,
  parseRepoConfig,
  type RepoConfig,
  type RoleConfig,
  TOP_ROLES,
  type TopRole,
} from './config.js';
export { TufRepoErrors } from './errors.js';
export { type InitRepoOptions, type InitRepoResult, initRepo } from './init.js';
export { Keyring, type KeySources } from './keyring.js';
export {
  type RefreshOptions,
  type RefreshResult,
  type RepoStatus,
  type RoleStatus,
  refreshRepo,
  repoStatus,
} from './maintain.js';
export { SIGNED_AT_FIELD, signMetadata as signTufMetadata } from './metadata.js';
export {
  type AddReleaseOptions,
  addRelease,
  type BundleVerifier,
  listReleases,
  type ReleaseCustom,
  type ReleaseSummary,
  type VerifiedBundleInfo,
} from './releases.js';
export { loadRepo, metadataDir, type RepoState, targetsDir } from './repository.js';
export {
  REVOCATIONS_SCHEMA,
  type Revocation,
  type RevocationList,
  type RevokeReleaseOptions,
  revokeRelease,
} from './revocations.js';
export { type RotateKeysOptions, type RotateKeysResult, rotateKeys } from './rotate.js';
export {
  hashedTargetPath,
  REVOCATIONS_TARGET,
  SIGSTORE_TRUSTED_ROOT_TARGET,
  type SigningOptions,
} from './targets.js';
export { publishedTrustRootPath, publishTrustRoot, type TrustRootOptions } from './trust-root.js';
