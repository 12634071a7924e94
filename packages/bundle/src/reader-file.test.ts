import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HashPool } from './hash-pool.js';
import { readBundle } from './reader.js';
import { sampleAgentSpec, writeSampleAgentDir } from './test-fixtures.js';
import { buildBundle } from './writer.js';

// A bundle read from a file hashes large members on a second thread (MemberOffload); these
// tests check that the split happens and that it changes nothing about what is refused.
let tmp: string;
let path: string;
let manifestBytes: Uint8Array;
let bytes: Buffer;
const big: Record<string, Buffer> = {};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-reader-file-'));
  // Sizes straddle the 1 MiB read blocks and the 256 KiB offload threshold.
  for (const [i, size] of [300_000, 1_100_000, 700_001, 2_300_000, 90_000, 1_048_576].entries()) {
    big[`big-${i}.bin`] = randomBytes(size);
  }
  const dir = await writeSampleAgentDir(join(tmp, 'src'), big);
  const b = await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'a.bundle') });
  path = b.path;
  manifestBytes = b.manifestBytes;
  bytes = await readFile(path);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(tmp, { recursive: true, force: true });
});

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );

describe('readBundle of a file', () => {
  it('verifies, hashing some members on the worker', async () => {
    const spy = vi.spyOn(HashPool.prototype, 'hashRange');
    const r = await readBundle(createReadStream(path), { expectedManifest: manifestBytes });
    expect(r.fileCount).toBe(4 + Object.keys(big).length);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });

  it('refuses one flipped byte in any member, wherever it was hashed', async () => {
    for (const [name, content] of Object.entries(big)) {
      for (const where of [0, Math.floor(content.length / 2), content.length - 1]) {
        const at = bytes.indexOf(content.subarray(0, 64)) + where;
        const tampered = Buffer.from(bytes);
        tampered[at] = (tampered[at] ?? 0) ^ 0x40;
        const file = join(tmp, 'tampered.bundle');
        await writeFile(file, tampered);
        const code = await codeOf(readBundle(createReadStream(file), { expectedManifest: manifestBytes }));
        expect({ name, where, code }).toEqual({ name, where, code: 'BUNDLE_DIGEST_MISMATCH' });
      }
    }
  });

  it('refuses a damaged tar header right after a member the worker hashed (the headers are always read)', async () => {
    const content = big['big-3.bin'] as Buffer;
    const end = bytes.indexOf(content.subarray(0, 64)) + content.length;
    const header = Math.ceil(end / 512) * 512;
    expect(header).toBeLessThan(bytes.length - 1024);
    const tampered = Buffer.from(bytes);
    tampered[header + 3] = (tampered[header + 3] ?? 0) ^ 0x01;
    const file = join(tmp, 'bad-header.bundle');
    await writeFile(file, tampered);
    const code = await codeOf(readBundle(createReadStream(file), { expectedManifest: manifestBytes }));
    expect(['BUNDLE_TAR_INVALID', 'BUNDLE_ENTRY_UNEXPECTED', 'BUNDLE_ENTRY_MISSING']).toContain(code);
  });

  it('refuses a truncated file', async () => {
    const file = join(tmp, 'short.bundle');
    await writeFile(file, bytes.subarray(0, bytes.length - 600_000));
    const code = await codeOf(readBundle(createReadStream(file), { expectedManifest: manifestBytes }));
    expect(code).not.toBe('resolved');
  });
});
