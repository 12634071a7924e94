import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, readAuditLog, verifyAuditLog } from './audit.js';
import { parseAuditEntries, verifyAuditChain } from './audit-chain.js';
import { isClawbackError } from './errors.js';
import { generateKeyPair, signerFromKeyPair } from './keys.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = generateKeyPair();
const other = generateKeyPair();

async function makeLog(n: number, options: { rotateBytes?: number } = {}): Promise<string> {
  const path = join(dir, 'audit.log');
  let t = Date.parse('2026-01-01T00:00:00Z');
  const log = await AuditLog.open(path, {
    signer: signerFromKeyPair(key),
    now: () => {
      t += 1000;
      return new Date(t);
    },
    durable: false,
    ...options,
  });
  for (let i = 0; i < n; i++)
    await log.append('test.event', { i, note: 'x'.repeat(40) }, { actor: 'tester' });
  return path;
}

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).trimEnd().split('\n');
}

function problemCodes(r: { problems: { code: string }[] }): string[] {
  return r.problems.map((p) => p.code);
}

describe('audit log', () => {
  it('verifies an intact log with a signed checkpoint', async () => {
    const path = await makeLog(5);
    const report = await verifyAuditLog(path, { trustedKeys: [key.publicKey] });
    expect(report.ok).toBe(true);
    expect(report.entries).toBe(5);
    expect(report.checkpoint).toMatchObject({ status: 'verified', seq: 5, unanchoredEntries: 0 });
  });

  it('detects an edited entry', async () => {
    const path = await makeLog(5);
    const l = await lines(path);
    l[2] = (l[2] ?? '').replace('"i":2', '"i":9');
    await writeFile(path, `${l.join('\n')}\n`);
    const r = await verifyAuditLog(path, { trustedKeys: [key.publicKey] });
    expect(r.ok).toBe(false);
    expect(problemCodes(r)).toContain('ENTRY_MODIFIED');
    expect(r.problems[0]?.seq).toBe(3);
  });

  it('detects an edited entry whose hash was recomputed (the chain and checkpoint break)', async () => {
    const path = await makeLog(5);
    const { entryHash } = await import('./audit-chain.js');
    const l = await lines(path);
    const e = JSON.parse(l[4] ?? '');
    e.data.i = 99;
    const { hash: _old, ...rest } = e;
    e.hash = entryHash(rest);
    l[4] = JSON.stringify(e);
    await writeFile(path, `${l.join('\n')}\n`);
    const r = await verifyAuditLog(path, { trustedKeys: [key.publicKey] });
    expect(problemCodes(r)).toEqual(['CHECKPOINT_MISMATCH']);
  });

  it('detects a deleted entry', async () => {
    const path = await makeLog(5);
    const l = await lines(path);
    l.splice(1, 1);
    await writeFile(path, `${l.join('\n')}\n`);
    expect(problemCodes(await verifyAuditLog(path))).toContain('ENTRY_MISSING');
  });

  it('detects reordered entries (and does not also call them deleted)', async () => {
    const path = await makeLog(5);
    const l = await lines(path);
    [l[1], l[2]] = [l[2] ?? '', l[1] ?? ''];
    await writeFile(path, `${l.join('\n')}\n`);
    const codes = problemCodes(await verifyAuditLog(path));
    expect(codes).toContain('ENTRIES_REORDERED');
    expect(codes).not.toContain('ENTRY_MISSING');
  });

  it('refuses to append to a truncated log, so the truncation cannot be papered over', async () => {
    const path = await makeLog(5);
    const l = await lines(path);
    await writeFile(path, `${l.slice(0, 3).join('\n')}\n`);
    const log = await AuditLog.open(path, { signer: signerFromKeyPair(key), durable: false });
    await expect(log.append('after.truncation', {})).rejects.toSatisfy((e) =>
      isClawbackError(e, 'AUDIT_LOG_TAMPERED'),
    );
    expect(await lines(path)).toHaveLength(3);
    expect(problemCodes(await verifyAuditLog(path, { trustedKeys: [key.publicKey] }))).toEqual([
      'LOG_TRUNCATED',
    ]);
  });

  it('refuses to append when the newest entry was rewritten under its checkpoint', async () => {
    const path = await makeLog(3);
    const { entryHash } = await import('./audit-chain.js');
    const l = await lines(path);
    const e = JSON.parse(l[2] ?? '');
    e.data.i = 42;
    const { hash: _h, ...rest } = e;
    e.hash = entryHash(rest);
    l[2] = JSON.stringify(e);
    await writeFile(path, `${l.join('\n')}\n`);
    const log = await AuditLog.open(path, { durable: false });
    await expect(log.append('x', {})).rejects.toSatisfy((err) => isClawbackError(err, 'AUDIT_LOG_TAMPERED'));
  });

  it('detects truncation of the newest entries through the checkpoint', async () => {
    const path = await makeLog(5);
    const l = await lines(path);
    await writeFile(path, `${l.slice(0, 3).join('\n')}\n`);
    const r = await verifyAuditLog(path, { trustedKeys: [key.publicKey] });
    expect(problemCodes(r)).toEqual(['LOG_TRUNCATED']);
    expect(r.problems[0]?.message).toMatch(/2 newest entries were deleted/);
  });

  it('rejects a checkpoint signed by another key', async () => {
    const path = await makeLog(3);
    expect(problemCodes(await verifyAuditLog(path, { trustedKeys: [other.publicKey] }))).toEqual([
      'CHECKPOINT_INVALID',
    ]);
  });

  it('rotates into linked files and verifies across them; a removed middle file is detected', async () => {
    const path = await makeLog(40, { rotateBytes: 1500 });
    const names = (await readdir(dir)).filter((n) => /^audit\.log\.\d+$/.test(n)).sort();
    expect(names.length).toBeGreaterThanOrEqual(3);
    const ok = await verifyAuditLog(path, { trustedKeys: [key.publicKey] });
    expect(ok.ok).toBe(true);
    expect(ok.entries).toBe(40 + names.length); // one audit.rotated entry per rotation
    const all = parseAuditEntries((await readAuditLog(path)).files);
    expect(all.filter((e) => e.kind === 'audit.rotated')).toHaveLength(names.length);
    await rm(join(dir, names[1] ?? ''));
    const bad = await verifyAuditLog(path, { trustedKeys: [key.publicKey] });
    expect(problemCodes(bad)).toContain('ENTRY_MISSING');
  });

  it('tolerates retention that removed the oldest files, with a warning', async () => {
    const path = await makeLog(40, { rotateBytes: 1500 });
    const names = (await readdir(dir)).filter((n) => /^audit\.log\.\d+$/.test(n)).sort();
    await rm(join(dir, names[0] ?? ''));
    const r = await verifyAuditLog(path, { trustedKeys: [key.publicKey] });
    expect(r.ok).toBe(true);
    expect(r.startsMidChain).toBe(true);
  });

  it('fails the append (and so the action) when the log cannot be written', async () => {
    const path = join(dir, 'audit.log');
    const log = await AuditLog.open(path, { durable: false });
    await log.append('ok', {});
    await rm(dir, { recursive: true, force: true });
    await writeFile(dir, 'now a file, so the directory is gone');
    await expect(log.append('fails', {})).rejects.toSatisfy((e) => isClawbackError(e, 'AUDIT_APPEND_FAILED'));
    await rm(dir, { force: true });
  });

  it('keeps a single chain when many appends race', async () => {
    const path = join(dir, 'audit.log');
    const log = await AuditLog.open(path, { durable: false });
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append('race', { i })));
    const r = verifyAuditChain((await readAuditLog(path)) as { files: { name: string; text: string }[] });
    expect(r.problems).toEqual([]);
    expect(r.lastSeq).toBe(50);
  });

  it('recovers from an append cut short by a power cut, and records the recovery', async () => {
    const path = await makeLog(3);
    const { appendFile: append } = await import('node:fs/promises');
    await append(path, '{"v":1,"seq":4,"ts":"2026-01-01T00:00:0');
    const log = await AuditLog.open(path, { signer: signerFromKeyPair(key), durable: false });
    const entry = await log.append('after.power.cut', {});
    expect(entry.seq).toBe(5);
    expect(await log.head()).toEqual({ seq: 5, hash: entry.hash });
    const all = parseAuditEntries((await readAuditLog(path)).files);
    expect(all.map((e) => e.kind)).toEqual([
      'test.event',
      'test.event',
      'test.event',
      'audit.recovered',
      'after.power.cut',
    ]);
    expect(all[3]?.data).toMatchObject({
      cutBytes: Buffer.byteLength('{"v":1,"seq":4,"ts":"2026-01-01T00:00:0'),
    });
    expect((await verifyAuditLog(path, { trustedKeys: [key.publicKey] })).ok).toBe(true);
  });

  it('a whole last entry missing only its newline is kept', async () => {
    const path = await makeLog(2);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.trimEnd());
    const log = await AuditLog.open(path, { durable: false });
    expect((await log.append('next', {})).seq).toBe(3);
    expect((await verifyAuditLog(path)).problems).toEqual([]);
  });

  it('names invalid lines', () => {
    const r = verifyAuditChain({ files: [{ name: 'x', text: 'not json\n{"a":1}\n' }] });
    expect(problemCodes(r)).toEqual(['LINE_INVALID', 'LINE_INVALID']);
  });
});
