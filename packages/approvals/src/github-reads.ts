/**
 * Individual GitHub REST reads, each mapped to the plain facts of evidence.ts.
 * Every list is read through the paginator, so reviews, commits, files and check
 * runs beyond the first page are never missed. A read that needs a permission
 * the token may lack returns a `not-verified` marker with the reason instead of
 * failing the whole collection (the record then says so explicitly).
 */

import { ClawbackError } from '@clawback/core';
import { ApprovalErrors } from './errors.js';
import type {
  Account,
  ActivityFacts,
  CheckFacts,
  CommitFacts,
  ProtectionFacts,
  RuleSuiteFacts,
  TeamFacts,
} from './evidence.js';
import { parseCoAuthors } from './evidence.js';
import { type GitHubClient, githubError, githubMessageOf, httpStatusOf } from './github-client.js';

export type RepoRef = { owner: string; repo: string };

type UserLike = { login?: string | null; type?: string | null } | null | undefined;

export function account(u: UserLike): Account | null {
  return u?.login ? { login: u.login, type: u.type ?? 'User' } : null;
}

interface RawCommit {
  sha: string;
  parents: { sha: string }[];
  author: UserLike | Record<string, never>;
  committer: UserLike | Record<string, never>;
  commit: {
    message: string;
    author: { name?: string; email?: string; date?: string } | null;
    committer: { name?: string; email?: string; date?: string } | null;
  };
}

export function commitFacts(c: RawCommit): CommitFacts {
  const author = account(c.author as UserLike);
  const committer = account(c.committer as UserLike);
  return {
    sha: c.sha,
    parents: c.parents.map((p) => p.sha),
    authorLogin: author?.login ?? null,
    authorName: c.commit.author?.name ?? '',
    authorEmail: c.commit.author?.email ?? '',
    authorDate: c.commit.author?.date ?? null,
    committerLogin: committer?.login ?? null,
    committerName: c.commit.committer?.name ?? '',
    committerEmail: c.commit.committer?.email ?? '',
    committerDate: c.commit.committer?.date ?? null,
    coAuthors: parseCoAuthors(c.commit.message),
    subject: c.commit.message.split('\n')[0] ?? '',
  };
}

export async function getCommit(gh: GitHubClient, r: RepoRef, ref: string): Promise<CommitFacts> {
  try {
    const { data } = await gh.rest.repos.getCommit({ ...r, ref, per_page: 1 });
    return commitFacts(data as RawCommit);
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 404 || status === 422) {
      // GitHub answers 422 "No commit found for SHA" for an unknown SHA.
      throw new ClawbackError(
        ApprovalErrors.GITHUB_NOT_FOUND,
        `commit ${ref} not found in ${r.owner}/${r.repo}: ${githubMessageOf(err)}`,
        {
          cause: err,
          hint: 'Pass the SHA that landed on the branch (the merge, squash or rebase commit), full or abbreviated.',
        },
      );
    }
    throw githubError(`reading commit ${ref} of ${r.owner}/${r.repo}`, err);
  }
}

/** Check runs and commit statuses reported on one SHA. */
export async function listChecks(gh: GitHubClient, r: RepoRef, sha: string): Promise<CheckFacts[]> {
  return [...(await listCheckRuns(gh, r, sha)), ...(await listStatuses(gh, r, sha))];
}

export async function listCheckRuns(gh: GitHubClient, r: RepoRef, sha: string): Promise<CheckFacts[]> {
  // `latest`: the most recent run of each check, which is what branch protection enforces, so an
  // old pass cannot stand in for a failing re-run.
  try {
    const runs = await gh.paginate(gh.rest.checks.listForRef, {
      ...r,
      ref: sha,
      filter: 'latest',
      per_page: 100,
    });
    return runs.map((c) => ({
      name: c.name,
      kind: 'check_run',
      sha: c.head_sha,
      status: c.status,
      conclusion: c.conclusion ?? null,
      completedAt: c.completed_at ?? null,
      app: c.app?.slug ?? null,
    }));
  } catch (err) {
    throw githubError(`reading check runs on ${sha}`, err);
  }
}

/** Commit statuses: newest first from GitHub; the newest per context is the one GitHub enforces. */
export async function listStatuses(gh: GitHubClient, r: RepoRef, sha: string): Promise<CheckFacts[]> {
  try {
    const statuses = await gh.paginate(gh.rest.repos.listCommitStatusesForRef, {
      ...r,
      ref: sha,
      per_page: 100,
    });
    const seen = new Set<string>();
    const out: CheckFacts[] = [];
    for (const s of statuses) {
      if (seen.has(s.context)) continue;
      seen.add(s.context);
      const pending = s.state === 'pending';
      out.push({
        name: s.context,
        kind: 'status',
        sha,
        status: pending ? 'in_progress' : 'completed',
        conclusion: pending ? null : s.state,
        completedAt: pending ? null : s.updated_at,
        app: null,
      });
    }
    return out;
  } catch (err) {
    throw githubError(`reading commit statuses on ${sha}`, err);
  }
}

const ADMIN_READ =
  'the token cannot read it: needs the Administration: read repository permission (a fine-grained PAT or GitHub App; GITHUB_TOKEN can never have it)';

export async function readProtection(gh: GitHubClient, r: RepoRef, branch: string): Promise<ProtectionFacts> {
  return {
    branch,
    classic: await readClassicProtection(gh, r, branch),
    rules: await readBranchRules(gh, r, branch),
  };
}

/**
 * Classic branch protection. GitHub answers 404 "Branch not protected" for an
 * unprotected branch, and 403/404 "Not Found" when the token lacks Administration: read.
 */
export async function readClassicProtection(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
): Promise<ProtectionFacts['classic']> {
  try {
    const { data } = await gh.rest.repos.getBranchProtection({ ...r, branch });
    return protectionFromResponse(data);
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 404 && /not protected/i.test(githubMessageOf(err))) return { status: 'not-protected' };
    if (status === 403 || status === 404) return { status: 'not-verified', reason: ADMIN_READ };
    throw githubError(`reading branch protection of ${branch}`, err);
  }
}

export async function readBranchRules(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
): Promise<ProtectionFacts['rules']> {
  let rules: ProtectionFacts['rules'];
  try {
    const list = await gh.paginate(gh.rest.repos.getBranchRules, { ...r, branch, per_page: 100 });
    rules = {
      status: 'ok',
      rules: list.map((x) => ({
        type: x.type,
        rulesetId: (x as { ruleset_id?: number }).ruleset_id ?? null,
        parameters: (x as { parameters?: unknown }).parameters ?? null,
      })),
    };
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 403 || status === 404) {
      rules = {
        status: 'not-verified',
        reason: `rules for ${branch}: ${githubMessageOf(err)} (needs Metadata: read)`,
      };
    } else throw githubError(`reading rulesets for ${branch}`, err);
  }
  return rules;
}

/** Map a branch-protection body (GET or PUT response) to facts. */
export function protectionFromResponse(data: unknown): ProtectionFacts['classic'] {
  const d = data as {
    required_pull_request_reviews?: {
      required_approving_review_count?: number;
      dismiss_stale_reviews?: boolean;
      require_last_push_approval?: boolean;
      require_code_owner_reviews?: boolean;
    } | null;
    required_status_checks?: { contexts?: string[]; checks?: { context: string }[] } | null;
    enforce_admins?: { enabled?: boolean } | null;
  };
  const reviews = d.required_pull_request_reviews ?? null;
  const checks = d.required_status_checks ?? null;
  const contexts = new Set([...(checks?.contexts ?? []), ...(checks?.checks ?? []).map((c) => c.context)]);
  return {
    status: 'protected',
    requiredApprovals: reviews ? (reviews.required_approving_review_count ?? 0) : 0,
    requiredChecks: [...contexts].sort(),
    enforceAdmins: d.enforce_admins?.enabled === true,
    dismissStaleReviews: reviews?.dismiss_stale_reviews === true,
    requireLastPushApproval: reviews?.require_last_push_approval === true,
    requireCodeOwnerReviews: reviews?.require_code_owner_reviews === true,
  };
}

export async function readRuleSuites(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
): Promise<{ status: 'ok'; suites: RuleSuiteFacts[] } | { status: 'not-verified'; reason: string }> {
  try {
    const list = await gh.paginate(gh.rest.repos.getRepoRuleSuites, {
      ...r,
      ref: `refs/heads/${branch}`,
      time_period: 'month',
      per_page: 100,
    });
    return {
      status: 'ok',
      suites: list.map((s) => ({
        id: s.id ?? 0,
        actor: s.actor_name ?? null,
        result: s.result ?? 'unknown',
        evaluationResult: s.evaluation_result ?? null,
        beforeSha: s.before_sha ?? null,
        afterSha: s.after_sha ?? null,
        pushedAt: s.pushed_at ?? null,
      })),
    };
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 403 || status === 404)
      return { status: 'not-verified', reason: `rule suites: ${ADMIN_READ}` };
    throw githubError(`reading rule suites for ${branch}`, err);
  }
}

/**
 * Ref updates on a branch, newest first, back to `notBefore`. The activity API is
 * what tells a PR merge (`pr_merge`, `merge_queue_merge`) from a `push` or `force_push`.
 */
export async function listActivity(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
  notBefore: Date,
): Promise<ActivityFacts[] | { notVerified: string }> {
  try {
    const out: ActivityFacts[] = [];
    await gh.paginate(
      gh.rest.repos.listActivities,
      { ...r, ref: `refs/heads/${branch}`, direction: 'desc', per_page: 100 },
      (response, done) => {
        for (const a of response.data) {
          if (new Date(a.timestamp) < notBefore) {
            done();
            break;
          }
          out.push({
            type: a.activity_type,
            actor: a.actor?.login ?? null,
            before: a.before,
            after: a.after,
            ref: a.ref,
            timestamp: a.timestamp,
          });
        }
        return [];
      },
    );
    return out;
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 403 || status === 404 || status === 422) {
      return { notVerified: `ref-update activity for ${branch}: ${githubMessageOf(err)}` };
    }
    throw githubError(`reading activity for ${branch}`, err);
  }
}

export async function readTeam(gh: GitHubClient, org: string, slugRef: string): Promise<TeamFacts> {
  const [o, slug] = slugRef.includes('/') ? (slugRef.split('/', 2) as [string, string]) : [org, slugRef];
  try {
    const members = await gh.paginate(gh.rest.teams.listMembersInOrg, {
      org: o,
      team_slug: slug,
      per_page: 100,
    });
    return { status: 'ok', members: members.map((m) => m.login).sort() };
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 403 || status === 404) {
      return {
        status: 'not-verified',
        members: [],
        reason: `team ${o}/${slug}: ${githubMessageOf(err)} (needs Members: read on the organization)`,
      };
    }
    throw githubError(`reading team ${o}/${slug}`, err);
  }
}

/** A file's text at a ref through the contents API, or null when it does not exist. */
export async function readFileAt(
  gh: GitHubClient,
  r: RepoRef,
  path: string,
  ref: string,
): Promise<{ text: string; blobSha: string } | null> {
  try {
    const { data } = await gh.rest.repos.getContent({ ...r, path, ref });
    if (Array.isArray(data) || data.type !== 'file' || typeof data.content !== 'string') return null;
    return { text: Buffer.from(data.content, 'base64').toString('utf8'), blobSha: data.sha };
  } catch (err) {
    if (httpStatusOf(err) === 404) return null;
    throw githubError(`reading ${path} at ${ref}`, err);
  }
}
