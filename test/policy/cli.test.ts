/**
 * `clawback policy …` and `clawback audit …` end to end, in process (runProgram),
 * on the golden example policies and on real decision logs written through core's
 * AuditLog and then really tampered with on disk.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CliIo,
  encodePrivateKeyFile,
  encodePublicKeyFile,
  generateKeyPair,
  type Program,
  runProgram,
  sha256Hex,
} from '@clawback/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommands } from '../../packages/cli/src/commands/audit.js';
import { policyCommands } from '../../packages/cli/src/commands/policy.js';
import {
  ISSUE_POLICY_YAML,
  type Tamper,
  tamperAuditLog,
  writeDecisionLog,
} from '../../packages/testing/src/policy.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const examples = join(root, 'examples/policies');
const program: Program = {
  name: 'clawback',
  version: 'test',
  summary: 'test',
  commands: [...policyCommands, ...auditCommands],
};

async function run(argv: string[], now = new Date('2026-02-20T12:00:00Z')) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { CLAWBACK_QUIET: '' },
    cwd: root,
    now: () => now,
  };
  const code = await runProgram(program, argv, io);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

let dir: string;
const key = generateKeyPair();
let pubFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-policy-cli-'));
  pubFile = join(dir, 'audit.pub');
  await writeFile(pubFile, encodePublicKeyFile(key.publicKey));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('golden policies from the field', () => {
  const policies = [
    'soc2-cc6.1.yaml',
    'coding-agent.yaml',
    'roles/production-agent.yaml',
    'roles/read-only-analyst.yaml',
    'roles/build-agent.yaml',
  ];

  it('the issue policy is kept verbatim', async () => {
    expect(await readFile(join(examples, 'soc2-cc6.1.yaml'), 'utf8')).toBe(ISSUE_POLICY_YAML);
  });

  it('all validate without errors or warnings', async () => {
    const r = await run(['policy', 'validate', ...policies.map((p) => join(examples, p)), '--json']);
    expect(r.code).toBe(0);
    for (const res of r.json().results) {
      expect(res.errors).toEqual([]);
      expect(res.warnings).toEqual([]);
      expect(res.sha256).toBe(sha256Hex(await readFile(res.file)));
    }
  });

  it.each([
    ['soc2-cc6.1.yaml', 'soc2-cc6.1.cases.yaml'],
    ['roles/production-agent.yaml', 'production-agent.cases.yaml'],
    ['roles/read-only-analyst.yaml', 'read-only-analyst.cases.yaml'],
  ])('%s passes its cases', async (policy, cases) => {
    const r = await run([
      'policy',
      'test',
      join(examples, policy),
      '--cases',
      join(examples, 'cases', cases),
      '--json',
    ]);
    expect(r.json().results.filter((x: { pass: boolean }) => !x.pass)).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('lists the role directory with digests for the bundle manifest', async () => {
    const r = await run(['policy', 'roles', join(examples, 'roles'), '--json']);
    expect(r.code).toBe(0);
    const roles = r.json().roles;
    expect(roles.map((x: { role: string }) => x.role)).toEqual([
      'build-agent',
      'production-agent',
      'read-only-analyst',
    ]);
    for (const x of roles) expect(x.sha256).toBe(sha256Hex(await readFile(x.path)));
  });
});

describe('clawback policy', () => {
  it('validate: exit 1 with every error and its path; missing file is exit 3', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'version: "1.0"\nrules:\n  - {action: file.read, path: "src/**", effect: permit}\n');
    const r = await run(['policy', 'validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('rules[0].effect: must be allow or deny');
    expect(r.stdout).toContain('rules[0].reason: is required');
    expect(r.stdout).toContain('the last rule must be the catch-all deny');
    expect((await run(['policy', 'validate', join(dir, 'nope.yaml')])).code).toBe(3);
  });

  it('eval: exit 0 on allow, 1 on deny, 2 on a bad request', async () => {
    const p = join(examples, 'soc2-cc6.1.yaml');
    const allow = await run([
      'policy',
      'eval',
      p,
      '--action',
      'file.read',
      '--path',
      'src/index.ts',
      '--json',
    ]);
    expect(allow.code).toBe(0);
    expect(allow.json()).toMatchObject({
      decision: 'allow',
      ruleIndex: 0,
      reason: 'CC6.1: Scoped read access to application source',
    });
    const deny = await run(['policy', 'eval', p, '--action', 'shell.execute', '--command', 'sudo rm -rf /']);
    expect(deny.code).toBe(1);
    expect(deny.stdout).toMatch(/^DENY by rules\[1\]: CC6\.1: Prevent privilege escalation/);
    expect((await run(['policy', 'eval', p, '--action', 'file.chmod', '--path', 'x'])).code).toBe(2);
    expect((await run(['policy', 'eval', p, '--action', 'file.read', '--command', 'ls'])).code).toBe(2);
    expect((await run(['policy', 'eval', p, '--action', 'file.read'])).code).toBe(2);
  });

  it('eval --log records the decision; an unwritable log turns allow into deny', async () => {
    const p = join(examples, 'soc2-cc6.1.yaml');
    const log = join(dir, 'eval', 'audit.log');
    const keyFile = join(dir, 'audit.key');
    await writeFile(keyFile, encodePrivateKeyFile(key), { mode: 0o600 });
    const r = await run([
      'policy',
      'eval',
      p,
      '--action',
      'file.read',
      '--path',
      'src/a.ts',
      '--log',
      log,
      '--log-key',
      keyFile,
      '--json',
    ]);
    expect(r.json()).toMatchObject({ decision: 'allow', logged: true });
    const v = await run(['audit', 'verify', log, '--trusted-key', pubFile, '--json']);
    expect(v.code).toBe(0);
    expect(v.json().report.entries).toBe(1);
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, 'a file where the log directory should be');
    const f = await run([
      'policy',
      'eval',
      p,
      '--action',
      'file.read',
      '--path',
      'src/a.ts',
      '--log',
      join(blocked, 'audit.log'),
      '--json',
    ]);
    expect(f.code).toBe(1);
    expect(f.json()).toMatchObject({
      decision: 'deny',
      logged: false,
      logError: { code: 'AUDIT_APPEND_FAILED' },
    });
  });

  it('test: exit 1 and each miss named', async () => {
    const cases = join(dir, 'cases.yaml');
    await writeFile(
      cases,
      'cases:\n  - {case: ok, action: file.read, path: src/a, expect: allow}\n  - {case: hopes for shell, action: shell.execute, command: ls, expect: allow}\n',
    );
    const r = await run(['policy', 'test', join(examples, 'soc2-cc6.1.yaml'), '--cases', cases]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('1 passed, 1 failed');
    expect(r.stdout).toContain(
      'MISS case "hopes for shell" (cases[1]): expected allow, got deny by rules[2]',
    );
  });

  it('diff: widened permissions fail with --fail-on-widen; no change passes', async () => {
    const oldP = join(examples, 'soc2-cc6.1.yaml');
    const newP = join(dir, 'widened.yaml');
    await writeFile(newP, ISSUE_POLICY_YAML.replace('path: "src/**"', 'path: "**"'));
    const r = await run(['policy', 'diff', oldP, newP, '--fail-on-widen']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('WIDENED permissions');
    const j = (await run(['policy', 'diff', oldP, newP, '--json'])).json();
    expect(j.requiresApproval).toBe(true);
    expect(j.widened[0]).toMatchObject({
      action: 'file.read',
      before: { decision: 'deny', ruleIndex: 2 },
      after: { decision: 'allow', ruleIndex: 0 },
    });
    expect((await run(['policy', 'diff', oldP, oldP, '--fail-on-widen'])).code).toBe(0);
  });
});

describe('clawback audit verify names every kind of tampering', () => {
  async function freshLog(name: string, opts: { rotateBytes?: number; rounds?: number } = {}) {
    const d = join(dir, name);
    return (
      await writeDecisionLog({
        dir: d,
        key,
        rounds: opts.rounds ?? 2,
        ...(opts.rotateBytes ? { rotateBytes: opts.rotateBytes } : {}),
      })
    ).path;
  }

  it('an intact signed log verifies', async () => {
    const log = await freshLog('intact');
    const r = await run(['audit', 'verify', log, '--trusted-key', pubFile, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({
      ok: true,
      tampering: [],
      report: { entries: 12, checkpoint: { status: 'verified' } },
    });
  });

  it.each([
    ['edit', 'edited', 'ENTRY_MODIFIED'],
    ['edit-rehash', 'edited', 'CHAIN_BROKEN'],
    ['delete', 'deleted', 'ENTRY_MISSING'],
    ['reorder', 'reordered', 'ENTRIES_REORDERED'],
    ['truncate', 'truncated', 'LOG_TRUNCATED'],
  ] as [Tamper, string, string][])('%s -> %s', async (how, kind, code) => {
    const log = await freshLog(`t-${how}`);
    await tamperAuditLog(log, how);
    const r = await run(['audit', 'verify', log, '--trusted-key', pubFile, '--json']);
    expect(r.code).toBe(1);
    expect(r.json().tampering).toEqual([kind]);
    expect(r.json().problems.map((p: { code: string }) => p.code)).toContain(code);
    const human = await run(['audit', 'verify', log, '--trusted-key', pubFile]);
    expect(human.stdout).toMatch(new RegExp(`^FAILED .*${kind}`));
  });

  it('a deleted checkpoint is a failure when a trusted key is given', async () => {
    const log = await freshLog('no-checkpoint');
    await rm(`${log}.checkpoint`);
    await tamperAuditLog(log, 'truncate');
    expect((await run(['audit', 'verify', log])).code).toBe(0); // without a key: warning only
    const r = await run(['audit', 'verify', log, '--trusted-key', pubFile, '--json']);
    expect(r.code).toBe(1);
    expect(r.json().problems.map((p: { code: string }) => p.code)).toEqual(['CHECKPOINT_REQUIRED']);
  });

  it('verifies across rotated files, and names a removed middle file and a forged rotation link', async () => {
    const log = await freshLog('rotated', { rotateBytes: 1200, rounds: 6 });
    const rotated = (await readdir(join(dir, 'rotated'))).filter((n) => /^audit\.log\.\d+$/.test(n));
    expect(rotated.length).toBeGreaterThanOrEqual(3);
    const ok = await run(['audit', 'verify', log, '--trusted-key', pubFile, '--json']);
    expect(ok.code).toBe(0);
    expect(ok.json().report.files).toHaveLength(rotated.length + 1);

    const dropped = await freshLog('rotated-drop', { rotateBytes: 1200, rounds: 6 });
    await tamperAuditLog(dropped, 'drop-rotated-middle');
    const r1 = await run(['audit', 'verify', dropped, '--trusted-key', pubFile, '--json']);
    expect(r1.code).toBe(1);
    expect(r1.json().tampering).toContain('deleted');

    // Retention removing the oldest file is allowed by default, refused with --require-complete.
    const retained = await freshLog('rotated-retention', { rotateBytes: 1200, rounds: 6 });
    const oldest = (await readdir(join(dir, 'rotated-retention')))
      .filter((n) => /^audit\.log\.\d+$/.test(n))
      .sort()[0];
    await rm(join(dir, 'rotated-retention', oldest ?? 'missing'));
    expect((await run(['audit', 'verify', retained, '--trusted-key', pubFile])).code).toBe(0);
    const strict = await run([
      'audit',
      'verify',
      retained,
      '--trusted-key',
      pubFile,
      '--require-complete',
      '--json',
    ]);
    expect(strict.code).toBe(1);
    expect(strict.json().tampering).toEqual(['incomplete']);

    const relinked = await freshLog('rotated-relink', { rotateBytes: 1200, rounds: 6 });
    await tamperAuditLog(relinked, 'relink-rotated');
    const r2 = await run(['audit', 'verify', relinked, '--trusted-key', pubFile, '--json']);
    expect(r2.code).toBe(1);
    expect(r2.json().tampering).toContain('rotation-link');
  });
});

describe('clawback audit export and summary', () => {
  let log: string;
  beforeAll(async () => {
    // 18 decisions, one a day from 2026-01-05; the policy changes for the last 6.
    const d = join(dir, 'period');
    log = (await writeDecisionLog({ dir: d, key, rounds: 2, stepMs: 86_400_000 })).path;
    await writeDecisionLog({
      dir: d,
      key,
      rounds: 1,
      stepMs: 86_400_000,
      start: new Date('2026-01-17T00:00:00Z'),
      policyYaml: ISSUE_POLICY_YAML.replace('Deny-by-default baseline', 'Deny by default'),
    });
  });

  it('exports CSV for a period to a file, properly quoted', async () => {
    const out = join(dir, 'export.csv');
    const r = await run([
      'audit',
      'export',
      log,
      '--since',
      '2026-01-10',
      '--format',
      'csv',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ entries: 14, verified: true });
    const csv = await readFile(out, 'utf8');
    const rows = csv.trimEnd().split('\r\n');
    expect(rows).toHaveLength(15);
    expect(rows[0]).toBe('seq,ts,kind,actor,action,target,decision,rule_index,policy_sha256,data,prev,hash');
    expect(csv).toContain('"{""action"":');
    expect(r.json().sha256).toBe(sha256Hex(csv));
  });

  it('exports JSON to stdout with the verification result', async () => {
    const r = await run(['audit', 'export', log, '--since', '30 days', '--format', 'json']);
    expect(r.code).toBe(0);
    const j = r.json();
    expect(j.verification).toMatchObject({ ok: true, tampering: [] });
    expect(j.entries.map((e: { ts: string }) => e.ts.slice(0, 10))).toEqual(['2026-01-22', '2026-01-23']); // since 2026-01-21T12:00Z
    expect((await run(['audit', 'export', log, '--format', 'xml'])).code).toBe(2);
    expect((await run(['audit', 'export', log, '--since', 'last tuesday'])).code).toBe(2);
  });

  it('summarizes a quarter: ratios, top denied, and drift from the expected policy', async () => {
    const expected = sha256Hex(ISSUE_POLICY_YAML);
    const r = await run([
      'audit',
      'summary',
      log,
      '--since',
      'quarter',
      '--expected-policy-hash',
      expected,
      '--json',
    ]);
    expect(r.code).toBe(1);
    const s = r.json();
    expect(s.entries).toBe(18);
    expect(s.decisions).toMatchObject({ total: 18, allow: 6, deny: 12 });
    expect(s.topDeniedActions[0]).toEqual({ action: 'shell.execute', count: 6 });
    expect(s.drift).toMatchObject({ expected, expectedSource: 'given', decisions: 6 });
    const human = await run([
      'audit',
      'summary',
      log,
      '--since',
      'quarter',
      '--expected-policy-hash',
      expected,
    ]);
    expect(human.stdout).toContain('POLICY DRIFT: 6 decision(s)');
    expect((await run(['audit', 'summary', log, '--expected-policy-hash', 'abc'])).code).toBe(2);
  });
});
