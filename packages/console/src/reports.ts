/**
 * Signed device reports (docs/protocol.md "Reports"): verified against the enrolled device key,
 * idempotent by reportId, and the only source of a device's outcome in a rollout. Every refusal
 * is counted by reason and stores nothing.
 */
import {
  ClawbackError,
  CoreErrors,
  canonicalJson,
  type DsseEnvelope,
  isClawbackError,
  parseDsseEnvelope,
  parseJson,
  sha256Hex,
  verifyDsse,
} from '@clawback/core';
import { raiseAlert } from './alerts.js';
import { appendAudit, lockAuditChain } from './audit.js';
import { bumpStateVersion, type ConsoleContext } from './context.js';
import { loadDevice, requireActive, unknownDevice } from './devices.js';
import { ConsoleErrors } from './errors.js';
import { REPORT_PAYLOAD_TYPE, REPORT_SCHEMA } from './protocol.js';
import { evaluateRollout } from './rollout-eval.js';
import { Fields, ID_PATTERN } from './validate.js';

export const OUTCOMES = ['committed', 'rolled-back', 'rejected', 'failed'] as const;
export const STAGES = [
  'check',
  'download',
  'verify',
  'install',
  'switch',
  'probation',
  'boot',
  'commit',
  'rollback',
] as const;

export interface ReportPayload {
  reportId: string;
  deviceId: string;
  createdAt: string;
  outcome: (typeof OUTCOMES)[number];
  stage: string;
  reasonCode: string | null;
  reason: string | null;
  rolloutId: string | null;
  toVersion: string | null;
  health: unknown[];
}

function validateReport(value: unknown): ReportPayload {
  const f = new Fields(value, 'payload');
  f.str('schema', { oneOf: [REPORT_SCHEMA] });
  const reportId = f.str('reportId', { pattern: /^[A-Za-z0-9._:-]{8,128}$/ });
  const deviceId = f.str('deviceId', { pattern: ID_PATTERN });
  const createdAt = f.str('createdAt', { max: 40 });
  if (createdAt && !Number.isFinite(Date.parse(createdAt)))
    f.problems.push('payload.createdAt: must be an RFC 3339 time');
  f.str('agent', { max: 256 });
  const outcome = f.str('outcome', { oneOf: OUTCOMES });
  const stage = f.str('stage', { oneOf: STAGES });
  const reasonCode = f.str('reasonCode', { optional: true, pattern: /^[A-Z][A-Z0-9_]{0,63}$/ }) ?? null;
  const reason = f.str('reason', { optional: true, max: 2000 }) ?? null;
  const to = f.sub('to', true);
  const toVersion = to?.str('version', { optional: true, max: 64 }) ?? null;
  f.sub('from', true);
  const rolloutId = f.str('rolloutId', { optional: true, pattern: ID_PATTERN }) ?? null;
  const health = f.raw('health') ?? [];
  if (!Array.isArray(health) || health.length > 100)
    f.problems.push('payload.health: must be an array of at most 100 checks');
  else
    health.forEach((h, i) => {
      const hf = new Fields(h, `payload.health[${i}]`, f.problems);
      hf.str('check', { max: 128 });
      if (typeof hf.raw('ok') !== 'boolean') f.problems.push(`payload.health[${i}].ok: must be a boolean`);
    });
  if (outcome === 'committed' && reasonCode !== null)
    f.problems.push('payload.reasonCode: must be null when outcome is committed');
  f.done('report');
  return {
    reportId,
    deviceId,
    createdAt,
    outcome: outcome as ReportPayload['outcome'],
    stage,
    reasonCode,
    reason,
    rolloutId,
    toVersion,
    health: health as unknown[],
  };
}

export interface IngestResult {
  status: 201 | 200;
  duplicate: boolean;
}

export async function ingestReport(ctx: ConsoleContext, body: unknown): Promise<IngestResult> {
  const refuse = (reason: string) => ctx.metrics.inc('clawback_console_refused_total', { reason });
  let envelope: DsseEnvelope;
  let unverified: Record<string, unknown>;
  try {
    envelope = parseDsseEnvelope(body, 'report');
    if (envelope.payloadType !== REPORT_PAYLOAD_TYPE) {
      throw new ClawbackError(
        CoreErrors.PAYLOAD_TYPE_MISMATCH,
        `report payloadType must be ${REPORT_PAYLOAD_TYPE}`,
      );
    }
    unverified = parseJson(
      Buffer.from(envelope.payload, 'base64').toString('utf8'),
      'report payload',
    ) as Record<string, unknown>;
  } catch (err) {
    refuse('malformed');
    throw err;
  }
  // The payload is untrusted until verified; it is only read here to find whose key to use.
  const claimed = typeof unverified?.deviceId === 'string' ? unverified.deviceId : '';
  const device = claimed ? await loadDevice(ctx, claimed) : undefined;
  if (!device) {
    refuse('unknown_device');
    throw unknownDevice(claimed || '(none)');
  }
  let payloadBytes: Uint8Array;
  try {
    payloadBytes = verifyDsse(envelope, {
      trustedKeys: [device.key],
      threshold: 1,
      payloadType: REPORT_PAYLOAD_TYPE,
      source: `report from ${device.id}`,
    }).payload;
  } catch (err) {
    const other = await signedByOtherDevice(ctx, envelope, device.key.keyid);
    refuse(other ? 'other_device' : 'bad_signature');
    if (isClawbackError(err)) {
      throw new ClawbackError(
        CoreErrors.SIGNATURE_INVALID,
        `report is not signed by device ${device.id}'s enrolled key${other ? ` (it is signed by device ${other})` : ''}`,
        {
          hint: 'A device signs its own reports with its enrolled key; after a key rotation only the new key counts.',
        },
      );
    }
    throw err;
  }
  let report: ReportPayload;
  try {
    report = validateReport(parseJson(Buffer.from(payloadBytes).toString('utf8'), 'report payload'));
  } catch (err) {
    refuse('invalid');
    throw new ClawbackError(ConsoleErrors.REPORT_INVALID, (err as Error).message, {
      hint: 'Send a report in the format of docs/protocol.md; nothing was stored.',
      ...(isClawbackError(err) && err.details ? { details: err.details } : {}),
    });
  }
  requireActive(device);
  const payloadSha = sha256Hex(canonicalJson(report));
  return storeReport(ctx, envelope, report, payloadBytes, payloadSha, refuse);
}

async function signedByOtherDevice(
  ctx: ConsoleContext,
  envelope: DsseEnvelope,
  ownKeyid: string,
): Promise<string | undefined> {
  const keyids = envelope.signatures.map((s) => s.keyid).filter((k) => k && k !== ownKeyid);
  if (keyids.length === 0) return undefined;
  const rows = await ctx.db.query<{ id: string }>('SELECT id FROM devices WHERE keyid = $1 LIMIT 1', [
    keyids[0] ?? '',
  ]);
  return rows[0]?.id;
}

async function storeReport(
  ctx: ConsoleContext,
  envelope: DsseEnvelope,
  report: ReportPayload,
  payloadBytes: Uint8Array,
  payloadSha: string,
  refuse: (reason: string) => void,
): Promise<IngestResult> {
  const now = ctx.now();
  const result = await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const dup = (
      await tx.query<{ payload_sha256: string }>('SELECT payload_sha256 FROM reports WHERE id = $1', [
        report.reportId,
      ])
    )[0];
    if (dup) {
      if (dup.payload_sha256 === payloadSha)
        return { status: 200 as const, duplicate: true, alerts: false, rolloutChanged: false };
      refuse('replayed');
      throw new ClawbackError(
        ConsoleErrors.REPORT_REPLAYED,
        `reportId ${report.reportId} was already used for a different report`,
        {
          hint: 'Each report needs a fresh reportId; resending the identical report is safe.',
        },
      );
    }
    if (report.rolloutId !== null) {
      const ro = await tx.query('SELECT 1 FROM rollouts WHERE id = $1', [report.rolloutId]);
      if (ro.length === 0) {
        refuse('unknown_rollout');
        throw new ClawbackError(
          ConsoleErrors.ROLLOUT_UNKNOWN,
          `report names unknown rollout ${report.rolloutId}`,
          {
            hint: 'Report the rolloutId the console sent in the desired response; nothing was stored.',
          },
        );
      }
    }
    await tx.query(
      `INSERT INTO reports (id, device_id, rollout_id, outcome, stage, reason_code, reason, to_version, payload, payload_sha256,
                            envelope, created_at, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb, $12, $13)`,
      [
        report.reportId,
        report.deviceId,
        report.rolloutId,
        report.outcome,
        report.stage,
        report.reasonCode,
        report.reason,
        report.toVersion,
        Buffer.from(payloadBytes).toString('utf8'),
        payloadSha,
        JSON.stringify(envelope),
        new Date(report.createdAt),
        now,
      ],
    );
    await tx.query(
      `UPDATE devices SET last_report_id = $2, last_outcome = $3, health = $4::jsonb,
              installed_version = CASE WHEN $3 = 'committed' THEN COALESCE($5, installed_version) ELSE installed_version END,
              last_seen = GREATEST(COALESCE(last_seen, $6), $6)
        WHERE id = $1`,
      [
        report.deviceId,
        report.reportId,
        report.outcome,
        JSON.stringify(report.health),
        report.toVersion,
        now,
      ],
    );
    await appendAudit(
      tx,
      now,
      'report.accepted',
      {
        reportId: report.reportId,
        deviceId: report.deviceId,
        outcome: report.outcome,
        stage: report.stage,
        reasonCode: report.reasonCode,
        rolloutId: report.rolloutId,
      },
      report.deviceId,
    );
    const applied = await applyToRollout(ctx, tx, report, now);
    return { status: 201 as const, duplicate: false, ...applied };
  });
  if (result.duplicate) ctx.metrics.inc('clawback_console_reports_duplicate_total');
  else ctx.metrics.inc('clawback_console_reports_total', { outcome: report.outcome });
  if (result.alerts) ctx.onAlertsRaised();
  // A stage that opened or a halt changes other devices' desired state too.
  if (result.rolloutChanged) ctx.cache.desired.clear();
  else if (!result.duplicate) ctx.cache.desired.delete(report.deviceId);
  return { status: result.status, duplicate: result.duplicate };
}

async function applyToRollout(
  ctx: ConsoleContext,
  tx: Parameters<Parameters<ConsoleContext['db']['transaction']>[0]>[0],
  report: ReportPayload,
  now: Date,
): Promise<{ alerts: boolean; rolloutChanged: boolean }> {
  let alerts = false;
  if (report.outcome !== 'committed') {
    alerts = true;
    await raiseAlert(ctx, tx, {
      kind: report.outcome === 'rolled-back' ? 'update.rolled-back' : 'update.failed',
      deviceId: report.deviceId,
      ...(report.rolloutId ? { rolloutId: report.rolloutId } : {}),
      summary: `device ${report.deviceId} ${report.outcome} at ${report.stage}${report.reasonCode ? ` (${report.reasonCode})` : ''}${report.reason ? `: ${report.reason}` : ''}`,
      details: {
        reportId: report.reportId,
        outcome: report.outcome,
        stage: report.stage,
        reasonCode: report.reasonCode,
        health: report.health,
      },
    });
  }
  if (report.rolloutId === null) return { alerts, rolloutChanged: false };
  // Only a device the rollout has offered the release to (or that went silent and reports
  // late) can change the count; anything else is stored as evidence but counts nothing.
  const updated = await tx.query(
    `UPDATE rollout_devices SET status = $3, resolved_at = $4, report_id = $5, reason_code = $6
      WHERE rollout_id = $1 AND device_id = $2 AND status IN ('offered', 'silent') RETURNING device_id`,
    [
      report.rolloutId,
      report.deviceId,
      report.outcome === 'committed' ? 'committed' : 'failed',
      now,
      report.reportId,
      report.reasonCode,
    ],
  );
  if (updated.length === 0) return { alerts, rolloutChanged: false };
  await bumpStateVersion(tx);
  const state = await evaluateRollout(ctx, tx, report.rolloutId);
  return { alerts: alerts || state === 'halted', rolloutChanged: true };
}
