/**
 * Human-readable reports for the CLI (pure text, so the commands stay thin and
 * the wording is tested once): validation problems, diffs, audit verdicts and
 * summaries. `--json` output is the typed results themselves.
 */
import type { AuditVerdict } from './audit-report.js';
import type { AuditSummary } from './audit-summary.js';
import type { PolicyDiff } from './diff.js';
import { describeRule, type PolicyValidation } from './types.js';

/** `  error: file:line: rules[0].effect: must be allow or deny`, errors then warnings. */
export function formatProblems(file: string, v: Pick<PolicyValidation, 'errors' | 'warnings'>): string[] {
  return [...v.errors, ...v.warnings].map(
    (p) => `  ${p.severity}: ${file}${p.line ? `:${p.line}` : ''}: ${p.path}: ${p.message}`,
  );
}

/** The human report of `policy diff`. */
export function formatDiff(d: PolicyDiff, oldFile: string, newFile: string): string {
  const lines = [
    `policy diff ${oldFile} (${d.old.sha256.slice(0, 12)}) -> ${newFile} (${d.new.sha256.slice(0, 12)})`,
  ];
  for (const a of d.added) lines.push(`  + ${describeRule(a.rule, a.index)}`);
  for (const r of d.removed) lines.push(`  - ${describeRule(r.rule, r.index)}`);
  for (const c of d.changed)
    lines.push(
      `  ~ ${describeRule(c.after, c.newIndex)} (was rules[${c.oldIndex}]; ${c.fields.join(', ')} changed)`,
    );
  for (const m of d.moved)
    lines.push(`  > ${describeRule(m.rule, m.newIndex)} (moved from rules[${m.oldIndex}])`);
  if (d.widened.length > 0) {
    lines.push('WIDENED permissions (denied before, allowed now):');
    for (const w of d.widened) {
      const t = w.target ? `${w.target.field} ${JSON.stringify(w.target.value)}` : '(no target)';
      const more = w.probes > 1 ? ` (and ${w.probes - 1} more probe${w.probes > 2 ? 's' : ''})` : '';
      lines.push(
        `  ! ${w.action} ${t}: was denied by rules[${w.before.ruleIndex}], now allowed by rules[${w.after.ruleIndex}]${more}`,
      );
    }
  }
  for (const n of d.narrowed) {
    const t = n.target ? `${n.target.field} ${JSON.stringify(n.target.value)}` : '(no target)';
    lines.push(`  narrowed: ${n.action} ${t} now denied by rules[${n.after.ruleIndex}]`);
  }
  for (const m of d.mayWiden) lines.push(`  review: ${m.reason}`);
  lines.push(
    d.requiresApproval
      ? "This change can widen agent permissions: it needs the policy owners' approval."
      : `No widened permissions found (${d.probes.evaluated} probe requests compared).`,
  );
  return lines.join('\n');
}

/** The human report of `audit verify`. */
export function formatAuditVerdict(log: string, v: AuditVerdict): string {
  const r = v.report;
  const head = v.ok
    ? `ok  ${log}: ${r.entries} entries in ${r.files.length} file(s), head ${r.headHash?.slice(0, 16) ?? '-'}, checkpoint ${r.checkpoint.status}`
    : `FAILED  ${log}: ${v.tampering.join(', ')}`;
  return [
    head,
    ...v.problems.map((p) => `  ${p.kind}: ${p.file}${p.line ? `:${p.line}` : ''}: ${p.message} [${p.code}]`),
    ...r.warnings.map((w) => `  warning: ${w}`),
  ].join('\n');
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);

/** The human report of `audit summary`. */
export function formatAuditSummary(
  log: string,
  s: AuditSummary & { verification: { ok: boolean; tampering: string[] } },
): string {
  const lines = [
    `${log}: ${s.entries} entries${s.period.since ? ` since ${s.period.since}` : ''}${s.verification.ok ? '' : ` (LOG FAILED VERIFICATION: ${s.verification.tampering.join(', ')})`}`,
    `  by kind: ${
      Object.entries(s.byKind)
        .map(([k, n]) => `${k}=${n}`)
        .join(', ') || '-'
    }`,
    `  decisions: ${s.decisions.total} (allow ${s.decisions.allow} ${pct(s.decisions.allowRatio)}, deny ${s.decisions.deny} ${pct(s.decisions.denyRatio)})`,
  ];
  if (s.topDeniedActions.length > 0)
    lines.push(
      `  top denied actions: ${s.topDeniedActions.map((a) => `${a.action} (${a.count})`).join(', ')}`,
    );
  for (const t of s.topDeniedTargets.slice(0, 5))
    lines.push(`    denied ${t.count}x: ${t.action} ${t.target}`);
  if (s.drift.decisions > 0) {
    lines.push(
      `  POLICY DRIFT: ${s.drift.decisions} decision(s) under a policy other than ${s.drift.expected?.slice(0, 16)} (${s.drift.expectedSource})`,
    );
    for (const h of s.drift.hashes)
      lines.push(`    ${h.sha256}: ${h.decisions} decision(s) ${h.firstTs} .. ${h.lastTs}`);
  } else if (s.drift.expected) lines.push(`  policy: every decision under ${s.drift.expected.slice(0, 16)}`);
  return lines.join('\n');
}
