import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, generateKeyPair, readAuditLog, signerFromKeyPair, verifyAuditLog } from '@clawback/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DecisionLogger, evaluateAndLog, POLICY_DECISION_KIND } from './decision-log.js';
import { loadPolicy } from './evaluate.js';

const POLICY = `version: "1.0"
rules:
  - {action: file.read, path: "src/**", effect: allow, reason: "read source"}
  - {action: shell.execute, command: "sudo *", effect: deny, reason: "no sudo"}
  - {action: "*", effect: deny, reason: "default"}
`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-policy-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decision log', () => {
  it('appends each decision to the hash-chained log with the policy digest', async () => {
    const policy = loadPolicy(POLICY);
    const key = generateKeyPair();
    const path = join(dir, 'audit.log');
    const log = await AuditLog.open(path, {
      signer: signerFromKeyPair(key),
      durable: false,
      now: () => new Date('2026-02-01T10:00:00Z'),
    });
    const logger = new DecisionLogger(policy, log, { role: 'production-agent', agent: 'dev-7' });
    const a = await logger.decide({ action: 'file.read', path: 'src/a.ts' });
    const b = await logger.decide({
      action: 'shell.execute',
      command: 'sudo curl -H "Authorization: Bearer abcdefghijklmnopqrstuvwxyz"',
    });
    expect(a).toMatchObject({ decision: 'allow', ruleIndex: 0, logged: true });
    expect(b).toMatchObject({ decision: 'deny', ruleIndex: 1, logged: true });
    const verified = await verifyAuditLog(path, { trustedKeys: [key.publicKey] });
    expect(verified.ok).toBe(true);
    const { files } = await readAuditLog(path);
    const entries = files.flatMap((f) => f.text.trim().split('\n')).map((l) => JSON.parse(l));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      kind: POLICY_DECISION_KIND,
      ts: '2026-02-01T10:00:00.000Z',
      data: {
        action: 'file.read',
        target: { field: 'path', value: 'src/a.ts' },
        decision: 'allow',
        ruleIndex: 0,
        reason: 'read source',
        policySha256: policy.sha256,
        role: 'production-agent',
        agent: 'dev-7',
      },
    });
    // secrets in a command never reach the log
    expect(JSON.stringify(entries[1])).not.toContain('abcdefghijklmnopqrstuvwxyz');
    expect(entries[1].prev).toBe(entries[0].hash);
  });

  it('fails closed: an allow becomes a deny when the log cannot be written', async () => {
    const policy = loadPolicy(POLICY);
    const logDir = join(dir, 'logs');
    const log = await AuditLog.open(join(logDir, 'audit.log'), { durable: false });
    expect((await evaluateAndLog(policy, { action: 'file.read', path: 'src/a.ts' }, log)).decision).toBe(
      'allow',
    );
    // The log's directory disappears and a file takes its place: appends now really fail.
    await rm(logDir, { recursive: true, force: true });
    await writeFile(logDir, 'not a directory');
    const d = await evaluateAndLog(policy, { action: 'file.read', path: 'src/a.ts' }, log);
    expect(d).toMatchObject({ decision: 'deny', ruleIndex: -1, logged: false, policyDecision: 'allow' });
    expect(d.logError?.code).toBe('AUDIT_APPEND_FAILED');
    expect(d.reason).toMatch(/could not be recorded/);
  });

  it('fails closed on any sink error and never throws', async () => {
    const policy = loadPolicy(POLICY);
    const sink = { append: async () => Promise.reject(new Error('disk full')) };
    const d = await new DecisionLogger(policy, sink).decide({ action: 'file.read', path: 'src/a.ts' });
    expect(d).toMatchObject({
      decision: 'deny',
      logged: false,
      logError: { code: 'AUDIT_APPEND_FAILED', message: 'disk full' },
    });
  });
});
