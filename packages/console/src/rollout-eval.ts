/**
 * Stage progress and automatic halts. A device's outcome in a rollout comes only from its
 * signed report (`committed` after probation is the only success) or from the report deadline
 * passing (silent = failed). After each outcome the rollout is re-evaluated in the same
 * transaction: a stage whose failures exceed its allowance halts the rollout (once, with one
 * alert); a stage whose devices have all resolved opens the next stage.
 */
import { raiseAlert } from './alerts.js';
import { appendAudit, lockAuditChain } from './audit.js';
import { bumpStateVersion, type ConsoleContext } from './context.js';
import type { RolloutRow } from './rollouts.js';
import type { Queryable } from './storage/db.js';

export async function offerStage(tx: Queryable, ro: RolloutRow, stage: number, now: Date): Promise<void> {
  await tx.query(
    "UPDATE rollout_devices SET status = 'offered', offered_at = $3, deadline_at = $4 WHERE rollout_id = $1 AND stage = $2 AND status = 'pending'",
    [ro.id, stage, now, new Date(now.getTime() + ro.report_deadline_secs * 1000)],
  );
}

interface StageCount {
  stage: number;
  total: number;
  open: number;
  failed: number;
  committed: number;
}

export async function stageCounts(tx: Queryable, rolloutId: string): Promise<StageCount[]> {
  return tx.query<StageCount>(
    `SELECT stage,
            count(*)::int AS total,
            count(*) FILTER (WHERE status IN ('pending', 'offered'))::int AS open,
            count(*) FILTER (WHERE status IN ('failed', 'silent') AND NOT acknowledged)::int AS failed,
            count(*) FILTER (WHERE status = 'committed')::int AS committed
       FROM rollout_devices WHERE rollout_id = $1 GROUP BY stage ORDER BY stage`,
    [rolloutId],
  );
}

/** Re-evaluate an active rollout. Returns the new state. Call inside the transaction that changed it. */
export async function evaluateRollout(
  ctx: ConsoleContext,
  tx: Queryable,
  rolloutId: string,
): Promise<string> {
  const ro = (await tx.query<RolloutRow>('SELECT * FROM rollouts WHERE id = $1 FOR UPDATE', [rolloutId]))[0];
  if (ro?.state !== 'active') return ro?.state ?? 'unknown';
  const now = ctx.now();
  const counts = await stageCounts(tx, rolloutId);
  for (const c of counts) {
    if (c.stage > ro.current_stage) continue;
    const spec = ro.stages[c.stage];
    const allowed = spec?.maxFailures ?? 0;
    if (c.failed > allowed) {
      const reason = `stage ${c.stage} (${spec?.name ?? '?'}): ${c.failed} of ${c.total} device(s) failed, more than the ${allowed} allowed`;
      await tx.query(
        "UPDATE rollouts SET state = 'halted', halt_reason = $2, updated_at = $3 WHERE id = $1",
        [rolloutId, reason, now],
      );
      await appendAudit(tx, now, 'rollout.halted', {
        rolloutId,
        stage: c.stage,
        failed: c.failed,
        allowed,
        automatic: true,
        reason,
      });
      await raiseAlert(ctx, tx, {
        kind: 'rollout.halted',
        rolloutId,
        summary: `rollout ${ro.name} halted automatically: ${reason}`,
        details: { stage: c.stage, stageName: spec?.name, failed: c.failed, total: c.total, allowed },
      });
      await bumpStateVersion(tx);
      ctx.metrics.inc('clawback_console_rollout_halts_total', { cause: 'threshold' });
      return 'halted';
    }
  }
  const openUpToCurrent = counts.filter((c) => c.stage <= ro.current_stage).reduce((n, c) => n + c.open, 0);
  if (openUpToCurrent > 0) return 'active';
  // Every device offered so far has resolved within the allowance: open the next non-empty stage.
  const next = counts.find((c) => c.stage > ro.current_stage && c.total > 0);
  if (!next) {
    await tx.query("UPDATE rollouts SET state = 'completed', updated_at = $2 WHERE id = $1", [
      rolloutId,
      now,
    ]);
    await appendAudit(tx, now, 'rollout.completed', { rolloutId, stages: counts.length });
    await bumpStateVersion(tx);
    return 'completed';
  }
  await tx.query(
    'UPDATE rollouts SET current_stage = $2, stage_started_at = $3, updated_at = $3 WHERE id = $1',
    [rolloutId, next.stage, now],
  );
  await offerStage(tx, ro, next.stage, now);
  await appendAudit(tx, now, 'rollout.stage-opened', { rolloutId, stage: next.stage, devices: next.total });
  await bumpStateVersion(tx);
  return 'active';
}

/**
 * The report deadline: offered devices of active rollouts that have not reported by their
 * deadline count as failed ("silent"), each with an alert, and their rollouts are re-evaluated.
 */
export async function sweepDeadlines(ctx: ConsoleContext): Promise<{ silent: number; rollouts: string[] }> {
  const now = ctx.now();
  const out = await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const overdue = await tx.query<{ rollout_id: string; device_id: string; deadline_at: Date }>(
      `UPDATE rollout_devices rd SET status = 'silent', resolved_at = $1, reason_code = 'REPORT_DEADLINE_PASSED'
         FROM rollouts r
        WHERE r.id = rd.rollout_id AND r.state = 'active' AND rd.status = 'offered' AND rd.deadline_at <= $1
        RETURNING rd.rollout_id, rd.device_id, rd.deadline_at`,
      [now],
    );
    for (const o of overdue) {
      await appendAudit(tx, now, 'rollout.device-silent', { rolloutId: o.rollout_id, deviceId: o.device_id });
      await raiseAlert(ctx, tx, {
        kind: 'device.silent',
        rolloutId: o.rollout_id,
        deviceId: o.device_id,
        summary: `device ${o.device_id} sent no report by its deadline ${new Date(o.deadline_at).toISOString()}; counted as failed`,
        details: { deadline: new Date(o.deadline_at).toISOString() },
      });
    }
    const rollouts = [...new Set(overdue.map((o) => o.rollout_id))];
    for (const id of rollouts) await evaluateRollout(ctx, tx, id);
    return { silent: overdue.length, rollouts };
  });
  if (out.silent > 0) {
    ctx.cache.desired.clear();
    ctx.onAlertsRaised();
  }
  return out;
}
