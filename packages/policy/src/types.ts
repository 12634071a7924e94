import type { MatchField } from './actions.js';

export type Effect = 'allow' | 'deny';

/** One rule as written in the policy file. */
export interface PolicyRule {
  id?: string;
  action: string;
  path?: string;
  command?: string;
  url?: string;
  host?: string;
  name?: string;
  effect: Effect;
  reason: string;
}

export interface Policy {
  version: string;
  description?: string;
  rules: PolicyRule[];
}

export interface PolicyProblem {
  severity: 'error' | 'warning';
  /** Where: `rules[3].effect`, `version`, `rules`. */
  path: string;
  message: string;
  /** 1-based line in the source file, when known. */
  line?: number;
}

export interface PolicyValidation {
  ok: boolean;
  /** SHA-256 of the exact file bytes: what the bundle manifest and the decision log record. */
  sha256: string;
  policy?: Policy;
  errors: PolicyProblem[];
  warnings: PolicyProblem[];
}

export function ruleConditions(rule: PolicyRule): [MatchField, string][] {
  const out: [MatchField, string][] = [];
  for (const f of ['path', 'command', 'url', 'host', 'name'] as const) {
    const v = rule[f];
    if (v !== undefined) out.push([f, v]);
  }
  return out;
}

/** `rules[3]: file.read path "src/**" -> allow` */
export function describeRule(rule: PolicyRule, index?: number): string {
  const cond = ruleConditions(rule)
    .map(([f, v]) => ` ${f} ${JSON.stringify(v)}`)
    .join('');
  return `${index === undefined ? '' : `rules[${index}]: `}${rule.action}${cond} -> ${rule.effect}`;
}
