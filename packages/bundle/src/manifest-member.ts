import { ClawbackError } from '@clawback/core';
import { Parser, type ReadEntry } from 'tar';
import { BundleErrors } from './errors.js';
import { decodeManifest, MAX_MANIFEST_BYTES } from './manifest.js';
import { MANIFEST_PATH, type Manifest } from './manifest-types.js';

/**
 * Read only the first member of a bundle, `clawback/manifest.json`, and stop:
 * what a signer signs. The payload is not read (the signature covers the
 * manifest, which covers every file by digest; `readBundle` checks those).
 */
export async function readManifestMember(
  source: AsyncIterable<Uint8Array>,
  maxBytes = MAX_MANIFEST_BYTES,
): Promise<{ manifest: Manifest; manifestBytes: Uint8Array }> {
  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024 });
  let result: Uint8Array | undefined;
  let error: unknown;
  const bad = (message: string) =>
    new ClawbackError(BundleErrors.BUNDLE_MANIFEST_MISMATCH, message, {
      hint: 'Is this a bundle built by `clawback bundle build`?',
    });
  parser.on('entry', (entry: ReadEntry) => {
    if (result !== undefined || error !== undefined) {
      entry.resume();
      return;
    }
    if (entry.path !== MANIFEST_PATH || entry.type !== 'File' || entry.size > maxBytes) {
      error = bad(
        `first member is ${entry.path} (${entry.type}, ${entry.size} bytes), expected ${MANIFEST_PATH}`,
      );
      entry.resume();
      return;
    }
    const parts: Buffer[] = [];
    entry.on('data', (c: Buffer) => parts.push(c));
    entry.on('end', () => {
      result = new Uint8Array(Buffer.concat(parts));
    });
    entry.resume();
  });
  parser.on('error', (err: unknown) => {
    error ??= new ClawbackError(BundleErrors.BUNDLE_TAR_INVALID, `not a valid bundle tar: ${String(err)}`);
  });
  for await (const chunk of source) {
    parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (result !== undefined || error !== undefined) break;
  }
  if (error !== undefined) throw error;
  if (result === undefined) throw bad(`no ${MANIFEST_PATH} member: not a Clawback bundle`);
  return { manifest: decodeManifest(result, { source: MANIFEST_PATH }), manifestBytes: result };
}
