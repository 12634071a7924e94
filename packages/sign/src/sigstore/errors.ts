import { defineErrorCodes } from '@clawback/core';

/** Codes thrown while signing keyless. Failures of the identity provider or of Sigstore services are
 * `environment` (exit 4): the input was fine, the surroundings were not. */
export const SigstoreSignErrors = defineErrorCodes({
  SIGSTORE_OIDC_UNAVAILABLE: 'environment',
  SIGSTORE_OIDC_TOKEN_FAILED: 'environment',
  SIGSTORE_OIDC_TOKEN_INVALID: 'environment',
  SIGSTORE_FULCIO_FAILED: 'environment',
  SIGSTORE_REKOR_FAILED: 'environment',
  SIGSTORE_TSA_FAILED: 'environment',
  SIGSTORE_SIGN_FAILED: 'environment',
  SIGSTORE_SIGN_OPTIONS_INVALID: 'usage',
});
