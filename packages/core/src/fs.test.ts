import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClawbackError } from './errors.js';
import { hashFile, loadSigner, readJsonChecked, withLock, writeFileAtomic } from './fs.js';
import { encodePrivateKeyFile, generateKeyPair } from './keys.js';
import { redact } from './redact.js';
import { parseDuration, parseSince } from './time.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-fs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces content, applies the mode and leaves no temp files', async () => {
    const p = join(dir, 'state.json');
    await writeFileAtomic(p, 'one');
    await writeFileAtomic(p, 'two', { mode: 0o600 });
    expect(await readFile(p, 'utf8')).toBe('two');
    expect((await stat(p)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json']);
  });
  it('fails with a coded error and leaves the old file when the directory is missing', async () => {
    await expect(writeFileAtomic(join(dir, 'nope', 'x'), 'a')).rejects.toSatisfy((e) =>
      isClawbackError(e, 'FILE_WRITE_FAILED'),
    );
  });
});

describe('files and keys', () => {
  it('hashes a file by streaming', async () => {
    const p = join(dir, 'f');
    await writeFile(p, 'abc');
    expect(await hashFile(p)).toEqual({
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      size: 3,
    });
  });
  it('names missing and malformed files', async () => {
    await expect(readJsonChecked(join(dir, 'missing.json'), 'config')).rejects.toSatisfy((e) =>
      isClawbackError(e, 'FILE_NOT_FOUND'),
    );
    await writeFile(join(dir, 'bad.json'), '{');
    await expect(readJsonChecked(join(dir, 'bad.json'))).rejects.toSatisfy((e) =>
      isClawbackError(e, 'JSON_INVALID'),
    );
  });
  it('loads a signer from a file or an environment variable', async () => {
    const pair = generateKeyPair();
    const p = join(dir, 'k.key');
    await writeFile(p, encodePrivateKeyFile(pair));
    expect((await loadSigner(p)).keyid).toBe(pair.publicKey.keyid);
    expect((await loadSigner('env:K', { K: encodePrivateKeyFile(pair) })).keyid).toBe(pair.publicKey.keyid);
    await expect(loadSigner('env:MISSING', {})).rejects.toSatisfy((e) => isClawbackError(e, 'ENV_MISSING'));
  });
});

describe('withLock', () => {
  it('serializes holders and takes over a stale lock from a dead process', async () => {
    const lock = join(dir, 'x.lock');
    const order: string[] = [];
    await Promise.all([
      withLock(lock, async () => {
        order.push('a1');
        await new Promise((r) => setTimeout(r, 30));
        order.push('a2');
      }),
      withLock(lock, async () => {
        order.push('b1');
        order.push('b2');
      }),
    ]);
    expect(order.join()).toMatch(/^(a1,a2,b1,b2|b1,b2,a1,a2)$/);
    await writeFile(lock, '999999999\n');
    expect(await withLock(lock, async () => 'took over')).toBe('took over');
  });
  it('gives up with LOCK_HELD', async () => {
    const lock = join(dir, 'y.lock');
    await writeFile(lock, `${process.pid}\n`);
    // Held by this live process (a different holder in real use): must not be taken over.
    await expect(withLock(lock, async () => 1, { waitMs: 50 })).rejects.toSatisfy((e) =>
      isClawbackError(e, 'LOCK_HELD'),
    );
  });
});

describe('time and redaction', () => {
  it('parses durations and --since values', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30 days')).toBe(30 * 86_400_000);
    expect(parseDuration('100 years')).toBe(100 * 365 * 86_400_000);
    const now = new Date('2026-05-17T12:00:00Z');
    expect(parseSince('quarter', now).toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(parseSince('30 days', now).toISOString()).toBe('2026-04-17T12:00:00.000Z');
    expect(parseSince('2026-01-02', now).toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(() => parseSince('whenever', now)).toThrow(/cannot read --since/);
  });
  it('redacts tokens and keys', () => {
    const s = redact(
      'token ghp_abcdefghijklmnopqrstuvwxyz0123 and Authorization: Bearer abc.def.ghi and {"private":"deadbeef"} https://x/y?sig=SECRET&a=1',
    );
    expect(s).not.toMatch(/ghp_abc|abc\.def|deadbeef|SECRET/);
  });
});
