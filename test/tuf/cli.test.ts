// The repository commands through the real command table, in process: exit codes for bad input,
// and bad input changes nothing.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { program } from '@clawback/cli';
import { runProgram } from '@clawback/core';
import { tufCeremony } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runProgram(program, argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { CLAWBACK_QUIET: '1', ...env },
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}

describe('clawback repo / release / keys rotate', () => {
  let dir: string;
  let keys: string;
  let repo: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clawback-repo-cli-'));
    keys = join(dir, 'keys');
    await tufCeremony(keys);
    repo = join(dir, 'repo');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('init refuses an invalid repo.yaml with every problem listed, writing nothing', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'roles:\n  root: { threshold: 5, keys: [root-1] }\n');
    const r = await run([
      'repo',
      'init',
      '--keys',
      keys,
      '--config',
      bad,
      '--out',
      join(dir, 'never'),
      '--json',
    ]);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('TUF_CONFIG_INVALID');
    expect(JSON.parse(r.stdout).error.details.problems.length).toBeGreaterThanOrEqual(4);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('init without a threshold of root keys exits 4 and writes nothing', async () => {
    const only = join(dir, 'few-keys');
    await tufCeremony(only);
    await rm(join(only, 'root-1.key'));
    await rm(join(only, 'root-2.key'));
    const r = await run(['repo', 'init', '--keys', only, '--out', join(dir, 'never2')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('TUF_KEY_MISSING');
    expect(existsSync(join(dir, 'never2'))).toBe(false);
  });

  it('init, status --json, and refusing to init over an existing repository', async () => {
    expect((await run(['repo', 'init', '--keys', keys, '--out', repo])).code).toBe(0);
    const s = await run(['repo', 'status', repo, '--json']);
    expect(s.code).toBe(0);
    const status = JSON.parse(s.stdout);
    expect(status.roles.root).toMatchObject({ version: 1, threshold: 2 });
    expect(status.roles.timestamp.keys).toEqual([expect.objectContaining({ name: 'online' })]);
    expect(status.soonest.role).toBe('timestamp');
    const again = await run(['repo', 'init', '--keys', keys, '--out', repo]);
    expect(again.code).toBe(5);
  });

  it('usage and input errors have their exit codes and change nothing', async () => {
    const before = await readdir(join(repo, 'metadata'));
    expect((await run(['release', 'add', repo, join(dir, 'missing.clawback')])).code).toBe(2); // no --channel
    expect(
      (await run(['release', 'add', repo, join(dir, 'missing.clawback'), '--channel', 'stable'])).code,
    ).toBe(3);
    expect((await run(['release', 'revoke', repo, 'no-version', '--reason', 'x'])).code).toBe(2);
    expect((await run(['release', 'revoke', repo, 'com.example.a@1.0.0', '--reason', 'x'])).code).toBe(3);
    expect((await run(['keys', 'rotate', repo, '--role', 'mirror', '--threshold', '1'])).code).toBe(2);
    expect((await run(['keys', 'rotate', repo, '--role', 'timestamp', '--remove', 'nobody'])).code).toBe(2);
    expect((await run(['repo', 'status', join(dir, 'nothing-here')])).code).toBe(3);
    expect((await run(['repo', 'publish', repo, '--github', 'acme/fleet', '--tag', 't'])).code).toBe(4);
    expect(await readdir(join(repo, 'metadata'))).toEqual(before);
  });

  it('refresh is cron-safe: nothing due is a no-op; --force re-signs', async () => {
    const quiet = await run(['repo', 'refresh', repo, '--json']);
    expect(JSON.parse(quiet.stdout).resigned).toEqual([]);
    const forced = await run(['repo', 'refresh', repo, '--force', '--json']);
    expect(JSON.parse(forced.stdout).resigned).toEqual(['snapshot', 'timestamp']);
  });
});
