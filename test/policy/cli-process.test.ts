/**
 * The built `clawback` binary as a real process (`npm test` builds first): exit
 * codes and `--json` output of the policy and audit commands as CI would see them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePublicKeyFile, generateKeyPair } from '@clawback/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tamperAuditLog, writeDecisionLog } from '../../packages/testing/src/policy.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const bin = join(root, 'packages/cli/dist/bundle/clawback.mjs');

function clawback(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, env: { ...process.env, CLAWBACK_QUIET: '1' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 70) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-policy-proc-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clawback (built) policy and audit commands', () => {
  it('validates the golden policies and denies sudo with exit 1', async () => {
    const ok = await clawback([
      'policy',
      'validate',
      'examples/policies/soc2-cc6.1.yaml',
      'examples/policies/roles/production-agent.yaml',
    ]);
    expect(ok.code).toBe(0);
    const deny = await clawback([
      'policy',
      'eval',
      'examples/policies/soc2-cc6.1.yaml',
      '--action',
      'shell.execute',
      '--command',
      'sudo rm -rf /',
      '--json',
    ]);
    expect(deny.code).toBe(1);
    expect(JSON.parse(deny.stdout)).toMatchObject({ decision: 'deny', ruleIndex: 1 });
  });

  it('an invalid policy exits 1 from validate and 3 from eval, without a stack trace', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'version: "1.0"\nrules:\n  - {action: file.read, effect: allow}\n');
    expect((await clawback(['policy', 'validate', bad])).code).toBe(1);
    const ev = await clawback(['policy', 'eval', bad, '--action', 'file.read', '--path', 'x']);
    expect(ev.code).toBe(3);
    expect(ev.stderr).toContain('error[POLICY_INVALID]');
    expect(ev.stderr).not.toMatch(/\n\s+at /);
  });

  it('audit verify names tampering and exits 1', async () => {
    const key = generateKeyPair();
    const pub = join(dir, 'audit.pub');
    await writeFile(pub, encodePublicKeyFile(key.publicKey));
    const { path } = await writeDecisionLog({ dir: join(dir, 'log'), key, rounds: 2 });
    expect((await clawback(['audit', 'verify', path, '--trusted-key', pub])).code).toBe(0);
    await tamperAuditLog(path, 'delete', 4);
    const r = await clawback(['audit', 'verify', path, '--trusted-key', pub, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).tampering).toEqual(['deleted']);
  });
});
