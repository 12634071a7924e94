/**
 * The audit-log part of an evidence pack: the log files copied byte for byte, the
 * signed checkpoint, core's verification report, and an export of the entries in
 * the period (original lines, so each can be matched to the chain).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseAuditEntries, readAuditLog, verifyAuditChain } from '@clawback/core';
import type { EvidencePackOptions } from './pack.js';
import { type AuditLogEvidence, safeName } from './pack-types.js';

export async function packAuditLog(
  stage: string,
  index: number,
  path: string,
  o: EvidencePackOptions,
): Promise<AuditLogEvidence> {
  const { files, checkpoint } = await readAuditLog(path);
  const name = basename(path);
  const dir = `audit/${index + 1}-${safeName(name)}`;
  await mkdir(join(stage, dir), { recursive: true });
  const copied: string[] = [];
  for (const f of files) {
    await writeFile(join(stage, dir, f.name), f.text);
    copied.push(`${dir}/${f.name}`);
  }
  let cpPath: string | null = null;
  if (checkpoint !== undefined) {
    cpPath = `${dir}/${name}.checkpoint`;
    await writeFile(join(stage, cpPath), checkpoint);
  }
  const report = verifyAuditChain({
    files,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(o.auditKeys?.length ? { trustedKeys: o.auditKeys } : {}),
  });
  await writeFile(join(stage, dir, 'verify-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const lines = periodLines(
    files.map((f) => f.text),
    o.since,
    o.until,
  );
  await writeFile(join(stage, dir, 'export.jsonl'), lines.map((l) => `${l}\n`).join(''));
  const entries = parseAuditEntries([{ name: 'export', text: lines.join('\n') }]);
  const byKind: Record<string, number> = {};
  for (const e of entries) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  return {
    name,
    files: copied,
    checkpoint: cpPath,
    report: `${dir}/verify-report.json`,
    export: `${dir}/export.jsonl`,
    ok: report.ok,
    entriesInPeriod: entries.length,
    byKind: Object.fromEntries(Object.entries(byKind).sort(([a], [b]) => a.localeCompare(b))),
    rollbacks: entries.filter((e) => /rollback|rolled[._-]?back/i.test(e.kind)).length,
  };
}

/** The original lines (byte for byte) of entries whose time falls in the period. */
export function periodLines(texts: readonly string[], since: Date, until: Date): string[] {
  const out: string[] = [];
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const [e] = parseAuditEntries([{ name: 'line', text: line }]);
      if (!e) continue;
      const t = Date.parse(e.ts);
      if (t >= since.getTime() && t <= until.getTime()) out.push(line);
    }
  }
  return out;
}
