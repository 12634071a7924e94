// Report delivery against a real HTTP sink that fails, drops connections and restarts: reports
// leave the on-disk queue only once accepted, in order, each stored exactly once.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isClawbackError, parsePublicKey } from '@clawback/core';
import { deviceConfigYaml, makeUpdaterRepo, type ReportSink, startReportSink } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify } from './commands/audit.js';
import { initDevice } from './commands/init.js';
import { enrollDevice, flushReports, sendHeartbeat } from './commands/reports.js';
import { rotateDeviceKey } from './commands/rotate-key.js';
import { openDevice, UPDATER_VERSION } from './device.js';
import { buildReport, signReport } from './report.js';
import type { Transaction } from './state.js';

let tmp: string;
let root: string;
let sink: ReportSink;
let trusted: string;
let cfgPath: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-reports-'));
  const fx = await makeUpdaterRepo(join(tmp, 'fx'));
  sink = await startReportSink();
  const cfg = join(tmp, 'updater.yaml');
  await writeFile(
    cfg,
    deviceConfigYaml({
      repoUrl: 'http://127.0.0.1:9',
      releaseKeyPath: fx.releaseKeyPath,
      consoleUrl: sink.url,
    }),
  );
  root = join(tmp, 'device');
  trusted = fx.trustedRoot;
  cfgPath = cfg;
  const r = await initDevice({ root, trustedRoot: fx.trustedRoot, config: cfg });
  sink.enroll(
    r.deviceId,
    parsePublicKey(await readFile(join(root, 'device-key.pub.json'), 'utf8'), 'device'),
  );
});
afterAll(async () => {
  await sink.close();
  await rm(tmp, { recursive: true, force: true });
});

function txn(n: number): Transaction {
  return {
    id: `txn-${n}`,
    reportId: `00000000-0000-4000-8000-00000000000${n}`,
    startedAt: '2026-11-22T05:00:00.000Z',
    kind: 'update',
    target: {
      agent: 'com.openclaw.sensor_parser',
      version: `1.${n}.0`,
      channel: 'stable',
      targetPath: `com.openclaw.sensor_parser/1.${n}.0/bundle.clawback`,
      length: 1,
      sha256: 'a'.repeat(64),
      hardwareIds: ['rpi4-64'],
      minUpdaterVersion: null,
    },
    from: null,
    slot: 'a',
    phase: 'committed',
    trialBoots: 1,
    outcome: 'committed',
    failure: null,
    health: [],
    probation: null,
    policyHash: null,
    timings: {},
  };
}

async function enqueue(n: number) {
  const device = await openDevice(root);
  const payload = buildReport({
    txn: txn(n),
    outcome: 'committed',
    deviceId: device.config.deviceId,
    now: new Date(),
    auditHead: null,
    policyHash: null,
    updaterVersion: UPDATER_VERSION,
  });
  return device.queue.enqueue(payload.reportId, await signReport(payload, device.signer));
}

const ids = () => sink.reports.map((r) => r.reportId);

describe('enrollment', () => {
  it('sends the device public key; the same id with another key is refused', async () => {
    const device = await openDevice(root);
    const r = await enrollDevice(device, 'tok-123');
    expect(r).toEqual({ deviceId: 'edge-0042', status: 'active' });
    expect(sink.enrollments.at(-1)).toEqual({ deviceId: 'edge-0042', token: 'tok-123' });
    const other = join(tmp, 'other');
    await initDevice({ root: other, trustedRoot: trusted, config: cfgPath });
    const err = await enrollDevice(await openDevice(other), undefined).catch((e: unknown) => e);
    expect(isClawbackError(err) && err.code).toBe('CONSOLE_REFUSED');
    expect((err as { details: { consoleCode: string } }).details.consoleCode).toBe('DEVICE_KEY_CONFLICT');
  });
});

describe('heartbeat', () => {
  it('posts a signed heartbeat naming the installed release and the anchored audit head', async () => {
    const device = await openDevice(root);
    const sent = await sendHeartbeat(device);
    expect(sink.heartbeats.at(-1)).toEqual(sent);
    expect(sent).toMatchObject({ deviceId: 'edge-0042', installed: null, state: 'idle' });
    expect(sent.auditHead?.seq).toBeGreaterThan(0);
  });
});

describe('report queue delivery', () => {
  it('is idempotent on enqueue: the same reportId is queued once', async () => {
    expect(await enqueue(1)).toBe(true);
    expect(await enqueue(1)).toBe(false);
    expect((await (await openDevice(root)).queue.list()).length).toBe(1);
  });

  it('keeps reports queued while the console is down, then delivers them in order after it restarts', async () => {
    await enqueue(2);
    await enqueue(3);
    await sink.stop();
    const down = await flushReports(await openDevice(root));
    expect(down).toMatchObject({ sent: [], pending: 3, error: { code: 'CONSOLE_UNREACHABLE' } });
    await sink.start();
    const up = await flushReports(await openDevice(root));
    expect(up).toMatchObject({ pending: 0, error: null });
    expect(ids()).toEqual([txn(1).reportId, txn(2).reportId, txn(3).reportId]);
  });

  it('retries through 503s and dropped connections; a response lost after storing is not stored twice', async () => {
    await enqueue(4);
    await enqueue(5);
    await enqueue(6);
    sink.failNext(1);
    sink.dropBeforeStore(1);
    sink.dropAfterStore(1);
    // Three faults in a row outlast one flush's retries; the next timer tick finishes the job.
    const first = await flushReports(await openDevice(root));
    expect(first.error?.code).toBe('CONSOLE_UNREACHABLE');
    expect(first.pending).toBe(3);
    const second = await flushReports(await openDevice(root));
    expect(second).toMatchObject({ pending: 0, error: null });
    expect(ids()).toEqual([1, 2, 3, 4, 5, 6].map((n) => txn(n).reportId));
    // The lost response made the device resend; the console answered "duplicate".
    expect(sink.posts.filter((p) => p.status === 200).length).toBeGreaterThanOrEqual(1);
    expect((await (await openDevice(root)).queue.list()).length).toBe(0);
  }, 60_000);

  it('stops at a refusal so later reports never overtake an earlier one', async () => {
    await enqueue(7);
    await enqueue(8);
    const device = await openDevice(root);
    // Make the first queued report unverifiable: re-sign it with another device's key.
    const [first] = await device.queue.list();
    const env = JSON.parse(await readFile(first?.file as string, 'utf8'));
    env.signatures[0].sig = Buffer.alloc(64, 1).toString('base64');
    await writeFile(first?.file as string, JSON.stringify(env));
    const r = await flushReports(device);
    expect(r).toMatchObject({ sent: [], pending: 2, error: { code: 'CONSOLE_REFUSED' } });
    expect(ids()).not.toContain(txn(8).reportId);
  });
});

describe('device key rotation', () => {
  it('rotates the key with a statement signed by the old key; the audit log is anchored by the new key', async () => {
    const before = (await openDevice(root)).signer.keyid;
    const r = await rotateDeviceKey(await openDevice(root));
    expect(r).toMatchObject({ oldKeyId: before, resumed: false });
    expect(sink.keyOf('edge-0042')?.keyid).toBe(r.newKeyId);
    const device = await openDevice(root);
    expect(device.signer.keyid).toBe(r.newKeyId);
    expect((await stat(join(root, 'device-key.json'))).mode & 0o777).toBe(0o600);
    await sendHeartbeat(device);
    expect(sink.heartbeats.length).toBeGreaterThan(0);
    const audit = await auditVerify(device);
    expect(audit).toMatchObject({ ok: true, checkpoint: { status: 'verified' } });
  });

  it('finishes a rotation whose response was lost, by checking that the console accepts the new key', async () => {
    // The console applies the rotation but the response never arrives; the retried POST, still
    // signed by the old key, is refused; the device then proves the console already switched.
    sink.dropRotateResponse(1);
    const before = (await openDevice(root)).signer.keyid;
    const r = await rotateDeviceKey(await openDevice(root));
    expect(r.oldKeyId).toBe(before);
    expect(sink.keyOf('edge-0042')?.keyid).toBe(r.newKeyId);
    expect((await openDevice(root)).signer.keyid).toBe(r.newKeyId);
    await sendHeartbeat(await openDevice(root));
  }, 30_000);
});
