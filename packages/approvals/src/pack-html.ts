/**
 * `index.html` of an evidence pack: one self-contained page (inline CSS, no
 * scripts, no external assets) an auditor can open offline. It is a pure
 * rendering of evidence.json, so `evidence verify` re-renders and compares it.
 */
import type { EvidenceDocument, PopulationItem } from './pack-types.js';

function esc(v: unknown): string {
  return String(v ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1f24}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}code{font-size:12px}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.warn{color:#9a6700;font-weight:600}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{font-weight:600}`;

function statusCell(p: PopulationItem): string {
  const cls = p.exception !== null ? 'bad' : p.status.startsWith('emergency') ? 'warn' : 'ok';
  return `<span class="${cls}">${esc(p.exception !== null ? 'EXCEPTION' : p.status)}</span>`;
}

function row(p: PopulationItem): string {
  const pr = p.pullRequest
    ? `<a href="${esc(p.pullRequest.url)}">#${esc(p.pullRequest.number)}</a> ${esc(p.pullRequest.title)}`
    : '—';
  const rec = p.record ? `<a href="${esc(p.record)}"><code>${esc(p.record)}</code></a>` : '—';
  return `<tr><td><code>${esc(p.id)}</code></td><td>${esc(p.kind)}</td><td>${esc(p.title)}</td><td><code>${esc(p.commit?.slice(0, 12) ?? '—')}</code></td><td>${pr}</td><td>${statusCell(p)}</td><td>${esc(p.approvers.join(', ') || '—')}</td><td>${esc(p.exception ?? (p.failedRules.join(', ') || ''))}</td><td>${esc(p.landedAt ?? '')}</td><td>${rec}</td></tr>`;
}

export function renderIndexHtml(e: EvidenceDocument): string {
  const s = e.summary;
  const summary: [string, number][] = [
    ['Changes in the period', s.changes],
    ['Agent releases', s.releases],
    ['Access-policy changes', s.policyChanges],
    ['Approved (tied to an approved PR or emergency path)', s.approved],
    ['Exceptions', s.exceptions],
    ['Emergency changes', s.emergencyChanges],
    ['Emergency changes awaiting retro review', s.emergencyPendingRetro],
    ['Rollbacks', s.rollbacks],
    ['Qualifying approvals', s.qualifyingApprovals],
    ['Audit logs verified', s.auditLogsVerified],
  ];
  const audit = e.auditLogs
    .map(
      (a) =>
        `<tr><td>${esc(a.name)}</td><td class="${a.ok ? 'ok' : 'bad'}">${a.ok ? 'chain verified' : 'FAILED'}</td><td>${esc(a.entriesInPeriod)}</td><td>${esc(
          Object.entries(a.byKind)
            .map(([k, n]) => `${k}: ${n}`)
            .join(', '),
        )}</td><td><a href="${esc(a.report)}"><code>${esc(a.report)}</code></a></td><td><a href="${esc(a.export)}"><code>${esc(a.export)}</code></a></td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Change evidence ${esc(e.repository)} ${esc(e.period.since)} – ${esc(e.period.until)}</title>
<style>${CSS}</style></head>
<body>
<h1>Change-management evidence (SOC 2 CC8.1)</h1>
<dl><dt>Repository</dt><dd>${esc(e.repository)}</dd><dt>Period</dt><dd>${esc(e.period.since)} to ${esc(e.period.until)}</dd><dt>Generated</dt><dd>${esc(e.generatedAt)} from ${esc(e.apiBase)}</dd></dl>
<p>The population is built from what was deployed: every release the TUF repository signed and every access-policy change on the default branch, each reconciled to a merged pull request. Anything without an approved PR is listed as an exception. Check this pack offline with <code>clawback evidence verify DIR --trusted-key KEY.pub</code>.</p>
<h2>Summary</h2>
<table><tbody>${summary.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>
<h2>Population (${esc(e.population.length)})</h2>
<table><thead><tr><th>change</th><th>kind</th><th>what</th><th>commit</th><th>pull request</th><th>status</th><th>approvers</th><th>exception / failed rules</th><th>landed</th><th>signed record</th></tr></thead>
<tbody>
${e.population.map(row).join('\n')}
</tbody></table>
<h2>Audit logs</h2>
<table><thead><tr><th>log</th><th>verification</th><th>entries in period</th><th>by kind</th><th>report</th><th>export</th></tr></thead>
<tbody>
${audit}
</tbody></table>
</body></html>
`;
}
