/** Named findings of an approval decision (see docs/change-control.md, "Rules and pitfalls"). */
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

export class Findings {
  readonly list: Finding[] = [];
  add(id: FindingId, severity: Severity, message: string): void {
    this.list.push({ id, severity, message });
  }
}
