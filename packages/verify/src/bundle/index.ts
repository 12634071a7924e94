export { assertChecks, type Check, failFrom, failWith, pass, runCheck } from './checks.js';
export { BundleVerifyErrors } from './errors.js';
export {
  evaluateProvenanceStatement,
  type ProvenanceEvaluation,
  type ProvenancePolicy,
  type ProvenanceSignatureOptions,
  verifyProvenance,
} from './provenance.js';
export {
  type ManifestSignatureOptions,
  type VerifiedManifest,
  verifyManifestSignature,
} from './signature.js';
export {
  assertCompatible,
  assertVersionPolicy,
  checkCompatibility,
  checkVersionPolicy,
  type DeviceFacts,
  type VersionPolicyInput,
} from './version.js';
