/**
 * The approval decision: a pure function of (evidence, policy, now). It names
 * every rule that failed, so `approve check` can say exactly why a change is not
 * approved, and every pitfall it saw even when the change passes (SOC 2 CC8.1).
 */
import { isoSeconds } from '@clawback/core';
import { decideChecks } from './decide-checks.js';
import { decideEnvironment } from './decide-environment.js';
import { type Account, type ChangeEvidence, isBot, type ReviewFacts } from './evidence.js';
import { type ChangePolicy, filesMatching } from './policy.js';

export type FindingId =
  | 'no-pull-request'
  | 'direct-push'
  | 'force-push'
  | 'force-push-after-merge'
  | 'merge-queue'
  | 'squash-merge'
  | 'rebase-merge'
  | 'insufficient-approvals'
  | 'stale-approval'
  | 'approval-commit-unknown'
  | 'self-approval'
  | 'co-author-approval'
  | 'committer-approval'
  | 'last-pusher-approval'
  | 'bot-approval'
  | 'co-author-unresolved'
  | 'path-approval-missing'
  | 'required-check-missing'
  | 'required-check-failed'
  | 'check-on-wrong-sha'
  | 'check-wrong-app'
  | 'check-completed-after-merge'
  | 'admin-bypass'
  | 'branch-not-protected'
  | 'release-branch-unprotected'
  | 'environment-approval-missing'
  | 'environment-self-approval'
  | 'environment-triggerer-approval'
  | 'environment-approver-not-allowed'
  | 'environment-run-wrong-commit'
  | 'emergency-reason-missing'
  | 'emergency-retro-review-pending'
  | 'emergency-retro-review-complete'
  | 'emergency-retro-review-missing'
  | 'not-verified';

export type Severity = 'fail' | 'warn' | 'info';

export interface Finding {
  id: FindingId;
  severity: Severity;
  message: string;
}

export type DecisionStatus = 'approved' | 'emergency-pending-retro' | 'emergency-retro-complete' | 'rejected';

export interface ChangeDecision {
  status: DecisionStatus;
  /** Whether the change may ship (approved, or an emergency within its retro window). */
  approved: boolean;
  /** Each failed rule once, in the order found. */
  failedRules: FindingId[];
  findings: Finding[];
  requiredApprovals: number;
  qualifyingApprovers: string[];
  emergency: { reason: string; retroDeadline: string; retroReviews: number[] } | null;
  decidedAt: string;
}

/** Findings an emergency change may ship with (they stay in the record as warnings). */
const WAIVABLE_IN_EMERGENCY = new Set<FindingId>([
  'insufficient-approvals',
  'stale-approval',
  'approval-commit-unknown',
  'self-approval',
  'co-author-approval',
  'committer-approval',
  'last-pusher-approval',
  'bot-approval',
  'path-approval-missing',
  'required-check-missing',
  'required-check-failed',
  'check-on-wrong-sha',
  'check-wrong-app',
  'check-completed-after-merge',
  'admin-bypass',
]);

export class Findings {
  readonly list: Finding[] = [];
  add(id: FindingId, severity: Severity, message: string): void {
    this.list.push({ id, severity, message });
  }
}

export function decideChange(evidence: ChangeEvidence, policy: ChangePolicy, now: Date): ChangeDecision {
  const f = new Findings();
  const pr = evidence.pullRequest;
  const landed = pr?.mergeCommitSha ?? evidence.commit;
  decideRefUpdate(evidence, f);
  let qualifying: string[] = [];
  if (pr) {
    if (pr.mergeMethod === 'squash' || pr.mergeMethod === 'rebase') {
      f.add(
        pr.mergeMethod === 'squash' ? 'squash-merge' : 'rebase-merge',
        'info',
        `${pr.mergeMethod} merge ${landed} mapped back to PR #${pr.number} via /commits/{sha}/pulls (${pr.mergeMethodBasis})`,
      );
    }
    qualifying = decideApprovals(evidence, policy, f);
    decidePathRules(evidence, policy, qualifying, f);
  }
  decideChecks(evidence, policy, f);
  decideProtection(evidence, landed, f);
  decideEnvironment(evidence, policy, f);
  for (const nv of evidence.notVerified) f.add('not-verified', 'warn', nv);
  const emergency = decideEmergency(evidence, policy, now, f);
  const failedRules = [...new Set(f.list.filter((x) => x.severity === 'fail').map((x) => x.id))];
  let status: DecisionStatus = failedRules.length === 0 ? 'approved' : 'rejected';
  if (status === 'approved' && emergency) {
    status = f.list.some((x) => x.id === 'emergency-retro-review-complete')
      ? 'emergency-retro-complete'
      : 'emergency-pending-retro';
  }
  return {
    status,
    approved: status !== 'rejected',
    failedRules,
    findings: f.list,
    requiredApprovals: policy.approvals.required,
    qualifyingApprovers: qualifying,
    emergency,
    decidedAt: isoSeconds(now),
  };
}

function decideRefUpdate(e: ChangeEvidence, f: Findings): void {
  const pr = e.pullRequest;
  const u = e.refUpdate;
  if (!pr) {
    const prs = e.associatedPullRequests.length
      ? ` (associated PRs ${e.associatedPullRequests.map((n) => `#${n}`).join(', ')} were not merged with it)`
      : '';
    if (u?.type === 'force_push') {
      f.add(
        'force-push',
        'fail',
        `${e.commit} reached ${e.targetBranch} by a force push by ${u.actor ?? 'unknown'}${prs}`,
      );
    } else if (u?.type === 'push') {
      f.add(
        'direct-push',
        'fail',
        `${e.commit} was pushed directly to ${e.targetBranch} by ${u.actor ?? 'unknown'}${prs}`,
      );
    } else {
      f.add('no-pull-request', 'fail', `${e.commit} is not the result of a merged pull request${prs}`);
    }
  } else if (u?.type === 'push') {
    f.add(
      'direct-push',
      'fail',
      `PR #${pr.number} shows as merged, but ${u.actor ?? 'someone'} pushed its commits to ${e.targetBranch} directly`,
    );
  } else if (u?.type === 'force_push') {
    f.add(
      'force-push',
      'fail',
      `${u.after} reached ${e.targetBranch} by a force push by ${u.actor ?? 'unknown'}, not by merging PR #${pr.number}`,
    );
  } else if (u?.type === 'merge_queue_merge') {
    f.add(
      'merge-queue',
      'info',
      `PR #${pr.number} merged through the merge queue by ${u.actor ?? 'the queue'}`,
    );
  }
  for (const fp of e.laterForcePushes) {
    f.add(
      'force-push-after-merge',
      'warn',
      `${fp.actor ?? 'someone'} force-pushed ${e.targetBranch} at ${fp.timestamp} (${fp.before} → ${fp.after}); check the change is still on the branch`,
    );
  }
}

/** Latest decisive review per reviewer: COMMENTED and PENDING never override an approval. */
function latestDecisive(reviews: readonly ReviewFacts[]): ReviewFacts[] {
  const byLogin = new Map<string, ReviewFacts>();
  for (const r of reviews) {
    if (!r.reviewer || r.state === 'COMMENTED' || r.state === 'PENDING') continue;
    byLogin.set(r.reviewer.login.toLowerCase(), r);
  }
  return [...byLogin.values()].filter((r) => r.state === 'APPROVED');
}

function decideApprovals(e: ChangeEvidence, policy: ChangePolicy, f: Findings): string[] {
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

function decidePathRules(e: ChangeEvidence, policy: ChangePolicy, qualifying: string[], f: Findings): void {
  const pr = e.pullRequest;
  if (!pr) return;
  for (const rule of policy.pathRules) {
    const touched = filesMatching(rule, pr.files);
    if (touched.length === 0) continue;
    const allowed = new Set(rule.users.map((u) => u.toLowerCase()));
    const unverified: string[] = [];
    for (const t of rule.teams) {
      const team = e.teams[t];
      if (team?.status !== 'ok') unverified.push(t);
      else for (const m of team.members) allowed.add(m.toLowerCase());
    }
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
}

function decideProtection(e: ChangeEvidence, landed: string, f: Findings): void {
  const p = e.protection;
  const rulesetPr = p.rules.status === 'ok' && p.rules.rules.some((r) => r.type === 'pull_request');
  const classicPr = p.classic.status === 'protected' && p.classic.requiredApprovals > 0;
  if (p.classic.status === 'not-protected' && !rulesetPr) {
    f.add(
      'branch-not-protected',
      'fail',
      `${e.targetBranch} has no branch protection and no ruleset requiring pull requests`,
    );
  } else if (p.classic.status === 'protected' && !classicPr && !rulesetPr) {
    f.add(
      'branch-not-protected',
      'fail',
      `${e.targetBranch} is protected but requires no approving review (classic protection or ruleset)`,
    );
  }
  for (const b of e.releaseBranches) {
    if (b.protected === false)
      f.add(
        'release-branch-unprotected',
        'fail',
        `release branch ${b.name} matches protected_branches but has no protection or pull-request ruleset`,
      );
    else if (b.protected === null)
      f.add('not-verified', 'warn', `not verified: protection of release branch ${b.name}`);
  }
  if (e.ruleSuites.status === 'ok') {
    for (const s of e.ruleSuites.suites) {
      if (s.afterSha === landed && s.result === 'bypass') {
        f.add(
          'admin-bypass',
          'fail',
          `${s.actor ?? 'an actor'} bypassed the rulesets on ${e.targetBranch} when ${landed.slice(0, 12)} landed (rule suite ${s.id})`,
        );
      }
    }
  }
}

function decideEmergency(
  e: ChangeEvidence,
  policy: ChangePolicy,
  now: Date,
  f: Findings,
): ChangeDecision['emergency'] {
  const pr = e.pullRequest;
  const rule = policy.emergency;
  if (!pr || !rule || !pr.labels.includes(rule.label)) return null;
  if (!pr.emergencyReason) {
    f.add(
      'emergency-reason-missing',
      'fail',
      `PR #${pr.number} has the ${rule.label} label but no "${rule.reasonField}: …" line in its body; treated as a normal change`,
    );
    return null;
  }
  for (const x of f.list) {
    if (x.severity === 'fail' && WAIVABLE_IN_EMERGENCY.has(x.id)) {
      x.severity = 'warn';
      x.message = `waived for emergency: ${x.message}`;
    }
  }
  const merged = Date.parse(pr.mergedAt ?? e.collectedAt);
  const deadline = new Date(merged + rule.retroWithinHours * 3_600_000);
  const good = e.retroReviews.filter(
    (rr) =>
      rr.mergedAt !== null &&
      Date.parse(rr.mergedAt) <= deadline.getTime() &&
      rr.approvers.some(
        (a) => !isBot(a, policy.bots) && a.login.toLowerCase() !== pr.author.login.toLowerCase(),
      ),
  );
  if (good.length > 0) {
    f.add(
      'emergency-retro-review-complete',
      'info',
      `emergency (${pr.emergencyReason}) retro-reviewed in ${good.map((g) => `#${g.number}`).join(', ')}`,
    );
  } else if (now.getTime() <= deadline.getTime()) {
    f.add(
      'emergency-retro-review-pending',
      'warn',
      `emergency change (${pr.emergencyReason}): a ${rule.retroLabel} PR referencing #${pr.number} must be approved and merged by ${isoSeconds(deadline)}`,
    );
  } else {
    f.add(
      'emergency-retro-review-missing',
      'fail',
      `emergency change (${pr.emergencyReason}): no approved ${rule.retroLabel} PR referencing #${pr.number} was merged by ${isoSeconds(deadline)}`,
    );
  }
  return {
    reason: pr.emergencyReason,
    retroDeadline: isoSeconds(deadline),
    retroReviews: good.map((g) => g.number),
  };
}
