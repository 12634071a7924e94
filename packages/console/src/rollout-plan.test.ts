import { describe, expect, it } from 'vitest';
import { type PlanDevice, planRollout } from './rollout-plan.js';

const release = { agent: 'a.b', channel: 'stable', hardwareIds: ['rpi4'], minUpdaterVersion: '0.2.0' };
const device = (i: number, o: Partial<PlanDevice> = {}): PlanDevice => ({
  id: `d${i}`,
  status: 'active',
  agent: 'a.b',
  channel: 'stable',
  hardwareId: 'rpi4',
  updaterVersion: '0.2.0',
  tags: [],
  ...o,
});
const stages = [
  { name: 'canary', devices: 1, maxFailures: 0 },
  { name: '5%', percent: 5, maxFailureRate: 0.2 },
  { name: '25%', percent: 25, maxFailureRate: 0.1 },
  { name: '100%', percent: 100, maxFailureRate: 0.1 },
];

describe('planRollout', () => {
  it('puts every eligible device in exactly one stage, with cumulative shares', () => {
    const devices = Array.from({ length: 200 }, (_, i) => device(i));
    const plan = planRollout('ro_1', release, {}, stages, devices);
    expect(plan.stages.map((s) => s.devices.length)).toEqual([1, 9, 40, 150]);
    expect(plan.stages.map((s) => s.maxFailures)).toEqual([0, 1, 4, 15]);
    expect(new Set(plan.stages.flatMap((s) => s.devices)).size).toBe(200);
  });

  it('keeps cohorts stable per device: the same rollout picks the same devices whatever the order', () => {
    const devices = Array.from({ length: 50 }, (_, i) => device(i));
    const a = planRollout('ro_1', release, {}, stages, devices);
    const b = planRollout('ro_1', release, {}, stages, [...devices].reverse());
    expect(b.stages).toEqual(a.stages);
    // Another rollout draws its own cohorts, so one device is not always the canary.
    const other = planRollout('ro_2', release, {}, stages, devices);
    expect(other.stages[0]?.devices).not.toEqual(a.stages[0]?.devices);
  });

  it('refuses incompatible hardware, old updaters and inactive devices; ignores devices outside the selector', () => {
    const plan = planRollout('ro_1', release, { tags: ['site:x'] }, stages, [
      device(1, { tags: ['site:x'] }),
      device(2, { tags: ['site:x'], hardwareId: 'jetson' }),
      device(3, { tags: ['site:x'], updaterVersion: '0.1.9' }),
      device(4, { tags: ['site:x'], status: 'pending' }),
      device(5, { tags: ['site:y'] }),
      device(6, { tags: ['site:x'], channel: 'beta' }),
    ]);
    expect(plan.refused.map((r) => [r.deviceId, r.reason])).toEqual([
      ['d2', 'incompatible-hardware'],
      ['d3', 'updater-too-old'],
      ['d4', 'not-active'],
    ]);
    expect(plan.targeted).toBe(1);
  });
});
