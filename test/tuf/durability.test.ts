// Repository writes survive concurrency and being killed mid-way; a failed device refresh keeps
// exactly the roles that passed their own checks.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addRelease, loadRepo, repoStatus } from '@clawback/sign';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeHarness } from './harness.js';

const CLI = resolve(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../packages/cli/dist/bundle/clawback.mjs',
);
const AGENT = 'com.openclaw.logger';
const version = async (file: string) =>
  (JSON.parse(await readFile(file, 'utf8')) as { signed: { version: number } }).signed.version;

describe('repository durability', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness();
  });
  afterAll(async () => h.close());

  it('serialises concurrent releases: both land, each with its own targets version', async () => {
    const before = (await repoStatus(h.repo, h.t0)).roles.targets.version;
    // Two agents, so the outcome does not depend on which lands first (no downgrade rule between them).
    const [a, b] = await Promise.all(
      [`${AGENT}.a`, `${AGENT}.b`].map(async (name) =>
        addRelease({
          repo: h.repo,
          bundle: await h.artifact(name, '1.0.0'),
          channel: 'stable',
          now: h.t0,
          verifyBundle: h.verifier,
        }),
      ),
    );
    expect([a?.name, b?.name].sort()).toEqual([`${AGENT}.a`, `${AGENT}.b`]);
    const state = await loadRepo(h.repo);
    expect(state.targets.signed.version).toBe(before + 2);
    expect(
      Object.keys(state.targets.signed.targets).filter((p) => p.endsWith('bundle.clawback')),
    ).toHaveLength(2);
  });

  it('a release add killed at any point leaves a repository that loads and serves', async () => {
    expect(existsSync(CLI), `${CLI} missing: build first`).toBe(true);
    for (const [i, delay] of [5, 40, 120, 250, 400].entries()) {
      const bundle = await h.artifact(AGENT, `2.${i}.0`);
      const child = spawn(process.execPath, [CLI, 'release', 'add', h.repo, bundle, '--channel', 'stable'], {
        stdio: 'ignore',
      });
      const exited = new Promise<void>((ok) => child.on('close', () => ok()));
      setTimeout(() => child.kill('SIGKILL'), delay);
      await exited;
      // Whatever instant it died at, the served set is complete and consistent.
      const state = await loadRepo(h.repo);
      expect(state.timestamp.signed.snapshotMeta.version).toBe(state.snapshot.signed.version);
      const device = await h.device(`crash-${i}`);
      const report = await device.refresh();
      expect(report.targetsVersion).toBe(state.targets.signed.version);
    }
    // A stale lock left by a killed run does not block the next one.
    const next = await addRelease({
      repo: h.repo,
      bundle: await h.artifact(AGENT, '3.0.0'),
      channel: 'stable',
      now: new Date(),
      verifyBundle: h.verifier,
    });
    expect(next.version).toBe('3.0.0');
  });

  it('a refresh that fails at the snapshot keeps the verified timestamp, nothing more', async () => {
    const device = await h.device('partial');
    await device.refresh();
    const dir = join(h.dir, 'devices', 'partial', 'tuf');
    const snapshotBefore = await version(join(dir, 'snapshot.json'));
    await addRelease({
      repo: h.repo,
      bundle: await h.artifact(AGENT, '4.0.0'),
      channel: 'stable',
      now: new Date(),
      verifyBundle: h.verifier,
    });
    const state = await loadRepo(h.repo);
    h.server.override(`/metadata/${state.snapshot.signed.version}.snapshot.json`, { status: 503 });
    await expect(device.refresh()).rejects.toMatchObject({ code: 'TUF_FETCH_FAILED' });
    h.server.clearOverrides();
    expect(await version(join(dir, 'timestamp.json'))).toBe(state.timestamp.signed.version);
    expect(await version(join(dir, 'snapshot.json'))).toBe(snapshotBefore);
    expect((await device.refresh()).snapshotVersion).toBe(state.snapshot.signed.version);
  });
});
