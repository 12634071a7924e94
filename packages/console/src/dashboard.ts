/**
 * The dashboard: server-rendered HTML with a little inline JS (relative times, auto-refresh).
 * No build step and no external assets; a strict Content-Security-Policy allows only the
 * page's own inline style and its nonce'd script.
 */
import { randomBytes } from 'node:crypto';
import type { FailureView, FleetDevice, RolloutView } from './views.js';

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2430}h1{font-size:1.3rem}
h2{font-size:1.05rem;margin-top:2rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#f5f7f9}.state{font-weight:600;padding:.1rem .4rem;border-radius:3px}.state-halted,.state-aborted,.h-failing{background:#fde2e1;color:#9b1c1c}
.state-active{background:#e1effe;color:#1e429f}.state-completed,.h-ok{background:#def7ec;color:#03543f}.state-draft,.h-unknown{background:#f3f4f6}
.bar{display:inline-block;height:.7rem;background:#e5e7eb;width:8rem;vertical-align:middle;position:relative}.bar i{position:absolute;top:0;bottom:0;left:0}
.ok-fill{background:#31c48d}.bad-fill{background:#f05252}small{color:#6b7280}code{font-size:.9em}.fail{color:#9b1c1c}`;

export function renderLogin(message?: string): string {
  return page(
    'Sign in',
    `<h1>Clawback console</h1>${message ? `<p class="fail" role="alert">${esc(message)}</p>` : ''}
<form method="post" action="/login"><label>API token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Sign in</button></form>`,
    '',
  );
}

function stageCell(v: RolloutView): string {
  return v.stages
    .map((s) => {
      const done = s.total === 0 ? 0 : Math.round((s.committed / s.total) * 100);
      const bad = s.total === 0 ? 0 : Math.round((s.failed / s.total) * 100);
      const current = s.index === v.rollout.current_stage && v.rollout.state !== 'draft' ? ' (current)' : '';
      return `<div data-stage="${s.index}">${esc(s.name)}${current}: <span class="bar" title="${s.committed} committed, ${s.failed} failed of ${s.total}"><i class="ok-fill" style="width:${done}%"></i><i class="bad-fill" style="left:${done}%;width:${bad}%"></i></span> <small>${s.committed}/${s.total} committed, ${s.failed} failed (max ${s.maxFailures})</small></div>`;
    })
    .join('');
}

function rolloutsTable(rollouts: RolloutView[]): string {
  if (rollouts.length === 0) return '<p>No rollouts yet.</p>';
  const rows = rollouts.map(
    (
      v,
    ) => `<tr data-rollout="${esc(v.rollout.id)}"><td><strong>${esc(v.rollout.name)}</strong><br><small><code>${esc(v.rollout.id)}</code></small></td>
<td>${esc(v.release.agent)} <strong>${esc(v.release.version)}</strong></td>
<td><span class="state state-${esc(v.rollout.state)}">${esc(v.rollout.state)}</span></td>
<td>${stageCell(v)}</td><td class="failure-rate">${(v.failureRate * 100).toFixed(1)}% <small>(${v.failed} of ${v.committed + v.failed})</small></td>
<td class="halt-reason">${esc(v.rollout.halt_reason ?? '')}</td>
<td><small>${esc(approvalText(v.rollout.approval))}</small></td></tr>`,
  );
  return `<table id="rollouts"><thead><tr><th>Rollout</th><th>Release</th><th>State</th><th>Stages</th><th>Failure rate</th><th>Halt reason</th><th>Approval</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function approvalText(a: Record<string, unknown> | null): string {
  if (!a) return 'not started';
  if (a.kind === 'release-manager-token') return `release manager ${String(a.by)}`;
  return `change record presented by ${String(a.presentedBy)}`;
}

function fleetTable(devices: FleetDevice[]): string {
  if (devices.length === 0) return '<p>No devices enrolled.</p>';
  const rows = devices.map(
    (
      d,
    ) => `<tr data-device="${esc(d.id)}"><td>${esc(d.id)}</td><td>${esc(d.hardwareId)}</td><td>${esc(d.installedVersion ?? '—')}</td>
<td>${d.lastSeen ? `<time datetime="${esc(d.lastSeen)}">${esc(d.lastSeen)}</time>` : 'never'}</td>
<td><span class="state h-${d.health}">${d.health}</span></td><td>${esc(d.status)}</td><td>${esc(d.lastOutcome ?? '')}</td></tr>`,
  );
  return `<table id="fleet"><thead><tr><th>Device</th><th>Hardware</th><th>Version</th><th>Last seen</th><th>Health</th><th>Status</th><th>Last outcome</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function healthText(h: FailureView['health'][number]): string {
  const measured =
    h.measured === undefined
      ? ''
      : ` ${String(h.measured)}${h.limit === undefined ? '' : `/${String(h.limit)}`}${h.unit ? ` ${h.unit}` : ''}`;
  return `${h.ok === false ? '✗' : '✓'} ${h.check ?? '?'}${measured}${h.message ? ` — ${h.message}` : ''}`;
}

function failuresTable(failures: FailureView[]): string {
  if (failures.length === 0) return '<p>No failures reported.</p>';
  const rows = failures.map(
    (
      f,
    ) => `<tr data-report="${esc(f.reportId)}"><td><time datetime="${esc(f.receivedAt)}">${esc(f.receivedAt)}</time></td><td>${esc(f.deviceId)}</td><td>${esc(f.hardwareId)}</td>
<td class="fail">${esc(f.outcome)} at ${esc(f.stage)}</td><td><code>${esc(f.reasonCode ?? '')}</code> ${esc(f.reason ?? '')}</td>
<td class="health">${f.health.map((h) => `<div class="${h.ok === false ? 'fail' : ''}">${esc(healthText(h))}</div>`).join('')}</td></tr>`,
  );
  return `<table id="failures"><thead><tr><th>When</th><th>Device</th><th>Hardware</th><th>Outcome</th><th>Reason</th><th>Health measurements</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderDashboard(
  who: { name: string; role: string },
  data: { rollouts: RolloutView[]; fleet: FleetDevice[]; failures: FailureView[] },
): { html: string; nonce: string } {
  const nonce = randomBytes(16).toString('base64');
  const versions = new Map<string, number>();
  for (const d of data.fleet)
    versions.set(d.installedVersion ?? 'none', (versions.get(d.installedVersion ?? 'none') ?? 0) + 1);
  const summary = [...versions.entries()].map(([v, n]) => `${esc(v)}: ${n}`).join(', ');
  const body = `<header><h1>Clawback console</h1><small>signed in as ${esc(who.name)} (${esc(who.role)})</small>
<form method="post" action="/logout" style="display:inline"><button type="submit">Sign out</button></form>
<label><input type="checkbox" id="auto" checked> auto-refresh</label></header>
<h2>Rollouts</h2>${rolloutsTable(data.rollouts)}
<h2>Recent failures</h2>${failuresTable(data.failures)}
<h2>Fleet <small>${data.fleet.length} device(s); versions ${summary || '—'}</small></h2>${fleetTable(data.fleet)}
<script nonce="${nonce}">
for (const t of document.querySelectorAll('time')) {
  const s = Math.round((Date.now() - Date.parse(t.dateTime)) / 1000);
  t.title = t.dateTime;
  t.textContent = s < 60 ? s + 's ago' : s < 3600 ? Math.round(s / 60) + 'm ago' : Math.round(s / 3600) + 'h ago';
}
const auto = document.getElementById('auto');
auto.checked = sessionStorage.getItem('cb-auto') !== 'off';
auto.addEventListener('change', () => sessionStorage.setItem('cb-auto', auto.checked ? 'on' : 'off'));
setInterval(() => { if (auto.checked) location.reload(); }, 15000);
</script>`;
  return { html: page('Clawback console', body, nonce), nonce };
}

function page(title: string, body: string, _nonce: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function csp(nonce: string): string {
  return `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}
