// The `clawback-console` binary as an operator runs it: a real server process, API client
// commands against it, clean shutdown on SIGTERM, and the data-directory lock.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleProgram } from '@clawback/console';
import { runProgram } from '@clawback/core';
import { SimDevice } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../packages/console/dist/bin.js', import.meta.url));
const ADMIN = 'cbt_cli-test-admin-token-0123456789abcdef';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runProgram(consoleProgram, argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { CLAWBACK_QUIET: '1', ...env },
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}

describe('clawback-console binary', () => {
  let dir: string;
  let proc: ChildProcess;
  let url: string;
  let exited: Promise<number | null>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clawback-console-cli-'));
    proc = spawn(process.execPath, [bin, 'serve', '--data', join(dir, 'data'), '--port', '0', '--json'], {
      env: { ...process.env, CLAWBACK_CONSOLE_ADMIN_TOKEN: ADMIN, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((r) => proc.once('exit', (c) => r(c)));
    let out = '';
    url = await new Promise<string>((resolve, reject) => {
      proc.stdout?.on('data', (c) => {
        out += String(c);
        const m = /"url": "([^"]+)"/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      proc.once('exit', (c) => reject(new Error(`serve exited ${c}`)));
    });
  });
  afterAll(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the device protocol and the API client commands map errors to exit codes', async () => {
    const env = { CLAWBACK_CONSOLE_TOKEN: ADMIN };
    const d = new SimDevice({ id: 'cli-dev' });
    expect((await d.enroll(url)).body).toMatchObject({ status: 'pending' });
    expect((await run(['device', 'approve', 'cli-dev', '--url', url], env)).code).toBe(0);
    const list = await run(['device', 'list', '--url', url, '--json'], env);
    expect(JSON.parse(list.stdout)).toMatchObject({ devices: [{ id: 'cli-dev', status: 'active' }] });
    const missing = await run(['rollout', 'show', 'ro_nope', '--url', url], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('ROLLOUT_UNKNOWN');
    const noToken = await run(['rollout', 'show', 'ro_nope', '--url', url]);
    expect([noToken.code, noToken.stderr.includes('CLAWBACK_CONSOLE_TOKEN')]).toEqual([4, true]);
  });

  it('refuses store commands while the server holds the data directory, and releases it on SIGTERM', async () => {
    const busy = await run([
      'token',
      'create',
      '--name',
      'x',
      '--role',
      'viewer',
      '--data',
      join(dir, 'data'),
    ]);
    expect(busy.code).toBe(5);
    expect(busy.stderr).toContain('CONSOLE_DATA_LOCKED');
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const made = await run([
      'token',
      'create',
      '--name',
      'x',
      '--role',
      'viewer',
      '--data',
      join(dir, 'data'),
      '--json',
    ]);
    expect(made.code).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({
      name: 'x',
      role: 'viewer',
      token: expect.stringMatching(/^cbt_/),
    });
    const bad = await run(['token', 'create', '--name', 'y', '--role', 'root', '--data', join(dir, 'data')]);
    expect(bad.code).toBe(2);
    const out = join(dir, 'audit.log');
    expect((await run(['audit', 'export', '--data', join(dir, 'data'), '--out', out])).code).toBe(0);
  });
});
