export {
  ACTION_NAMES,
  ACTIONS,
  type Action,
  expandAction,
  fieldsFor,
  isAction,
  MATCH_FIELDS,
  type MatchField,
} from './actions.js';
export {
  type AuditVerdict,
  auditToCsv,
  CSV_COLUMNS,
  csvField,
  type EntryFilter,
  filterEntries,
  type NamedProblem,
  nameAuditProblems,
  type TamperKind,
} from './audit-report.js';
export { type AuditSummary, type PolicyHashUse, summarizeAudit } from './audit-summary.js';
export { type CaseResult, type CasesReport, type PolicyCase, parseCases, runCases } from './cases.js';
export {
  type AuditSink,
  type DecisionContext,
  DecisionLogger,
  decisionRecord,
  evaluateAndLog,
  type LoggedDecision,
  POLICY_DECISION_KIND,
} from './decision-log.js';
export { type DecisionChange, diffPolicies, type MayWiden, type PolicyDiff, type RuleRef } from './diff.js';
export { PolicyErrors } from './errors.js';
export {
  type CompiledPolicy,
  compilePolicy,
  type Decision,
  evaluate,
  invalidPolicyError,
  loadPolicy,
} from './evaluate.js';
export { formatAuditSummary, formatAuditVerdict, formatDiff, formatProblems } from './format.js';
export { normalizeRequestPath } from './glob.js';
export { type PolicyRequest, targetOf } from './match.js';
export { checkRequest } from './request-check.js';
export { describeRoles, type PolicyReference, policyReference, type RoleInfo, roleNameOf } from './roles.js';
export { findShadowed, ruleCovers, type Shadowed } from './shadow.js';
export {
  describeRule,
  type Effect,
  type Policy,
  type PolicyProblem,
  type PolicyRule,
  type PolicyValidation,
  ruleConditions,
} from './types.js';
export { SUPPORTED_VERSIONS, validatePolicy } from './validate.js';
