import type { Bundle } from '@sigstore/bundle';
import { sigstoreBundle } from './libs.js';
import type { SigstoreBundleJson } from './verify.js';

/**
 * The JSON form of a Sigstore bundle as built by @sigstore/sign (protobuf-specs JSON: base64 bytes,
 * camelCase). Lives here, beside the parser, so both directions use one format definition.
 */
export function sigstoreBundleToJson(bundle: Bundle): SigstoreBundleJson {
  return sigstoreBundle().bundleToJSON(bundle);
}
