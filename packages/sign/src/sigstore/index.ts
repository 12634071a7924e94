// Sigstore keyless signing of in-toto statements (OIDC -> Fulcio -> Rekor [-> TSA]) into a v0.3 bundle.
//
// signStatementKeyless(statementBytes, KeylessOptions) -> Promise<SigstoreBundleJson>
//   KeylessOptions { fulcioURL?, rekorURL?, tsaURL?, tlogUpload?, identityToken?, env?, fetch?,
//                    timeoutMs?, retries?, payloadType?, onProgress? }; URLs default to the public good.
// getIdentityToken({ identityToken?, env?, fetch?, timeoutMs? }) -> the OIDC token (GitHub Actions aware).
// Error codes: SigstoreSignErrors (SIGSTORE_OIDC_UNAVAILABLE = job lacks `permissions: id-token: write`).
// Verify the result with verifySigstoreBundle from @clawback/verify.
export type { SigstoreBundleJson } from '@clawback/verify';
export { SigstoreSignErrors } from './errors.js';
export { type KeylessOptions, SIGSTORE_PUBLIC_GOOD, signStatementKeyless } from './keyless.js';
export {
  decodeIdentityTokenClaims,
  getIdentityToken,
  type IdentityTokenClaims,
  type IdentityTokenOptions,
  SIGSTORE_OIDC_AUDIENCE,
} from './oidc.js';
