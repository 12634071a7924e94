// Fleet simulation: 200 devices, each with its own Ed25519 key, speaking the device protocol to a
// real console over loopback. A release that is bad on one hardware id halts at the canary or
// 5% stage, alerts once, and reaches no device outside the stages already offered; a good
// release completes across the fleet.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ConsoleRepo, requestJson, type SimDevice } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollFleet, registerRelease, repoFor } from '../console/fixtures.js';
import { startConsole, type TestConsole } from '../console/harness.js';

const N = 200;
const BAD_HW = 'rpi4';
const STAGES = [
  { name: 'canary', devices: 1, maxFailures: 0 },
  { name: '5%', percent: 5, maxFailures: 0 },
  { name: '25%', percent: 25, maxFailureRate: 0.1 },
  { name: '100%', percent: 100, maxFailureRate: 0.1 },
];

interface Desired {
  rolloutId: string;
  version: string;
  stage: number;
}

/** Run `fn` over items with at most `n` in flight (a fleet polls concurrently, not in lockstep). */
async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T);
      }
    }),
  );
}

describe('fleet of 200 simulated devices', () => {
  let c: TestConsole;
  let fleet: SimDevice[];
  let hook: Server;
  let repo: ConsoleRepo | undefined;
  const alerts: { kind: string; rolloutId: string | null }[] = [];
  const installs = new Map<string, string[]>(); // version -> device ids that installed it

  beforeAll(async () => {
    c = await startConsole('pglite');
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (x) => {
        body += String(x);
      });
      req.on('end', () => {
        alerts.push(JSON.parse(body) as { kind: string; rolloutId: string | null });
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
    await requestJson(c.url, 'POST', '/api/v1/webhooks', { url: hookUrl, format: 'generic' }, c.tokens.admin);
    // Half the fleet is on the hardware the bad release breaks.
    fleet = await enrollFleet(c, N, (i) => ({
      hardwareId: i % 2 === 0 ? BAD_HW : i % 4 === 1 ? 'rpi5' : 'jetson',
    }));
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    hook?.close();
  });

  /** One polling round: every device checks in; offered devices install and report. */
  async function round(version: string, badOn: string | null): Promise<number> {
    let installed = 0;
    await pool(fleet, 16, async (d) => {
      const r = await d.checkin(c.url);
      const desired = r.status === 200 ? (r.body as { desired: Desired | null }).desired : null;
      if (!desired || desired.version !== version || d.installed === version) return;
      installed += 1;
      const list = installs.get(version) ?? [];
      list.push(d.id);
      installs.set(version, list);
      if (d.hardwareId === badOn) {
        const res = await d.report(c.url, {
          outcome: 'rolled-back',
          rolloutId: desired.rolloutId,
          stage: 'probation',
          to: { version },
          reasonCode: 'HEALTH_CHECK_FAILED',
          reason: 'sensor bus not found',
          health: [{ check: 'exec', ok: false, message: 'bin/check exited 3' }],
        });
        expect(res.status).toBe(201);
      } else {
        const res = await d.report(c.url, {
          outcome: 'committed',
          rolloutId: desired.rolloutId,
          to: { version },
        });
        expect(res.status).toBe(201);
        d.installed = version;
      }
    });
    return installed;
  }

  async function rollout(version: string): Promise<string> {
    repo ??= await repoFor(c);
    const rel = await registerRelease(c, repo, version, { hardwareIds: ['rpi4', 'rpi5', 'jetson'] });
    const created = await requestJson(
      c.url,
      'POST',
      '/api/v1/rollouts',
      { releaseId: rel.id, stages: STAGES },
      c.tokens.rm,
    );
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect((await requestJson(c.url, 'POST', `/api/v1/rollouts/${id}/start`, {}, c.tokens.rm)).status).toBe(
      200,
    );
    return id;
  }

  it('halts a release that is bad on one hardware id at the canary or 5% stage, alerting once', async () => {
    const id = await rollout('4.0.0');
    // Which stage holds the first device on the bad hardware decides where it must halt.
    const members = await c.server.db.query<{ device_id: string; stage: number }>(
      'SELECT device_id, stage FROM rollout_devices WHERE rollout_id = $1',
      [id],
    );
    const hwOf = new Map(fleet.map((d) => [d.id, d.hardwareId]));
    const haltStage = Math.min(
      ...members.filter((m) => hwOf.get(m.device_id) === BAD_HW).map((m) => m.stage),
    );
    expect(haltStage).toBeLessThanOrEqual(1);
    for (let i = 0; i < 10 && (await round('4.0.0', BAD_HW)) > 0; i++);
    const view = await requestJson(c.url, 'GET', `/api/v1/rollouts/${id}`, undefined, c.tokens.viewer);
    expect(view.body).toMatchObject({ rollout: { state: 'halted', current_stage: haltStage } });
    // Nobody outside the stages opened before the halt was ever offered the release.
    const stageOf = new Map(members.map((m) => [m.device_id, m.stage]));
    const installedBy = installs.get('4.0.0') ?? [];
    expect(installedBy.length).toBeGreaterThan(0);
    for (const deviceId of installedBy) expect(stageOf.get(deviceId)).toBeLessThanOrEqual(haltStage);
    const rows = await c.server.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM rollout_devices WHERE rollout_id = $1 AND stage > $2 AND status <> 'pending'",
      [id, haltStage],
    );
    expect(rows[0]?.n).toBe(0);
    await c.server.deliverAlerts();
    expect(alerts.filter((a) => a.kind === 'rollout.halted' && a.rolloutId === id)).toHaveLength(1);
    // A further polling round changes nothing.
    expect(await round('4.0.0', BAD_HW)).toBe(0);
  }, 120_000);

  it('completes a good release across the whole fleet', async () => {
    const id = await rollout('4.0.1');
    let rounds = 0;
    while ((await round('4.0.1', null)) > 0) rounds += 1;
    const view = await requestJson(c.url, 'GET', `/api/v1/rollouts/${id}`, undefined, c.tokens.viewer);
    expect(view.body).toMatchObject({ rollout: { state: 'completed', current_stage: STAGES.length - 1 } });
    // Stages open as reports arrive, so a polling round may span more than one stage.
    expect(rounds).toBeLessThanOrEqual(STAGES.length);
    const stages = (view.body as { stages: { total: number; committed: number }[] }).stages;
    expect(stages).toHaveLength(STAGES.length);
    for (const s of stages) expect(s.committed).toBe(s.total);
    expect(new Set(installs.get('4.0.1')).size).toBe(N);
    expect(fleet.every((d) => d.installed === '4.0.1')).toBe(true);
  }, 180_000);
});
