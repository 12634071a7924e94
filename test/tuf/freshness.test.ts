import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { addRelease, refreshRepo } from '@clawback/sign';
import { readTimeFloor } from '@clawback/updater';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { days, type Harness, makeHarness } from './harness.js';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  throw new Error('expected a rejection');
}

const AGENT = 'com.openclaw.camera';

describe('freshness, rollback and mix-and-match', () => {
  let h: Harness;
  const timestamps: Buffer[] = [];
  const targets: Buffer[] = [];
  beforeAll(async () => {
    h = await makeHarness();
    const snap = async () => {
      timestamps.push(await readFile(join(h.repo, 'metadata', 'timestamp.json')));
    };
    await snap();
    targets.push(await readFile(join(h.repo, 'metadata', '1.targets.json')));
    for (const v of ['1.0.0', '1.1.0']) {
      await addRelease({
        repo: h.repo,
        bundle: await h.artifact(AGENT, v),
        channel: 'stable',
        now: h.t0,
        verifyBundle: h.verifier,
      });
      await snap();
    }
  });
  afterAll(async () => h.close());

  it('an expired timestamp is refused, and `repo refresh` fixes it', async () => {
    const later = days(2, h.t0);
    const device = await h.device('expiry', { now: () => later });
    expect(await code(device.refresh())).toBe('TUF_METADATA_EXPIRED');
    const r = await refreshRepo({ repo: h.repo, now: later });
    expect(r.resigned).toContain('timestamp');
    expect((await device.refresh()).timestampVersion).toBe(r.versions.timestamp);
    // Not due again a minute later: cron-safe, nothing re-signed.
    const again = await refreshRepo({ repo: h.repo, now: new Date(later.getTime() + 60_000) });
    expect(again.resigned).toEqual([]);
  });

  it('a refresh of an unchanged repository writes no metadata file', async () => {
    const device = await h.device('unchanged', { now: () => days(1, h.t0) });
    const first = await device.refresh();
    const dir = join(h.dir, 'devices', 'unchanged', 'tuf');
    const files = ['root.json', 'timestamp.json', 'snapshot.json', 'targets.json'];
    const ids = async () =>
      Promise.all(
        files.map(async (f) => ({
          f,
          ...(({ ino, mtimeMs }) => ({ ino, mtimeMs }))(await stat(join(dir, f))),
        })),
      );
    const before = await ids();
    expect((await device.refresh()).timestampVersion).toBe(first.timestampVersion);
    // Every file is still the same inode: nothing was rewritten (atomic writes replace the inode).
    expect(await ids()).toEqual(before);
  });

  it('refuses a timestamp older than the one it trusts (rollback)', async () => {
    const device = await h.device('rollback', { now: () => days(2, h.t0) });
    await device.refresh();
    h.server.override('/metadata/timestamp.json', timestamps[1] as Buffer);
    expect(await code(device.refresh())).toBe('TUF_METADATA_ROLLBACK');
    h.server.clearOverrides();
  });

  it('refuses targets metadata that does not match the snapshot (mix-and-match)', async () => {
    const device = await h.device('mix', { now: () => days(2, h.t0) });
    const status = JSON.parse(await readFile(join(h.repo, 'metadata', 'timestamp.json'), 'utf8'));
    const snapV = status.signed.meta['snapshot.json'].version as number;
    const snapshot = JSON.parse(await readFile(join(h.repo, 'metadata', `${snapV}.snapshot.json`), 'utf8'));
    const targetsV = snapshot.signed.meta['targets.json'].version as number;
    // Really signed targets v1 served where the snapshot names the current version.
    h.server.override(`/metadata/${targetsV}.targets.json`, targets[0] as Buffer);
    expect(await code(device.refresh())).toBe('TUF_METADATA_INVALID');
    h.server.clearOverrides();
    expect((await device.refresh()).targetsVersion).toBe(targetsV);
  });

  it('a clock reset to 1970 neither freezes the device nor locks it out', async () => {
    const now = days(5, h.t0);
    await refreshRepo({ repo: h.repo, now, force: true });
    const floorFile = join(h.dir, 'devices', 'clock', 'floor.json');
    const ok = await h.device('clock', { now: () => now, floorFile });
    await ok.refresh();
    expect((await readTimeFloor(floorFile))?.getTime()).toBe(Math.floor(now.getTime() / 1000) * 1000);

    // The clock resets; the current repository is still accepted (no lock-out) …
    const epoch = new Date(0);
    const reset = await h.device('clock', { now: () => epoch, floorFile });
    const report = await reset.refresh();
    expect(new Date(report.referenceTime).getTime()).toBeGreaterThan(epoch.getTime());

    // … and a replay of stale, validly signed metadata is refused (no freeze), even with a
    // wiped metadata cache, because the floor remembers the newest signed time seen.
    await rm(join(h.dir, 'devices', 'clock', 'tuf', 'timestamp.json'));
    await rm(join(h.dir, 'devices', 'clock', 'tuf', 'snapshot.json'));
    await rm(join(h.dir, 'devices', 'clock', 'tuf', 'targets.json'));
    await rm(join(h.dir, 'devices', 'clock', 'tuf', 'root.json'));
    const frozen = await h.device('clock', { now: () => epoch, floorFile });
    h.server.override('/metadata/timestamp.json', timestamps[2] as Buffer);
    expect(await code(frozen.refresh())).toBe('TUF_METADATA_EXPIRED');
    // The same replay against a device that has no floor yet is what the floor prevents.
    const unfloored = await h.device('no-floor', {
      now: () => epoch,
      floorFile: join(h.dir, 'no-floor.json'),
    });
    expect((await unfloored.refresh()).timestampVersion).toBe(3);
    h.server.clearOverrides();
    expect((await frozen.refresh()).timestampVersion).toBeGreaterThan(3);
  });
});
