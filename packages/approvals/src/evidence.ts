/**
 * The facts collected from GitHub about one change. Collection (I/O) produces this;
 * the decision (pure) reads only this plus the policy and `now`. Everything an
 * auditor samples for CC8.1 is here, and everything we could not check is listed in
 * `notVerified` with the reason, never silently skipped.
 */

export interface Account {
  login: string;
  /** GitHub account type: `User`, `Bot`, `Organization`. */
  type: string;
}

export interface CoAuthor {
  name: string;
  email: string;
  /** Resolved from a GitHub no-reply address, or null when it could not be mapped. */
  login: string | null;
}

export interface CommitFacts {
  sha: string;
  parents: string[];
  authorLogin: string | null;
  authorName: string;
  authorEmail: string;
  authorDate: string | null;
  committerLogin: string | null;
  committerName: string;
  committerEmail: string;
  committerDate: string | null;
  coAuthors: CoAuthor[];
  /** First line of the message. */
  subject: string;
}

/**
 * How a review's commit relates to the merged head:
 * - `head`: on the head SHA that was merged
 * - `base-update-only`: earlier commit, and every later commit only merges the base in
 * - `stale`: earlier commit with real changes after it
 * - `unknown`: `commit_id` is null or not in the PR any more (force-push)
 */
export type CommitRelation = 'head' | 'base-update-only' | 'stale' | 'unknown';

export interface ReviewFacts {
  id: number;
  reviewer: Account | null;
  state: string;
  submittedAt: string | null;
  commitId: string | null;
  commitRelation: CommitRelation;
}

export interface CheckFacts {
  name: string;
  kind: 'check_run' | 'status';
  sha: string;
  status: string;
  conclusion: string | null;
  completedAt: string | null;
  /** GitHub App slug for check runs; null for commit statuses. */
  app: string | null;
}

export type MergeMethod = 'merge' | 'squash' | 'rebase' | 'direct';

export interface PullRequestFacts {
  number: number;
  url: string;
  title: string;
  author: Account;
  state: string;
  labels: string[];
  /** The body line value of the policy's emergency reason field, if present. */
  emergencyReason: string | null;
  headRef: string;
  /** Whether the head branch lives in this repository (not a fork). */
  headInRepo: boolean;
  headSha: string;
  baseRef: string;
  baseSha: string;
  mergedAt: string | null;
  mergedBy: Account | null;
  mergeCommitSha: string | null;
  mergeMethod: MergeMethod | null;
  /** Why the method was inferred that way. */
  mergeMethodBasis: string;
  commits: CommitFacts[];
  /** Total commits GitHub reports (to show paging fetched them all). */
  commitCount: number;
  files: string[];
  /** GitHub lists at most 3000 files per PR. */
  filesTruncated: boolean;
}

export interface ActivityFacts {
  type: string;
  actor: string | null;
  before: string;
  after: string;
  ref: string;
  timestamp: string;
}

export interface ProtectionFacts {
  branch: string;
  /** Classic branch protection. `not-verified` when the token cannot read it. */
  classic:
    | {
        status: 'protected';
        requiredApprovals: number;
        requiredChecks: string[];
        enforceAdmins: boolean;
        dismissStaleReviews: boolean;
        requireLastPushApproval: boolean;
        requireCodeOwnerReviews: boolean;
      }
    | { status: 'not-protected' }
    | { status: 'not-verified'; reason: string };
  /** Repository rulesets active on the branch (readable with Metadata: read). */
  rules:
    | { status: 'ok'; rules: { type: string; rulesetId: number | null; parameters: unknown }[] }
    | { status: 'not-verified'; reason: string };
}

export interface RuleSuiteFacts {
  id: number;
  actor: string | null;
  result: string;
  evaluationResult: string | null;
  beforeSha: string | null;
  afterSha: string | null;
  pushedAt: string | null;
}

export interface TeamFacts {
  status: 'ok' | 'not-verified';
  members: string[];
  reason?: string;
}

export interface CodeownersFacts {
  /** Where it was read (`.github/CODEOWNERS`, …), or null when the base has none. */
  path: string | null;
  blobSha: string | null;
  /** Owners (`user`, `org/team`, or an e-mail) of every touched file under a codeowners rule. */
  owners: Record<string, string[]>;
}

export interface EnvironmentFacts {
  name: string;
  runId: number;
  runActor: string | null;
  runTriggeringActor: string | null;
  runHeadSha: string | null;
  approvals: { user: Account | null; state: string; environments: string[]; comment: string }[];
}

export interface RetroReviewFacts {
  number: number;
  url: string;
  mergedAt: string | null;
  approvers: Account[];
}

export interface ChangeEvidence {
  schemaVersion: 1;
  apiBase: string;
  collectedAt: string;
  repository: string;
  defaultBranch: string;
  /** The commit the change record is about. */
  commit: string;
  /** The branch the change landed on (PR base, or --branch for direct pushes). */
  targetBranch: string;
  commitFacts: CommitFacts | null;
  /** Every PR GitHub associates with the commit (squash/rebase merges map back here). */
  associatedPullRequests: number[];
  pullRequest: PullRequestFacts | null;
  reviews: ReviewFacts[];
  /** Who pushed the head SHA, and how we know. */
  lastPusher: { login: string | null; source: string };
  checks: { head: CheckFacts[]; mergeCommit: CheckFacts[]; otherShas: CheckFacts[] };
  protection: ProtectionFacts;
  releaseBranches: { name: string; protected: boolean | null }[];
  ruleSuites: { status: 'ok'; suites: RuleSuiteFacts[] } | { status: 'not-verified'; reason: string };
  /** The ref update on the target branch that produced `commit`. */
  refUpdate: ActivityFacts | null;
  /** Later force-pushes on the target branch that rewrote past `commit`. */
  laterForcePushes: ActivityFacts[];
  teams: Record<string, TeamFacts>;
  /** CODEOWNERS at the policy ref, for path rules with `codeowners: true` (null when none applies). */
  codeowners: CodeownersFacts | null;
  environment: EnvironmentFacts | null;
  retroReviews: RetroReviewFacts[];
  /** Every check we could not make, with the reason (`not verified: …`). */
  notVerified: string[];
}

export function isBot(account: Account | null | undefined, extraBots: readonly string[] = []): boolean {
  if (!account) return false;
  const login = account.login.toLowerCase();
  return (
    account.type === 'Bot' || login.endsWith('[bot]') || extraBots.some((b) => b.toLowerCase() === login)
  );
}

/** `Co-authored-by: Name <email>` trailers (git interpret-trailers, case-insensitive key). */
export function parseCoAuthors(message: string): CoAuthor[] {
  const out: CoAuthor[] = [];
  for (const m of message.matchAll(/^co-authored-by:\s*(.*?)\s*<([^>]+)>\s*$/gim)) {
    const name = m[1] ?? '';
    const email = (m[2] ?? '').trim();
    out.push({ name, email, login: loginFromNoreply(email) });
  }
  return out;
}

/** `123+octocat@users.noreply.github.com` or `octocat@users.noreply.github.com` → `octocat`. */
export function loginFromNoreply(email: string): string | null {
  const m = /^(?:\d+\+)?([A-Za-z0-9-]+(?:\[bot\])?)@users\.noreply\.github\.com$/i.exec(email.trim());
  return m?.[1] ?? null;
}
