/**
 * Compile a validated policy once, then evaluate requests against it. First
 * match wins (design §9). Evaluation allocates only the request's subjects; all
 * globs were compiled when the policy was loaded, and rules are pre-grouped per
 * action so a request only walks the rules that can apply to it.
 */
import { ClawbackError } from '@clawback/core';
import { ACTION_NAMES, expandAction } from './actions.js';
import { PolicyErrors } from './errors.js';
import { type Condition, compileCondition, type PolicyRequest, type Subject, toSubjects } from './match.js';
import { type Effect, type Policy, type PolicyRule, type PolicyValidation, ruleConditions } from './types.js';
import { validatePolicy } from './validate.js';

interface CompiledRule {
  index: number;
  rule: PolicyRule;
  deny: boolean;
  conditions: Condition[];
}

export interface CompiledPolicy {
  readonly policy: Policy;
  /** SHA-256 of the policy file bytes. */
  readonly sha256: string;
  /** Rules that can apply, per action index (order preserved). */
  readonly byAction: readonly (readonly CompiledRule[])[];
}

export interface Decision {
  decision: Effect;
  /** Index of the matched rule in `rules`, or -1 when no rule decided (unknown action). */
  ruleIndex: number;
  rule: PolicyRule | undefined;
  reason: string;
}

/** Compile a policy that `validatePolicy` accepted. */
export function compilePolicy(policy: Policy, sha256: string): CompiledPolicy {
  const byAction: CompiledRule[][] = ACTION_NAMES.map(() => []);
  policy.rules.forEach((rule, index) => {
    const deny = rule.effect === 'deny';
    const conditions = ruleConditions(rule).map(([field, pattern]) => {
      const c = compileCondition(field, pattern, deny);
      if (typeof c !== 'function') {
        throw new ClawbackError(PolicyErrors.POLICY_INVALID, `rules[${index}].${field}: ${c.error}`, {
          hint: 'Compile only policies that validatePolicy accepted.',
        });
      }
      return c;
    });
    const compiled: CompiledRule = { index, rule, deny, conditions };
    for (const a of expandAction(rule.action) ?? []) byAction[ACTION_NAMES.indexOf(a)]?.push(compiled);
  });
  return { policy, sha256, byAction };
}

/** Validate and compile policy file bytes; throws POLICY_INVALID listing every problem. */
export function loadPolicy(input: Uint8Array | string, source = 'policy'): CompiledPolicy {
  const v = validatePolicy(input);
  if (!v.ok || !v.policy) throw invalidPolicyError(v, source);
  return compilePolicy(v.policy, v.sha256);
}

export function invalidPolicyError(v: PolicyValidation, source: string): ClawbackError {
  const lines = v.errors.map((e) => `  ${source}${e.line ? `:${e.line}` : ''}: ${e.path}: ${e.message}`);
  return new ClawbackError(
    PolicyErrors.POLICY_INVALID,
    `${source} has ${v.errors.length} error${v.errors.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
    {
      hint: `Fix each listed field, then run \`clawback policy validate ${source}\`.`,
      details: { problems: v.errors },
    },
  );
}

function matchRule(r: CompiledRule, s: Subject): boolean {
  for (const c of r.conditions) {
    const m = c(s);
    // Fail closed on a missing or unreadable target: deny rules match, allow rules do not.
    if (m === undefined) {
      if (!r.deny) return false;
    } else if (!m) return false;
  }
  return true;
}

function decideSubject(rules: readonly CompiledRule[], s: Subject): CompiledRule | undefined {
  for (const r of rules) if (matchRule(r, s)) return r;
  return undefined;
}

const NO_RULE_REASON = 'no rule matched: denied by default';

function toDecision(r: CompiledRule | undefined): Decision {
  if (!r) return { decision: 'deny', ruleIndex: -1, rule: undefined, reason: NO_RULE_REASON };
  return { decision: r.deny ? 'deny' : 'allow', ruleIndex: r.index, rule: r.rule, reason: r.rule.reason };
}

/**
 * Decide one request. Pure and fast. A request that cannot be judged (unknown
 * action, missing or misplaced target) is denied without consulting the rules; a command line is allowed only if every simple command in
 * it is allowed (the first denied one is reported).
 */
export function evaluate(policy: CompiledPolicy, request: PolicyRequest): Decision {
  const subjects = toSubjects(request);
  if (typeof subjects === 'string') {
    return { decision: 'deny', ruleIndex: -1, rule: undefined, reason: `${subjects}: denied` };
  }
  const rules = policy.byAction[(subjects[0] as Subject).actionIdx] ?? [];
  if (subjects.length === 1) return toDecision(decideSubject(rules, subjects[0] as Subject));
  // A command line: allowed only if every simple command is; of several denials the
  // earliest rule is reported (the specific `sudo *` rather than the catch-all).
  let allowed: CompiledRule | undefined;
  let denied: CompiledRule | undefined;
  for (const s of subjects) {
    const r = decideSubject(rules, s);
    if (!r) return toDecision(undefined);
    if (!r.deny) allowed ??= r;
    else if (!denied || r.index < denied.index) denied = r;
  }
  return toDecision(denied ?? allowed);
}
