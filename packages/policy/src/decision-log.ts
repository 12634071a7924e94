/**
 * Decision log (design §9, §10): every evaluation can be appended to the
 * hash-chained audit log as a `policy.decision` entry. Recording is part of the
 * decision: when the append fails the request is denied (fail closed), so an
 * agent can never act on a decision nobody can audit.
 */
import { isClawbackError, redact } from '@clawback/core';
import { type CompiledPolicy, type Decision, evaluate } from './evaluate.js';
import { type PolicyRequest, targetOf } from './match.js';

export const POLICY_DECISION_KIND = 'policy.decision';

/** Where decisions go: core's `AuditLog` satisfies this. */
export interface AuditSink {
  append(kind: string, data: Record<string, unknown>): Promise<unknown>;
}

export interface DecisionContext {
  /** Role policy name (`production-agent`). */
  role?: string;
  /** Agent or device the request came from. */
  agent?: string;
}

export interface LoggedDecision extends Decision {
  logged: boolean;
  /** Set when the append failed: the decision above is then a deny. */
  logError?: { code: string; message: string };
  /** What the policy decided before the append failed (for diagnostics only). */
  policyDecision?: Decision['decision'];
}

/** The audit entry data of one decision. Targets are redacted (a command can carry a token). */
export function decisionRecord(
  policy: CompiledPolicy,
  request: PolicyRequest,
  decision: Decision,
  ctx: DecisionContext = {},
): Record<string, unknown> {
  const target = targetOf(request);
  return {
    action: request.action,
    target: target ? { field: target.field, value: redact(target.value) } : null,
    decision: decision.decision,
    ruleIndex: decision.ruleIndex,
    reason: decision.reason,
    policySha256: policy.sha256,
    ...(ctx.role === undefined ? {} : { role: ctx.role }),
    ...(ctx.agent === undefined ? {} : { agent: ctx.agent }),
  };
}

/** Evaluate, append the decision, and deny if it could not be appended. Never throws. */
export async function evaluateAndLog(
  policy: CompiledPolicy,
  request: PolicyRequest,
  sink: AuditSink,
  ctx: DecisionContext = {},
): Promise<LoggedDecision> {
  const decision = evaluate(policy, request);
  try {
    await sink.append(POLICY_DECISION_KIND, decisionRecord(policy, request, decision, ctx));
    return { ...decision, logged: true };
  } catch (err) {
    const code = isClawbackError(err) ? err.code : 'AUDIT_APPEND_FAILED';
    const message = redact(err instanceof Error ? err.message : String(err));
    return {
      decision: 'deny',
      ruleIndex: -1,
      rule: undefined,
      reason: `denied: the decision could not be recorded in the audit log (${message})`,
      logged: false,
      logError: { code, message },
      policyDecision: decision.decision,
    };
  }
}

/** A policy bound to an audit sink: `decide()` is `evaluateAndLog` with fixed context. */
export class DecisionLogger {
  readonly policy: CompiledPolicy;
  private readonly sink: AuditSink;
  private readonly ctx: DecisionContext;

  constructor(policy: CompiledPolicy, sink: AuditSink, ctx: DecisionContext = {}) {
    this.policy = policy;
    this.sink = sink;
    this.ctx = ctx;
  }

  decide(request: PolicyRequest): Promise<LoggedDecision> {
    return evaluateAndLog(this.policy, request, this.sink, this.ctx);
  }
}
