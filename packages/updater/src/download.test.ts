import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isClawbackError, sha256Hex } from '@clawback/core';
import { type RangeServer, serveRanged } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadResumable } from './download.js';

let dir: string;
let server: RangeServer;
const body = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31 + (i >> 9)) & 0xff);
const sha = sha256Hex(body);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-dl-'));
  await writeFile(join(dir, 'blob.bin'), body);
  server = await serveRanged(dir);
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const opts = (dest: string) => ({
  url: `${server.url}/blob.bin`,
  dest,
  length: body.byteLength,
  sha256: sha,
  retries: 3,
  timeoutMs: 5000,
});

describe('downloadResumable', () => {
  it('resumes with a Range request after the connection drops mid-body', async () => {
    server.resetCounters();
    server.dropAfter('/blob.bin', 1024 * 1024);
    const dest = join(dir, 'a.bin');
    const r = await downloadResumable(opts(dest));
    expect(r).toMatchObject({ bytes: body.byteLength, attempts: 2 });
    expect(server.requests.map((q) => q.status)).toEqual([200, 206]);
    expect(server.requests[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(sha256Hex(await readFile(dest))).toBe(sha);
  });

  it('resumes a partial file left by an earlier run (a crash)', async () => {
    const dest = join(dir, 'b.bin');
    await writeFile(`${dest}.part`, body.subarray(0, 1_000_000));
    server.resetCounters();
    const r = await downloadResumable(opts(dest));
    expect(r.resumedFrom).toBe(1_000_000);
    expect(server.requests).toEqual([{ path: '/blob.bin', range: 'bytes=1000000-', status: 206 }]);
    expect((await stat(dest)).size).toBe(body.byteLength);
  });

  it('discards a kept partial file that does not verify (a power cut garbled it) and says so', async () => {
    const dest = join(dir, 'g.bin');
    await writeFile(`${dest}.part`, Buffer.alloc(700_000, 9));
    const err = await downloadResumable(opts(dest)).catch((e: unknown) => e);
    expect(isClawbackError(err) && err.code).toBe('DOWNLOAD_FAILED');
    await expect(stat(`${dest}.part`)).rejects.toThrow();
    // The next run starts from the first byte and succeeds.
    expect((await downloadResumable(opts(dest))).resumedFrom).toBe(0);
    expect(sha256Hex(await readFile(dest))).toBe(sha);
  });

  it('starts over when the server ignores Range', async () => {
    const dest = join(dir, 'c.bin');
    await writeFile(`${dest}.part`, body.subarray(0, 500_000));
    server.ignoreRange(true);
    try {
      const r = await downloadResumable(opts(dest));
      expect(r.bytes).toBe(body.byteLength);
      expect(sha256Hex(await readFile(dest))).toBe(sha);
    } finally {
      server.ignoreRange(false);
    }
  });

  it('refuses bytes that do not match the signed hash and keeps nothing', async () => {
    const dest = join(dir, 'd.bin');
    const err = await downloadResumable({ ...opts(dest), sha256: sha256Hex('other') }).catch(
      (e: unknown) => e,
    );
    expect(isClawbackError(err) && err.code).toBe('TARGET_HASH_MISMATCH');
    await expect(stat(dest)).rejects.toThrow();
    await expect(stat(`${dest}.part`)).rejects.toThrow();
  });

  it('stops at the signed length (endless data)', async () => {
    const err = await downloadResumable({ ...opts(join(dir, 'e.bin')), length: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(isClawbackError(err) && err.code).toBe('TARGET_LENGTH_MISMATCH');
  });

  it('gives up with DOWNLOAD_FAILED after its retries, keeping the partial file for the next run', async () => {
    server.failNext('/blob.bin', 503, 10);
    const dest = join(dir, 'f.bin');
    const err = await downloadResumable({ ...opts(dest), retries: 1 }).catch((e: unknown) => e);
    expect(isClawbackError(err) && err.code).toBe('DOWNLOAD_FAILED');
    server.failNext('/blob.bin', 503, 0);
  });
});
