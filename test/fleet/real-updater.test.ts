// The real device side against the real console: every device here is a `clawback-updater`
// (its own root, Ed25519 key, TUF client, directory slots a/b, probation with a real agent
// process started by the restart hook, signed reports from its on-disk queue). A good release
// completes across the fleet; a release that crashes on one hardware id halts at the first
// stage holding such a device, alerts once, and never reaches the devices outside it.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  approvedChangeRecord,
  deviceConfigYaml,
  FIXTURE_HARDWARE,
  HEALTHY_AGENT,
  makeUpdaterRepo,
  type RangeServer,
  requestJson,
  serveRanged,
  stopDeviceAgent,
  type UpdaterRepoFixture,
} from '@clawback/testing';
import { applyUpdate, deviceStatus, enrollDevice, initDevice, openDevice } from '@clawback/updater';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type TestConsole } from '../console/harness.js';

// 24 by default to keep CI time reasonable; CLAWBACK_FLEET_SIZE=200 runs the full-size fleet.
const N = Number(process.env.CLAWBACK_FLEET_SIZE ?? 24);
const TIMEOUT = 15_000 * N;
const OTHER_HW = 'jetson-orin';
const hardwareOf = (i: number) => (i % 3 === 0 ? OTHER_HW : FIXTURE_HARDWARE); // 2/3 on the bad hardware
const STAGES = [
  { name: 'canary', devices: 1, maxFailures: 0 },
  { name: '25%', percent: 25, maxFailures: 0 },
  { name: '100%', percent: 100, maxFailureRate: 0.1 },
];

// The restart hook of these devices also tells the agent which hardware it runs on.
const HOOK = `#!/bin/sh
PIDFILE="$CLAWBACK_ROOT/agent.pid"
if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null; rm -f "$PIDFILE"; fi
rm -f "$CLAWBACK_ROOT/heartbeat"
cd "$CLAWBACK_CURRENT" || exit 1
HARDWARE="$(cat "$CLAWBACK_ROOT/hardware-id")" HEARTBEAT="$CLAWBACK_ROOT/heartbeat" nohup ./bin/agent >/dev/null 2>&1 </dev/null &
echo $! > "$PIDFILE"
`;
// Crashes at start on the bad hardware (a driver it cannot find); healthy elsewhere.
const CRASHES_ON_RPI4 = `#!/bin/sh\nif [ "$HARDWARE" = "${FIXTURE_HARDWARE}" ]; then echo "sensor bus not found" >&2; exit 3; fi\n${HEALTHY_AGENT.replace('#!/bin/sh\n', '')}`;

async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

describe(`fleet of ${N} real clawback-updater devices`, () => {
  let tmp: string;
  let fx: UpdaterRepoFixture;
  let server: RangeServer;
  let c: TestConsole;
  const roots: string[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'clawback-fleet-real-'));
    fx = await makeUpdaterRepo(join(tmp, 'fx'));
    server = await serveRanged(fx.repo);
    c = await startConsole('pglite', { realClock: true });
    const root = JSON.parse(await readFile(join(fx.repo, 'metadata', 'root.json'), 'utf8')) as unknown;
    expect((await requestJson(c.url, 'PUT', '/api/v1/tuf/root', root, c.tokens.admin)).status).toBe(200);
    const tok = (
      await requestJson(c.url, 'POST', '/api/v1/enrollment-tokens', { name: 'fleet' }, c.tokens.admin)
    ).body as { token: string };
    const hook = join(tmp, 'restart-hook.sh');
    await writeFile(hook, HOOK);
    await chmod(hook, 0o755);
    for (let i = 0; i < N; i++) {
      const dir = join(tmp, 'devices', `d${i}`);
      await mkdir(dir, { recursive: true });
      const cfg = join(dir, 'updater.yaml');
      const yaml = deviceConfigYaml({
        deviceId: `real-${i}`,
        repoUrl: server.url,
        releaseKeyPath: fx.releaseKeyPath,
        consoleUrl: c.url,
        restartHook: hook,
      });
      await writeFile(cfg, yaml.replace(`hardware_id: ${FIXTURE_HARDWARE}`, `hardware_id: ${hardwareOf(i)}`));
      const root = join(dir, 'root');
      await initDevice({ root, trustedRoot: fx.trustedRoot, config: cfg });
      await writeFile(join(root, 'hardware-id'), hardwareOf(i));
      const enrolled = await enrollDevice(await openDevice(root), tok.token);
      expect(enrolled).toEqual({ deviceId: `real-${i}`, status: 'active' });
      roots.push(root);
    }
  }, TIMEOUT);

  afterAll(async () => {
    for (const r of roots) await stopDeviceAgent(r);
    await server?.close();
    await c?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function publishAndRoll(version: string, agent: string): Promise<string> {
    const { summary } = await fx.publish({
      version,
      hardware: [FIXTURE_HARDWARE, OTHER_HW],
      files: { 'bin/agent': agent },
    });
    const files = (await readdir(join(fx.repo, 'metadata'))).filter((f) => /^\d+\.targets\.json$/.test(f));
    const newest = files.sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))[0] as string;
    const targets = JSON.parse(await readFile(join(fx.repo, 'metadata', newest), 'utf8')) as unknown;
    const record = await approvedChangeRecord(
      { name: summary.targetPath, sha256: summary.sha256 },
      c.releaseSigner,
    );
    const rel = await requestJson(
      c.url,
      'POST',
      '/api/v1/releases',
      { targets, targetPath: summary.targetPath, changeRecord: record },
      c.tokens.rm,
    );
    expect(rel.status, JSON.stringify(rel.body)).toBe(201);
    const created = await requestJson(
      c.url,
      'POST',
      '/api/v1/rollouts',
      { releaseId: (rel.body as { id: string }).id, stages: STAGES },
      c.tokens.rm,
    );
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect((await requestJson(c.url, 'POST', `/api/v1/rollouts/${id}/start`, {}, c.tokens.rm)).status).toBe(
      200,
    );
    return id;
  }

  /** Every device runs `clawback-updater apply` once; returns how many attempted an install. */
  async function pollRound(): Promise<number> {
    let attempted = 0;
    await pool(roots, 6, async (root) => {
      const r = await applyUpdate(await openDevice(root));
      if (r.outcome !== 'up-to-date') attempted += 1;
    });
    return attempted;
  }

  async function committedVersions(): Promise<(string | null)[]> {
    const out: (string | null)[] = [];
    for (const r of roots) out.push((await deviceStatus(await openDevice(r))).committed?.version ?? null);
    return out;
  }

  it(
    'completes a good release on every device, stage by stage',
    async () => {
      const id = await publishAndRoll('1.0.0', HEALTHY_AGENT);
      let rounds = 0;
      while ((await pollRound()) > 0) rounds += 1;
      // Stages open as reports arrive, so one polling round may span more than one stage.
      expect(rounds).toBeLessThanOrEqual(STAGES.length);
      const view = await requestJson(c.url, 'GET', `/api/v1/rollouts/${id}`, undefined, c.tokens.viewer);
      expect(view.body).toMatchObject({ rollout: { state: 'completed', current_stage: STAGES.length - 1 } });
      for (const s of (view.body as { stages: { total: number; committed: number }[] }).stages)
        expect(s.committed).toBe(s.total);
      expect(await committedVersions()).toEqual(Array(N).fill('1.0.0'));
    },
    TIMEOUT,
  );

  it(
    'halts a release that crashes on one hardware id at the first stage that holds such a device',
    async () => {
      const id = await publishAndRoll('1.1.0', CRASHES_ON_RPI4);
      const members = await c.server.db.query<{ device_id: string; stage: number }>(
        'SELECT device_id, stage FROM rollout_devices WHERE rollout_id = $1',
        [id],
      );
      const hwOf = (deviceId: string) => hardwareOf(Number(deviceId.slice('real-'.length)));
      const haltStage = Math.min(
        ...members.filter((m) => hwOf(m.device_id) === FIXTURE_HARDWARE).map((m) => m.stage),
      );
      expect(haltStage).toBeLessThanOrEqual(1);
      while ((await pollRound()) > 0);
      const view = await requestJson(c.url, 'GET', `/api/v1/rollouts/${id}`, undefined, c.tokens.viewer);
      expect(view.body).toMatchObject({ rollout: { state: 'halted', current_stage: haltStage } });
      const stageOf = new Map(members.map((m) => [m.device_id, m.stage]));
      const versions = await committedVersions();
      versions.forEach((v, i) => {
        const stage = stageOf.get(`real-${i}`) ?? 99;
        // Devices beyond the halted stage were never offered 1.1.0; the bad hardware rolled back.
        if (stage > haltStage || hardwareOf(i) === FIXTURE_HARDWARE) expect(v, `real-${i}`).toBe('1.0.0');
      });
      const failures = (await requestJson(c.url, 'GET', '/api/v1/failures', undefined, c.tokens.viewer))
        .body as {
        failures: { deviceId: string; outcome: string; reasonCode: string; health: { ok: boolean }[] }[];
      };
      expect(failures.failures.length).toBeGreaterThan(0);
      for (const f of failures.failures) {
        expect(f.outcome, JSON.stringify(f)).toBe('rolled-back');
        expect(hwOf(f.deviceId)).toBe(FIXTURE_HARDWARE);
        expect(f.health.some((h) => h.ok === false)).toBe(true);
      }
      const alerts = (await requestJson(c.url, 'GET', '/api/v1/alerts', undefined, c.tokens.viewer)).body as {
        alerts: { kind: string; rollout_id: string }[];
      };
      expect(alerts.alerts.filter((a) => a.kind === 'rollout.halted' && a.rollout_id === id)).toHaveLength(1);
    },
    TIMEOUT,
  );
});
