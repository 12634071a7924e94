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
  /** The version the device was updating to (the report's `to.version`). */
  version: string | null;
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
    to_version: string | null;
    outcome: string;
    stage: string;
    reason_code: string | null;
    reason: string | null;
    payload: { health?: FailureView['health'] };
    received_at: Date;
  }>(
    `SELECT r.id, r.device_id, d.hardware_id, r.rollout_id, r.to_version, r.outcome, r.stage, r.reason_code, r.reason, r.payload, r.received_at
       FROM reports r JOIN devices d ON d.id = r.device_id
      WHERE r.outcome <> 'committed' ORDER BY r.received_at DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    reportId: r.id,
    deviceId: r.device_id,
    hardwareId: r.hardware_id,
    rolloutId: r.rollout_id,
    version: r.to_version,
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

export interface RolloutDeviceView {
  deviceId: string;
  hardwareId: string;
  stage: number;
  cohort: string;
  /** pending, offered, committed, failed, silent, or retired. */
  status: string;
  installedVersion: string | null;
  offeredAt: string | null;
  deadlineAt: string | null;
  resolvedAt: string | null;
  reportId: string | null;
  reasonCode: string | null;
}

/** The devices a rollout targets, by stage, with where each one stands. */
export async function rolloutDevices(ctx: ConsoleContext, rolloutId: string): Promise<RolloutDeviceView[]> {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  const rows = await ctx.db.query<{
    device_id: string;
    hardware_id: string;
    stage: number;
    cohort: string;
    status: string;
    installed_version: string | null;
    offered_at: Date | null;
    deadline_at: Date | null;
    resolved_at: Date | null;
    report_id: string | null;
    reason_code: string | null;
  }>(
    `SELECT rd.device_id, d.hardware_id, rd.stage, rd.cohort, rd.status, d.installed_version, rd.offered_at,
            rd.deadline_at, rd.resolved_at, rd.report_id, rd.reason_code
       FROM rollout_devices rd JOIN devices d ON d.id = rd.device_id
      WHERE rd.rollout_id = $1 ORDER BY rd.stage, rd.device_id`,
    [rolloutId],
  );
  return rows.map((r) => ({
    deviceId: r.device_id,
    hardwareId: r.hardware_id,
    stage: Number(r.stage),
    cohort: r.cohort,
    status: r.status,
    installedVersion: r.installed_version,
    offeredAt: iso(r.offered_at),
    deadlineAt: iso(r.deadline_at),
    resolvedAt: iso(r.resolved_at),
    reportId: r.report_id,
    reasonCode: r.reason_code,
  }));
}
