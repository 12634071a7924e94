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
  hashedTargetPath,
  listReleases,
  publishTrustRoot,
  REVOCATIONS_SCHEMA,
  REVOCATIONS_TARGET,
  type ReleaseCustom,
  type ReleaseSummary,
  type Revocation,
  type RevocationList,
  type RevokeReleaseOptions,
  revokeRelease,
  SIGSTORE_TRUSTED_ROOT_TARGET,
  type TrustRootOptions,
  type VerifiedBundleInfo,
} from './releases.js';
export { loadRepo, metadataDir, type RepoState, targetsDir } from './repository.js';
export { type RotateKeysOptions, type RotateKeysResult, rotateKeys } from './rotate.js';
