import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runProgram } from '@clawback/core';
import {
  githubActionsClaims,
  githubActionsEnv,
  type MockSigstore,
  SAMPLE_AGENT_YAML,
  startMockSigstore,
  writeSampleAgentDir,
} from '@clawback/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { program } from '../program.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-cli-bundle-'));
  return () => rm(tmp, { recursive: true, force: true });
});

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runProgram(program, argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { CLAWBACK_QUIET: '1', ...env },
    cwd: tmp,
  });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

/** keys r1, r2; a bundle of the sample agent signed by both. */
async function signedBundle() {
  const dir = await writeSampleAgentDir(join(tmp, 'app'));
  await writeFile(join(tmp, 'agent.yaml'), SAMPLE_AGENT_YAML);
  const k = (n: string) => join(tmp, 'keys', n);
  const bundle = join(tmp, 'agent.bundle');
  expect((await run(['keys', 'generate', '--out', join(tmp, 'keys'), '--name', 'r1'])).code).toBe(0);
  expect((await run(['keys', 'generate', '--out', join(tmp, 'keys'), '--name', 'r2'])).code).toBe(0);
  const built = await run(
    ['bundle', 'build', dir, '--manifest', join(tmp, 'agent.yaml'), '--out', bundle, '--json'],
    {
      SOURCE_DATE_EPOCH: '1700000000',
    },
  );
  expect(built.code).toBe(0);
  expect(built.json()).toMatchObject({ ok: true, name: 'com.openclaw.sensor_parser', version: '1.4.0' });
  expect((await run(['bundle', 'sign', bundle, '--key', k('r1.key')])).code).toBe(0);
  expect((await run(['bundle', 'sign', bundle, '--key', k('r2.key'), '--key', k('r1.key')])).code).toBe(0);
  return { bundle, k, trust: ['--trusted-key', k('r1.pub'), '--trusted-key', k('r2.pub')] };
}

describe('clawback keys generate', () => {
  it('writes NAME.key 0600 and NAME.pub, prints the key id, refuses to overwrite', async () => {
    const r = await run(['keys', 'generate', '--out', join(tmp, 'k'), '--name', 'release', '--json']);
    expect(r.code).toBe(0);
    expect(r.json().keyid).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(join(tmp, 'k', 'release.key'))).mode & 0o777).toBe(0o600);
    const pub = JSON.parse(await readFile(join(tmp, 'k', 'release.pub'), 'utf8'));
    expect(pub.keyid).toBe(r.json().keyid);
    const again = await run(['keys', 'generate', '--out', join(tmp, 'k'), '--name', 'release', '--json']);
    expect(again.code).toBe(5);
    expect(again.json().error.code).toBe('KEY_FILE_EXISTS');
  });
});

describe('clawback bundle build/sign/inspect/verify', () => {
  it('verifies 2-of-2 signatures and lists every check by name', async () => {
    const { bundle, trust } = await signedBundle();
    const sig = JSON.parse(await readFile(`${bundle}.sig.json`, 'utf8'));
    expect(sig.signatures).toHaveLength(2);
    expect(sig.payloadType).toBe('application/vnd.clawback.manifest+json');
    const r = await run(['bundle', 'verify', bundle, ...trust, '--threshold', '2', '--json']);
    expect(r.code).toBe(0);
    expect(r.json().checks.map((c: { name: string }) => c.name)).toEqual([
      'manifest-signature',
      'bundle-contents',
    ]);
    const inspect = await run(['bundle', 'inspect', bundle, '--json']);
    expect(inspect.json().manifest.agent_profile.resource_limits.max_cpu_percent).toBe(15);
    expect(inspect.json().sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fails with exit 1 and the specific code when the threshold is not met or the bundle is tampered', async () => {
    const { bundle, k, trust } = await signedBundle();
    const few = await run([
      'bundle',
      'verify',
      bundle,
      '--trusted-key',
      k('r1.pub'),
      '--threshold',
      '2',
      '--json',
    ]);
    expect(few.code).toBe(1);
    expect(few.json()).toMatchObject({ ok: false, code: 'SIGNATURE_THRESHOLD_NOT_MET' });
    const bytes = await readFile(bundle);
    const at = bytes.indexOf(Buffer.alloc(512, 7)) + 1;
    bytes[at] = (bytes[at] ?? 0) ^ 1;
    await writeFile(bundle, bytes);
    const bad = await run(['bundle', 'verify', bundle, ...trust, '--threshold', '2', '--json']);
    expect(bad.code).toBe(1);
    expect(bad.json()).toMatchObject({ ok: false, code: 'BUNDLE_DIGEST_MISMATCH' });
    const human = await run(['bundle', 'verify', bundle, ...trust]);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('error[BUNDLE_DIGEST_MISMATCH]');
    // A co-signer handed the tampered file refuses to sign it, and the signature file is unchanged.
    const before = await readFile(`${bundle}.sig.json`, 'utf8');
    const sign = await run(['bundle', 'sign', bundle, '--key', k('r1.key'), '--json']);
    expect(sign.code).toBe(1);
    expect(sign.json().error.code).toBe('BUNDLE_DIGEST_MISMATCH');
    expect(await readFile(`${bundle}.sig.json`, 'utf8')).toBe(before);
  });

  it('builds and signs in one step with --key; a bad key writes nothing', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'app'));
    await writeFile(join(tmp, 'agent.yaml'), SAMPLE_AGENT_YAML);
    await run(['keys', 'generate', '--out', join(tmp, 'keys'), '--name', 'r1']);
    const out = join(tmp, 'one.bundle');
    const bad = await run([
      'bundle',
      'build',
      dir,
      '--manifest',
      join(tmp, 'agent.yaml'),
      '--out',
      out,
      '--key',
      join(tmp, 'keys', 'r1.pub'),
    ]);
    expect(bad.code).toBe(3);
    await expect(stat(out)).rejects.toThrow();
    const ok = await run([
      'bundle',
      'build',
      dir,
      '--manifest',
      join(tmp, 'agent.yaml'),
      '--out',
      out,
      '--key',
      join(tmp, 'keys', 'r1.key'),
      '--json',
    ]);
    expect(ok.json().signature).toBe(`${out}.sig.json`);
    const v = await run(['bundle', 'verify', out, '--trusted-key', join(tmp, 'keys', 'r1.pub'), '--json']);
    expect(v.code).toBe(0);
  });

  it('reports agent.yaml problems with their paths and exit 3', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'app'));
    await writeFile(
      join(tmp, 'agent.yaml'),
      SAMPLE_AGENT_YAML.replace('max_cpu_percent: 15', 'max_cpu_percent: 101'),
    );
    const r = await run([
      'bundle',
      'build',
      dir,
      '--manifest',
      join(tmp, 'agent.yaml'),
      '--out',
      join(tmp, 'x.bundle'),
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('agent_profile.resource_limits.max_cpu_percent: must be <= 100');
  });
});

describe('clawback provenance', () => {
  let mock: MockSigstore;
  beforeAll(async () => {
    mock = await startMockSigstore();
  });
  afterAll(async () => {
    await mock.close();
  });

  it('names the missing variables outside GitHub Actions (exit 4)', async () => {
    const { bundle, k } = await signedBundle();
    const r = await run(['provenance', bundle, '--key', k('r1.key'), '--json'], {
      GITHUB_REPOSITORY: 'acme/agents',
    });
    expect(r.code).toBe(4);
    expect(r.json().error.code).toBe('PROVENANCE_ENV_MISSING');
    expect(r.json().error.details.missing).toContain('GITHUB_WORKFLOW_REF');
  });

  it('writes key-signed provenance from a simulated Actions run and verifies it against a policy', async () => {
    const { bundle, k, trust } = await signedBundle();
    const p = await run(['provenance', bundle, '--key', k('r1.key'), '--json'], githubActionsEnv());
    expect(p.code).toBe(0);
    const policy = ['--expect-repo', 'acme/agents', '--expect-workflow', '.github/workflows/release.yml'];
    const ok = await run([
      'bundle',
      'verify',
      bundle,
      ...trust,
      '--provenance',
      `${bundle}.provenance.json`,
      ...policy,
      '--expect-ref',
      'refs/tags/v.*',
      '--json',
    ]);
    expect(ok.code).toBe(0);
    const wrongRef = await run([
      'bundle',
      'verify',
      bundle,
      ...trust,
      '--provenance',
      `${bundle}.provenance.json`,
      ...policy,
      '--expect-ref',
      'refs/heads/main',
      '--json',
    ]);
    expect(wrongRef.code).toBe(1);
    expect(wrongRef.json().code).toBe('PROVENANCE_REF_MISMATCH');
  });

  it('signs keyless with --sigstore (mock Fulcio/Rekor) and verifies against the pinned trusted root', async () => {
    const { bundle, k, trust } = await signedBundle();
    const claims = githubActionsClaims({ ref: 'refs/tags/v1.4.0' });
    const env = mock.actionsEnv(claims);
    const p = await run(
      [
        'provenance',
        bundle,
        '--key',
        k('r1.key'),
        '--sigstore',
        '--fulcio-url',
        mock.fulcioURL,
        '--rekor-url',
        mock.rekorURL,
        '--json',
      ],
      env,
    );
    expect(p.stdout + p.stderr).toContain('sigstore');
    expect(p.code).toBe(0);
    const root = join(tmp, 'trusted_root.json');
    await writeFile(root, JSON.stringify(mock.trustedRoot));
    const args = [
      'bundle',
      'verify',
      bundle,
      ...trust,
      '--provenance',
      `${bundle}.provenance.json`,
      '--sigstore-bundle',
      `${bundle}.provenance.sigstore.json`,
      '--trusted-root',
      root,
      '--expect-repo',
      'acme/agents',
      '--json',
    ];
    const ok = await run(args);
    expect(ok.json().checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
    expect(ok.json().checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['sigstore-bundle', 'sigstore-certificate']),
    );
    expect(ok.code).toBe(0);
    // The Sigstore path alone also enforces the provenance policy.
    const swapped = await run([
      'bundle',
      'verify',
      bundle,
      ...trust,
      '--sigstore-bundle',
      `${bundle}.provenance.sigstore.json`,
      '--trusted-root',
      root,
      '--expect-repo',
      'other/repo',
      '--json',
    ]);
    expect(swapped.code).toBe(1);
    expect(swapped.json().code).toBe('PROVENANCE_REPOSITORY_MISMATCH');
  });
});

describe('the built clawback binary', () => {
  it('verifies a bundle and rejects a tampered one with exit code 1', async () => {
    const bin = fileURLToPath(new URL('../../dist/bundle/clawback.mjs', import.meta.url));
    const { bundle, trust } = await signedBundle();
    const exec = promisify(execFile);
    const ok = await exec(process.execPath, [
      bin,
      'bundle',
      'verify',
      bundle,
      ...trust,
      '--threshold',
      '2',
      '--json',
    ]);
    expect(JSON.parse(ok.stdout).ok).toBe(true);
    const bytes = await readFile(bundle);
    const at = bytes.indexOf(Buffer.from('"agent_profile"'));
    bytes[at] = (bytes[at] ?? 0) ^ 1;
    await writeFile(bundle, bytes);
    const bad = await exec(process.execPath, [bin, 'bundle', 'verify', bundle, ...trust, '--json']).catch(
      (e) => e,
    );
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).code).toBe('BUNDLE_MANIFEST_MISMATCH');
  });
});
