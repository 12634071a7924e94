/**
 * Alerts: raised inside the transaction of the change that caused them (so an alert exists iff
 * the change committed), recorded in the audit log, and delivered to every webhook from a
 * durable outbox. A delivery that fails is retried with growing delays; got retries transient
 * network errors within one attempt.
 */
import { randomUUID } from 'node:crypto';
import { ClawbackError, toBase64 } from '@clawback/core';
import got from 'got';
import { appendAudit, lockAuditChain } from './audit.js';
import type { ConsoleContext } from './context.js';
import { ConsoleErrors } from './errors.js';
import type { Queryable } from './storage/db.js';
import { Fields } from './validate.js';

export type AlertKind = 'update.failed' | 'update.rolled-back' | 'rollout.halted' | 'device.silent';

export interface AlertInput {
  kind: AlertKind;
  summary: string;
  rolloutId?: string;
  deviceId?: string;
  details: Record<string, unknown>;
}

export const ALERT_SCHEMA = 'https://clawback.dev/alert/v1';
export const SIGNATURE_HEADER = 'x-clawback-signature';
/** Outbox schedule: attempt n (1-based) waits this long after failure n before trying again. */
const RETRY_DELAYS_SECS = [5, 30, 120, 600, 1800];

export async function raiseAlert(ctx: ConsoleContext, tx: Queryable, alert: AlertInput): Promise<string> {
  const id = `al_${randomUUID()}`;
  const now = ctx.now();
  await tx.query(
    'INSERT INTO alerts (id, kind, rollout_id, device_id, summary, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)',
    [
      id,
      alert.kind,
      alert.rolloutId ?? null,
      alert.deviceId ?? null,
      alert.summary,
      JSON.stringify(alert.details),
      now,
    ],
  );
  await tx.query(
    `INSERT INTO alert_deliveries (alert_id, webhook_id, status, attempts, next_attempt_at)
     SELECT $1, id, 'pending', 0, $2 FROM webhooks`,
    [id, now],
  );
  await appendAudit(tx, now, 'alert.raised', {
    alertId: id,
    kind: alert.kind,
    summary: alert.summary,
    ...(alert.rolloutId ? { rolloutId: alert.rolloutId } : {}),
    ...(alert.deviceId ? { deviceId: alert.deviceId } : {}),
  });
  ctx.metrics.inc('clawback_console_alerts_total', { kind: alert.kind });
  return id;
}

export async function addWebhook(ctx: ConsoleContext, body: unknown, actor: string): Promise<{ id: string }> {
  const f = new Fields(body);
  const url = f.str('url', { max: 2048 });
  const format = f.str('format', { optional: true, oneOf: ['slack', 'generic'] }) ?? 'generic';
  if (url && !/^https?:\/\//.test(url)) f.problems.push('url: must be an http(s) URL');
  f.done('webhook');
  try {
    new URL(url);
  } catch {
    throw new ClawbackError(ConsoleErrors.WEBHOOK_INVALID, `not a URL: ${url}`, {
      hint: 'Give an absolute http(s) URL.',
    });
  }
  const id = `wh_${randomUUID()}`;
  const now = ctx.now();
  await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    await tx.query('INSERT INTO webhooks (id, url, format, created_at) VALUES ($1, $2, $3, $4)', [
      id,
      url,
      format,
      now,
    ]);
    // The URL may embed a secret (Slack hook paths do); audit only its origin.
    await appendAudit(
      tx,
      now,
      'webhook.added',
      { webhookId: id, origin: new URL(url).origin, format },
      actor,
    );
  });
  return { id };
}

interface DueRow {
  alert_id: string;
  webhook_id: string;
  attempts: number;
  url: string;
  format: string;
  kind: string;
  summary: string;
  rollout_id: string | null;
  device_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

/** The JSON a webhook receives: Slack's `text` form, or the generic signed document. */
export function alertBody(row: Omit<DueRow, 'attempts' | 'url' | 'webhook_id'>, format: string): string {
  if (format === 'slack') {
    const where = [row.rollout_id && `rollout ${row.rollout_id}`, row.device_id && `device ${row.device_id}`]
      .filter(Boolean)
      .join(', ');
    return JSON.stringify({
      text: `:rotating_light: [clawback] ${row.kind}: ${row.summary}${where ? ` (${where})` : ''}`,
    });
  }
  return JSON.stringify({
    schema: ALERT_SCHEMA,
    id: row.alert_id,
    kind: row.kind,
    summary: row.summary,
    rolloutId: row.rollout_id,
    deviceId: row.device_id,
    details: row.payload,
    createdAt: new Date(row.created_at).toISOString(),
  });
}

/** Deliver every due alert once. Returns how many deliveries were attempted. */
export async function deliverDueAlerts(ctx: ConsoleContext, timeoutMs = 5000): Promise<number> {
  const now = ctx.now();
  // Claim with a lease so two replicas never send the same delivery at once.
  const due = await ctx.db.query<DueRow>(
    `UPDATE alert_deliveries d SET status = 'sending', next_attempt_at = $2
       FROM alerts a, webhooks w
      WHERE a.id = d.alert_id AND w.id = d.webhook_id
        AND (d.alert_id, d.webhook_id) IN (
          SELECT alert_id, webhook_id FROM alert_deliveries
           WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1
           ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
      RETURNING d.alert_id, d.webhook_id, d.attempts, w.url, w.format, a.kind, a.summary, a.rollout_id, a.device_id,
                a.payload, a.created_at`,
    [now, new Date(now.getTime() + 60_000)],
  );
  await Promise.all(due.map((row) => deliverOne(ctx, row, timeoutMs)));
  return due.length;
}

async function deliverOne(ctx: ConsoleContext, row: DueRow, timeoutMs: number): Promise<void> {
  const body = alertBody(row, row.format);
  const sig = toBase64(await ctx.signer.sign(Buffer.from(body)));
  let error: string | undefined;
  try {
    await got.post(row.url, {
      body,
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: `keyid="${ctx.signer.keyid}", sig="${sig}"`,
      },
      timeout: { request: timeoutMs },
      retry: { limit: 2, methods: ['POST'] },
      followRedirect: false,
    });
  } catch (err) {
    error = (err as Error).message.slice(0, 300);
  }
  const now = ctx.now();
  const attempts = row.attempts + 1;
  ctx.metrics.inc('clawback_console_webhook_deliveries_total', { result: error ? 'failed' : 'delivered' });
  await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    if (!error) {
      await tx.query(
        "UPDATE alert_deliveries SET status = 'delivered', attempts = $3, delivered_at = $4, last_error = NULL WHERE alert_id = $1 AND webhook_id = $2",
        [row.alert_id, row.webhook_id, attempts, now],
      );
      await appendAudit(tx, now, 'alert.delivered', {
        alertId: row.alert_id,
        webhookId: row.webhook_id,
        attempts,
      });
      return;
    }
    const delay = RETRY_DELAYS_SECS[attempts - 1];
    const status = delay === undefined ? 'failed' : 'pending';
    await tx.query(
      'UPDATE alert_deliveries SET status = $3, attempts = $4, next_attempt_at = $5, last_error = $6 WHERE alert_id = $1 AND webhook_id = $2',
      [row.alert_id, row.webhook_id, status, attempts, new Date(now.getTime() + (delay ?? 0) * 1000), error],
    );
    if (status === 'failed') {
      await appendAudit(tx, now, 'alert.delivery-failed', {
        alertId: row.alert_id,
        webhookId: row.webhook_id,
        attempts,
        error,
      });
    }
  });
}
