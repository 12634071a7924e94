/**
 * Rollouts: create (or dry-run) a staged plan for a release, start it with a recorded approval,
 * and halt, resume or abort it. Stage progress and automatic halts live in rollout-eval.ts.
 */
import { randomUUID } from 'node:crypto';
import { ClawbackError } from '@clawback/core';
import { appendAudit, lockAuditChain } from './audit.js';
import { type Principal, roleAtLeast } from './auth.js';
import { bumpStateVersion, type ConsoleContext } from './context.js';
import { ConsoleErrors } from './errors.js';
import { getRelease, type ReleaseRow } from './releases.js';
import { offerStage } from './rollout-eval.js';
import {
  cohortKey,
  DEFAULT_STAGES,
  type PlanDevice,
  planRollout,
  type RolloutPlan,
  type Selector,
  type StageSpec,
} from './rollout-plan.js';
import type { Queryable } from './storage/db.js';
import { Fields, ID_PATTERN } from './validate.js';

export interface RolloutRow {
  id: string;
  release_id: string;
  name: string;
  selector: Selector;
  stages: (StageSpec & { size: number; maxFailures: number })[];
  report_deadline_secs: number;
  state: 'draft' | 'active' | 'halted' | 'aborted' | 'completed';
  current_stage: number;
  stage_started_at: Date | null;
  halt_reason: string | null;
  approval: Record<string, unknown> | null;
  created_at: Date;
  created_by: string;
  updated_at: Date;
}

function parseStages(f: Fields): StageSpec[] {
  const raw = f.raw('stages');
  if (raw === undefined || raw === null) return [...DEFAULT_STAGES];
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 20) {
    f.problems.push('stages: must be an array of 1..20 stages');
    return [];
  }
  return raw.map((s, i) => {
    const sf = new Fields(s, `stages[${i}]`, f.problems);
    const name = sf.str('name', { optional: true, max: 64 }) ?? `stage ${i}`;
    const devices = sf.num('devices', { optional: true, integer: true, min: 1, max: 1_000_000 });
    const percent = sf.num('percent', { optional: true, min: 0.01, max: 100 });
    const maxFailures = sf.num('maxFailures', { optional: true, integer: true, min: 0 });
    const maxFailureRate = sf.num('maxFailureRate', { optional: true, min: 0, max: 1 });
    if ((devices === undefined) === (percent === undefined))
      f.problems.push(`stages[${i}]: give exactly one of devices or percent`);
    return {
      name,
      ...(devices !== undefined ? { devices } : {}),
      ...(percent !== undefined ? { percent } : {}),
      ...(maxFailures !== undefined ? { maxFailures } : {}),
      ...(maxFailureRate !== undefined ? { maxFailureRate } : {}),
    };
  });
}

async function loadPlanDevices(db: Queryable, agent: string): Promise<PlanDevice[]> {
  const rows = await db.query<{
    id: string;
    status: string;
    agent: string;
    channel: string;
    hardware_id: string;
    updater_version: string;
    tags: string[];
  }>('SELECT id, status, agent, channel, hardware_id, updater_version, tags FROM devices WHERE agent = $1', [
    agent,
  ]);
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    agent: r.agent,
    channel: r.channel,
    hardwareId: r.hardware_id,
    updaterVersion: r.updater_version,
    tags: r.tags,
  }));
}

function releasePlanInput(rel: ReleaseRow) {
  return {
    agent: rel.agent,
    channel: rel.channel,
    hardwareIds: rel.hardware_ids,
    minUpdaterVersion: rel.min_updater_version,
  };
}

export interface CreateRolloutResult {
  id: string;
  dryRun: boolean;
  plan: RolloutPlan;
  changeRecord: { ok: boolean; problem: string | null };
}

export async function createRollout(
  ctx: ConsoleContext,
  body: unknown,
  actor: string,
): Promise<CreateRolloutResult> {
  const f = new Fields(body);
  const releaseId = f.str('releaseId', { pattern: ID_PATTERN });
  const name = f.str('name', { optional: true, max: 128 });
  const deadline =
    f.num('reportDeadlineSecs', { optional: true, integer: true, min: 1, max: 30 * 86400 }) ?? 3600;
  const dryRun = f.raw('dryRun') === true;
  const sel = f.sub('selector', true);
  const selector: Selector = {};
  if (sel?.has('tags')) selector.tags = sel.strArray('tags');
  if (sel?.has('hardwareIds')) selector.hardwareIds = sel.strArray('hardwareIds', { pattern: ID_PATTERN });
  if (sel?.has('deviceIds'))
    selector.deviceIds = sel.strArray('deviceIds', { pattern: ID_PATTERN, max: 100_000 });
  const stages = parseStages(f);
  f.done('rollout');
  const rel = await getRelease(ctx, releaseId);
  const id = `ro_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const plan = planRollout(
    id,
    releasePlanInput(rel),
    selector,
    stages,
    await loadPlanDevices(ctx.db, rel.agent),
  );
  const changeRecord = { ok: rel.change_problem === null, problem: rel.change_problem };
  if (dryRun) return { id, dryRun, plan, changeRecord };
  if (!changeRecord.ok) throw changeRecordRefused(rel);
  if (plan.targeted === 0) {
    throw new ClawbackError(ConsoleErrors.ROLLOUT_INVALID, 'the rollout would target no device', {
      hint: 'Check the selector and the release compatibility with a dry run ("dryRun": true).',
      details: { refused: plan.refused.length },
    });
  }
  const now = ctx.now();
  const storedStages = stages.map((s, i) => ({
    ...s,
    size: plan.stages[i]?.devices.length ?? 0,
    maxFailures: plan.stages[i]?.maxFailures ?? 0,
  }));
  await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    await tx.query(
      `INSERT INTO rollouts (id, release_id, name, selector, stages, report_deadline_secs, state, current_stage, created_at, created_by, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, 'draft', 0, $7, $8, $7)`,
      [
        id,
        releaseId,
        name ?? `${rel.agent} ${rel.version}`,
        JSON.stringify(selector),
        JSON.stringify(storedStages),
        deadline,
        now,
        actor,
      ],
    );
    const assignments = plan.stages.flatMap((s) =>
      s.devices.map((d) => ({ d, s: s.index, c: cohortKey(id, d) })),
    );
    await tx.query(
      `INSERT INTO rollout_devices (rollout_id, device_id, stage, cohort, status)
       SELECT $1, v.d, v.s, v.c, 'pending' FROM jsonb_to_recordset($2::jsonb) AS v(d text, s integer, c text)`,
      [id, JSON.stringify(assignments)],
    );
    await appendAudit(
      tx,
      now,
      'rollout.created',
      {
        rolloutId: id,
        releaseId,
        selector,
        stages: storedStages,
        refused: plan.refused.length,
        targeted: plan.targeted,
      },
      actor,
    );
  });
  return { id, dryRun, plan, changeRecord };
}

function changeRecordRefused(rel: ReleaseRow): ClawbackError {
  return new ClawbackError(
    ConsoleErrors.RELEASE_CHANGE_RECORD_INVALID,
    `release ${rel.agent} ${rel.version} has no valid change record: ${rel.change_problem ?? 'unknown'}`,
    { hint: 'Attach the signed record from `clawback approve` (POST /api/v1/releases/<id>/change-record).' },
  );
}

export async function getRollout(db: Queryable, id: string, lock = false): Promise<RolloutRow> {
  const row = (
    await db.query<RolloutRow>(`SELECT * FROM rollouts WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id])
  )[0];
  if (!row) {
    throw new ClawbackError(ConsoleErrors.ROLLOUT_UNKNOWN, `no rollout ${id}`, {
      hint: 'List rollouts with GET /api/v1/rollouts.',
    });
  }
  return row;
}

/**
 * Start a draft rollout. It needs an approval, stored with the rollout: a change-control
 * record from `clawback approve` (the release environment's approval), or the caller's own
 * release-manager token.
 */
export async function startRollout(
  ctx: ConsoleContext,
  id: string,
  body: unknown,
  principal: Principal,
): Promise<RolloutRow> {
  const f = new Fields(body ?? {});
  const record = f.raw('approval');
  f.done('start request');
  const ro = await getRollout(ctx.db, id);
  const rel = await getRelease(ctx, ro.release_id);
  if (rel.change_problem !== null) throw changeRecordRefused(rel);
  const now = ctx.now();
  let approval: Record<string, unknown>;
  if (record !== undefined && record !== null) {
    const check = await ctx.verifyChangeRecord(
      record,
      { agent: rel.agent, version: rel.version, targetPath: rel.target_path, digest: rel.digest },
      now,
    );
    if (!check.ok) {
      throw new ClawbackError(
        ConsoleErrors.ROLLOUT_APPROVAL_REQUIRED,
        `the approval record is not valid: ${check.problem}`,
        {
          hint: 'Record the environment approval with `clawback approve`, or start the rollout with a release-manager token.',
        },
      );
    }
    approval = {
      kind: 'change-record',
      presentedBy: principal.name,
      at: now.toISOString(),
      record: check.summary,
    };
  } else if (roleAtLeast(principal.role, 'release-manager')) {
    approval = {
      kind: 'release-manager-token',
      by: principal.name,
      role: principal.role,
      at: now.toISOString(),
    };
  } else {
    throw new ClawbackError(
      ConsoleErrors.ROLLOUT_APPROVAL_REQUIRED,
      `starting a rollout needs an approval; ${principal.name} is a ${principal.role}`,
      {
        hint: 'Send {"approval": <record from `clawback approve`>}, or use a release-manager token.',
      },
    );
  }
  const started = await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const cur = await getRollout(tx, id, true);
    if (cur.state !== 'draft') throw stateError(cur, 'start');
    await tx.query(
      "UPDATE rollouts SET state = 'active', current_stage = 0, stage_started_at = $2, approval = $3::jsonb, updated_at = $2 WHERE id = $1",
      [id, now, JSON.stringify(approval)],
    );
    await offerStage(tx, cur, 0, now);
    await appendAudit(tx, now, 'rollout.started', { rolloutId: id, approval }, principal.name);
    await bumpStateVersion(tx);
    return getRollout(tx, id);
  });
  ctx.cache.desired.clear();
  return started;
}

export function stateError(ro: RolloutRow, action: string): ClawbackError {
  return new ClawbackError(
    ConsoleErrors.ROLLOUT_STATE,
    `cannot ${action} rollout ${ro.id}: it is ${ro.state}`,
    {
      hint: 'Check its state with GET /api/v1/rollouts/<id>.',
    },
  );
}

export async function listRollouts(db: Queryable): Promise<RolloutRow[]> {
  return db.query<RolloutRow>('SELECT * FROM rollouts ORDER BY ord DESC LIMIT 200');
}
