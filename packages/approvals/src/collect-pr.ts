/**
 * Pull-request side of evidence collection: map a shipped commit back to its PR
 * (merge, squash and rebase merges all go through `/commits/{sha}/pulls`), read
 * every review and commit through the paginator, infer the merge method, and find
 * who pushed the head.
 */
import type {
  CommitFacts,
  CommitRelation,
  MergeMethod,
  PullRequestFacts,
  RetroReviewFacts,
  ReviewFacts,
} from './evidence.js';
import { type GitHubClient, githubError } from './github-client.js';
import { account, commitFacts, getCommit, listActivity, type RepoRef } from './github-reads.js';

/** GitHub's pull-request commit listing stops at 250 commits. */
const PR_COMMIT_LIMIT = 250;
/** GitHub's pull-request file listing stops at 3000 files. */
const PR_FILE_LIMIT = 3000;

export async function collectPullRequest(
  gh: GitHubClient,
  r: RepoRef,
  commit: CommitFacts,
  notVerified: string[],
): Promise<{
  pr: PullRequestFacts | null;
  associated: number[];
  mergeCommit: CommitFacts | null;
  body: string;
}> {
  let list: { number: number; merged_at: string | null; merge_commit_sha: string | null }[];
  try {
    list = await gh.paginate(gh.rest.repos.listPullRequestsAssociatedWithCommit, {
      ...r,
      commit_sha: commit.sha,
      per_page: 100,
    });
  } catch (err) {
    throw githubError(`listing pull requests for ${commit.sha}`, err);
  }
  const associated = list.map((p) => p.number).sort((a, b) => a - b);
  // The PR that landed this commit: the one whose merge commit it is (merge,
  // squash, last commit of a rebase), else a merged PR containing it (an earlier
  // commit of a rebase merge). An open PR that merely contains the commit does not count.
  const chosen =
    list.find((p) => p.merged_at !== null && p.merge_commit_sha === commit.sha) ??
    list.find((p) => p.merged_at !== null);
  if (!chosen) return { pr: null, associated, mergeCommit: null, body: '' };
  let data: Awaited<ReturnType<GitHubClient['rest']['pulls']['get']>>['data'];
  try {
    data = (await gh.rest.pulls.get({ ...r, pull_number: chosen.number })).data;
  } catch (err) {
    throw githubError(`reading pull request #${chosen.number}`, err);
  }
  const commits = await paginated(gh, 'commits', () =>
    gh.paginate(gh.rest.pulls.listCommits, { ...r, pull_number: data.number, per_page: 100 }),
  );
  if (data.commits > commits.length) {
    notVerified.push(
      `not verified: PR #${data.number} has ${data.commits} commits; GitHub lists only the first ${PR_COMMIT_LIMIT}, so authors of the rest are unknown`,
    );
  }
  const files = await paginated(gh, 'files', () =>
    gh.paginate(gh.rest.pulls.listFiles, { ...r, pull_number: data.number, per_page: 100 }),
  );
  const filesTruncated = data.changed_files > files.length;
  if (filesTruncated) {
    notVerified.push(
      `not verified: PR #${data.number} changes ${data.changed_files} files; GitHub lists only ${PR_FILE_LIMIT}, so path rules saw a subset`,
    );
  }
  const commitList = commits.map((c) => commitFacts(c));
  const mergeSha = data.merge_commit_sha;
  const mergeCommit = mergeSha ? (mergeSha === commit.sha ? commit : await getCommit(gh, r, mergeSha)) : null;
  const { method, basis } = inferMergeMethod(mergeCommit, data.head.sha, commitList);
  const pr: PullRequestFacts = {
    number: data.number,
    url: data.html_url,
    title: data.title,
    author: account(data.user) ?? { login: 'ghost', type: 'User' },
    state: data.state,
    labels: data.labels.map((l) => l.name ?? '').filter((n) => n !== ''),
    emergencyReason: null,
    headRef: data.head.ref,
    headInRepo: data.head.repo?.full_name === `${r.owner}/${r.repo}`,
    headSha: data.head.sha,
    baseRef: data.base.ref,
    baseSha: data.base.sha,
    mergedAt: data.merged_at,
    mergedBy: account(data.merged_by),
    mergeCommitSha: mergeSha,
    mergeMethod: method,
    mergeMethodBasis: basis,
    commits: commitList,
    commitCount: data.commits,
    files: files.map((f) => f.filename),
    filesTruncated,
  };
  return { pr, associated, mergeCommit, body: data.body ?? '' };
}

async function paginated<T>(_gh: GitHubClient, what: string, read: () => Promise<T[]>): Promise<T[]> {
  try {
    return await read();
  } catch (err) {
    throw githubError(`listing pull request ${what}`, err);
  }
}

/** `Field: value` on its own line of a PR body (first match). */
export function fieldFromBody(body: string, field: string): string | null {
  const re = new RegExp(`^\\s*${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:\\s*(.+?)\\s*$`, 'im');
  const v = re.exec(body)?.[1];
  return v ? v : null;
}

/**
 * Merge method from the shape of the merge commit:
 * - two parents, second is the PR head: merge commit (also what a merge queue produces)
 * - one parent and the same author, author date and subject as the PR's last commit: rebase
 *   (rebasing keeps author and author date; squashing stamps a new commit)
 * - one parent otherwise: squash
 */
export function inferMergeMethod(
  mergeCommit: CommitFacts | null,
  headSha: string,
  commits: readonly CommitFacts[],
): { method: MergeMethod | null; basis: string } {
  if (!mergeCommit) return { method: null, basis: 'PR has no merge commit' };
  if (mergeCommit.sha === headSha) {
    return { method: 'merge', basis: 'fast-forward: the merge commit is the PR head itself' };
  }
  if (mergeCommit.parents.length >= 2) {
    return mergeCommit.parents.includes(headSha)
      ? { method: 'merge', basis: 'merge commit has the PR head as a parent' }
      : { method: 'merge', basis: 'merge commit with two parents (merge queue group or updated head)' };
  }
  const last = commits.at(-1);
  if (
    last &&
    last.authorDate === mergeCommit.authorDate &&
    last.authorEmail === mergeCommit.authorEmail &&
    last.subject === mergeCommit.subject
  ) {
    return {
      method: 'rebase',
      basis: "single parent; author, author date and subject equal the PR's last commit",
    };
  }
  return {
    method: 'squash',
    basis: "single parent; a new commit that is not a replay of the PR's last commit",
  };
}

export async function collectReviews(
  gh: GitHubClient,
  r: RepoRef,
  pr: PullRequestFacts,
): Promise<ReviewFacts[]> {
  let list: Awaited<ReturnType<GitHubClient['rest']['pulls']['listReviews']>>['data'];
  try {
    list = await gh.paginate(gh.rest.pulls.listReviews, { ...r, pull_number: pr.number, per_page: 100 });
  } catch (err) {
    throw githubError(`listing reviews of PR #${pr.number}`, err);
  }
  return list.map((rv) => ({
    id: Number(rv.id),
    reviewer: account(rv.user),
    state: rv.state,
    submittedAt: rv.submitted_at ?? null,
    commitId: rv.commit_id ?? null,
    commitRelation: commitRelation(rv.commit_id ?? null, pr),
  }));
}

/**
 * How a reviewed commit relates to the merged head. A review whose commit is no
 * longer in the PR (force-push) or is null cannot be tied to what shipped.
 */
export function commitRelation(commitId: string | null, pr: PullRequestFacts): CommitRelation {
  if (commitId === null) return 'unknown';
  if (commitId === pr.headSha) return 'head';
  const idx = pr.commits.findIndex((c) => c.sha === commitId);
  if (idx < 0) return 'unknown';
  const later = pr.commits.slice(idx + 1);
  return later.length > 0 && later.every((c) => c.parents.length >= 2) ? 'base-update-only' : 'stale';
}

/**
 * The account that pushed the head SHA: from the head branch's activity when the
 * branch is in this repository; otherwise the head commit's committer, flagged.
 */
export async function lastPusherOf(
  gh: GitHubClient,
  r: RepoRef,
  pr: PullRequestFacts,
  notVerified: string[],
): Promise<{ login: string | null; source: string }> {
  const headCommit = pr.commits.find((c) => c.sha === pr.headSha);
  const fallback = headCommit?.committerLogin ?? headCommit?.authorLogin ?? null;
  if (pr.headInRepo) {
    const since = new Date(
      Date.parse(pr.commits[0]?.committerDate ?? pr.mergedAt ?? '1970-01-01') - 86_400_000,
    );
    const acts = await listActivity(gh, r, pr.headRef, since);
    if (!('notVerified' in acts)) {
      const push = acts.find(
        (a) =>
          a.after === pr.headSha &&
          (a.type === 'push' || a.type === 'force_push' || a.type === 'branch_creation'),
      );
      if (push?.actor)
        return { login: push.actor, source: `activity ${push.type} on ${pr.headRef} at ${push.timestamp}` };
    }
  }
  notVerified.push(
    `not verified: who pushed ${pr.headSha} (${pr.headInRepo ? 'no push activity found' : 'head branch is in a fork'}); used the head commit's committer`,
  );
  return { login: fallback, source: 'head commit committer (push activity unavailable)' };
}

/** Merged retro-review PRs (by label) whose body references the emergency PR. */
export async function collectRetroReviews(
  gh: GitHubClient,
  r: RepoRef,
  pr: PullRequestFacts,
  retroLabel: string,
): Promise<RetroReviewFacts[]> {
  try {
    const issues = await gh.paginate(gh.rest.issues.listForRepo, {
      ...r,
      labels: retroLabel,
      state: 'closed',
      per_page: 100,
      ...(pr.mergedAt ? { since: pr.mergedAt } : {}),
    });
    const ref = new RegExp(`(#|/pull/)${pr.number}\\b`);
    const out: RetroReviewFacts[] = [];
    for (const issue of issues) {
      if (!issue.pull_request || !ref.test(issue.body ?? '')) continue;
      const data = (await gh.rest.pulls.get({ ...r, pull_number: issue.number })).data;
      const reviews = await gh.paginate(gh.rest.pulls.listReviews, {
        ...r,
        pull_number: issue.number,
        per_page: 100,
      });
      const latest = new Map<string, string>();
      for (const rv of reviews)
        if (rv.user?.login && rv.state !== 'COMMENTED') latest.set(rv.user.login, rv.state);
      const approvers = reviews
        .filter((rv) => rv.user?.login && latest.get(rv.user.login) === 'APPROVED' && rv.state === 'APPROVED')
        .map((rv) => account(rv.user))
        .filter(
          (a, i, all): a is NonNullable<typeof a> =>
            a !== null && all.findIndex((b) => b?.login === a.login) === i,
        );
      out.push({ number: data.number, url: data.html_url, mergedAt: data.merged_at, approvers });
    }
    return out;
  } catch (err) {
    throw githubError(`looking for retro reviews of PR #${pr.number}`, err);
  }
}
