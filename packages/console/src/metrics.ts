/**
 * Prometheus text exposition (format 0.0.4) for one replica's counters. Fleet-wide gauges
 * (devices by status, rollouts by state) are read from the database at scrape time, so every
 * replica reports the same fleet numbers and its own request counters.
 */
type Labels = Record<string, string>;

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  /**
   * The same samples by a key built in the caller's label order, which costs no sort: `inc`
   * runs on every check-in, and callers always pass their labels in the same order.
   */
  fast: Map<string, { labels: Labels; value: number }>;
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  constructor() {
    this.define('clawback_console_http_requests_total', 'counter', 'HTTP requests by route and status.');
    this.define('clawback_console_checkins_total', 'counter', 'Device check-ins by result (200, 304).');
    this.define('clawback_console_reports_total', 'counter', 'Reports accepted, by outcome.');
    this.define(
      'clawback_console_reports_duplicate_total',
      'counter',
      'Reports resent with a known reportId.',
    );
    this.define('clawback_console_refused_total', 'counter', 'Device requests refused, by reason.');
    this.define('clawback_console_enrollments_total', 'counter', 'Enrollments by resulting status.');
    this.define('clawback_console_device_sessions_total', 'counter', 'Device session tokens issued.');
    this.define('clawback_console_alerts_total', 'counter', 'Alerts raised, by kind.');
    this.define(
      'clawback_console_webhook_deliveries_total',
      'counter',
      'Webhook delivery attempts by result.',
    );
    this.define('clawback_console_rollout_halts_total', 'counter', 'Rollouts halted, by cause.');
  }

  private define(name: string, type: Family['type'], help: string): void {
    this.families.set(name, { help, type, values: new Map(), fast: new Map() });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const family = this.families.get(name);
    if (!family) throw new Error(`unknown metric ${name}`);
    let fastKey = '';
    for (const k in labels) fastKey += `${k}\u0000${labels[k]}\u0001`;
    const hit = family.fast.get(fastKey);
    if (hit) {
      hit.value += by;
      return;
    }
    const key = labelText(labels);
    let cur = family.values.get(key);
    if (cur) cur.value += by;
    else {
      cur = { labels, value: by };
      family.values.set(key, cur);
    }
    family.fast.set(fastKey, cur);
  }

  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.values.get(labelText(labels))?.value ?? 0;
  }

  /** Render these counters plus `gauges` (name -> help, samples) read at scrape time. */
  render(
    gauges: readonly { name: string; help: string; samples: { labels: Labels; value: number }[] }[],
  ): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const v of f.values.values()) out.push(`${name}${labelText(v.labels)} ${v.value}`);
    }
    for (const g of gauges) {
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const s of g.samples) out.push(`${g.name}${labelText(s.labels)} ${s.value}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
}
