/**
 * Executes the `run:` steps of .github/workflows/release.yml, in order, in a temporary git
 * repository, with the GitHub Actions environment set, Sigstore (OIDC, Fulcio, Rekor) from
 * @sigstore/mock, and the GitHub API replayed from the change-control scenarios. The `uses:`
 * steps are emulated (checkout: the workspace and the TUF branch are prepared as they would be;
 * setup-node and artifacts: nothing to do), and "Install Clawback" puts the built CLI on PATH
 * instead of running `npm ci` of this repository inside the temp workspace.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { verifyChangeRecord } from '@clawback/approvals';
import { encodePrivateKeyFile, generateKeyPair, loadPublicKey } from '@clawback/core';
import {
  fakeGitHubFetch,
  githubActionsClaims,
  loadGitHubScenario,
  type MockSigstore,
  startMockSigstore,
  tufCeremony,
} from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobContext, loadWorkflow, runJob, type StepResult } from './workflow-runner.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'packages/cli/dist/bundle/clawback.mjs');
const TAG = 'v1.4.0';

interface FakeGitHubServer {
  url: string;
  assets: string[];
  requests: string[];
  close(): Promise<void>;
}

/** The scenario's recorded API answers, plus an in-memory Releases API for `repo publish`. */
async function serveGitHub(scenario: string): Promise<FakeGitHubServer> {
  const recorded = fakeGitHubFetch(loadGitHubScenario(scenario).exchanges);
  const assets: string[] = [];
  const requests: string[] = [];
  let url = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        requests.push(`${req.method} ${req.url}`);
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.method === 'GET' && /^\/repos\/[^/]+\/[^/]+\/releases\/tags\//.test(path)) {
          return json(404, { message: 'Not Found' });
        }
        if (req.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/releases$/.test(path)) {
          return json(201, {
            id: 1,
            html_url: `${url}/release/1`,
            upload_url: `${url}/uploads/releases/1/assets{?name,label}`,
            assets: [],
          });
        }
        if (req.method === 'POST' && path === '/uploads/releases/1/assets') {
          const name = new URL(req.url ?? '/', url).searchParams.get('name') ?? '';
          assets.push(name);
          return json(201, { id: assets.length, name, size: Buffer.concat(chunks).length });
        }
        const r = await recorded.fetch(`${url}${req.url ?? '/'}`, { method: req.method ?? 'GET' });
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(Buffer.from(await r.arrayBuffer()));
      })();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, assets, requests, close: () => new Promise((done) => server.close(() => done())) };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@x',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@x',
    },
  });
}

async function treeDigest(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (e.name === '.git') continue;
      const p = join(d, e.name);
      h.update(p);
      if (e.isDirectory()) await walk(p);
      else h.update(await readFile(p));
    }
  };
  await walk(dir);
  return h.digest('hex');
}

interface Release {
  ws: string;
  results: StepResult[];
  outputs: Record<string, string>;
  ctx: JobContext;
  workflow: Awaited<ReturnType<typeof loadWorkflow>>;
  github: FakeGitHubServer;
  origin: string;
  approvalsPub: string;
  tufBefore: string;
}

let sigstore: MockSigstore;
let base: string;
const servers: FakeGitHubServer[] = [];

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`build first (npm test does): ${cli} is missing`);
  sigstore = await startMockSigstore();
  base = await mkdtemp(join(tmpdir(), 'clawback-release-yml-'));
});

afterAll(async () => {
  await sigstore?.close();
  for (const s of servers) await s.close();
  await rm(base, { recursive: true, force: true });
});

/** Prepare a checkout, a TUF branch with an origin, keys as secrets; then run the build job. */
async function release(name: string, scenario: string, runId = '123456789'): Promise<Release> {
  const { input } = loadGitHubScenario(scenario) as unknown as { input: { repo: string; commit: string } };
  const top = join(base, name);
  const ws = join(top, 'work');
  await mkdir(join(ws, 'examples'), { recursive: true });
  await cp(join(root, 'examples/sensor-agent'), join(ws, 'examples/sensor-agent'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  git(ws, 'init', '-q', '-b', 'main');
  git(ws, 'add', '-A');
  git(ws, 'commit', '-q', '-m', 'agent');

  // The offline ceremony and the TUF branch, as docs/github-setup.md sets them up.
  const ceremony = await tufCeremony(join(top, 'ceremony'));
  const tuf = join(ws, 'tuf');
  execFileSync('node', [cli, 'repo', 'init', '--keys', ceremony.keysDir, '--out', tuf], { stdio: 'pipe' });
  await writeFile(join(top, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
  execFileSync(
    'node',
    [cli, 'repo', 'trust-root', tuf, join(top, 'trusted_root.json'), '--keys', ceremony.keysDir],
    {
      stdio: 'pipe',
    },
  );
  const secrets: Record<string, string> = {
    CLAWBACK_RELEASE_KEY: await readFile(join(ceremony.keysDir, 'release.key'), 'utf8'),
    CLAWBACK_ONLINE_KEY: await readFile(join(ceremony.keysDir, 'online.key'), 'utf8'),
  };
  const approvals = generateKeyPair();
  secrets.CLAWBACK_APPROVALS_KEY = encodePrivateKeyFile(approvals);
  const approvalsPub = join(top, 'approvals.pub');
  const { encodePublicKeyFile } = await import('@clawback/core');
  await writeFile(approvalsPub, encodePublicKeyFile(approvals.publicKey));
  // CI holds only the secrets: no private key stays in the keys directory the repo recorded.
  for (const f of await readdir(ceremony.keysDir))
    if (f.endsWith('.key')) await rm(join(ceremony.keysDir, f));
  const origin = join(top, 'origin.git');
  git(top, 'init', '-q', '--bare', origin);
  git(tuf, 'init', '-q', '-b', 'clawback-tuf');
  git(tuf, 'add', '-A');
  git(tuf, 'commit', '-q', '-m', 'TUF root v1');
  git(tuf, 'remote', 'add', 'origin', origin);
  git(tuf, 'push', '-q', 'origin', 'clawback-tuf');
  const tufBefore = await treeDigest(tuf);

  const github = await serveGitHub(scenario);
  servers.push(github);
  const claims = githubActionsClaims({
    repository: input.repo,
    sha: input.commit,
    ref: `refs/tags/${TAG}`,
    run_id: runId,
  });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? top,
    ...(sigstore.actionsEnv(claims) as Record<string, string>),
    GITHUB_REF_NAME: TAG,
    GITHUB_REF_TYPE: 'tag',
    GITHUB_API_URL: github.url,
    GITHUB_WORKSPACE: ws,
    RUNNER_TEMP: join(top, 'runner-temp'),
    CLAWBACK_FULCIO_URL: sigstore.fulcioURL,
    CLAWBACK_REKOR_URL: sigstore.rekorURL,
    GIT_AUTHOR_NAME: 'runner',
    GIT_AUTHOR_EMAIL: 'runner@x',
    GIT_COMMITTER_NAME: 'runner',
    GIT_COMMITTER_EMAIL: 'runner@x',
  };
  const bin = join(top, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'clawback'), `#!/bin/sh\nexec node "${cli}" "$@"\n`, { mode: 0o755 });
  const ctx: JobContext = {
    cwd: ws,
    env,
    secrets,
    github: {
      token: 'ghs_fakeinstallationtoken000000000000000',
      repository: input.repo,
      sha: input.commit,
      ref: `refs/tags/${TAG}`,
    },
    async uses(step) {
      // checkout (workspace and TUF branch prepared above), setup-node, upload-artifact.
      if (step.uses?.startsWith('actions/upload-artifact'))
        return existsSync(join(ws, step.with?.path ?? '')) ? 0 : 1;
      return 0;
    },
    async replaceRun(step, stepEnv) {
      if (step.name !== 'Install Clawback') return undefined;
      await writeFile(stepEnv.GITHUB_PATH ?? '', `${bin}\n`, { flag: 'a' });
      return 0;
    },
  };
  const workflow = await loadWorkflow(join(root, '.github/workflows/release.yml'));
  const { steps: results, outputs } = await runJob(workflow, 'build', ctx);
  return { ws, results, outputs, ctx, workflow, github, origin, approvalsPub, tufBefore };
}

describe('release.yml, executed', () => {
  it('publishes an approved commit with verifiable provenance', async () => {
    const r = await release('approved', 'approved-on-head');
    const failed = r.results.find((s) => s.exitCode !== 0);
    expect(failed, failed ? `${failed.label}\n${failed.stdout}\n${failed.stderr}` : '').toBeUndefined();
    expect(r.results.map((s) => s.label)).toContain('Add the release to the TUF repository');

    const bundle = join(r.ws, 'out/agent-1.4.0.clawback');
    const verify = execFileSync(
      'node',
      [
        cli,
        'bundle',
        'verify',
        bundle,
        '--trusted-key',
        join(base, 'approved/ceremony/release.pub'),
        '--provenance',
        `${bundle}.provenance.json`,
        '--sigstore-bundle',
        `${bundle}.provenance.sigstore.json`,
        '--trusted-root',
        join(base, 'approved/trusted_root.json'),
        '--expect-repo',
        'acme/agents',
        '--expect-workflow',
        '.github/workflows/release.yml',
        '--expect-ref',
        'refs/tags/v.*',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    const report = JSON.parse(verify) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.some((c) => /sigstore/i.test(c.name) && c.ok)).toBe(true);
    expect(sigstore.oidcAudiences).toContain('sigstore');

    // The signed change record ties the bundle to the approved PR.
    const record = JSON.parse(await readFile(`${bundle}.change-record.json`, 'utf8'));
    const verified = verifyChangeRecord(record, {
      trustedKeys: [await loadPublicKey(r.approvalsPub)],
      expectedCommit: '90f8afcbfdb0af9d705438f27932a5d854e566ac',
    });
    expect(verified).toBeDefined();

    // Published: in the TUF repository, pushed to the branch, uploaded to the GitHub Release.
    const list = JSON.parse(
      execFileSync('node', [cli, 'release', 'list', join(r.ws, 'tuf'), '--json'], { encoding: 'utf8' }),
    ) as unknown;
    expect(JSON.stringify(list)).toContain('1.4.0');
    expect(git(r.origin, 'log', 'clawback-tuf', '--format=%s')).toContain('release 1.4.0');
    expect(r.github.assets).toContain('timestamp.json');
  }, 180_000);

  it('stops an unapproved commit before anything is signed', async () => {
    const audiencesBefore = sigstore.oidcAudiences.length;
    const r = await release('unapproved', 'self-approval');
    const last = r.results.at(-1);
    expect(last?.label).toBe('Refuse unless the change was approved (CC8.1)');
    expect(last?.exitCode).toBe(1);
    expect(`${last?.stdout}${last?.stderr}`).toMatch(/self-approval/);
    // Nothing of the release is signed; the refusal itself is kept as signed evidence.
    const out = await readdir(join(r.ws, 'out'));
    expect(out.filter((f) => /\.(sig|provenance|sigstore)\b/.test(f))).toEqual([]);
    const record = JSON.parse(
      await readFile(join(r.ws, 'out/agent-1.4.0.clawback.change-record.json'), 'utf8'),
    );
    const trustedKeys = [await loadPublicKey(r.approvalsPub)];
    expect(() => verifyChangeRecord(record, { trustedKeys })).toThrow(/not approved/i);
    expect(verifyChangeRecord(record, { trustedKeys, requireApproved: false }).predicate).toBeDefined();
    expect(sigstore.oidcAudiences.length).toBe(audiencesBefore);
    expect(await treeDigest(join(r.ws, 'tuf'))).toBe(r.tufBefore);
    expect(r.github.assets).toEqual([]);
  }, 180_000);

  it('rolls out after the environment approval: the record is made and the console starts the rollout', async () => {
    const r = await release('rollout', 'environment-approved', '99');
    const failed = r.results.find((x) => x.exitCode !== 0);
    expect(failed, failed ? `${failed.label}\n${failed.stderr}` : '').toBeUndefined();

    const { changeRecordVerifier, createApiToken, openConsole } = await import('@clawback/console');
    const server = await openConsole({
      dataDir: join(base, 'rollout', 'console-data'),
      verifyChangeRecord: changeRecordVerifier([await loadPublicKey(r.approvalsPub)]),
      sweepIntervalMs: 0,
      alertIntervalMs: 0,
      syncIntervalMs: 0,
    });
    try {
      const admin = (
        await createApiToken(server.db, { name: 'admin', role: 'admin', now: new Date(), actor: 't' })
      ).token;
      const rm = (
        await createApiToken(server.db, { name: 'rm', role: 'release-manager', now: new Date(), actor: 't' })
      ).token;
      const { url } = await server.listen(0, '127.0.0.1');
      const rootFile = join(r.ws, 'tuf/metadata/1.root.json');
      // Asynchronously: the console serves from this process's event loop.
      await promisify(execFile)('node', [cli, 'console', 'tuf', 'pin', rootFile, '--url', url], {
        env: { ...process.env, CLAWBACK_CONSOLE_TOKEN: admin },
      });
      // A small fleet running the agent, enrolled with an enrollment token.
      const { createEnrollmentToken } = await import('@clawback/console');
      const { SimDevice } = await import('@clawback/testing');
      const enroll = await createEnrollmentToken(server.db, {
        name: 'fleet',
        maxUses: null,
        expiresInSecs: null,
        now: new Date(),
        actor: 't',
      });
      for (const id of ['edge-1', 'edge-2', 'edge-3']) {
        const device = new SimDevice({
          id,
          hardwareId: 'rpi4-64',
          agent: 'com.openclaw.sensor_parser',
          channel: 'stable',
        });
        expect((await device.enroll(url, enroll.token)).status).toBeLessThan(300);
      }
      r.ctx.secrets.CLAWBACK_CONSOLE_URL = url;
      r.ctx.secrets.CLAWBACK_CONSOLE_TOKEN = rm;
      r.ctx.needs = { build: { outputs: r.outputs } };
      const job = await runJob(r.workflow, 'rollout', r.ctx);
      const bad = job.steps.find((x) => x.exitCode !== 0);
      expect(bad, bad ? `${bad.label}\n${bad.stdout}\n${bad.stderr}` : '').toBeUndefined();
      expect(existsSync(join(r.ws, 'out/agent-1.4.0.clawback.rollout-record.json'))).toBe(true);

      const list = await fetch(`${url}/api/v1/rollouts`, { headers: { authorization: `Bearer ${rm}` } });
      const body = JSON.stringify(await list.json());
      expect(body).toContain('1.4.0');
      expect(body).toMatch(/running|active|started/);
      expect(body).toContain('dave');
    } finally {
      await server.close();
    }
  }, 240_000);
});
