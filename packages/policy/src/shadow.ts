/**
 * Shadowed rules: a rule that can never match because an earlier rule matches
 * every request it would (first match wins). Only reported when that is certain
 * from the patterns' shapes (identical, `**`, a literal prefix followed by `**`
 * or `*`), so a warning is never a false alarm; `policy diff` uses probes instead.
 */
import { expandAction } from './actions.js';
import { normalizePathPattern } from './glob.js';
import { type PolicyRule, ruleConditions } from './types.js';

export interface Shadowed {
  index: number;
  by: number;
  why: string;
  /** True when the rule still decides requests whose command/URL/host cannot be read. */
  onlyUnreadable: boolean;
}

const GLOB_CHARS = /[*?[\]{}()!+@\\]/;

function pathCovers(a: string, b: string): boolean {
  const na = normalizePathPattern(a);
  const nb = normalizePathPattern(b);
  if ('error' in na || 'error' in nb) return false;
  if (na.pattern === nb.pattern || na.pattern === '**') return true;
  if (!na.pattern.endsWith('/**')) return false;
  const prefix = na.pattern.slice(0, -3);
  if (GLOB_CHARS.test(prefix)) return false;
  return nb.pattern === prefix || nb.pattern.startsWith(`${prefix}/`);
}

function commandCovers(a: string, b: string): boolean {
  const wa = a.trim().split(/\s+/);
  const wb = b.trim().split(/\s+/);
  if (wa.length === 1 && (wa[0] === '*' || wa[0] === '**')) return true;
  if (wa.join(' ') === wb.join(' ')) return true;
  if (wa.at(-1) !== '*' || wa.slice(0, -1).some((w) => /[*?"'\\]/.test(w))) return false;
  const lit = wa.slice(0, -1);
  return wb.length >= lit.length && lit.every((w, i) => wb[i] === w) && !/["'\\]/.test(b);
}

function nameCovers(a: string, b: string): boolean {
  if (a === b || a === '*') return true;
  if (!a.endsWith('*')) return false;
  const prefix = a.slice(0, -1);
  return !/[*?\\]/.test(prefix) && b.startsWith(prefix);
}

/** Does rule `a` (earlier) match every request rule `b` (later) matches? */
export function ruleCovers(a: PolicyRule, b: PolicyRule): boolean {
  return coverage(a, b) === 'all';
}

/**
 * `all`: `a` matches every request `b` does. `readable`: every request whose
 * target can be read (a conditioned deny also matches unreadable commands, URLs
 * and hosts, which a conditioned allow does not).
 */
function coverage(a: PolicyRule, b: PolicyRule): 'all' | 'readable' | 'none' {
  const aa = expandAction(a.action);
  const ab = expandAction(b.action);
  if (!aa || !ab?.every((x) => aa.includes(x))) return 'none';
  const ca = ruleConditions(a);
  if (ca.length === 0) return 'all';
  const unreadable = ca.some(([f]) => f === 'command' || f === 'url' || f === 'host');
  const covers = ca.every(([field, pa]) => {
    const pb = b[field];
    if (pb === undefined) return false;
    switch (field) {
      case 'path':
        return pathCovers(pa, pb);
      case 'command':
        return commandCovers(pa, pb);
      case 'name':
        return nameCovers(pa, pb);
      default:
        return pa === pb;
    }
  });
  if (!covers) return 'none';
  return b.effect === 'deny' && a.effect === 'allow' && unreadable ? 'readable' : 'all';
}

export function findShadowed(rules: readonly PolicyRule[]): Shadowed[] {
  const out: Shadowed[] = [];
  rules.forEach((b, j) => {
    let partial: Shadowed | undefined;
    for (let i = 0; i < j; i++) {
      const a = rules[i] as PolicyRule;
      const c = coverage(a, b);
      if (c === 'none') continue;
      const cond = ruleConditions(a);
      const why = `${a.action}${cond.map(([f, v]) => ` ${f} ${JSON.stringify(v)}`).join('')} -> ${a.effect}`;
      if (c === 'all') {
        out.push({ index: j, by: i, why, onlyUnreadable: false });
        return;
      }
      partial ??= { index: j, by: i, why, onlyUnreadable: true };
    }
    if (partial) out.push(partial);
  });
  return out;
}
