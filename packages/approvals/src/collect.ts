/**
 * Evidence collection: the one I/O module of the approval flow. It reads GitHub
 * through the composed client and returns plain facts (evidence.ts); it decides
 * nothing. The change policy comes from the target branch as it was right before
 * the change landed (the ref update's `before`, or the merge commit's first
 * parent), never from the PR under review (design §8).
 */
import { ClawbackError, isoSeconds } from '@clawback/core';
import { CODEOWNERS_PATHS, ownersOf, parseCodeowners } from './codeowners.js';
import {
  collectPullRequest,
  collectRetroReviews,
  collectReviews,
  fieldFromBody,
  lastPusherOf,
} from './collect-pr.js';
import { ApprovalErrors } from './errors.js';
import type {
  ActivityFacts,
  ChangeEvidence,
  CheckFacts,
  CodeownersFacts,
  CommitFacts,
  EnvironmentFacts,
  PullRequestFacts,
  TeamFacts,
} from './evidence.js';
import { type GitHubClient, githubError } from './github-client.js';
import {
  getCommit,
  listActivity,
  listChecks,
  type RepoRef,
  readFileAt,
  readProtection,
  readRuleSuites,
  readTeam,
} from './github-reads.js';
import {
  branchMatches,
  CHANGE_POLICY_PATH,
  type ChangePolicy,
  filesMatching,
  type PolicySource,
  parseChangePolicy,
  policySourceOf,
} from './policy.js';

export interface CollectOptions {
  owner: string;
  repo: string;
  /** Full or abbreviated commit SHA that shipped. */
  commit: string;
  /** Branch for a commit that has no PR (default: the repository's default branch). */
  branch?: string;
  /** Rollout: the deployment environment and the workflow run that deployed. */
  environment?: string;
  runId?: number;
  now: Date;
  apiBase: string;
  progress?: (message: string) => void;
}

export interface CollectedChange {
  evidence: ChangeEvidence;
  policy: ChangePolicy;
  policySource: PolicySource;
}

export async function collectChangeEvidence(gh: GitHubClient, o: CollectOptions): Promise<CollectedChange> {
  const r: RepoRef = { owner: o.owner, repo: o.repo };
  const say = o.progress ?? (() => undefined);
  const notVerified: string[] = [];
  say(`reading ${o.owner}/${o.repo}@${o.commit}`);
  let defaultBranch: string;
  try {
    defaultBranch = (await gh.rest.repos.get(r)).data.default_branch;
  } catch (err) {
    throw githubError(`reading repository ${o.owner}/${o.repo}`, err);
  }
  const commit = await getCommit(gh, r, o.commit);
  const { pr, associated, mergeCommit, body } = await collectPullRequest(gh, r, commit, notVerified);
  const targetBranch = pr?.baseRef ?? o.branch ?? defaultBranch;
  say(`reading ref updates on ${targetBranch}`);
  const { refUpdate, laterForcePushes } = await collectRefUpdate(
    gh,
    r,
    targetBranch,
    pr,
    commit,
    o.now,
    notVerified,
  );
  // The policy in force: the target branch right before this change landed.
  // A rebase merge's first parent may be another of the PR's own commits, so fall back to the PR base.
  const policyRef =
    refUpdate?.before ??
    (pr?.mergeMethod === 'rebase' ? pr.baseSha : (mergeCommit ?? commit).parents[0]) ??
    targetBranch;
  say(`reading ${CHANGE_POLICY_PATH} at ${policyRef}`);
  const { policy, policySource } = await readPolicy(gh, r, policyRef, targetBranch);
  if (pr) pr.emergencyReason = fieldFromBody(body, policy.emergency?.reasonField ?? 'Emergency-Reason');

  const reviews = pr ? await collectReviews(gh, r, pr) : [];
  const lastPusher = pr
    ? await lastPusherOf(gh, r, pr, notVerified)
    : { login: null, source: 'no pull request' };
  const checks = await collectChecks(
    gh,
    r,
    pr,
    commit,
    reviews.map((x) => x.commitId),
    policy,
    say,
  );
  say(`reading protection of ${targetBranch}`);
  const branchFacts = await collectBranchFacts(
    gh,
    r,
    targetBranch,
    policy,
    pr?.mergedAt ?? null,
    o.now,
    notVerified,
  );
  const codeowners = await collectCodeowners(gh, r, pr, policy, policyRef);
  const teams = await collectTeams(gh, o.owner, pr, policy, o.environment, codeowners);
  for (const [slug, t] of Object.entries(teams)) {
    if (t.status === 'not-verified')
      notVerified.push(`not verified: membership of team ${slug}: ${t.reason}`);
  }
  const environment =
    o.environment !== undefined && o.runId !== undefined
      ? await collectEnvironment(gh, r, o.environment, o.runId)
      : null;
  const retroReviews =
    pr && policy.emergency && pr.labels.includes(policy.emergency.label)
      ? await collectRetroReviews(gh, r, pr, policy.emergency.retroLabel)
      : [];
  const evidence: ChangeEvidence = {
    schemaVersion: 1,
    apiBase: o.apiBase,
    collectedAt: isoSeconds(o.now),
    repository: `${o.owner}/${o.repo}`,
    defaultBranch,
    commit: commit.sha,
    targetBranch,
    commitFacts: commit,
    associatedPullRequests: associated,
    pullRequest: pr,
    reviews,
    lastPusher,
    checks,
    ...branchFacts,
    refUpdate,
    laterForcePushes,
    teams,
    codeowners,
    environment,
    retroReviews,
    notVerified,
  };
  return { evidence, policy, policySource };
}

async function collectRefUpdate(
  gh: GitHubClient,
  r: RepoRef,
  targetBranch: string,
  pr: PullRequestFacts | null,
  commit: CommitFacts,
  now: Date,
  notVerified: string[],
): Promise<{ refUpdate: ActivityFacts | null; laterForcePushes: ActivityFacts[] }> {
  const landedSha = pr?.mergeCommitSha ?? commit.sha;
  const since = new Date(Date.parse(pr?.mergedAt ?? commit.committerDate ?? now.toISOString()) - 86_400_000);
  const activity = await listActivity(gh, r, targetBranch, since);
  if ('notVerified' in activity) {
    notVerified.push(`not verified: ${activity.notVerified}`);
    return { refUpdate: null, laterForcePushes: [] };
  }
  const refUpdate = activity.find((a) => a.after === landedSha) ?? null;
  if (!refUpdate) {
    notVerified.push(
      `not verified: no ref update on ${targetBranch} ends at ${landedSha} (activity older than a day before the merge is not read)`,
    );
  }
  const laterForcePushes = activity.filter(
    (a) => a.type === 'force_push' && refUpdate !== null && a.timestamp > refUpdate.timestamp,
  );
  return { refUpdate, laterForcePushes };
}

async function readPolicy(
  gh: GitHubClient,
  r: RepoRef,
  policyRef: string,
  targetBranch: string,
): Promise<{ policy: ChangePolicy; policySource: PolicySource }> {
  const file = await readFileAt(gh, r, CHANGE_POLICY_PATH, policyRef);
  if (!file) {
    throw new ClawbackError(
      ApprovalErrors.CHANGE_POLICY_MISSING,
      `${r.owner}/${r.repo} has no ${CHANGE_POLICY_PATH} on ${targetBranch} at ${policyRef}`,
      { hint: 'Commit a change policy to the target branch first (see examples/change-policy.yaml).' },
    );
  }
  const policy = parseChangePolicy(file.text, `${r.owner}/${r.repo}@${policyRef}:${CHANGE_POLICY_PATH}`);
  return { policy, policySource: policySourceOf(file.text, `${r.owner}/${r.repo}`, policyRef, file.blobSha) };
}

/** Rule suites are listed for at most the last month (`time_period=month`). */
const RULE_SUITE_WINDOW_MS = 28 * 86_400_000;

async function collectBranchFacts(
  gh: GitHubClient,
  r: RepoRef,
  targetBranch: string,
  policy: ChangePolicy,
  mergedAt: string | null,
  now: Date,
  notVerified: string[],
): Promise<Pick<ChangeEvidence, 'protection' | 'ruleSuites' | 'releaseBranches'>> {
  const protection = await readProtection(gh, r, targetBranch);
  if (protection.classic.status === 'not-verified') {
    notVerified.push(`not verified: branch protection of ${targetBranch}: ${protection.classic.reason}`);
  }
  if (protection.rules.status === 'not-verified')
    notVerified.push(`not verified: ${protection.rules.reason}`);
  const ruleSuites = await readRuleSuites(gh, r, targetBranch);
  if (ruleSuites.status === 'not-verified') notVerified.push(`not verified: ${ruleSuites.reason}`);
  else if (mergedAt && now.getTime() - Date.parse(mergedAt) > RULE_SUITE_WINDOW_MS) {
    notVerified.push(
      `not verified: ruleset bypass: GitHub lists rule suites for the last month only, and the merge was at ${mergedAt}`,
    );
  }
  const releaseBranches = await collectReleaseBranches(gh, r, policy, targetBranch);
  return { protection, ruleSuites, releaseBranches };
}

async function collectCodeowners(
  gh: GitHubClient,
  r: RepoRef,
  pr: PullRequestFacts | null,
  policy: ChangePolicy,
  policyRef: string,
): Promise<CodeownersFacts | null> {
  if (!pr) return null;
  const touched = new Set<string>();
  for (const rule of policy.pathRules)
    if (rule.codeowners) for (const f of filesMatching(rule, pr.files)) touched.add(f);
  if (touched.size === 0) return null;
  for (const path of CODEOWNERS_PATHS) {
    const file = await readFileAt(gh, r, path, policyRef);
    if (file) {
      return {
        path,
        blobSha: file.blobSha,
        owners: ownersOf(parseCodeowners(file.text), [...touched].sort()),
      };
    }
  }
  return { path: null, blobSha: null, owners: Object.fromEntries([...touched].sort().map((f) => [f, []])) };
}

async function collectChecks(
  gh: GitHubClient,
  r: RepoRef,
  pr: PullRequestFacts | null,
  commit: CommitFacts,
  reviewShas: (string | null)[],
  policy: ChangePolicy,
  say: (m: string) => void,
): Promise<ChangeEvidence['checks']> {
  const headSha = pr?.headSha ?? commit.sha;
  say(`reading checks on ${headSha}`);
  const head = await listChecks(gh, r, headSha);
  const mergeSha = pr?.mergeCommitSha;
  const mergeCommit = mergeSha && mergeSha !== headSha ? await listChecks(gh, r, mergeSha) : [];
  // A required check missing on the head may have run on another SHA (an earlier
  // push that was reviewed): fetch those so the record can name the pitfall.
  const missing = policy.checks.some((c) => ![...head, ...mergeCommit].some((x) => x.name === c.name));
  const otherShas: CheckFacts[] = [];
  if (missing) {
    const others = new Set(
      [...reviewShas, ...(pr?.commits.map((c) => c.sha) ?? []).slice(-3)].filter(
        (s): s is string => s !== null && s !== headSha && s !== mergeSha,
      ),
    );
    for (const sha of others) otherShas.push(...(await listChecks(gh, r, sha)));
  }
  return { head, mergeCommit, otherShas };
}

async function collectReleaseBranches(
  gh: GitHubClient,
  r: RepoRef,
  policy: ChangePolicy,
  target: string,
): Promise<ChangeEvidence['releaseBranches']> {
  if (policy.protectedBranches.length === 0) return [];
  let branches: { name: string; protected: boolean }[];
  try {
    branches = await gh.paginate(gh.rest.repos.listBranches, { ...r, per_page: 100 });
  } catch (err) {
    throw githubError('listing branches', err);
  }
  const out: ChangeEvidence['releaseBranches'] = [];
  for (const b of branches) {
    if (b.name === target || !branchMatches(policy.protectedBranches, b.name)) continue;
    if (b.protected) {
      out.push({ name: b.name, protected: true });
      continue;
    }
    // Not classically protected: a ruleset requiring PRs also protects it.
    const p = await readProtection(gh, r, b.name);
    const rules = p.rules.status === 'ok' ? p.rules.rules : null;
    out.push({ name: b.name, protected: rules ? rules.some((x) => x.type === 'pull_request') : null });
  }
  return out;
}

async function collectTeams(
  gh: GitHubClient,
  org: string,
  pr: PullRequestFacts | null,
  policy: ChangePolicy,
  environment: string | undefined,
  codeowners: CodeownersFacts | null,
): Promise<Record<string, TeamFacts>> {
  const slugs = new Set<string>();
  // Team owners in CODEOWNERS are written `org/team`.
  for (const owners of Object.values(codeowners?.owners ?? {}))
    for (const o of owners) if (o.includes('/')) slugs.add(o);
  for (const rule of policy.pathRules) {
    if (pr && filesMatching(rule, pr.files).length > 0) for (const t of rule.teams) slugs.add(t);
  }
  if (environment !== undefined) for (const t of policy.environments[environment]?.teams ?? []) slugs.add(t);
  const out: Record<string, TeamFacts> = {};
  for (const slug of [...slugs].sort()) out[slug] = await readTeam(gh, org, slug);
  return out;
}

async function collectEnvironment(
  gh: GitHubClient,
  r: RepoRef,
  name: string,
  runId: number,
): Promise<EnvironmentFacts> {
  try {
    const run = (await gh.rest.actions.getWorkflowRun({ ...r, run_id: runId })).data;
    const approvals = (await gh.rest.actions.getReviewsForRun({ ...r, run_id: runId })).data;
    return {
      name,
      runId,
      runActor: run.actor?.login ?? null,
      runTriggeringActor: run.triggering_actor?.login ?? null,
      runHeadSha: run.head_sha,
      approvals: approvals.map((a) => ({
        user: a.user?.login ? { login: a.user.login, type: a.user.type ?? 'User' } : null,
        state: a.state,
        environments: a.environments.map((e) => e.name ?? ''),
        comment: a.comment,
      })),
    };
  } catch (err) {
    throw githubError(`reading deployment approvals of workflow run ${runId}`, err);
  }
}
