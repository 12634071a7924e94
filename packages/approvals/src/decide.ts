/**
 * The approval decision: a pure function of (evidence, policy, now). It names
 * every rule that failed, so `approve check` can say exactly why a change is not
 * approved, and every pitfall it saw even when the change passes (SOC 2 CC8.1).
 */
import { isoSeconds } from '@clawback/core';
import { decideApprovals, decidePathRules } from './decide-approvals.js';
import { decideChecks } from './decide-checks.js';
import { decideEnvironment } from './decide-environment.js';
import { type ChangeEvidence, isBot } from './evidence.js';
import { type Finding, type FindingId, Findings } from './findings.js';
import type { ChangePolicy } from './policy.js';

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
