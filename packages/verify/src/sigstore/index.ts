// Sigstore bundles (keyless, DSSE) verified against a pinned trusted_root.json. Pure: no network, no files.
//
// verifySigstoreBundle(bundleJson, { trustedRoot, now, expectedPayload? }) -> SigstoreVerification
//   { payloadType, statementBytes, certificate: CertificateIdentity, timestamps, tlogIndexes }
// crossCheckCertificateWithProvenance(cert, slsaPredicate, { expectedIssuer? }) -> { ok, checks[] }
// assertCertificateMatchesProvenance(...) -> same, or throws SIGSTORE_CERT_PROVENANCE_MISMATCH
// parseTrustedRoot(json) -> SigstoreTrustedRoot (throws SIGSTORE_TRUSTED_ROOT_INVALID listing every problem)
// Error codes: SigstoreVerifyErrors (see docs/sigstore.md).
export {
  type CertificateIdentity,
  certificateIdentity,
  FULCIO_OIDS,
  type FulcioExtensionName,
} from './certificate.js';
export {
  assertCertificateMatchesProvenance,
  type CrossCheck,
  type CrossCheckName,
  type CrossCheckOptions,
  type CrossCheckResult,
  crossCheckCertificateWithProvenance,
  GITHUB_ACTIONS_ISSUER,
} from './crosscheck.js';
export { SigstoreVerifyErrors } from './errors.js';
export { sigstoreBundleToJson } from './serialize.js';
export {
  type AuthoritySummary,
  isSigstoreTrustedRoot,
  parseTrustedRoot,
  type SigstoreTrustedRoot,
  type TrustedRootSummary,
} from './trusted-root.js';
export {
  type SigstoreBundleJson,
  type SigstoreTimestamp,
  type SigstoreVerification,
  type VerifySigstoreOptions,
  verifySigstoreBundle,
} from './verify.js';
