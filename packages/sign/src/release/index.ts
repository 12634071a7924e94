// Release side of bundles: keys, detached manifest signatures, provenance, and the file-level verifier.
//
// verifyBundleFile({ bundlePath, signaturePath?, trustedKeys, threshold, provenancePath?, provenancePolicy?,
//                    sigstoreBundlePath?, trustedRootPath?, now }) -> { ok, checks[], manifest?, bundleSha256? }
export { ReleaseErrors } from './errors.js';
export { hashBundle, openBundle } from './io.js';
export { type GeneratedKeyFiles, type GenerateKeyFilesOptions, generateKeyFiles } from './keys.js';
export {
  type CreateProvenanceOptions,
  type CreateProvenanceResult,
  createProvenance,
  provenancePathFor,
  sigstorePathFor,
} from './provenance.js';
export {
  type SignBundleOptions,
  type SignBundleResult,
  signaturePathFor,
  signBuiltManifest,
  signBundleFile,
} from './sign-bundle.js';
export {
  type BundleVerificationReport,
  readTrustedKeys,
  type VerifyBundleFileOptions,
  verifyBundleFile,
} from './verify-file.js';
