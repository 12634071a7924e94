/**
 * Policy diff (design §9): which rules were added, removed, changed or moved, and
 * most important whether the new policy ALLOWS something the old one DENIED.
 *
 * Two analyses, both reported:
 * - probes (`widened` / `narrowed`): every action is evaluated under both policies
 *   on targets derived from both policies' patterns (probes.ts). Each reported
 *   widening carries a concrete witness, so it is never a false alarm.
 * - rule-order analysis (`mayWiden`): structural changes that can widen access
 *   (an allow added or moved ahead of a deny, a deny removed, an effect flipped)
 *   even where no probe found a witness, so a change policy that requires extra
 *   approval on `requiresApproval` does not depend on probe coverage.
 */
import { canonicalJson } from '@clawback/core';
import { ACTION_NAMES, type Action, expandAction, type MatchField } from './actions.js';
import { type CompiledPolicy, type Decision, evaluate } from './evaluate.js';
import { type PolicyRequest, targetOf } from './match.js';
import { probeRequests } from './probes.js';
import { type PolicyRule, ruleConditions } from './types.js';

export interface RuleRef {
  index: number;
  rule: PolicyRule;
}

export interface DecisionChange {
  action: Action;
  target: { field: MatchField; value: string } | null;
  before: { decision: Decision['decision']; ruleIndex: number };
  after: { decision: Decision['decision']; ruleIndex: number };
  /** How many probes showed the same (action, before rule, after rule) change. */
  probes: number;
}

export interface MayWiden {
  reason: string;
  oldIndex?: number;
  newIndex?: number;
}

export interface PolicyDiff {
  old: { sha256: string; rules: number };
  new: { sha256: string; rules: number };
  identicalRules: boolean;
  added: RuleRef[];
  removed: RuleRef[];
  changed: { oldIndex: number; newIndex: number; before: PolicyRule; after: PolicyRule; fields: string[] }[];
  moved: { oldIndex: number; newIndex: number; rule: PolicyRule }[];
  /** Denied before, allowed now: each with a witness target to replay with `policy eval`. */
  widened: DecisionChange[];
  /** Allowed before, denied now. */
  narrowed: DecisionChange[];
  mayWiden: MayWiden[];
  /** True when `widened` or `mayWiden` is non-empty: the change needs the extra approval. */
  requiresApproval: boolean;
  probes: { evaluated: number; capped: boolean };
}

const ruleKey = (r: PolicyRule) => canonicalJson(r);
const condKey = (r: PolicyRule) =>
  r.id !== undefined ? `id:${r.id}` : canonicalJson([r.action, ruleConditions(r)]);

/** Longest common subsequence of rule keys: the rules that stayed, in order. */
function lcs(a: readonly string[], b: readonly string[]): [number, number][] {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = dp[i] as number[];
      row[j] =
        a[i] === b[j]
          ? ((dp[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((dp[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push([i, j]);
      i += 1;
      j += 1;
    } else if (((dp[i + 1] as number[])[j] as number) >= ((dp[i] as number[])[j + 1] as number)) i += 1;
    else j += 1;
  }
  return out;
}

function overlap(a: PolicyRule, b: PolicyRule): boolean {
  const x = expandAction(a.action) ?? [];
  const y = new Set(expandAction(b.action) ?? []);
  return x.some((v) => y.has(v));
}

function ruleChanges(oldRules: readonly PolicyRule[], newRules: readonly PolicyRule[]) {
  const ok = oldRules.map(ruleKey);
  const nk = newRules.map(ruleKey);
  const kept = lcs(ok, nk);
  const keptOld = new Set(kept.map(([i]) => i));
  const keptNew = new Set(kept.map(([, j]) => j));
  let restOld = oldRules.flatMap((rule, index) => (keptOld.has(index) ? [] : [{ index, rule }]));
  let restNew = newRules.flatMap((rule, index) => (keptNew.has(index) ? [] : [{ index, rule }]));
  const moved: PolicyDiff['moved'] = [];
  const changed: PolicyDiff['changed'] = [];
  for (const pairOf of [ruleKey, condKey]) {
    for (const o of [...restOld]) {
      const n = restNew.find((x) => pairOf(x.rule) === pairOf(o.rule));
      if (!n) continue;
      restOld = restOld.filter((x) => x !== o);
      restNew = restNew.filter((x) => x !== n);
      if (pairOf === ruleKey) moved.push({ oldIndex: o.index, newIndex: n.index, rule: n.rule });
      else {
        const fields = (
          ['action', 'effect', 'reason', 'path', 'command', 'url', 'host', 'name'] as const
        ).filter((f) => o.rule[f] !== n.rule[f]);
        changed.push({ oldIndex: o.index, newIndex: n.index, before: o.rule, after: n.rule, fields });
      }
    }
  }
  return {
    added: restNew,
    removed: restOld,
    changed,
    moved,
    pairs: [...kept, ...moved.map((m) => [m.oldIndex, m.newIndex] as [number, number])],
  };
}

function structural(newRules: readonly PolicyRule[], rc: ReturnType<typeof ruleChanges>): MayWiden[] {
  const out: MayWiden[] = [];
  for (const a of rc.added)
    if (a.rule.effect === 'allow')
      out.push({ reason: `allow rule added at rules[${a.index}]`, newIndex: a.index });
  for (const r of rc.removed)
    if (r.rule.effect === 'deny')
      out.push({ reason: `deny rule rules[${r.index}] removed`, oldIndex: r.index });
  for (const c of rc.changed) {
    if (c.after.effect === 'allow' && c.fields.some((f) => f !== 'reason')) {
      out.push({
        reason: `rules[${c.newIndex}] now allows (${c.fields.join(', ')} changed)`,
        oldIndex: c.oldIndex,
        newIndex: c.newIndex,
      });
    } else if (c.before.effect === 'deny' && c.fields.some((f) => f !== 'reason' && f !== 'effect')) {
      out.push({
        reason: `deny rule rules[${c.oldIndex}] changed its match (${c.fields.join(', ')})`,
        oldIndex: c.oldIndex,
        newIndex: c.newIndex,
      });
    }
  }
  // Rule order: a kept allow that now precedes a kept deny it used to follow.
  for (const [oa, na] of rc.pairs) {
    const allow = newRules[na] as PolicyRule;
    if (allow.effect !== 'allow') continue;
    for (const [od, nd] of rc.pairs) {
      const deny = newRules[nd] as PolicyRule;
      if (deny.effect !== 'deny' || !overlap(allow, deny)) continue;
      if (od < oa && na < nd) {
        out.push({
          reason: `allow rules[${na}] was moved ahead of deny rules[${nd}]`,
          oldIndex: oa,
          newIndex: na,
        });
      }
    }
  }
  return out;
}

function simpler(a: string, b: string): boolean {
  return a.length < b.length || (a.length === b.length && a < b);
}

function patternsByAction(policies: readonly CompiledPolicy[]): Map<Action, Map<MatchField, string[]>> {
  const out = new Map<Action, Map<MatchField, string[]>>(ACTION_NAMES.map((a) => [a, new Map()]));
  for (const p of policies) {
    for (const rule of p.policy.rules) {
      for (const a of expandAction(rule.action) ?? []) {
        const m = out.get(a) as Map<MatchField, string[]>;
        for (const [f, v] of ruleConditions(rule)) m.set(f, [...new Set([...(m.get(f) ?? []), v])]);
      }
    }
  }
  return out;
}

function probeChanges(oldP: CompiledPolicy, newP: CompiledPolicy, capPerAction: number) {
  const widened = new Map<string, DecisionChange>();
  const narrowed = new Map<string, DecisionChange>();
  let evaluated = 0;
  let capped = false;
  for (const [action, patterns] of patternsByAction([oldP, newP])) {
    const probes: PolicyRequest[] = probeRequests(action, patterns, capPerAction);
    if (probes.length >= capPerAction) capped = true;
    for (const req of probes) {
      evaluated += 1;
      const before = evaluate(oldP, req);
      const after = evaluate(newP, req);
      if (before.decision === after.decision) continue;
      const into = after.decision === 'allow' ? widened : narrowed;
      const key = `${action}|${before.ruleIndex}|${after.ruleIndex}`;
      const seen = into.get(key);
      if (seen) {
        seen.probes += 1;
        // Keep the simplest witness (shortest target) so reports read naturally.
        const t = targetOf(req);
        if (t && seen.target && simpler(t.value, seen.target.value)) seen.target = t;
      } else {
        into.set(key, {
          action,
          target: targetOf(req) ?? null,
          before: { decision: before.decision, ruleIndex: before.ruleIndex },
          after: { decision: after.decision, ruleIndex: after.ruleIndex },
          probes: 1,
        });
      }
    }
  }
  return { widened: [...widened.values()], narrowed: [...narrowed.values()], evaluated, capped };
}

/** Compare two compiled policies. Pure; `capPerAction` bounds the probes per action. */
export function diffPolicies(
  oldP: CompiledPolicy,
  newP: CompiledPolicy,
  options: { capPerAction?: number } = {},
): PolicyDiff {
  const oldRules = oldP.policy.rules;
  const newRules = newP.policy.rules;
  const rc = ruleChanges(oldRules, newRules);
  const probes = probeChanges(oldP, newP, options.capPerAction ?? 50_000);
  const mayWiden = structural(newRules, rc);
  return {
    old: { sha256: oldP.sha256, rules: oldRules.length },
    new: { sha256: newP.sha256, rules: newRules.length },
    identicalRules: canonicalJson(oldRules) === canonicalJson(newRules),
    added: rc.added,
    removed: rc.removed,
    changed: rc.changed,
    moved: rc.moved,
    widened: probes.widened,
    narrowed: probes.narrowed,
    mayWiden,
    requiresApproval: probes.widened.length > 0 || mayWiden.length > 0,
    probes: { evaluated: probes.evaluated, capped: probes.capped },
  };
}
