/**
 * `audit summary`: totals, entries by kind, allow/deny ratio of policy decisions,
 * the most denied actions and targets, and policy drift: decisions made under a
 * policy hash other than the expected one (or, without one, other than the most
 * recently used one). Pure over parsed entries.
 */
import type { AuditEntry } from '@clawback/core';
import { POLICY_DECISION_KIND } from './decision-log.js';

export interface PolicyHashUse {
  sha256: string;
  decisions: number;
  firstTs: string;
  lastTs: string;
}

export interface AuditSummary {
  period: { since: string | null; until: string | null };
  entries: number;
  firstTs: string | null;
  lastTs: string | null;
  byKind: Record<string, number>;
  decisions: {
    total: number;
    allow: number;
    deny: number;
    allowRatio: number | null;
    denyRatio: number | null;
  };
  topDeniedActions: { action: string; count: number }[];
  topDeniedTargets: { action: string; target: string; count: number }[];
  policies: PolicyHashUse[];
  drift: {
    expected: string | null;
    /** `given` (--expected-policy-hash) or `latest` (the hash of the newest decision). */
    expectedSource: 'given' | 'latest' | 'none';
    decisions: number;
    hashes: PolicyHashUse[];
  };
}

function top<T>(counts: Map<string, { item: T; count: number }>, n: number): (T & { count: number })[] {
  return [...counts.values()]
    .sort((a, b) => b.count - a.count)
    .slice(0, n)
    .map((x) => ({ ...x.item, count: x.count }));
}

export function summarizeAudit(
  entries: readonly AuditEntry[],
  options: { since?: Date; until?: Date; expectedPolicyHash?: string; top?: number } = {},
): AuditSummary {
  const n = options.top ?? 10;
  const byKind: Record<string, number> = {};
  let allow = 0;
  let deny = 0;
  const deniedActions = new Map<string, { item: { action: string }; count: number }>();
  const deniedTargets = new Map<string, { item: { action: string; target: string }; count: number }>();
  const hashes = new Map<string, PolicyHashUse>();
  let latest: string | undefined;
  for (const e of entries) {
    byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    if (e.kind !== POLICY_DECISION_KIND) continue;
    const d = e.data;
    const action = typeof d.action === 'string' ? d.action : '(unknown)';
    if (d.decision === 'allow') allow += 1;
    else {
      deny += 1;
      const a = deniedActions.get(action) ?? { item: { action }, count: 0 };
      a.count += 1;
      deniedActions.set(action, a);
      const target = String((d.target as { value?: unknown } | null)?.value ?? '');
      const key = `${action}\0${target}`;
      const t = deniedTargets.get(key) ?? { item: { action, target }, count: 0 };
      t.count += 1;
      deniedTargets.set(key, t);
    }
    if (typeof d.policySha256 === 'string') {
      const h = hashes.get(d.policySha256) ?? {
        sha256: d.policySha256,
        decisions: 0,
        firstTs: e.ts,
        lastTs: e.ts,
      };
      h.decisions += 1;
      h.lastTs = e.ts;
      hashes.set(d.policySha256, h);
      latest = d.policySha256;
    }
  }
  const total = allow + deny;
  const expected = options.expectedPolicyHash?.toLowerCase() ?? latest ?? null;
  const drifted = [...hashes.values()].filter((h) => h.sha256 !== expected);
  return {
    period: { since: options.since?.toISOString() ?? null, until: options.until?.toISOString() ?? null },
    entries: entries.length,
    firstTs: entries[0]?.ts ?? null,
    lastTs: entries.at(-1)?.ts ?? null,
    byKind,
    decisions: {
      total,
      allow,
      deny,
      allowRatio: total === 0 ? null : allow / total,
      denyRatio: total === 0 ? null : deny / total,
    },
    topDeniedActions: top(deniedActions, n),
    topDeniedTargets: top(deniedTargets, n),
    policies: [...hashes.values()],
    drift: {
      expected,
      expectedSource: options.expectedPolicyHash ? 'given' : latest ? 'latest' : 'none',
      decisions: drifted.reduce((s, h) => s + h.decisions, 0),
      hashes: drifted,
    },
  };
}
