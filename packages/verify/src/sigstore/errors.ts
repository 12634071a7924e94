import { defineErrorCodes } from '@clawback/core';

/**
 * Codes thrown by Sigstore bundle verification. Everything a bundle or its certificate can get wrong is
 * `rejected` (exit 1); a trusted root that cannot be used is the verifier's own configuration, so `input`.
 */
export const SigstoreVerifyErrors = defineErrorCodes({
  SIGSTORE_TRUSTED_ROOT_INVALID: 'input',
  SIGSTORE_BUNDLE_INVALID: 'rejected',
  SIGSTORE_BUNDLE_UNSUPPORTED: 'rejected',
  SIGSTORE_SIGNATURE_INVALID: 'rejected',
  SIGSTORE_CERT_UNTRUSTED: 'rejected',
  SIGSTORE_CERT_EXPIRED: 'rejected',
  SIGSTORE_CERT_NOT_YET_VALID: 'rejected',
  SIGSTORE_SCT_INVALID: 'rejected',
  SIGSTORE_TLOG_INVALID: 'rejected',
  SIGSTORE_TIMESTAMP_INVALID: 'rejected',
  SIGSTORE_TIMESTAMP_IN_FUTURE: 'rejected',
  SIGSTORE_PAYLOAD_TYPE_MISMATCH: 'rejected',
  SIGSTORE_PAYLOAD_MISMATCH: 'rejected',
  SIGSTORE_VERIFY_FAILED: 'rejected',
  SIGSTORE_CERT_PROVENANCE_MISMATCH: 'rejected',
});
