// `clawback approve check` and `clawback evidence verify` through the CLI kit, in process with a
// fake GitHub fetch, plus the built binary for help and exit codes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { verifyChangeRecord } from '@clawback/approvals';
import {
  encodePrivateKeyFile,
  encodePublicKeyFile,
  generateKeyPair,
  type Program,
  runProgram,
} from '@clawback/core';
import {
  fakeGitHubFetch,
  type GitHubExchange,
  loadGitHubScenario,
  serveGitHubScenario,
} from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApproveCommands } from '../../packages/cli/src/commands/approve.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
const pair = generateKeyPair();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-approve-cli-'));
  await writeFile(join(dir, 'release.key'), encodePrivateKeyFile(pair), { mode: 0o600 });
  await writeFile(join(dir, 'release.pub'), encodePublicKeyFile(pair.publicKey));
  await writeFile(join(dir, 'bundle.clawback'), 'bundle bytes\n');
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const TOKEN = { GITHUB_TOKEN: 'ghs_0123456789abcdefghijABCDEFGHIJ' };

async function run(
  scenario: string,
  argv: string[],
  env: Record<string, string> = TOKEN,
  extra: GitHubExchange[] = [],
) {
  const s = loadGitHubScenario(scenario);
  const gh = fakeGitHubFetch([...s.exchanges, ...extra]);
  const program: Program = {
    name: 'clawback',
    version: 'test',
    summary: 'test',
    commands: makeApproveCommands({ fetch: gh.fetch }),
  };
  let stdout = '';
  let stderr = '';
  const code = await runProgram(
    program,
    argv.map((a) => a.replace('$COMMIT', s.input.commit)),
    {
      stdout: { write: (c: string) => (stdout += c) },
      stderr: { write: (c: string) => (stderr += c) },
      env: { ...env, CLAWBACK_QUIET: '1' },
      cwd: dir,
      now: () => new Date(s.input.now),
    },
  );
  return { code, stdout, stderr, gh };
}

describe('clawback approve check', () => {
  it('approved: exit 0, writes a signed record over the commit and the bundle', async () => {
    const r = await run('approved-on-head', [
      'approve',
      'check',
      '--repo',
      'acme/agents',
      '--commit',
      '$COMMIT',
      '--key',
      'release.key',
      '--bundle',
      'bundle.clawback',
      '--out',
      'record.json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/APPROVED/);
    const env = JSON.parse(await readFile(join(dir, 'record.json'), 'utf8'));
    const { createHash } = await import('node:crypto');
    const bundleSha = createHash('sha256').update('bundle bytes\n').digest('hex');
    const v = verifyChangeRecord(env, {
      trustedKeys: [pair.publicKey],
      expectedBundleSha256: bundleSha,
      expectedCommit: loadGitHubScenario('approved-on-head').input.commit,
    });
    expect(v.predicate.pullRequest?.number).toBe(42);
  });

  it('not approved: exit 1 naming each failed rule; --json is parseable', async () => {
    const human = await run('stale-approval', [
      'approve',
      'check',
      '--repo',
      'acme/agents',
      '--commit',
      '$COMMIT',
    ]);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/CHANGE_NOT_APPROVED.*stale-approval, insufficient-approvals/);
    const json = await run('stale-approval', [
      'approve',
      'check',
      '--repo',
      'acme/agents',
      '--commit',
      '$COMMIT',
      '--json',
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      status: 'rejected',
      failedRules: ['stale-approval', 'insufficient-approvals'],
    });
  });

  it('usage and environment errors have their exit codes and never print the token', async () => {
    expect(
      (await run('approved-on-head', ['approve', 'check', '--repo', 'acme', '--commit', 'x'])).code,
    ).toBe(2);
    expect(
      (
        await run('approved-on-head', [
          'approve',
          'check',
          '--repo',
          'acme/agents',
          '--commit',
          '$COMMIT',
          '--out',
          'x.json',
        ])
      ).code,
    ).toBe(2);
    const noToken = await run(
      'approved-on-head',
      ['approve', 'check', '--repo', 'acme/agents', '--commit', '$COMMIT'],
      {},
    );
    expect(noToken.code).toBe(4);
    expect(noToken.stderr).toMatch(/GITHUB_AUTH_MISSING/);
    const missing = await run(
      'approved-on-head',
      ['approve', 'check', '--repo', 'acme/agents', '--commit', 'deadbeef'],
      TOKEN,
      [
        {
          method: 'GET',
          path: '/repos/acme/agents/commits/deadbeef',
          status: 422,
          response: {
            message: 'No commit found for SHA: deadbeef',
            documentation_url: 'https://docs.github.com/rest/commits/commits#get-a-commit',
            status: '422',
          },
        },
      ],
    );
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/GITHUB_NOT_FOUND.*No commit found/);
    expect(missing.stderr).not.toContain('ghs_0123456789');
  });
});

describe('built binary', () => {
  const exec = promisify(execFile);
  const bin = join(root, 'packages/cli/dist/bundle/clawback.mjs');

  it('documents approve check and evidence commands in --help', async () => {
    for (const cmd of [
      ['approve', 'check'],
      ['evidence', 'pack'],
      ['evidence', 'verify'],
    ]) {
      const { stdout } = await exec(process.execPath, [bin, ...cmd, '--help']);
      expect(stdout).toContain(`clawback ${cmd.join(' ')}`);
      expect(stdout).toMatch(/Exit codes/i);
    }
  });

  it('evidence verify on a directory that is not a pack exits 1 naming the problem', async () => {
    const empty = await mkdtemp(join(dir, 'not-a-pack-'));
    const r = await exec(process.execPath, [
      bin,
      'evidence',
      'verify',
      empty,
      '--trusted-key',
      join(dir, 'release.pub'),
      '--json',
    ]).catch((e: { code: number; stdout: string }) => e);
    expect((r as { code?: number }).code).toBe(1);
    expect(JSON.parse((r as { stdout: string }).stdout).problems[0].code).toBe('MANIFEST_INVALID');
  });
});

describe('built binary against a loopback GitHub', () => {
  const exec = promisify(execFile);
  const bin = join(root, 'packages/cli/dist/bundle/clawback.mjs');

  it.each([
    ['approved-on-head', 0, 'approved'],
    ['check-on-wrong-sha', 1, 'rejected'],
  ] as const)('%s: exit %i, --json status %s, record written and verifiable', async (name, code, status) => {
    const s = loadGitHubScenario(name);
    const server = await serveGitHubScenario(s.exchanges);
    try {
      const out = join(dir, `${name}.record.json`);
      const r = await exec(
        process.execPath,
        [
          bin,
          'approve',
          'check',
          '--repo',
          'acme/agents',
          '--commit',
          s.input.commit,
          '--key',
          join(dir, 'release.key'),
          '--out',
          out,
          '--json',
        ],
        {
          env: {
            PATH: process.env.PATH ?? '',
            GITHUB_TOKEN: 'ghs_loopback0123456789abcdef',
            GITHUB_API_URL: server.url,
            CLAWBACK_QUIET: '1',
          },
        },
      ).then(
        (x) => ({ code: 0, stdout: x.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
      );
      expect(server.unmatched).toEqual([]);
      expect(r.code).toBe(code);
      expect(JSON.parse(r.stdout).status).toBe(status);
      const v = verifyChangeRecord(JSON.parse(await readFile(out, 'utf8')), {
        trustedKeys: [pair.publicKey],
        requireApproved: false,
      });
      expect(v.predicate.evidence.apiBase).toBe(server.url);
      expect(v.predicate.decision.status).toBe(status);
    } finally {
      await server.close();
    }
  });
});
