/**
 * The Sigstore libraries, loaded on first use. Most verifications (a device whose policy has no
 * Sigstore bundle, `bundle verify` without --sigstore-bundle) never touch them, and loading
 * @sigstore/{core,verify,bundle,protobuf-specs} at start-up cost every command tens of
 * milliseconds and several MiB (measured in test/bench). They are CommonJS, so a synchronous
 * `require` keeps every function here synchronous.
 */
import { createRequire } from 'node:module';
import type * as SigstoreBundle from '@sigstore/bundle';
import type * as SigstoreCore from '@sigstore/core';
import type * as ProtobufSpecs from '@sigstore/protobuf-specs';
import type * as SigstoreVerify from '@sigstore/verify';

const load = createRequire(import.meta.url);

let core: typeof SigstoreCore | undefined;
let verify: typeof SigstoreVerify | undefined;
let bundle: typeof SigstoreBundle | undefined;
let specs: typeof ProtobufSpecs | undefined;

export const sigstoreCore = (): typeof SigstoreCore => {
  core ??= load('@sigstore/core') as typeof SigstoreCore;
  return core;
};
export const sigstoreVerify = (): typeof SigstoreVerify => {
  verify ??= load('@sigstore/verify') as typeof SigstoreVerify;
  return verify;
};
export const sigstoreBundle = (): typeof SigstoreBundle => {
  bundle ??= load('@sigstore/bundle') as typeof SigstoreBundle;
  return bundle;
};
export const protobufSpecs = (): typeof ProtobufSpecs => {
  specs ??= load('@sigstore/protobuf-specs') as typeof ProtobufSpecs;
  return specs;
};
