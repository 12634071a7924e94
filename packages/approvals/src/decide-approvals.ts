/**
 * Who may approve: the latest decisive review per reviewer, minus bots, the PR
 * author, commit authors/committers/co-authors and the last pusher, on the merged
 * head (or an earlier commit followed only by base updates); plus path rules.
 */

import { type Account, type ChangeEvidence, isBot, type ReviewFacts } from './evidence.js';
import { Findings } from './findings.js';
import { type ChangePolicy, filesMatching } from './policy.js';

/** Latest decisive review per reviewer: COMMENTED and PENDING never override an approval. */
function latestDecisive(reviews: readonly ReviewFacts[]): ReviewFacts[] {
  const byLogin = new Map<string, ReviewFacts>();
  for (const r of reviews) {
    if (!r.reviewer || r.state === 'COMMENTED' || r.state === 'PENDING') continue;
    byLogin.set(r.reviewer.login.toLowerCase(), r);
  }
  return [...byLogin.values()].filter((r) => r.state === 'APPROVED');
}

export function decideApprovals(e: ChangeEvidence, policy: ChangePolicy, f: Findings): string[] {
  const pr = e.pullRequest;
  if (!pr) return [];
  const authors = new Set<string>();
  const coAuthorLogins = new Set<string>();
  const coAuthorNames = new Set<string>();
  for (const c of pr.commits) {
    for (const l of [c.authorLogin, c.committerLogin])
      if (l && l !== 'web-flow') authors.add(l.toLowerCase());
    for (const ca of c.coAuthors) {
      if (ca.login) coAuthorLogins.add(ca.login.toLowerCase());
      else coAuthorNames.add(ca.name.toLowerCase());
    }
  }
  for (const name of coAuthorNames) {
    f.add(
      'co-author-unresolved',
      'warn',
      `not verified: co-author "${name}" has no GitHub no-reply address; matched against reviewer logins by name only`,
    );
  }
  const disq = new Findings();
  const qualifying: string[] = [];
  for (const r of latestDecisive(e.reviews)) {
    const who = r.reviewer as Account;
    const login = who.login.toLowerCase();
    const at = `${who.login}'s approval (review ${r.id}${r.commitId ? ` on ${r.commitId.slice(0, 12)}` : ''})`;
    const before = disq.list.length;
    if (isBot(who, policy.bots)) disq.add('bot-approval', 'fail', `${at} is from a bot; bots never count`);
    if (login === pr.author.login.toLowerCase())
      disq.add('self-approval', 'fail', `${at} is by the PR author`);
    if (coAuthorLogins.has(login) || coAuthorNames.has(login)) {
      disq.add('co-author-approval', 'fail', `${at} is by a Co-authored-by co-author of the PR`);
    }
    if (authors.has(login))
      disq.add('committer-approval', 'fail', `${at} is by an author or committer of a PR commit`);
    if (e.lastPusher.login && login === e.lastPusher.login.toLowerCase()) {
      disq.add(
        'last-pusher-approval',
        'fail',
        `${at} is by ${e.lastPusher.login}, who pushed the head ${pr.headSha.slice(0, 12)} (${e.lastPusher.source})`,
      );
    }
    if (
      r.commitRelation === 'stale' ||
      (r.commitRelation === 'base-update-only' && !policy.approvals.allowBaseUpdateAfterApproval)
    ) {
      disq.add(
        'stale-approval',
        'fail',
        `${at} is stale: commits with changes were pushed after it; the merged head was ${pr.headSha.slice(0, 12)}`,
      );
    }
    if (r.commitRelation === 'unknown') {
      disq.add(
        'approval-commit-unknown',
        'fail',
        `${at} is on ${r.commitId === null ? 'a null commit_id (the branch was force-pushed)' : 'a commit no longer in the PR (force-pushed away)'}; it cannot be tied to the merged head`,
      );
    }
    if (disq.list.length === before) qualifying.push(who.login);
  }
  const enough = qualifying.length >= policy.approvals.required;
  // A disqualified approval only fails the change when the others are not enough.
  for (const d of disq.list)
    f.add(d.id, enough ? 'warn' : 'fail', enough ? `${d.message} (did not count)` : d.message);
  if (!enough) {
    f.add(
      'insufficient-approvals',
      'fail',
      `${qualifying.length} qualifying approval(s) of ${policy.approvals.required} required on PR #${pr.number}${qualifying.length ? ` (${qualifying.join(', ')})` : ''}`,
    );
  }
  return qualifying.sort();
}

/** Logins allowed by a list of users and `team` / `org/team` slugs, and the teams we could not read. */
function allowedBy(
  e: ChangeEvidence,
  users: readonly string[],
  teams: readonly string[],
): { allowed: Set<string>; unverified: string[] } {
  const allowed = new Set(users.map((u) => u.toLowerCase()));
  const unverified: string[] = [];
  for (const t of teams) {
    const team = e.teams[t];
    if (team?.status !== 'ok') unverified.push(t);
    else for (const m of team.members) allowed.add(m.toLowerCase());
  }
  return { allowed, unverified };
}

export function decidePathRules(
  e: ChangeEvidence,
  policy: ChangePolicy,
  qualifying: string[],
  f: Findings,
): void {
  const pr = e.pullRequest;
  if (!pr) return;
  for (const rule of policy.pathRules) {
    const touched = filesMatching(rule, pr.files);
    if (touched.length === 0) continue;
    if (rule.teams.length > 0 || rule.users.length > 0) {
      const { allowed, unverified } = allowedBy(e, rule.users, rule.teams);
      const got = qualifying.filter((q) => allowed.has(q.toLowerCase()));
      if (got.length < rule.approvals) {
        const who = [...rule.teams.map((t) => `team ${t}`), ...rule.users].join(', ');
        f.add(
          'path-approval-missing',
          'fail',
          `${touched.length} file(s) under ${rule.paths.join(', ')} (e.g. ${touched[0]}) need ${rule.approvals} approval(s) from ${who}; got ${got.length}${unverified.length ? ` (membership not verified: ${unverified.join(', ')})` : ''}`,
        );
      }
    }
    if (rule.codeowners) decideCodeowners(e, touched, qualifying, f);
  }
}

/** GitHub's code-owner rule: every touched file needs an approval from one of its owners. */
function decideCodeowners(
  e: ChangeEvidence,
  touched: readonly string[],
  qualifying: string[],
  f: Findings,
): void {
  const co = e.codeowners;
  const unowned: string[] = [];
  const unapproved: string[] = [];
  for (const file of touched) {
    const owners = co?.owners[file] ?? [];
    if (owners.length === 0) {
      unowned.push(file);
      continue;
    }
    const { allowed } = allowedBy(
      e,
      owners.filter((o) => !o.includes('/')),
      owners.filter((o) => o.includes('/')),
    );
    if (!qualifying.some((q) => allowed.has(q.toLowerCase())))
      unapproved.push(`${file} (owners: ${owners.join(' ')})`);
  }
  if (unowned.length > 0) {
    f.add(
      'path-approval-missing',
      'fail',
      `no CODEOWNERS owner for ${unowned.slice(0, 3).join(', ')}${unowned.length > 3 ? ` and ${unowned.length - 3} more` : ''}${co?.path ? ` in ${co.path}` : ' (the base has no CODEOWNERS file)'}`,
    );
  }
  if (unapproved.length > 0) {
    f.add(
      'path-approval-missing',
      'fail',
      `no qualifying approval from the code owners of ${unapproved.slice(0, 3).join('; ')}${unapproved.length > 3 ? ` and ${unapproved.length - 3} more` : ''}`,
    );
  }
}
