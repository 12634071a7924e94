/**
 * Audit log reports shared by device, console and policy logs (design §10):
 * tampering named in plain words, export (JSON / CSV) and summary statistics.
 * Pure: callers read the files (core `readAuditLog`) and pass `now`/periods in.
 */
import type { AuditEntry, AuditFileText, AuditProblem, AuditVerifyReport } from '@clawback/core';
import { POLICY_DECISION_KIND } from './decision-log.js';

export type TamperKind =
  | 'edited'
  | 'deleted'
  | 'reordered'
  | 'duplicated'
  | 'truncated'
  | 'rotation-link'
  | 'malformed'
  | 'checkpoint'
  | 'incomplete';

export interface NamedProblem extends Omit<AuditProblem, 'code'> {
  code: AuditProblem['code'] | 'CHECKPOINT_REQUIRED' | 'LOG_INCOMPLETE';
  kind: TamperKind;
}

export interface AuditVerdict {
  ok: boolean;
  /** Distinct kinds of tampering found, in a fixed order. */
  tampering: TamperKind[];
  problems: NamedProblem[];
  report: AuditVerifyReport;
}

const KIND_OF: Record<AuditProblem['code'], TamperKind> = {
  LINE_INVALID: 'malformed',
  ENTRY_MODIFIED: 'edited',
  CHAIN_BROKEN: 'edited',
  CHECKPOINT_MISMATCH: 'edited',
  ENTRY_MISSING: 'deleted',
  ENTRIES_REORDERED: 'reordered',
  ENTRY_DUPLICATED: 'duplicated',
  ROTATION_LINK_BROKEN: 'rotation-link',
  LOG_TRUNCATED: 'truncated',
  CHECKPOINT_INVALID: 'checkpoint',
};
const ORDER: TamperKind[] = [
  'edited',
  'deleted',
  'reordered',
  'duplicated',
  'truncated',
  'rotation-link',
  'malformed',
  'checkpoint',
  'incomplete',
];

/**
 * Gaps that are only an artefact of reordering: the "missing" entries are present
 * elsewhere in the log, so nothing was deleted. Returns `file:line` of the entry
 * after each such gap.
 */
function reorderArtefacts(files: readonly AuditFileText[]): Set<string> {
  const seen: { seq: number; at: string }[] = [];
  for (const f of files) {
    f.text.split('\n').forEach((line, i) => {
      const m = /"seq":(\d+)/.exec(line);
      if (m) seen.push({ seq: Number(m[1]), at: `${f.name}:${i + 1}` });
    });
  }
  const present = new Set(seen.map((s) => s.seq));
  const out = new Set<string>();
  for (let i = 1; i < seen.length; i++) {
    const a = (seen[i - 1] as { seq: number }).seq;
    const b = seen[i] as { seq: number; at: string };
    if (b.seq <= a + 1) continue;
    let allPresent = true;
    for (let s = a + 1; s < b.seq && allPresent; s++) allPresent = present.has(s);
    if (allPresent) out.add(b.at);
  }
  return out;
}

/**
 * Name what is wrong with a log. `requireCheckpoint`: a missing checkpoint is a
 * failure (truncation of the newest entries cannot be ruled out without it).
 * `requireComplete`: the chain must start at entry 1 (no oldest file removed).
 */
export function nameAuditProblems(
  report: AuditVerifyReport,
  files: readonly AuditFileText[],
  options: { requireCheckpoint?: boolean; requireComplete?: boolean } = {},
): AuditVerdict {
  const artefacts = reorderArtefacts(files);
  const problems: NamedProblem[] = report.problems
    .filter((p) => !(p.code === 'ENTRY_MISSING' && artefacts.has(`${p.file}:${p.line}`)))
    .map((p) => ({ ...p, kind: KIND_OF[p.code] }));
  if (options.requireCheckpoint && report.checkpoint.status === 'missing') {
    problems.push({
      code: 'CHECKPOINT_REQUIRED',
      kind: 'checkpoint',
      file: report.files.at(-1) ?? '',
      message: 'the log has no signed checkpoint, so deletion of its newest entries cannot be ruled out',
    });
  }
  if (options.requireComplete && report.startsMidChain) {
    problems.push({
      code: 'LOG_INCOMPLETE',
      kind: 'incomplete',
      file: report.files[0] ?? '',
      ...(report.firstSeq === null ? {} : { seq: report.firstSeq }),
      message: `the log starts at entry ${report.firstSeq}: older files were removed`,
    });
  }
  const kinds = new Set(problems.map((p) => p.kind));
  return { ok: problems.length === 0, tampering: ORDER.filter((k) => kinds.has(k)), problems, report };
}

export interface EntryFilter {
  since?: Date;
  until?: Date;
  kinds?: readonly string[];
}

export function filterEntries(entries: readonly AuditEntry[], f: EntryFilter): AuditEntry[] {
  const since = f.since?.getTime() ?? Number.NEGATIVE_INFINITY;
  const until = f.until?.getTime() ?? Number.POSITIVE_INFINITY;
  return entries.filter((e) => {
    const t = Date.parse(e.ts);
    return t >= since && t <= until && (!f.kinds || f.kinds.length === 0 || f.kinds.includes(e.kind));
  });
}

export const CSV_COLUMNS = [
  'seq',
  'ts',
  'kind',
  'actor',
  'action',
  'target',
  'decision',
  'rule_index',
  'policy_sha256',
  'data',
  'prev',
  'hash',
] as const;

/** RFC 4180: quote a field containing a comma, quote, CR or LF (or edge spaces); double inner quotes. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** CSV with a header row, CRLF line ends (RFC 4180). Policy decisions get their own columns. */
export function auditToCsv(entries: readonly AuditEntry[]): string {
  const rows = entries.map((e) => {
    const d = e.data;
    const isDecision = e.kind === POLICY_DECISION_KIND;
    const target = d.target as { value?: unknown } | null | undefined;
    return [
      String(e.seq),
      e.ts,
      e.kind,
      e.actor ?? '',
      isDecision ? str(d.action) : '',
      isDecision ? str(target?.value) : '',
      isDecision ? str(d.decision) : '',
      isDecision ? str(d.ruleIndex) : '',
      str(d.policySha256),
      JSON.stringify(d),
      e.prev,
      e.hash,
    ];
  });
  return [[...CSV_COLUMNS], ...rows].map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}
