export { type ApproveCheckOptions, type ApproveCheckResult, approveCheck, formatDecision } from './check.js';
export { type CollectedChange, type CollectOptions, collectChangeEvidence } from './collect.js';
export { commitRelation, fieldFromBody, inferMergeMethod } from './collect-pr.js';
export { type ChangeDecision, type DecisionStatus, decideChange } from './decide.js';
export { ApprovalErrors } from './errors.js';
export {
  type Account,
  type ActivityFacts,
  type ChangeEvidence,
  type CheckFacts,
  type CoAuthor,
  type CommitFacts,
  type CommitRelation,
  type EnvironmentFacts,
  isBot,
  loginFromNoreply,
  type MergeMethod,
  type ProtectionFacts,
  type PullRequestFacts,
  parseCoAuthors,
  type RetroReviewFacts,
  type ReviewFacts,
  type RuleSuiteFacts,
  type TeamFacts,
} from './evidence.js';
export { type Finding, type FindingId, Findings, type Severity } from './findings.js';
export {
  createGitHubClient,
  GITHUB_API_BASE,
  type GitHubAppCredentials,
  type GitHubClient,
  type GitHubClientOptions,
  githubClientOptionsFromEnv,
  githubError,
  httpStatusOf,
} from './github-client.js';
export {
  listCheckRuns,
  listChecks,
  listStatuses,
  protectionFromResponse,
  readBranchRules,
  readClassicProtection,
  readProtection,
} from './github-reads.js';
export { buildEvidencePack, type EvidencePackOptions, type EvidencePackResult } from './pack.js';
export { periodLines } from './pack-audit.js';
export { renderIndexHtml } from './pack-html.js';
export {
  type AuditLogEvidence,
  EVIDENCE_MANIFEST_PAYLOAD_TYPE,
  type EvidenceDocument,
  type EvidenceManifest,
  MANIFEST_FILE,
  type PackSummary,
  type PopulationItem,
  summarize,
} from './pack-types.js';
export {
  type PackProblem,
  type PackProblemCode,
  type PackVerifyReport,
  verifyEvidencePack,
} from './pack-verify.js';
export {
  branchMatches,
  CHANGE_POLICY_PATH,
  type ChangePolicy,
  type EmergencyRule,
  type EnvironmentRule,
  filesMatching,
  type PathRule,
  type PolicySource,
  parseChangePolicy,
  type RequiredCheck,
  validateChangePolicy,
} from './policy.js';
export {
  type Change,
  listTargetsMetadata,
  type PolicyChange,
  policyChanges,
  type ReleaseChange,
  readRecordsDir,
  releasesFromTuf,
} from './population.js';
export {
  type BuildRecordInput,
  buildChangeRecord,
  CHANGE_RECORD_PREDICATE_TYPE,
  type ChangeRecordBundle,
  type ChangeRecordPredicate,
  signChangeRecord,
  type VerifiedChangeRecord,
  type VerifyChangeRecordOptions,
  verifyChangeRecord,
} from './record.js';
export {
  type GitHubExchange,
  type GitHubReplay,
  type GitHubReplayServer,
  replayGitHubFetch,
  serveGitHubReplay,
} from './replay.js';
