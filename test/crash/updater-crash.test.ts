// Crash test (design §6 invariants 1–3): run `clawback-updater apply` as a real child process
// (the built bin) and kill -9 it at every persisted step of an update, then run it again. In
// every case `current` must name a complete, verified slot right after the crash, the device
// must converge to the new release, and exactly one report must reach the console.
import { execFile } from 'node:child_process';
import { cp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parsePublicKey } from '@clawback/core';
import {
  hashTree,
  type ReportSink,
  startUpdaterLab,
  stopDeviceAgent,
  type UpdaterLab,
  type UpdaterRepoFixture,
} from '@clawback/testing';
import {
  applyUpdate,
  auditVerify,
  initDevice,
  MID_STEP_CRASH_POINTS,
  openDevice,
  STEP_CRASH_PHASES,
} from '@clawback/updater';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'packages', 'updater', 'dist', 'clawback-updater.mjs');
const APPLY_STEPS = [
  'verifyRelease',
  'download',
  'writeSlot',
  'switch',
  'restart',
  'probation',
  'commit',
  'report',
  'finish',
];
const CRASH_POINTS = [
  ...APPLY_STEPS.flatMap((s) => STEP_CRASH_PHASES.map((p) => `${p}:${s}`)),
  ...MID_STEP_CRASH_POINTS,
];

let lab: UpdaterLab;
let tmp: string;
let fx: UpdaterRepoFixture;
let sink: ReportSink;
let template: string;
let v1Tree: string;
const roots: string[] = [];

beforeAll(async () => {
  lab = await startUpdaterLab('clawback-crash-');
  ({ tmp, fx, sink } = lab);
  const cfg = await lab.writeConfig('updater.yaml', { probationSecs: 0.4 });
  template = join(tmp, 'template');
  await initDevice({ root: template, trustedRoot: fx.trustedRoot, config: cfg });
  const key = await lab.enroll(template, 'edge-0042');
  await fx.publish({ version: '1.0.0', files: { 'lib/data.bin': new Uint8Array(3 * 1024 * 1024).fill(7) } });
  sink.setDesired({ version: '1.0.0' });
  expect((await applyUpdate(await openDevice(template))).outcome).toBe('committed');
  await stopDeviceAgent(template);
  v1Tree = await hashTree(join(template, 'current'));
  await fx.publish({ version: '2.0.0', files: { 'lib/data.bin': new Uint8Array(3 * 1024 * 1024).fill(9) } });
  sink.setDesired({ version: '2.0.0' });
  for (let i = 0; i < CRASH_POINTS.length + 1; i++) sink.enroll(`crash-${i}`, key);
}, 120_000);

afterAll(async () => {
  await lab?.close([template, ...roots]);
});

/** A copy of the v1 device with its own device id (one per crash point). */
async function cloneDevice(i: number): Promise<string> {
  const root = join(tmp, `dev-${i}`);
  await cp(template, root, { recursive: true, verbatimSymlinks: true });
  const cfgPath = join(root, 'config.json');
  const stored = JSON.parse(await readFile(cfgPath, 'utf8'));
  stored.config.deviceId = `crash-${i}`;
  await writeFile(cfgPath, JSON.stringify(stored));
  roots.push(root);
  return root;
}

async function apply(root: string, crashAt?: string) {
  const env = { ...process.env, CLAWBACK_QUIET: '1', ...(crashAt ? { CLAWBACK_CRASH_AT: crashAt } : {}) };
  return run(process.execPath, [BIN, 'apply', '--root', root, '--json'], { env }).then(
    (r) => ({ code: 0, signal: null as string | null, stdout: r.stdout }),
    (e: { code?: number; signal?: string; stdout?: string }) => ({
      code: e.code ?? null,
      signal: e.signal ?? null,
      stdout: e.stdout ?? '',
    }),
  );
}

/** Invariant 1: `current` names a slot whose completion marker matches a release and whose tree is that release. */
async function assertCurrentComplete(root: string, trees: Record<string, string>) {
  const link = await readlink(join(root, 'current'));
  const slot = /slots\/(a|b)$/.exec(link)?.[1];
  expect(slot).toBeDefined();
  const meta = JSON.parse(await readFile(join(root, 'slots', `${slot}.meta.json`), 'utf8'));
  expect(meta.complete).toBe(true);
  expect(await hashTree(join(root, 'current'))).toBe(trees[meta.release.version]);
}

describe('kill -9 at every persisted step of apply', () => {
  it('always leaves a complete slot, converges, and delivers exactly one report', async () => {
    const trees: Record<string, string> = { '1.0.0': v1Tree };
    // A reference run without crashes gives the v2 tree.
    const ref = await cloneDevice(CRASH_POINTS.length);
    expect((await apply(ref)).code).toBe(0);
    trees['2.0.0'] = await hashTree(join(ref, 'current'));
    let covered = 0;
    for (const [i, point] of CRASH_POINTS.entries()) {
      const root = await cloneDevice(i);
      const crashed = await apply(root, point);
      expect({ point, signal: crashed.signal }).toEqual({ point, signal: 'SIGKILL' });
      covered += 1;
      await assertCurrentComplete(root, trees);
      const again = await apply(root);
      expect({ point, code: again.code, out: again.code === 0 ? null : again.stdout }).toEqual({
        point,
        code: 0,
        out: null,
      });
      await assertCurrentComplete(root, trees);
      const state = JSON.parse(await readFile(join(root, 'state.json'), 'utf8'));
      expect({ point, version: state.committed?.version, txn: state.txn }).toEqual({
        point,
        version: '2.0.0',
        txn: null,
      });
      expect({ point, queued: await readdir(join(root, 'reports', 'queue')) }).toEqual({ point, queued: [] });
      const mine = sink.reports.filter((r) => r.deviceId === `crash-${i}`);
      expect({ point, reports: mine.map((r) => r.outcome) }).toEqual({ point, reports: ['committed'] });
      // The device's hash chain survived the kill and is anchored again by the rerun.
      const audit = await auditVerify(await openDevice(root));
      expect({ point, ok: audit.ok, checkpoint: audit.checkpoint.status }).toEqual({
        point,
        ok: true,
        checkpoint: 'verified',
      });
      await stopDeviceAgent(root);
      await rm(root, { recursive: true, force: true });
    }
    console.log(
      `crash points covered (update path): ${covered} of ${CRASH_POINTS.length}: ${CRASH_POINTS.join(', ')}`,
    );
    expect(covered).toBe(CRASH_POINTS.length);
  }, 900_000);

  it('on the rollback path too: a failing trial always ends rolled back with one report', async () => {
    await fx.publish({
      version: '3.0.0',
      files: { 'bin/check': '#!/bin/sh\nexit 1\n' },
      health:
        '{ probation_secs: 1, interval_secs: 1, checks: [ { type: exec, command: [bin/check], timeout_secs: 5 } ] }',
    });
    sink.setDesired({ version: '3.0.0' });
    const points = ['probation', 'rollback', 'report', 'finish'].flatMap((s) =>
      STEP_CRASH_PHASES.map((p) => `${p}:${s}`),
    );
    let covered = 0;
    for (const [j, point] of points.entries()) {
      const i = 1000 + j;
      sink.enroll(
        `crash-${i}`,
        parsePublicKey(await readFile(join(template, 'device-key.pub.json'), 'utf8'), 'key'),
      );
      const root = await cloneDevice(i);
      const crashed = await apply(root, point);
      expect({ point, signal: crashed.signal }).toEqual({ point, signal: 'SIGKILL' });
      covered += 1;
      await assertCurrentComplete(root, {
        '1.0.0': v1Tree,
        '3.0.0': await hashTree(join(root, 'slots', 'b')),
      });
      const again = await apply(root);
      // After `finish` the rollback already happened; the rerun finds nothing to do.
      expect({ point, code: again.code }).toEqual({ point, code: point === 'after:finish' ? 0 : 1 });
      expect(await hashTree(join(root, 'current'))).toBe(v1Tree);
      const state = JSON.parse(await readFile(join(root, 'state.json'), 'utf8'));
      expect({ point, version: state.committed?.version, txn: state.txn }).toEqual({
        point,
        version: '1.0.0',
        txn: null,
      });
      const mine = sink.reports.filter((r) => r.deviceId === `crash-${i}`);
      expect({ point, reports: mine.map((r) => [r.outcome, r.reasonCode]) }).toEqual({
        point,
        reports: [['rolled-back', 'HEALTH_CHECK_FAILED']],
      });
      await stopDeviceAgent(root);
      await rm(root, { recursive: true, force: true });
    }
    console.log(`crash points covered (rollback path): ${covered} of ${points.length}: ${points.join(', ')}`);
    expect(covered).toBe(points.length);
  }, 600_000);
});
