/**
 * Policy and audit-log fixtures, built by the project's own code: decision logs
 * are written through core's AuditLog (really hash-chained, really signed
 * checkpoints) via @clawback/policy's evaluateAndLog, and tampering is done to
 * the real files afterwards, the way an attacker with disk access would.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AuditLog, entryHash, type KeyPair, signerFromKeyPair } from '@clawback/core';
import { type CompiledPolicy, evaluateAndLog, loadPolicy, type PolicyRequest } from '@clawback/policy';

/** The policy from the access-policy issue, verbatim. */
export const ISSUE_POLICY_YAML = `version: "1.0"
description: "SOC 2 CC6.1 — Logical access controls"
rules:
  - action: file.read
    path: "src/**"
    effect: allow
    reason: "CC6.1: Scoped read access to application source"
  - action: shell.execute
    command: "sudo *"
    effect: deny
    reason: "CC6.1: Prevent privilege escalation"
  - action: "*"
    effect: deny
    reason: "CC6.1: Deny-by-default baseline"
`;

/** A mix of allowed and denied requests under ISSUE_POLICY_YAML. */
export const SAMPLE_REQUESTS: readonly PolicyRequest[] = [
  { action: 'file.read', path: 'src/index.ts' },
  { action: 'shell.execute', command: 'sudo rm -rf /' },
  { action: 'file.read', path: 'src/lib/util.ts' },
  { action: 'file.write', path: 'src/index.ts' },
  { action: 'shell.execute', command: 'sudo ls' },
  { action: 'network.http', url: 'https://example.com/' },
];

export interface DecisionLogFixture {
  path: string;
  policy: CompiledPolicy;
  entries: number;
}

/**
 * Write a real decision log: `rounds` passes over `requests`, `stepMs` apart
 * (first one `stepMs` after `start`), optionally rotating and signing checkpoints.
 */
export async function writeDecisionLog(opts: {
  dir: string;
  policyYaml?: string;
  requests?: readonly PolicyRequest[];
  rounds?: number;
  key?: KeyPair;
  rotateBytes?: number;
  start?: Date;
  stepMs?: number;
  name?: string;
}): Promise<DecisionLogFixture> {
  const path = join(opts.dir, opts.name ?? 'audit.log');
  const policy = loadPolicy(opts.policyYaml ?? ISSUE_POLICY_YAML);
  // The clock moves once per decision (AuditLog also reads it for checkpoints).
  let t = (opts.start ?? new Date('2026-01-05T00:00:00Z')).getTime();
  const step = opts.stepMs ?? 1000;
  const log = await AuditLog.open(path, {
    durable: false,
    now: () => new Date(t),
    ...(opts.key ? { signer: signerFromKeyPair(opts.key) } : {}),
    ...(opts.rotateBytes ? { rotateBytes: opts.rotateBytes } : {}),
  });
  const requests = opts.requests ?? SAMPLE_REQUESTS;
  let entries = 0;
  for (let r = 0; r < (opts.rounds ?? 1); r++) {
    for (const req of requests) {
      t += step;
      const d = await evaluateAndLog(policy, req, log, { role: 'fixture' });
      if (!d.logged) throw new Error(`fixture log append failed: ${d.logError?.message}`);
      entries += 1;
    }
  }
  return { path, policy, entries };
}

export type Tamper =
  | 'edit'
  | 'edit-rehash'
  | 'delete'
  | 'reorder'
  | 'truncate'
  | 'drop-rotated-middle'
  | 'relink-rotated';

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).trimEnd().split('\n');
}

async function put(path: string, ls: readonly string[]): Promise<void> {
  await writeFile(path, `${ls.join('\n')}\n`);
}

async function rotatedFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const base = basename(path);
  return (await readdir(dir))
    .filter((n) => n.startsWith(`${base}.`) && /\.\d{6,}$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * Tamper with a real log file the way an attacker would:
 * - edit: change a decision from deny to allow in line `at` (hash left stale)
 * - edit-rehash: same, and recompute that entry's hash so only the chain shows it
 * - delete: remove line `at`
 * - reorder: swap lines `at` and `at + 1`
 * - truncate: drop the newest `count` lines (the checkpoint still names the old head)
 * - drop-rotated-middle: delete the middle rotated file
 * - relink-rotated: rewrite the first entry of the live file to point at a forged previous hash
 */
export async function tamperAuditLog(path: string, how: Tamper, at = 2, count = 2): Promise<void> {
  switch (how) {
    case 'edit':
    case 'edit-rehash': {
      const ls = await lines(path);
      const e = JSON.parse(ls[at] ?? '{}');
      e.data.decision = e.data.decision === 'allow' ? 'deny' : 'allow';
      if (how === 'edit-rehash') {
        const { hash: _stale, ...rest } = e;
        e.hash = entryHash(rest);
      }
      ls[at] = JSON.stringify(e);
      return put(path, ls);
    }
    case 'delete': {
      const ls = await lines(path);
      ls.splice(at, 1);
      return put(path, ls);
    }
    case 'reorder': {
      const ls = await lines(path);
      [ls[at], ls[at + 1]] = [ls[at + 1] ?? '', ls[at] ?? ''];
      return put(path, ls);
    }
    case 'truncate': {
      const ls = await lines(path);
      return put(path, ls.slice(0, ls.length - count));
    }
    case 'drop-rotated-middle': {
      const rotated = await rotatedFiles(path);
      const middle = rotated[Math.floor(rotated.length / 2)];
      if (!middle || rotated.length < 3) throw new Error('need at least three rotated files');
      return rm(middle);
    }
    case 'relink-rotated': {
      const ls = await lines(path);
      const e = JSON.parse(ls[0] ?? '{}');
      e.prev = 'f'.repeat(64);
      const { hash: _stale, ...rest } = e;
      e.hash = entryHash(rest);
      ls[0] = JSON.stringify(e);
      return put(path, ls);
    }
  }
}
