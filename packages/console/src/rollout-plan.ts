/**
 * Pure rollout planning: which devices a rollout targets, which it must refuse, and which stage
 * each device falls in. Cohorts are stable per device: devices are ordered by
 * SHA-256(rolloutId ":" deviceId), so the same rollout always picks the same canary and the
 * same 5%, and a device's position does not depend on enrollment order.
 */
import { sha256Hex } from '@clawback/core';
import semver from 'semver';

export interface StageSpec {
  name: string;
  /** Exactly one of devices / percent: a fixed count, or a cumulative share of the target set. */
  devices?: number;
  percent?: number;
  /** Halt when this stage's failures exceed maxFailures, or floor(maxFailureRate * stage size). */
  maxFailures?: number;
  maxFailureRate?: number;
}

export interface Selector {
  tags?: string[];
  hardwareIds?: string[];
  deviceIds?: string[];
}

export interface PlanDevice {
  id: string;
  status: string;
  agent: string;
  channel: string;
  hardwareId: string;
  updaterVersion: string;
  tags: string[];
}

export interface PlanRelease {
  agent: string;
  channel: string;
  hardwareIds: string[];
  minUpdaterVersion: string | null;
}

export type RefusalReason = 'incompatible-hardware' | 'updater-too-old' | 'not-active';

export interface PlannedStage {
  index: number;
  name: string;
  /** Devices first offered the release in this stage. */
  devices: string[];
  /** Failures this stage tolerates before the rollout halts. */
  maxFailures: number;
}

export interface RolloutPlan {
  stages: PlannedStage[];
  refused: { deviceId: string; reason: RefusalReason; detail: string }[];
  targeted: number;
}

export const DEFAULT_STAGES: readonly StageSpec[] = [
  { name: 'canary', devices: 1, maxFailures: 0 },
  { name: '5%', percent: 5, maxFailureRate: 0.1 },
  { name: '25%', percent: 25, maxFailureRate: 0.1 },
  { name: '100%', percent: 100, maxFailureRate: 0.1 },
];

export function selects(selector: Selector, release: PlanRelease, d: PlanDevice): boolean {
  if (d.agent !== release.agent || d.channel !== release.channel) return false;
  if (selector.deviceIds && !selector.deviceIds.includes(d.id)) return false;
  if (selector.hardwareIds && !selector.hardwareIds.includes(d.hardwareId)) return false;
  if (selector.tags && !selector.tags.every((t) => d.tags.includes(t))) return false;
  return true;
}

export function cohortKey(rolloutId: string, deviceId: string): string {
  return sha256Hex(`${rolloutId}:${deviceId}`);
}

export function planRollout(
  rolloutId: string,
  release: PlanRelease,
  selector: Selector,
  stages: readonly StageSpec[],
  devices: readonly PlanDevice[],
): RolloutPlan {
  const refused: RolloutPlan['refused'] = [];
  const eligible: string[] = [];
  for (const d of devices) {
    if (!selects(selector, release, d)) continue;
    if (d.status !== 'active') {
      refused.push({ deviceId: d.id, reason: 'not-active', detail: `device is ${d.status}` });
    } else if (release.hardwareIds.length > 0 && !release.hardwareIds.includes(d.hardwareId)) {
      refused.push({
        deviceId: d.id,
        reason: 'incompatible-hardware',
        detail: `${d.hardwareId} is not one of ${release.hardwareIds.join(', ')}`,
      });
    } else if (
      release.minUpdaterVersion !== null &&
      semver.valid(release.minUpdaterVersion) !== null &&
      !(semver.valid(d.updaterVersion) !== null && semver.gte(d.updaterVersion, release.minUpdaterVersion))
    ) {
      refused.push({
        deviceId: d.id,
        reason: 'updater-too-old',
        detail: `updater ${d.updaterVersion} < required ${release.minUpdaterVersion}`,
      });
    } else {
      eligible.push(d.id);
    }
  }
  const ordered = eligible
    .map((id) => ({ id, key: cohortKey(rolloutId, id) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.id);
  const n = ordered.length;
  const planned: PlannedStage[] = [];
  let taken = 0;
  stages.forEach((s, index) => {
    const target =
      s.devices !== undefined
        ? Math.min(n, taken + s.devices)
        : Math.max(taken, Math.ceil(((s.percent ?? 100) / 100) * n));
    const slice = ordered.slice(taken, Math.min(n, target));
    taken += slice.length;
    const maxFailures = s.maxFailures ?? Math.floor((s.maxFailureRate ?? 0) * slice.length);
    planned.push({ index, name: s.name, devices: slice, maxFailures });
  });
  // Devices beyond the last stage's share (a plan that stops short of 100%) are simply not targeted.
  return { stages: planned, refused, targeted: taken };
}
