/** Step 7 of the demo: the auditor's evidence pack and the hash-chained audit logs, verified offline. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportAuditLog } from '@clawback/console';
import type { DemoConsole, DemoDevice } from './fleet.js';
import type { Pipeline } from './pipeline.js';
import { expectCode, parseJson, type Runner } from './runner.js';

export interface EvidenceOutcome {
  dir: string;
  verified: boolean;
  summary: Record<string, unknown>;
}

export interface AuditOutcome {
  device: { id: string; ok: boolean; entries: number };
  console: { ok: boolean; entries: number };
}

export async function evidencePack(o: {
  dir: string;
  clawback: Runner;
  pipeline: Pipeline;
  console: DemoConsole;
  devices: DemoDevice[];
  started: number;
}): Promise<EvidenceOutcome> {
  const day = 86_400_000;
  const consoleLog = await exportConsoleAudit(o.dir, o.console);
  const out = join(o.dir, 'evidence');
  const pack = parseJson<{ summary: Record<string, unknown> }>(
    'evidence pack',
    expectCode(
      'evidence pack',
      await o.clawback(
        [
          'evidence',
          'pack',
          '--repo',
          'acme/agents',
          '--since',
          new Date(o.started - day).toISOString(),
          '--until',
          new Date(Date.now() + day).toISOString(),
          '--tuf-repo',
          join(o.dir, 'tuf-repo'),
          '--records',
          join(o.dir, 'records'),
          ...o.devices.flatMap((d) => [
            '--audit-log',
            join(d.root, 'audit', 'audit.log'),
            '--audit-key',
            join(d.root, 'device-key.pub.json'),
          ]),
          '--audit-log',
          consoleLog.log,
          '--audit-key',
          consoleLog.key,
          '--key',
          join(o.dir, 'keys', 'approvals.key'),
          '--out',
          out,
          '--json',
        ],
        o.pipeline.githubEnv,
      ),
      0,
    ),
  );
  const verify = await o.clawback([
    'evidence',
    'verify',
    out,
    '--trusted-key',
    join(o.dir, 'keys', 'approvals.pub'),
    '--json',
  ]);
  return { dir: out, verified: verify.code === 0, summary: pack.summary };
}

async function exportConsoleAudit(dir: string, c: DemoConsole): Promise<{ log: string; key: string }> {
  const log = join(dir, 'console-audit.jsonl');
  await exportAuditLog(c.server.db, log, c.server.ctx.signer, new Date());
  const res = await fetch(`${c.url}/api/v1/console-key`);
  const key = join(dir, 'console.pub');
  await writeFile(
    key,
    `${JSON.stringify(((await res.json()) as { publicKey: unknown }).publicKey, null, 2)}\n`,
  );
  return { log, key };
}

export async function verifyAuditLogs(o: {
  dir: string;
  clawback: Runner;
  updater: Runner;
  console: DemoConsole;
  device: DemoDevice;
}): Promise<AuditOutcome> {
  const dev = await o.updater(['audit', 'verify', '--root', o.device.root, '--json']);
  const devDoc = parseJson<{ ok: boolean; entries: number }>('device audit verify', dev);
  const { log, key } = await exportConsoleAudit(o.dir, o.console);
  const con = await o.clawback([
    'audit',
    'verify',
    log,
    '--trusted-key',
    key,
    '--require-checkpoint',
    '--json',
  ]);
  const conDoc = parseJson<{ ok: boolean; report?: { entries: number } }>('console audit verify', con);
  return {
    device: { id: o.device.id, ok: dev.code === 0 && devDoc.ok, entries: devDoc.entries },
    console: { ok: con.code === 0 && conDoc.ok, entries: conDoc.report?.entries ?? 0 },
  };
}
