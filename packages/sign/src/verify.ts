// Verify-only entry point (`@clawback/sign/verify`): the file-level bundle verifier and nothing of
// the build side. `bundle verify` loads this instead of the package barrel, which would also load
// Sigstore signing, the TUF repository and publishing (~110 ms and ~18 MiB before a byte is read).
export {
  type BundleVerificationReport,
  readTrustedKeys,
  type VerifyBundleFileOptions,
  verifyBundleFile,
} from './release/verify-file.js';
