// The whole story (`npm start` = `clawback demo`), run as a test: the real CLI in-process, the
// real console on its embedded database, five real `clawback-updater` processes whose agents
// run under probation. Every outcome the demo claims is checked here, most of them again from
// the workspace it leaves behind (device roots, TUF repository, audit logs), not from its report.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { program } from '@clawback/cli';
import { parseAuditEntries, readAuditLog, runProgram } from '@clawback/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface ApplyOutcome {
  device: string;
  outcome: string;
  version: string | null;
  reasonCode: string | null;
  failedChecks: { check: string; measured: number | string | null; limit: number | string | null }[];
}

interface DemoResult {
  workspace: string;
  kept: boolean;
  seconds: number;
  releases: { version: string; approved: boolean; published: boolean; failedRules: string[] }[];
  rollouts: { version: string; id: string; state: string; stages: { name: string; devices: string[] }[] }[];
  devices: { id: string; committed: string | null }[];
  afterHalt: ApplyOutcome[];
  canary: ApplyOutcome;
  alerts: { kind: string; rolloutId: string | null; deviceId: string | null; signatureValid: boolean }[];
  evidence: { dir: string; verified: boolean; summary: Record<string, number> };
  audit: { device: { id: string; ok: boolean }; console: { ok: boolean; entries: number } };
}

let base: string;
let ws: string;
let result: DemoResult;
let progress = '';

async function runDemo(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runProgram(program, ['demo', ...argv], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: { PATH: process.env.PATH ?? '' },
    cwd: process.cwd(),
  });
  return { code, out, err };
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'clawback-e2e-'));
  ws = join(base, 'demo');
  const r = await runDemo(['--dir', ws, '--json']);
  progress = r.err;
  expect(r.code, r.err).toBe(0);
  result = JSON.parse(r.out) as DemoResult;
}, 240_000);

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

async function deviceEntries(id: string) {
  return parseAuditEntries((await readAuditLog(join(ws, 'devices', id, 'root', 'audit', 'audit.log'))).files);
}

describe('clawback demo (npm start)', () => {
  it('ships the approved releases and refuses the unapproved push before anything is signed', async () => {
    const byVersion = Object.fromEntries(result.releases.map((r) => [r.version, r]));
    for (const v of ['1.0.0', '1.1.0', '1.2.0'])
      expect(byVersion[v]).toMatchObject({ approved: true, published: true });
    expect(byVersion['1.1.1']).toMatchObject({
      approved: false,
      published: false,
      failedRules: ['direct-push'],
    });
    expect(existsSync(join(ws, 'dist', 'sensor-agent-1.1.1.clawback.sig.json'))).toBe(false);
    // The refusal itself is on record, signed: the change record says rejected and why.
    const record = JSON.parse(await readFile(join(ws, 'records', 'change-record-1.1.1.json'), 'utf8')) as {
      payload: string;
    };
    const statement = JSON.parse(Buffer.from(record.payload, 'base64').toString('utf8')) as {
      predicate: { decision: { status: string; failedRules: string[] } };
    };
    expect(statement.predicate.decision).toMatchObject({ status: 'rejected', failedRules: ['direct-push'] });
    const meta = join(ws, 'tuf-repo', 'metadata');
    const newest = (await readdir(meta))
      .filter((f) => /^\d+\.targets\.json$/.test(f))
      .sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))[0];
    const targets = JSON.parse(await readFile(join(meta, newest ?? 'targets.json'), 'utf8')) as {
      signed: { targets: Record<string, unknown> };
    };
    const published = Object.keys(targets.signed.targets).filter((t) => t.endsWith('/bundle.clawback'));
    expect(published.sort()).toEqual(
      ['1.0.0', '1.1.0', '1.2.0'].map((v) => `com.openclaw.sensor_parser/${v}/bundle.clawback`),
    );
  });

  it('rolls 1.0.0 and 1.1.0 out to every device, stage by stage', () => {
    expect(result.rollouts.map((r) => [r.version, r.state])).toEqual([
      ['1.0.0', 'completed'],
      ['1.1.0', 'completed'],
      ['1.2.0', 'halted'],
    ]);
    expect(result.rollouts[1]?.stages.map((s) => s.name)).toEqual(['canary', '40%', 'everyone']);
    expect(result.devices).toHaveLength(5);
  });

  it('the 1.2.0 canary exceeds its memory ceiling in probation and rolls back by itself', async () => {
    const canaryStage = result.rollouts[2]?.stages[0]?.devices ?? [];
    expect(canaryStage).toEqual([result.canary.device]);
    expect(result.canary).toMatchObject({
      outcome: 'rolled-back',
      version: '1.2.0',
      reasonCode: 'RESOURCE_LIMIT_EXCEEDED',
    });
    const rss = result.canary.failedChecks.find((c) => c.check === 'rss');
    expect(Number(rss?.measured)).toBeGreaterThan(96);
    // The device's own log: installed into the trial slot, then rolled back, report queued.
    const kinds = (await deviceEntries(result.canary.device)).map((e) => e.kind);
    expect(kinds).toContain('updater.rollback');
    // The signed report reached the console with its reason.
    const consoleLog = await readFile(join(ws, 'console-audit.jsonl'), 'utf8');
    const accepted = consoleLog
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { kind: string; data: Record<string, unknown> })
      .filter((e) => e.kind === 'report.accepted' && e.data.deviceId === result.canary.device);
    expect(accepted.at(-1)?.data).toMatchObject({
      outcome: 'rolled-back',
      reasonCode: 'RESOURCE_LIMIT_EXCEEDED',
    });
  });

  it('halts the rollout automatically and alerts the webhook with a signed body', () => {
    const halted = result.alerts.filter((a) => a.kind === 'rollout.halted');
    expect(halted).toHaveLength(1);
    expect(halted[0]).toMatchObject({ rolloutId: result.rollouts[2]?.id, signatureValid: true });
    expect(result.alerts).toContainEqual(
      expect.objectContaining({
        kind: 'update.rolled-back',
        deviceId: result.canary.device,
        signatureValid: true,
      }),
    );
  });

  it('no device outside the canary stage ever installs 1.2.0; every device runs 1.1.0', async () => {
    expect(result.afterHalt.map((r) => r.outcome)).toEqual(Array(5).fill('up-to-date'));
    for (const d of result.devices) {
      expect(d.committed, d.id).toBe('1.1.0');
      for (const slot of ['a', 'b']) {
        const meta = JSON.parse(
          await readFile(join(ws, 'devices', d.id, 'root', 'slots', `${slot}.meta.json`), 'utf8'),
        ) as { release: { version: string } };
        if (d.id !== result.canary.device)
          expect(meta.release.version, `${d.id} slot ${slot}`).not.toBe('1.2.0');
      }
      if (d.id === result.canary.device) continue;
      const touched = (await deviceEntries(d.id)).filter(
        (e) =>
          (e.data as { version?: string; to?: string }).version === '1.2.0' ||
          (e.data as { to?: string }).to === '1.2.0',
      );
      expect(touched, d.id).toEqual([]);
    }
  });

  it('produces an evidence pack that verifies offline, and audit logs whose chains hold', () => {
    expect(result.evidence.verified).toBe(true);
    expect(result.evidence.summary).toMatchObject({
      releases: 3,
      approved: 3,
      exceptions: 0,
      auditLogs: 6,
      auditLogsVerified: 6,
    });
    expect(result.evidence.summary.rollbacks).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(result.evidence.dir, 'index.html'))).toBe(true);
    expect(result.audit.device).toMatchObject({ id: result.canary.device, ok: true });
    expect(result.audit.console.ok).toBe(true);
    expect(result.audit.console.entries).toBeGreaterThan(20);
  });

  it('reports progress while it runs and stops every agent it started', async () => {
    for (const step of ['1. Workspace', '6. Staged rollouts', '7. Evidence', '8. Summary'])
      expect(progress).toContain(step);
    for (const d of result.devices) {
      const pid = Number((await readFile(join(ws, 'devices', d.id, 'root', 'agent.pid'), 'utf8')).trim());
      expect(() => process.kill(pid, 0), `${d.id} agent ${pid} still runs`).toThrow();
    }
  });

  it('refuses a --dir that is not empty, and changes nothing in it', async () => {
    const r = await runDemo(['--dir', ws]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not empty/);
  });
});
