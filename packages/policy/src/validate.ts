/**
 * Policy schema and validation (design §9). Reads the YAML an operator wrote and
 * reports every problem at once, each with its path and line
 * (`rules[3].effect: must be allow or deny`), the way house style 5 asks.
 */
import { sha256Hex } from '@clawback/core';
import { type Document, isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import {
  ACTION_NAMES,
  type Action,
  expandAction,
  fieldsFor,
  MATCH_FIELDS,
  type MatchField,
  suggestAction,
} from './actions.js';
import { compileCondition } from './match.js';
import { findShadowed } from './shadow.js';
import type { Effect, Policy, PolicyProblem, PolicyRule, PolicyValidation } from './types.js';

export const SUPPORTED_VERSIONS = ['1', '1.0'] as const;
const TOP_KEYS = new Set(['version', 'description', 'rules']);
const RULE_KEYS = new Set(['id', 'action', 'effect', 'reason', ...MATCH_FIELDS]);

type Path = (string | number)[];
type Report = (path: Path, message: string) => void;

function fmtPath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s || '(document)';
}

/** Collects problems and finds the line of a YAML path for each. */
class Problems {
  readonly errors: PolicyProblem[] = [];
  readonly warnings: PolicyProblem[] = [];
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  lineOf(path: Path): number | undefined {
    const node = this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }

  readonly error: Report = (path, message) => {
    const line = this.lineOf(path) ?? (path.length > 1 ? this.lineOf(path.slice(0, -1)) : undefined);
    this.errors.push({ severity: 'error', path: fmtPath(path), message, ...(line ? { line } : {}) });
  };

  warn(path: Path, message: string): void {
    const line = this.lineOf(path);
    this.warnings.push({ severity: 'warning', path: fmtPath(path), message, ...(line ? { line } : {}) });
  }
}

/** Validate policy file bytes (or text). Pure: no I/O, never throws on bad input. */
export function validatePolicy(input: Uint8Array | string): PolicyValidation {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const sha256 = sha256Hex(bytes);
  const lines = new LineCounter();
  const doc = parseDocument(new TextDecoder().decode(bytes), { lineCounter: lines, uniqueKeys: true });
  const p = new Problems(doc, lines);
  for (const e of doc.errors) {
    const line = e.linePos?.[0]?.line;
    const message = e.message.split('\n')[0] ?? e.message;
    p.errors.push({ severity: 'error', path: '(yaml)', message, ...(line ? { line } : {}) });
  }
  let root: unknown;
  if (p.errors.length === 0) {
    try {
      root = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      p.error([], `cannot be read: ${(err as Error).message}`);
    }
  }
  const policy = p.errors.length === 0 ? checkDocument(root, doc, p) : undefined;
  if (!policy || p.errors.length > 0) return { ok: false, sha256, errors: p.errors, warnings: p.warnings };
  for (const s of findShadowed(policy.rules)) {
    p.warn(
      ['rules', s.index],
      s.onlyUnreadable
        ? `only decides commands/URLs that cannot be read: rules[${s.by}] (${s.why}) matches every other request it would`
        : `can never match: rules[${s.by}] (${s.why}) matches everything it would`,
    );
  }
  broadAllows(policy.rules, p);
  return { ok: true, sha256, policy, errors: p.errors, warnings: p.warnings };
}

/** Least privilege (CC6.3): an allow without any condition grants every request of its actions. */
function broadAllows(rules: readonly PolicyRule[], p: Problems): void {
  rules.forEach((r, i) => {
    if (r.effect !== 'allow' || MATCH_FIELDS.some((f) => r[f] !== undefined)) return;
    const fields = fieldsFor(expandAction(r.action) ?? []);
    const what = fields.length > 0 ? ` (no ${fields.join('/')})` : '';
    p.warn(['rules', i], `allows every ${r.action} request${what}: least privilege usually wants a pattern`);
  });
}

function checkDocument(root: unknown, doc: Document, p: Problems): Policy | undefined {
  if (typeof root !== 'object' || root === null || Array.isArray(root) || !isMap(doc.contents)) {
    p.error([], 'must be a mapping with version, description and rules');
    return undefined;
  }
  const obj = root as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!TOP_KEYS.has(k)) p.error([k], `unknown field (allowed: ${[...TOP_KEYS].join(', ')})`);
  }
  checkVersion(obj.version, p.error);
  if (obj.description !== undefined && typeof obj.description !== 'string') {
    p.error(['description'], 'must be a string');
  }
  const rules = checkRules(obj.rules, isSeq(doc.get('rules')), p.error);
  return {
    version: obj.version as string,
    ...(typeof obj.description === 'string' ? { description: obj.description } : {}),
    rules,
  };
}

function checkVersion(v: unknown, err: Report): void {
  if (v === undefined) err(['version'], 'is required (write version: "1.0")');
  else if (typeof v === 'number')
    err(['version'], `must be a quoted string: write version: "${v === 1 ? '1.0' : v}"`);
  else if (typeof v !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    err(['version'], `unsupported version ${JSON.stringify(v)} (supported: "1.0")`);
  }
}

function checkRules(list: unknown, isList: boolean, err: Report): PolicyRule[] {
  if (list === undefined) {
    err(['rules'], 'is required: a list of rules ending with the catch-all deny');
    return [];
  }
  if (!Array.isArray(list) || !isList) {
    err(['rules'], 'must be a list of rules');
    return [];
  }
  if (list.length === 0) {
    err(['rules'], 'must not be empty: at least the catch-all deny rule is required');
    return [];
  }
  const rules: PolicyRule[] = [];
  const ids = new Map<string, number>();
  list.forEach((r, i) => {
    const rule = checkRule(r, i, err);
    if (!rule) return;
    if (rule.id !== undefined) {
      const prev = ids.get(rule.id);
      if (prev !== undefined) err(['rules', i, 'id'], `duplicates the id of rules[${prev}]`);
      else ids.set(rule.id, i);
    }
    rules.push(rule);
  });
  checkCatchAll(list, err);
  return rules;
}

function checkAction(action: unknown, e: (field: string, m: string) => void): Action[] | undefined {
  if (typeof action !== 'string' || action === '') {
    e('action', 'is required: a known action or "*"');
    return undefined;
  }
  const covered = expandAction(action);
  if (!covered) {
    const hint = suggestAction(action);
    e(
      'action',
      `unknown action ${JSON.stringify(action)}${hint ? ` (did you mean ${hint}?)` : ''}; known: ${ACTION_NAMES.join(', ')}, a namespace like "file.*", or "*"`,
    );
  }
  return covered;
}

function checkConditions(
  o: Record<string, unknown>,
  covered: Action[] | undefined,
  e: (f: string, m: string) => void,
): void {
  const valid = covered ? fieldsFor(covered) : undefined;
  for (const f of MATCH_FIELDS) {
    const v = o[f];
    if (v === undefined) continue;
    if (typeof v !== 'string') e(f, 'must be a string (one glob per rule)');
    else if (valid && !valid.includes(f)) {
      const list = valid.length ? valid.join(', ') : 'none: this rule matches every request of its actions';
      e(f, `is not a field of ${String(o.action)} (valid: ${list})`);
    } else {
      const c = compileCondition(f as MatchField, v, o.effect === 'deny');
      if ('error' in c) e(f, c.error);
    }
  }
}

function checkRule(r: unknown, i: number, err: Report): PolicyRule | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    err(['rules', i], 'must be a mapping with action, effect and reason');
    return undefined;
  }
  const o = r as Record<string, unknown>;
  let bad = false;
  const e = (field: string, m: string) => {
    bad = true;
    err(['rules', i, field], m);
  };
  for (const k of Object.keys(o)) {
    if (!RULE_KEYS.has(k)) e(k, `unknown field (allowed: ${[...RULE_KEYS].join(', ')})`);
  }
  const covered = checkAction(o.action, e);
  if (o.effect !== 'allow' && o.effect !== 'deny') e('effect', 'must be allow or deny');
  if (typeof o.reason !== 'string' || o.reason.trim() === '')
    e('reason', 'is required: say why the rule exists');
  if (o.id !== undefined && (typeof o.id !== 'string' || o.id === '')) e('id', 'must be a non-empty string');
  checkConditions(o, covered, e);
  if (bad) return undefined;
  const rule: PolicyRule = {
    action: o.action as string,
    effect: o.effect as Effect,
    reason: o.reason as string,
  };
  if (typeof o.id === 'string') rule.id = o.id;
  for (const f of MATCH_FIELDS) if (typeof o[f] === 'string') rule[f] = o[f] as string;
  return rule;
}

/** Deny by default (design §9, CC6.1): the last rule must be `action: "*"`, no conditions, deny. */
function checkCatchAll(rules: unknown[], err: Report): void {
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
