/**
 * Policy schema and validation (design §9). Reads the YAML an operator wrote and
 * reports every problem at once, each with its path and line
 * (`rules[3].effect: must be allow or deny`), the way house style 5 asks.
 */
import { sha256Hex } from '@clawback/core';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import {
  ACTION_NAMES,
  expandAction,
  fieldsFor,
  MATCH_FIELDS,
  type MatchField,
  suggestAction,
} from './actions.js';
import { compileCondition } from './match.js';
import { findShadowed } from './shadow.js';
import type { Policy, PolicyProblem, PolicyRule, PolicyValidation } from './types.js';

export const SUPPORTED_VERSIONS = ['1', '1.0'] as const;
const TOP_KEYS = new Set(['version', 'description', 'rules']);
const RULE_KEYS = new Set(['id', 'action', 'effect', 'reason', ...MATCH_FIELDS]);

type Located = (path: (string | number)[]) => number | undefined;

function toBytes(input: Uint8Array | string): Uint8Array {
  return typeof input === 'string' ? new TextEncoder().encode(input) : input;
}

function fmtPath(path: (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s || '(document)';
}

/** Validate policy file bytes (or text). Pure: no I/O, never throws on bad input. */
export function validatePolicy(input: Uint8Array | string): PolicyValidation {
  const bytes = toBytes(input);
  const sha256 = sha256Hex(bytes);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const errors: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  for (const e of doc.errors) {
    const line = e.linePos?.[0]?.line;
    errors.push({
      severity: 'error',
      path: '(yaml)',
      message: e.message.split('\n')[0] ?? e.message,
      ...(line ? { line } : {}),
    });
  }
  if (errors.length > 0) return { ok: false, sha256, errors, warnings };
  const locate: Located = (path) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : lc.linePos(offset).line;
  };
  const err = (path: (string | number)[], message: string) => {
    const line = locate(path) ?? (path.length > 1 ? locate(path.slice(0, -1)) : undefined);
    errors.push({ severity: 'error', path: fmtPath(path), message, ...(line ? { line } : {}) });
  };
  const root = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (typeof root !== 'object' || root === null || Array.isArray(root) || !isMap(doc.contents)) {
    err([], 'must be a mapping with version, description and rules');
    return { ok: false, sha256, errors, warnings };
  }
  const obj = root as Record<string, unknown>;
  for (const k of Object.keys(obj))
    if (!TOP_KEYS.has(k)) err([k], `unknown field (allowed: ${[...TOP_KEYS].join(', ')})`);
  checkVersion(obj.version, err);
  if (obj.description !== undefined && typeof obj.description !== 'string')
    err(['description'], 'must be a string');
  const rules: PolicyRule[] = [];
  if (obj.rules === undefined) err(['rules'], 'is required: a list of rules ending with the catch-all deny');
  else if (!Array.isArray(obj.rules) || !isSeq(doc.get('rules'))) err(['rules'], 'must be a list of rules');
  else if (obj.rules.length === 0)
    err(['rules'], 'must not be empty: at least the catch-all deny rule is required');
  else {
    const ids = new Map<string, number>();
    obj.rules.forEach((r, i) => {
      const rule = checkRule(r, i, err);
      if (rule?.id !== undefined) {
        const prev = ids.get(rule.id);
        if (prev !== undefined) err(['rules', i, 'id'], `duplicates the id of rules[${prev}]`);
        else ids.set(rule.id, i);
      }
      if (rule) rules.push(rule);
    });
    checkCatchAll(obj.rules, err);
  }
  if (errors.length > 0) return { ok: false, sha256, errors, warnings };
  const policy: Policy = {
    version: obj.version as string,
    ...(typeof obj.description === 'string' ? { description: obj.description } : {}),
    rules,
  };
  for (const s of findShadowed(policy.rules)) {
    const line = locate(['rules', s.index]);
    warnings.push({
      severity: 'warning',
      path: `rules[${s.index}]`,
      message: s.onlyUnreadable
        ? `only decides commands/URLs that cannot be read: rules[${s.by}] (${s.why}) matches every other request it would`
        : `can never match: rules[${s.by}] (${s.why}) matches everything it would`,
      ...(line ? { line } : {}),
    });
  }
  return { ok: true, sha256, policy, errors, warnings };
}

function checkVersion(v: unknown, err: (p: (string | number)[], m: string) => void): void {
  if (v === undefined) err(['version'], 'is required (write version: "1.0")');
  else if (typeof v === 'number')
    err(['version'], `must be a quoted string: write version: "${v === 1 ? '1.0' : v}"`);
  else if (typeof v !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    err(['version'], `unsupported version ${JSON.stringify(v)} (supported: "1.0")`);
  }
}

function checkRule(
  r: unknown,
  i: number,
  err: (p: (string | number)[], m: string) => void,
): PolicyRule | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    err(['rules', i], 'must be a mapping with action, effect and reason');
    return undefined;
  }
  const o = r as Record<string, unknown>;
  let bad = false;
  const e = (p: string, m: string) => {
    bad = true;
    err(['rules', i, p], m);
  };
  for (const k of Object.keys(o)) {
    if (!RULE_KEYS.has(k)) e(k, `unknown field (allowed: ${[...RULE_KEYS].join(', ')})`);
  }
  let covered: ReturnType<typeof expandAction>;
  if (typeof o.action !== 'string' || o.action === '') e('action', 'is required: a known action or "*"');
  else {
    covered = expandAction(o.action);
    if (!covered) {
      const hint = suggestAction(o.action);
      e(
        'action',
        `unknown action ${JSON.stringify(o.action)}${hint ? ` (did you mean ${hint}?)` : ''}; known: ${ACTION_NAMES.join(', ')}, a namespace like "file.*", or "*"`,
      );
    }
  }
  if (o.effect !== 'allow' && o.effect !== 'deny') e('effect', 'must be allow or deny');
  if (typeof o.reason !== 'string' || o.reason.trim() === '')
    e('reason', 'is required: say why the rule exists');
  if (o.id !== undefined && (typeof o.id !== 'string' || o.id === '')) e('id', 'must be a non-empty string');
  const valid = covered ? fieldsFor(covered) : undefined;
  for (const f of MATCH_FIELDS) {
    const v = o[f];
    if (v === undefined) continue;
    if (typeof v !== 'string') {
      e(f, 'must be a string (one glob per rule)');
      continue;
    }
    if (valid && !valid.includes(f)) {
      e(
        f,
        `is not a field of ${String(o.action)} (valid: ${valid.length ? valid.join(', ') : 'none: this rule matches every request of its actions'})`,
      );
      continue;
    }
    const c = compileCondition(f as MatchField, v, o.effect === 'deny');
    if ('error' in c) e(f, c.error);
  }
  if (bad) return undefined;
  const rule: PolicyRule = {
    action: o.action as string,
    effect: o.effect as 'allow' | 'deny',
    reason: o.reason as string,
  };
  if (typeof o.id === 'string') rule.id = o.id;
  for (const f of MATCH_FIELDS) if (typeof o[f] === 'string') rule[f] = o[f] as string;
  return rule;
}

/** Deny by default (design §9, CC6.1): the last rule must be `action: "*"`, no conditions, deny. */
function checkCatchAll(rules: unknown[], err: (p: (string | number)[], m: string) => void): void {
  const last = rules.at(-1) as Record<string, unknown> | undefined;
  const isCatchAll =
    typeof last === 'object' &&
    last !== null &&
    last.action === '*' &&
    last.effect === 'deny' &&
    MATCH_FIELDS.every((f) => last[f] === undefined);
  if (!isCatchAll) {
    err(
      ['rules', rules.length - 1],
      'the last rule must be the catch-all deny: action "*", no path/command/url/host/name, effect deny',
    );
  }
}
