// The built `clawback-updater` bin, as a daemon or an operator runs it: exit codes and --json.
// It runs from a copy outside the repository, with no node_modules anywhere above it: the shipped
// file (one bundle, docs/updater.md) must need nothing else but Node.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  deviceConfigYaml,
  makeUpdaterRepo,
  type RangeServer,
  RESTART_HOOK_SCRIPT,
  serveRanged,
  stopDeviceAgent,
  type UpdaterRepoFixture,
} from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BUILT = join(import.meta.dirname, '..', 'dist', 'clawback-updater.mjs');
let BIN: string;
let tmp: string;
let fx: UpdaterRepoFixture;
let server: RangeServer;
let root: string;
let cfg: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, CLAWBACK_QUIET: '1' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 70) : 0, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-updater-cli-'));
  BIN = join(tmp, 'usr', 'bin', 'clawback-updater.mjs');
  await mkdir(dirname(BIN), { recursive: true });
  await copyFile(BUILT, BIN);
  for (let d = dirname(BIN); d !== dirname(d); d = dirname(d)) {
    expect(existsSync(join(d, 'node_modules')), `${d}/node_modules would let the copy borrow packages`).toBe(
      false,
    );
  }
  fx = await makeUpdaterRepo(join(tmp, 'fx'));
  server = await serveRanged(fx.repo);
  const hook = join(tmp, 'hook.sh');
  await writeFile(hook, RESTART_HOOK_SCRIPT);
  await chmod(hook, 0o755);
  cfg = join(tmp, 'updater.yaml');
  await writeFile(
    cfg,
    deviceConfigYaml({ repoUrl: server.url, releaseKeyPath: fx.releaseKeyPath, restartHook: hook }),
  );
  root = join(tmp, 'device');
  await fx.publish({ version: '1.0.0' });
});
afterAll(async () => {
  await stopDeviceAgent(root);
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('clawback-updater CLI', () => {
  it('documents every command and its exit codes', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const c of [
      'init',
      'check',
      'apply',
      'boot',
      'probation',
      'health',
      'rollback',
      'status',
      'reports flush',
      'audit verify',
      'audit export',
    ]) {
      expect(help.stdout).toContain(c);
    }
    const check = await cli('check', '--help');
    expect(check.stdout).toMatch(/10\s+an update is available/);
  });

  it('provisions a root once, with an owner-only device key', async () => {
    const r = await cli('init', '--root', root, '--trusted-root', fx.trustedRoot, '--config', cfg, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      deviceId: 'edge-0042',
      agent: 'com.openclaw.sensor_parser',
    });
    expect((await stat(join(root, 'device-key.json'))).mode & 0o777).toBe(0o600);
    const again = await cli(
      'init',
      '--root',
      root,
      '--trusted-root',
      fx.trustedRoot,
      '--config',
      cfg,
      '--json',
    );
    expect(again.code).toBe(5);
    expect(JSON.parse(again.stdout).error.code).toBe('DEVICE_ALREADY_INITIALIZED');
  });

  it('exports the whole audit log when no --since is given', async () => {
    const r = await cli('audit', 'export', '--root', root, '--json');
    expect(r.code, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as { kind: string }[];
    expect(entries.length).toBeGreaterThan(0);
  });
  it('refuses a bad configuration with exit 3, naming each field, and creates nothing', async () => {
    const bad = join(tmp, 'bad.yaml');
    await writeFile(bad, 'agent: x\nrepository: { metadata_url: nope }\n');
    const r = await cli(
      'init',
      '--root',
      join(tmp, 'never'),
      '--trusted-root',
      fx.trustedRoot,
      '--config',
      bad,
      '--json',
    );
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'UPDATER_CONFIG_INVALID' });
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    await expect(stat(join(tmp, 'never'))).rejects.toThrow();
  });

  it('check exits 10 when an update is available and 0 after apply commits it', async () => {
    const before = await cli('check', '--root', root, '--json');
    expect(before.code).toBe(10);
    expect(JSON.parse(before.stdout)).toMatchObject({ updateAvailable: true, target: { version: '1.0.0' } });
    const apply = await cli('apply', '--root', root, '--json');
    expect(apply.code).toBe(0);
    expect(JSON.parse(apply.stdout)).toMatchObject({ outcome: 'committed', to: '1.0.0' });
    const after = await cli('check', '--root', root, '--json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout).updateAvailable).toBe(false);
    const status = JSON.parse((await cli('status', '--root', root, '--json')).stdout);
    expect(status).toMatchObject({
      active: 'a',
      committed: { version: '1.0.0' },
      transaction: null,
      pendingReports: 1,
    });
  });

  it('says what is wrong when there is nothing to roll back or no trial to probe', async () => {
    const rb = await cli('rollback', '--root', root, '--reason', 'test', '--json');
    expect(rb.code).toBe(5);
    expect(JSON.parse(rb.stdout).error.code).toBe('NOTHING_TO_ROLL_BACK');
    const pr = await cli('probation', '--root', root, '--json');
    expect(pr.code).toBe(5);
    expect(JSON.parse(pr.stdout).error.code).toBe('NO_TRIAL_IN_PROGRESS');
  });

  it('boot with nothing on trial is a no-op, and the audit log verifies and exports', async () => {
    const boot = await cli('boot', '--root', root, '--json');
    expect(boot.code).toBe(0);
    expect(JSON.parse(boot.stdout)).toMatchObject({ outcome: 'idle', active: 'a', version: '1.0.0' });
    const verify = await cli('audit', 'verify', '--root', root, '--json');
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, checkpoint: { status: 'verified' } });
    const exported = JSON.parse(
      (await cli('audit', 'export', '--root', root, '--since', '1 day', '--json')).stdout,
    );
    expect(exported.map((e: { kind: string }) => e.kind)).toContain('updater.commit');
  });

  it('an operator rollback returns to the release in the other slot', async () => {
    await fx.publish({ version: '1.1.0' });
    expect((await cli('apply', '--root', root, '--json')).code).toBe(0);
    const rb = await cli('rollback', '--root', root, '--reason', 'field issue #42', '--json');
    expect(rb.code).toBe(0);
    expect(JSON.parse(rb.stdout)).toMatchObject({ outcome: 'rolled-back', active: 'a', version: '1.0.0' });
    // The floor stays at 1.1.0: the rolled-back release is not reinstalled by the next run.
    expect(JSON.parse((await cli('check', '--root', root, '--json')).stdout).updateAvailable).toBe(false);
  });
});
