// Every runbooks/*.md (except README.md) is executed; a runbook passes when its script exits 0.
// Runbooks assert their own outcomes in shell (a step that must fail is written as
// `if …; then exit 1; fi`); the checks below add what a reader of the result files can confirm.
import { readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, type RunResult, runRunbook } from './runner.js';

const RUNBOOKS = readdirSync(join(PROJECT_ROOT, 'runbooks'))
  .filter((f) => f.endsWith('.md') && f !== 'README.md')
  .sort();

const rootVersion = async (dir: string, file: string) =>
  (JSON.parse(await readFile(join(dir, file), 'utf8')) as { signed: { version: number } }).signed.version;

/** Extra outcome checks for specific runbooks, on the files they leave behind. */
const OUTCOMES: Record<string, (r: RunResult) => Promise<void>> = {
  'key-rotation.md': async (r) => {
    // The device pinned to root v1 followed every rotation in the runbook.
    expect(await rootVersion(r.dir, 'device/tuf/root.json')).toBe(
      await rootVersion(r.dir, 'tuf-repo/metadata/root.json'),
    );
    expect(await rootVersion(r.dir, 'device/tuf/root.json')).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toMatch(/clawback-tuf-conformance: TUF_METADATA_INVALID/);
  },
  'failed-update-response.md': async (r) => {
    const json = async (f: string) => JSON.parse(await readFile(join(r.dir, f), 'utf8'));
    // The canary device rolled itself back and said why; the console has that signed report.
    expect(await json('apply-canary-1.json')).toMatchObject({ outcome: 'rolled-back' });
    const failure = (await json('failures.json')).failures[0];
    expect(failure).toMatchObject({ outcome: 'rolled-back', reasonCode: 'HEALTH_CHECK_FAILED' });
    expect(failure.health).toEqual(expect.arrayContaining([expect.objectContaining({ ok: false })]));
    // After the revocation a device asked for the bad release refused it before installing.
    expect((await json('apply-canary-2.json')).reasonCode).toMatch(/^(RELEASE_REVOKED|TUF_TARGET_UNKNOWN)$/);
    // The fix reached every device; the halt is in the console's signed audit log.
    for (const d of ['edge-01', 'edge-02', 'edge-03'])
      expect((await json(`devices/${d}/root/state.json`)).committed.version).toBe('1.5.1');
    const audit = await readFile(join(r.dir, 'incident-console-audit.jsonl'), 'utf8');
    expect(audit).toMatch(/"kind":"rollout\.halted".*INC-2291/);
    expect(audit).toMatch(/"kind":"rollout\.aborted"/);
    expect(r.stdout).toMatch(/REVOKED .*INC-2291/);
  },
  'emergency-change.md': async (r) => {
    const json = async (f: string) => JSON.parse(await readFile(join(r.dir, f), 'utf8'));
    // Shipped flagged, completed by the retro review, rejected when the window passed without one.
    expect(await json('approve-emergency.json')).toMatchObject({ status: 'emergency-pending-retro' });
    expect((await json('release-1.5.1.json')).changeRecord).toMatchObject({
      ok: true,
      summary: { decision: 'emergency-pending-retro', emergency: true },
    });
    expect(await json('approve-retro.json')).toMatchObject({ status: 'emergency-retro-complete' });
    const releases = (await json('releases.json')).releases as unknown[];
    expect(JSON.stringify(releases)).toMatch(/emergency-retro-complete/);
    expect(await readFile(join(r.dir, 'approve-missing.err'), 'utf8')).toMatch(
      /CHANGE_NOT_APPROVED.*emergency-retro-review-missing/,
    );
  },
  'device-reprovisioning.md': async (r) => {
    const json = async (f: string) => JSON.parse(await readFile(join(r.dir, f), 'utf8'));
    // The wiped device could not take over its old id with a new key; under its new id it runs 1.4.0.
    expect(await readFile(join(r.dir, 'enroll-conflict.err'), 'utf8')).toMatch(/DEVICE_KEY_CONFLICT/);
    expect((await json('devices/edge-02/root/state.json')).committed.version).toBe('1.4.0');
    expect(await readFile(join(r.dir, 'devices-after-reprovisioning.txt'), 'utf8')).toMatch(
      /^edge-02-r1\tactive\t1\.4\.0/m,
    );
    // After the rotation a report signed with the old key was refused and stays queued.
    const rotated = (await json('console-audit-tail.json')).entries.find(
      (e: { kind: string }) => e.kind === 'device.key-rotated',
    );
    expect(rotated.data.newKeyid).toBe((await json('devices/edge-01/root/device-key.pub.json')).keyid);
    expect(rotated.data.oldKeyid).toBe((await json('stale-image-edge-01/device-key.pub.json')).keyid);
    expect(await json('stale-flush.json')).toMatchObject({ pending: 1, error: { code: 'CONSOLE_REFUSED' } });
    expect((await json('stale-flush.json')).error.message).toMatch(/SIGNATURE_INVALID/);
  },
  'agent-to-hub-key-rotation.md': async (r) => {
    const json = async (f: string) => JSON.parse(await readFile(join(r.dir, f), 'utf8'));
    const text = (f: string) => readFile(join(r.dir, f), 'utf8');
    // Every device key changed and the console recorded each rotation; the old key is refused.
    const ids = (t: string) =>
      t
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[1]);
    const before = ids(await text('keys-before.txt'));
    const after = ids(await text('keys-after.txt'));
    expect(after).toHaveLength(4);
    for (const k of after) expect(before).not.toContain(k);
    expect((await text('rotated.count')).trim()).toBe('4');
    expect(await text('stale-heartbeat.err')).toMatch(/SIGNATURE_INVALID/);
    // The console key changed; webhook bodies verify only with the new one.
    expect((await json('console-2.json')).keyid).not.toBe((await json('console-1.json')).keyid);
    expect(r.stdout).toMatch(/signature valid for console-2\.pub/);
    expect(r.stdout).toMatch(/signature INVALID for console-1\.pub/);
    // A record signed with the retired change-record key cannot put a release into a rollout.
    expect((await json('release-old-key.json')).changeRecord.ok).toBe(false);
    expect(await text('rollout-old-key.err')).toMatch(/RELEASE_CHANGE_RECORD_INVALID/);
  },
  'revoke-release.md': async (r) => {
    expect(r.stderr).toMatch(/TUF_TARGET_UNKNOWN/);
  },
  'expired-metadata.md': async (r) => {
    expect(r.stderr).toMatch(/TUF_METADATA_EXPIRED/);
    expect(r.stderr).toMatch(/TUF_KEY_MISSING/);
  },
};

describe('runbooks are executable and do what they say', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    // CLAWBACK_RUNBOOK_KEEP=1 keeps each runbook's directory (with its output) for inspection.
    if (process.env.CLAWBACK_RUNBOOK_KEEP) return;
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('finds the runbooks', () => {
    expect(RUNBOOKS).toEqual(
      expect.arrayContaining(['key-rotation.md', 'revoke-release.md', 'expired-metadata.md']),
    );
  });

  for (const file of RUNBOOKS) {
    it(`runbooks/${file}`, { timeout: 900_000 }, async () => {
      const r = await runRunbook(join(PROJECT_ROOT, 'runbooks', file));
      dirs.push(r.dir);
      if (process.env.CLAWBACK_RUNBOOK_KEEP) {
        await writeFile(join(r.dir, '.runbook.stdout'), r.stdout);
        await writeFile(join(r.dir, '.runbook.stderr'), r.stderr);
        console.log(`runbooks/${file}: kept ${r.dir}`);
      }
      if (r.code !== 0) {
        const tail = (s: string) => s.split('\n').slice(-40).join('\n');
        throw new Error(
          `runbooks/${file} failed with exit ${r.code}\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`,
        );
      }
      await OUTCOMES[file]?.(r);
    });
  }
});
