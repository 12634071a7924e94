/** Read models for the API and the dashboard: fleet, rollout progress, recent failures. */
import type { ConsoleContext } from './context.js';
import { stageCounts } from './rollout-eval.js';
import { listRollouts, type RolloutRow } from './rollouts.js';

export interface FleetDevice {
  id: string;
  status: string;
  hardwareId: string;
  agent: string;
  channel: string;
  tags: string[];
  updaterVersion: string;
  installedVersion: string | null;
  lastSeen: string | null;
  state: string | null;
  lastOutcome: string | null;
  health: 'ok' | 'failing' | 'unknown';
}

export async function fleetView(ctx: ConsoleContext, limit = 1000): Promise<FleetDevice[]> {
  await ctx.cache.flushLastSeen(ctx.db);
  const rows = await ctx.db.query<{
    id: string;
    status: string;
    hardware_id: string;
    agent: string;
    channel: string;
    tags: string[];
    updater_version: string;
    installed_version: string | null;
    last_seen: Date | null;
    state: string | null;
    last_outcome: string | null;
    health: { ok?: boolean }[] | null;
  }>(
    `SELECT id, status, hardware_id, agent, channel, tags, updater_version, installed_version, last_seen, state, last_outcome, health
       FROM devices ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    hardwareId: r.hardware_id,
    agent: r.agent,
    channel: r.channel,
    tags: r.tags,
    updaterVersion: r.updater_version,
    installedVersion: r.installed_version,
    lastSeen: r.last_seen ? new Date(r.last_seen).toISOString() : null,
    state: r.state,
    lastOutcome: r.last_outcome,
    health:
      r.last_outcome === null && !r.health
        ? 'unknown'
        : r.last_outcome !== null && r.last_outcome !== 'committed'
          ? 'failing'
          : (r.health ?? []).every((h) => h.ok !== false)
            ? 'ok'
            : 'failing',
  }));
}

export interface FailureView {
  reportId: string;
  deviceId: string;
  hardwareId: string;
  rolloutId: string | null;
  outcome: string;
  stage: string;
  reasonCode: string | null;
  reason: string | null;
  health: {
    check?: string;
    ok?: boolean;
    measured?: unknown;
    limit?: unknown;
    unit?: string;
    message?: string;
  }[];
  receivedAt: string;
}

export async function recentFailures(ctx: ConsoleContext, limit: number): Promise<FailureView[]> {
  const rows = await ctx.db.query<{
    id: string;
    device_id: string;
    hardware_id: string;
    rollout_id: string | null;
    outcome: string;
    stage: string;
    reason_code: string | null;
    reason: string | null;
    payload: { health?: FailureView['health'] };
    received_at: Date;
  }>(
    `SELECT r.id, r.device_id, d.hardware_id, r.rollout_id, r.outcome, r.stage, r.reason_code, r.reason, r.payload, r.received_at
       FROM reports r JOIN devices d ON d.id = r.device_id
      WHERE r.outcome <> 'committed' ORDER BY r.received_at DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    reportId: r.id,
    deviceId: r.device_id,
    hardwareId: r.hardware_id,
    rolloutId: r.rollout_id,
    outcome: r.outcome,
    stage: r.stage,
    reasonCode: r.reason_code,
    reason: r.reason,
    health: Array.isArray(r.payload?.health) ? r.payload.health : [],
    receivedAt: new Date(r.received_at).toISOString(),
  }));
}

export interface RolloutView {
  rollout: RolloutRow;
  release: { agent: string; version: string };
  stages: {
    index: number;
    name: string;
    total: number;
    committed: number;
    failed: number;
    open: number;
    maxFailures: number;
  }[];
  offered: number;
  committed: number;
  failed: number;
  failureRate: number;
}

export async function rolloutsView(ctx: ConsoleContext): Promise<RolloutView[]> {
  const rollouts = await listRollouts(ctx.db);
  const releases = new Map(
    (
      await ctx.db.query<{ id: string; agent: string; version: string }>(
        'SELECT id, agent, version FROM releases',
      )
    ).map((r) => [r.id, r]),
  );
  const out: RolloutView[] = [];
  for (const ro of rollouts) {
    const counts = await stageCounts(ctx.db, ro.id);
    const stages = ro.stages.map((s, index) => {
      const c = counts.find((x) => x.stage === index);
      return {
        index,
        name: s.name,
        total: c?.total ?? 0,
        committed: c?.committed ?? 0,
        failed: c?.failed ?? 0,
        open: c?.open ?? 0,
        maxFailures: s.maxFailures,
      };
    });
    const resolved = stages.filter((s) => s.index <= ro.current_stage);
    const committed = resolved.reduce((n, s) => n + s.committed, 0);
    const failed = resolved.reduce((n, s) => n + s.failed, 0);
    const rel = releases.get(ro.release_id);
    out.push({
      rollout: ro,
      release: { agent: rel?.agent ?? '?', version: rel?.version ?? '?' },
      stages,
      offered: ro.state === 'draft' ? 0 : resolved.reduce((n, s) => n + s.total, 0),
      committed,
      failed,
      failureRate: committed + failed === 0 ? 0 : failed / (committed + failed),
    });
  }
  return out;
}
