/** `reports flush`, `heartbeat` and `enroll`: what the device tells the console (docs/protocol.md). */
import { readFile } from 'node:fs/promises';
import {
  ClawbackError,
  canonicalJsonBytes,
  fromBase64,
  fromUtf8,
  isClawbackError,
  isoSeconds,
  parseDsseEnvelope,
  signDsse,
} from '@clawback/core';
import { type Device, UPDATER_VERSION } from '../device.js';
import { UpdaterErrors } from '../errors.js';
import { crashPoint } from '../executor.js';
import { HEARTBEAT_PAYLOAD_TYPE } from '../report.js';
import { loadState } from '../state.js';

export interface FlushResult {
  sent: string[];
  duplicates: string[];
  pending: number;
  error: { code: string; message: string } | null;
}

/**
 * POST queued reports in order. A report leaves the queue only once the console answered
 * 201 or 200-duplicate; the first failure stops the flush so later reports never overtake
 * an earlier one.
 */
export async function flushReports(device: Device): Promise<FlushResult> {
  const client = await device.consoleClient();
  const queued = await device.queue.list();
  if (!client) return { sent: [], duplicates: [], pending: queued.length, error: null };
  const sent: string[] = [];
  const duplicates: string[] = [];
  for (const [i, q] of queued.entries()) {
    try {
      const res = await client.postReport(await device.queue.read(q));
      crashPoint(device.env, 'mid:flush');
      await device.queue.remove(q);
      await device.audit.append('updater.report.delivered', {
        reportId: q.reportId,
        duplicate: res.duplicate,
      });
      (res.duplicate ? duplicates : sent).push(q.reportId);
    } catch (err) {
      if (!isClawbackError(err)) throw err;
      await device.audit.append('updater.report.deferred', { reportId: q.reportId, code: err.code });
      await device.audit.checkpoint();
      return {
        sent,
        duplicates,
        pending: queued.length - i,
        error: { code: err.code, message: err.message },
      };
    }
  }
  if (queued.length > 0) await device.audit.checkpoint();
  return { sent, duplicates, pending: 0, error: null };
}

export interface HeartbeatPayload {
  deviceId: string;
  ts: string;
  installed: { version: string; digest: string } | null;
  state: string;
  policyHash: string | null;
  auditHead: { seq: number; hash: string } | null;
}

/** The audit head as anchored by the last signed checkpoint (written at the end of every command). */
async function anchoredHead(device: Device): Promise<{ seq: number; hash: string } | null> {
  try {
    const env = parseDsseEnvelope(JSON.parse(await readFile(`${device.layout.auditLog}.checkpoint`, 'utf8')));
    const cp = JSON.parse(fromUtf8(fromBase64(env.payload) ?? new Uint8Array())) as {
      seq?: unknown;
      hash?: unknown;
    };
    return typeof cp.seq === 'number' && typeof cp.hash === 'string' ? { seq: cp.seq, hash: cp.hash } : null;
  } catch {
    return null;
  }
}

/** `heartbeat`: tell the console what runs here (docs/protocol.md "Heartbeat"), signed with the device key. */
export async function sendHeartbeat(device: Device): Promise<HeartbeatPayload> {
  const client = await device.consoleClient();
  if (!client) {
    throw new ClawbackError(UpdaterErrors.UPDATER_CONFIG_INVALID, 'no console configured', {
      hint: 'Add `console: {url: …}` to updater.yaml and re-provision.',
    });
  }
  const state = await loadState(device.layout.state);
  const payload: HeartbeatPayload = {
    deviceId: device.config.deviceId,
    ts: isoSeconds(device.now()),
    installed: state.committed ? { version: state.committed.version, digest: state.committed.digest } : null,
    state: state.txn ? state.txn.phase : 'idle',
    policyHash: state.committed?.policyHash ?? null,
    auditHead: await anchoredHead(device),
  };
  await client.postHeartbeat(
    await signDsse(HEARTBEAT_PAYLOAD_TYPE, canonicalJsonBytes(payload), [device.signer]),
  );
  return payload;
}

export async function enrollDevice(
  device: Device,
  token: string | undefined,
): Promise<{ deviceId: string; status: string }> {
  const client = await device.consoleClient();
  if (!client) {
    throw new ClawbackError(UpdaterErrors.UPDATER_CONFIG_INVALID, 'no console configured', {
      hint: 'Add `console: {url: …}` to updater.yaml and re-provision, or skip enrollment.',
    });
  }
  const res = await client.enroll({
    hardwareId: device.config.hardwareId,
    agent: device.config.agent,
    channel: device.config.channel,
    updaterVersion: UPDATER_VERSION,
    tags: device.config.tags,
    ...(token ? { enrollmentToken: token } : {}),
  });
  await device.audit.append('updater.enrolled', { deviceId: res.deviceId, status: res.status });
  await device.audit.checkpoint();
  return res;
}
