/** Release-manager controls on a rollout: halt, resume, abort (docs/console.md "Rollouts"). */
import { appendAudit, lockAuditChain } from './audit.js';
import { bumpStateVersion, type ConsoleContext } from './context.js';
import { getRollout, type RolloutRow, stateError } from './rollouts.js';
import { Fields } from './validate.js';

const TRANSITIONS: Record<
  'halt' | 'resume' | 'abort',
  { from: RolloutRow['state'][]; to: RolloutRow['state'] }
> = {
  halt: { from: ['active'], to: 'halted' },
  resume: { from: ['halted'], to: 'active' },
  abort: { from: ['draft', 'active', 'halted'], to: 'aborted' },
};

/** Halt, resume or abort, by a release manager. Resuming acknowledges the failures so far. */
export async function changeRolloutState(
  ctx: ConsoleContext,
  id: string,
  action: 'halt' | 'resume' | 'abort',
  body: unknown,
  actor: string,
): Promise<RolloutRow> {
  const f = new Fields(body ?? {});
  const reason = f.str('reason', { optional: true, max: 500 });
  f.done(`${action} request`);
  const now = ctx.now();
  const t = TRANSITIONS[action];
  const out = await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const ro = await getRollout(tx, id, true);
    if (!t.from.includes(ro.state)) throw stateError(ro, action);
    const haltReason =
      action === 'halt'
        ? `halted by ${actor}${reason ? `: ${reason}` : ''}`
        : action === 'resume'
          ? null
          : ro.halt_reason;
    await tx.query('UPDATE rollouts SET state = $2, halt_reason = $3, updated_at = $4 WHERE id = $1', [
      id,
      t.to,
      haltReason,
      now,
    ]);
    if (action === 'resume') {
      // Resuming is the release manager's judgement that the failures so far are understood:
      // they stop counting toward the stage threshold, and the stage deadline restarts.
      await tx.query(
        "UPDATE rollout_devices SET acknowledged = true WHERE rollout_id = $1 AND status IN ('failed', 'silent')",
        [id],
      );
      await tx.query(
        "UPDATE rollout_devices SET deadline_at = $2 WHERE rollout_id = $1 AND status = 'offered'",
        [id, new Date(now.getTime() + ro.report_deadline_secs * 1000)],
      );
    }
    await appendAudit(
      tx,
      now,
      `rollout.${action === 'halt' ? 'halted' : action === 'resume' ? 'resumed' : 'aborted'}`,
      {
        rolloutId: id,
        from: ro.state,
        ...(reason ? { reason } : {}),
      },
      actor,
    );
    await bumpStateVersion(tx);
    return getRollout(tx, id);
  });
  ctx.cache.desired.clear();
  if (action === 'halt') ctx.metrics.inc('clawback_console_rollout_halts_total', { cause: 'manual' });
  return out;
}
