/**
 * Table-driven policy tests (`clawback policy test FILE --cases cases.yaml`): each
 * case is a request and the decision (and optionally the rule) it must get. A miss
 * names the case, what was expected and which rule decided instead.
 */
import { parse } from 'yaml';
import { ACTIONS, type Action, isAction, MATCH_FIELDS, type MatchField } from './actions.js';
import { type CompiledPolicy, type Decision, evaluate } from './evaluate.js';
import type { PolicyRequest } from './match.js';
import type { Effect, PolicyProblem } from './types.js';

export interface PolicyCase {
  /** Position in the cases file. */
  index: number;
  name: string;
  request: PolicyRequest;
  expect: Effect;
  /** Expected matching rule index (-1: decided without a rule). */
  rule?: number;
}

export interface CaseResult {
  index: number;
  name: string;
  request: PolicyRequest;
  expect: Effect;
  expectRule?: number;
  got: Decision;
  pass: boolean;
  /** Why it failed, naming the case. */
  miss?: string;
}

export interface CasesReport {
  ok: boolean;
  policySha256: string;
  passed: number;
  failed: number;
  results: CaseResult[];
}

// `case` labels a case; `name` is the env/secret name a request carries, as in policies.
const CASE_KEYS = new Set(['case', 'action', 'expect', 'rule', ...MATCH_FIELDS]);

/** Parse a cases file; every problem is reported with its path. Pure. */
export function parseCases(input: string | Uint8Array): { cases: PolicyCase[]; errors: PolicyProblem[] } {
  const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
  const errors: PolicyProblem[] = [];
  const err = (path: string, message: string) => errors.push({ severity: 'error', path, message });
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    err('(yaml)', (e as Error).message.split('\n')[0] ?? 'not YAML');
    return { cases: [], errors };
  }
  const list = (doc as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(list) || list.length === 0) {
    err('cases', 'must be a non-empty list of {case, action, path|command|url|host|name, expect, rule?}');
    return { cases: [], errors };
  }
  const cases: PolicyCase[] = [];
  list.forEach((c, i) => {
    const at = `cases[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) {
      err(at, 'must be a mapping');
      return;
    }
    const o = c as Record<string, unknown>;
    const before = errors.length;
    for (const k of Object.keys(o))
      if (!CASE_KEYS.has(k)) err(`${at}.${k}`, `unknown field (allowed: ${[...CASE_KEYS].join(', ')})`);
    if (typeof o.action !== 'string' || !isAction(o.action))
      err(`${at}.action`, 'must be a known action (file.read, shell.execute, ...)');
    if (o.expect !== 'allow' && o.expect !== 'deny') err(`${at}.expect`, 'must be allow or deny');
    if (o.case !== undefined && typeof o.case !== 'string') err(`${at}.case`, 'must be a string');
    if (o.rule !== undefined && (!Number.isInteger(o.rule) || (o.rule as number) < -1))
      err(`${at}.rule`, 'must be a rule index (0-based) or -1');
    const request: PolicyRequest = { action: String(o.action) };
    const valid = isAction(String(o.action))
      ? (ACTIONS[o.action as Action] as readonly MatchField[])
      : MATCH_FIELDS;
    for (const f of MATCH_FIELDS) {
      if (o[f] === undefined) continue;
      if (typeof o[f] !== 'string') err(`${at}.${f}`, 'must be a string');
      else if (!valid.includes(f))
        err(`${at}.${f}`, `is not a field of ${String(o.action)} (valid: ${valid.join(', ')})`);
      else request[f] = o[f] as string;
    }
    if (errors.length > before) return;
    cases.push({
      index: i,
      name: typeof o.case === 'string' ? o.case : at,
      request,
      expect: o.expect as Effect,
      ...(o.rule === undefined ? {} : { rule: o.rule as number }),
    });
  });
  return { cases, errors };
}

export function runCases(policy: CompiledPolicy, cases: readonly PolicyCase[]): CasesReport {
  const results = cases.map((c): CaseResult => {
    const got = evaluate(policy, c.request);
    const ruleOk = c.rule === undefined || c.rule === got.ruleIndex;
    const pass = got.decision === c.expect && ruleOk;
    const by = got.ruleIndex >= 0 ? `rules[${got.ruleIndex}] ("${got.reason}")` : `no rule (${got.reason})`;
    const miss = pass
      ? undefined
      : got.decision !== c.expect
        ? `case "${c.name}" (cases[${c.index}]): expected ${c.expect}, got ${got.decision} by ${by}`
        : `case "${c.name}" (cases[${c.index}]): expected rules[${c.rule}] to decide, got ${by}`;
    return {
      index: c.index,
      name: c.name,
      request: c.request,
      expect: c.expect,
      ...(c.rule === undefined ? {} : { expectRule: c.rule }),
      got,
      pass,
      ...(miss ? { miss } : {}),
    };
  });
  const failed = results.filter((r) => !r.pass).length;
  return { ok: failed === 0, policySha256: policy.sha256, passed: results.length - failed, failed, results };
}
