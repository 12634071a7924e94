// End-to-end device scenarios against a real, really signed TUF repository served on 127.0.0.1,
// real bundles built and signed by the project's code, a real agent process started by the
// restart hook, and a report sink that verifies every report's signature.
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  memoryHogAgent,
  type ReportSink,
  startUpdaterLab,
  type UpdaterLab,
  type UpdaterRepoFixture,
} from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify } from './commands/audit.js';
import { bootDevice, deviceStatus } from './commands/device-ops.js';
import { initDevice } from './commands/init.js';
import { applyUpdate, checkForUpdate } from './commands/update.js';
import { openDevice } from './device.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'dist', 'clawback-updater.mjs');

let lab: UpdaterLab;
let tmp: string;
let fx: UpdaterRepoFixture;
let sink: ReportSink;
let root: string;

beforeAll(async () => {
  lab = await startUpdaterLab('clawback-updater-');
  ({ tmp, fx, sink } = lab);
  root = join(tmp, 'device');
  const r = await initDevice({
    root,
    trustedRoot: fx.trustedRoot,
    config: await lab.writeConfig('updater.yaml'),
  });
  await lab.enroll(root, r.deviceId);
});

afterAll(async () => {
  await lab?.close([root]);
});

const device = () => openDevice(root);
const reportFor = (version: string) =>
  sink.reports.filter((r) => (r.to as { version: string }).version === version);

describe('device updater scenarios', () => {
  it('installs v1, then updates v1 -> v2 and commits after probation', async () => {
    await fx.publish({ version: '1.0.0' });
    sink.setDesired({ version: '1.0.0' });
    const first = await applyUpdate(await device());
    expect(first).toMatchObject({ outcome: 'committed', from: null, to: '1.0.0' });
    await fx.publish({ version: '2.0.0' });
    sink.setDesired({ version: '2.0.0', rolloutId: 'ro_v2' });
    const check = await checkForUpdate(await device());
    expect(check).toMatchObject({ updateAvailable: true, installed: '1.0.0', target: { version: '2.0.0' } });
    const second = await applyUpdate(await device());
    expect(second).toMatchObject({ outcome: 'committed', from: '1.0.0', to: '2.0.0', reasonCode: null });
    expect(second.health.map((h) => h.check)).toEqual(
      expect.arrayContaining(['process', 'rss', 'cpu', 'heartbeat-0']),
    );
    expect(await readlink(join(root, 'current'))).toBe('slots/b');
    expect(await readFile(join(root, 'current', 'bin', 'agent'), 'utf8')).toContain('HEARTBEAT');
    const report = reportFor('2.0.0')[0];
    expect(report).toMatchObject({
      outcome: 'committed',
      stage: 'commit',
      from: { version: '1.0.0' },
      reasonCode: null,
      rolloutId: 'ro_v2',
    });
    expect(sink.checkins.every((c) => c.authOk)).toBe(true);
    expect(sink.checkins.some((c) => c.status === 304)).toBe(true);
    expect((await deviceStatus(await device())).committed?.version).toBe('2.0.0');
  });

  it('rolls back v3 whose manifest health check fails, and the report says why', async () => {
    await fx.publish({
      version: '3.0.0',
      files: { 'bin/check': '#!/bin/sh\necho "sensor bus not found" >&2\nexit 3\n' },
      health:
        '{ probation_secs: 1, interval_secs: 1, checks: [ { type: process }, { type: exec, command: [bin/check], timeout_secs: 5 } ] }',
    });
    sink.setDesired({ version: '3.0.0' });
    const r = await applyUpdate(await device());
    expect(r).toMatchObject({
      outcome: 'rolled-back',
      from: '2.0.0',
      to: '3.0.0',
      reasonCode: 'HEALTH_CHECK_FAILED',
    });
    expect(await readlink(join(root, 'current'))).toBe('slots/b');
    const report = reportFor('3.0.0')[0] as { health: { check: string; ok: boolean; measured: unknown }[] };
    expect(report).toMatchObject({
      outcome: 'rolled-back',
      stage: 'probation',
      reasonCode: 'HEALTH_CHECK_FAILED',
    });
    expect(report.health.find((h) => !h.ok)).toMatchObject({ check: 'manifest.exec[1]', measured: 3 });
    // The rolled-back version is never offered again.
    expect((await checkForUpdate(await device())).updateAvailable).toBe(false);
  });

  it('rolls back v4 whose agent exceeds max_working_set_mb (a real process allocating memory)', async () => {
    await fx.publish({ version: '4.0.0', files: { 'bin/agent': memoryHogAgent(96) }, maxWorkingSetMb: 40 });
    sink.setDesired({ version: '4.0.0' });
    const r = await applyUpdate(await device());
    expect(r).toMatchObject({ outcome: 'rolled-back', to: '4.0.0', reasonCode: 'RESOURCE_LIMIT_EXCEEDED' });
    const rss = r.health.find((h) => h.check === 'rss');
    expect(rss).toMatchObject({ ok: false, limit: 40, unit: 'MiB' });
    expect(rss?.measured as number).toBeGreaterThan(40);
    expect(reportFor('4.0.0')[0]).toMatchObject({
      outcome: 'rolled-back',
      reasonCode: 'RESOURCE_LIMIT_EXCEEDED',
    });
    expect((await deviceStatus(await device())).committed?.version).toBe('2.0.0');
  });

  it('rolls back a trial that never passes probation after 3 reboots, by `boot` alone', async () => {
    await fx.publish({ version: '5.0.0' });
    sink.setDesired({ version: '5.0.0' });
    // The device loses power during probation (kill -9 of the real updater process).
    const crashed = await run(process.execPath, [BIN, 'apply', '--root', root, '--json'], {
      env: { ...process.env, CLAWBACK_CRASH_AT: 'before:probation' },
    }).catch((e: { signal?: string }) => e);
    expect((crashed as { signal?: string }).signal).toBe('SIGKILL');
    expect(await readlink(join(root, 'current'))).toBe('slots/a');
    const before = sink.reports.length;
    // Stop the network: the rollback must not need it.
    await sink.stop();
    const boots = [];
    for (let i = 0; i < 3; i++) boots.push(await bootDevice(await device()));
    expect(boots.map((b) => b.outcome)).toEqual(['trial', 'trial', 'rolled-back']);
    expect(boots[2]).toMatchObject({ reasonCode: 'BOOT_ATTEMPTS_EXCEEDED', active: 'b', version: '2.0.0' });
    expect(await readlink(join(root, 'current'))).toBe('slots/b');
    expect(sink.reports.length).toBe(before);
    await sink.start();
    const again = await applyUpdate(await device());
    expect(again.outcome).toBe('up-to-date');
    expect(again.reports?.sent.length).toBeGreaterThanOrEqual(1);
    expect(reportFor('5.0.0')[0]).toMatchObject({
      outcome: 'rolled-back',
      stage: 'boot',
      reasonCode: 'BOOT_ATTEMPTS_EXCEEDED',
    });
  });

  it('keeps a verifiable, checkpointed audit log of every step', async () => {
    const report = await auditVerify(await device());
    expect(report.ok).toBe(true);
    expect(report.checkpoint.status).toBe('verified');
    const log = await readFile(join(root, 'audit', 'audit.log'), 'utf8');
    for (const kind of [
      'updater.verifyRelease',
      'updater.download',
      'updater.writeSlot',
      'updater.switch',
      'updater.probation',
      'updater.commit',
      'updater.rollback',
      'updater.countBoot',
      'updater.report',
    ]) {
      expect(log).toContain(`"kind":"${kind}"`);
    }
  });
});
