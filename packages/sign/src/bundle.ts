// Bundle-signing entry point (`@clawback/sign/bundle`): detached manifest signatures and reading
// a bundle file, nothing else. `bundle build --key`, `bundle sign` and `bundle inspect` load this
// instead of the package barrel (Sigstore, the TUF repository, publishing), which roughly doubles
// their start-up memory.
export { openBundle } from './release/io.js';
export {
  type SignBundleOptions,
  type SignBundleResult,
  signaturePathFor,
  signBuiltManifest,
  signBundleFile,
} from './release/sign-bundle.js';
