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

// `require` caches each module after its first load, so these cost a map lookup after that.
const load = createRequire(import.meta.url);

export const sigstoreCore = () => load('@sigstore/core') as typeof SigstoreCore;
export const sigstoreVerify = () => load('@sigstore/verify') as typeof SigstoreVerify;
export const sigstoreBundle = () => load('@sigstore/bundle') as typeof SigstoreBundle;
export const protobufSpecs = () => load('@sigstore/protobuf-specs') as typeof ProtobufSpecs;
