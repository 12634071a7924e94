/**
 * Required checks: each must have passed on the head SHA that was merged (or, for
 * a merge-queue merge, on the merge group commit GitHub tested and then landed),
 * from the named GitHub App, and have completed before the merge.
 */

import type { ChangeEvidence, CheckFacts } from './evidence.js';
import type { Findings } from './findings.js';
import type { ChangePolicy, RequiredCheck } from './policy.js';

/** GitHub treats these conclusions as satisfying a required check. */
const PASSING = new Set(['success', 'neutral', 'skipped']);

function passed(c: CheckFacts): boolean {
  return c.status === 'completed' && c.conclusion !== null && PASSING.has(c.conclusion);
}

function fromApp(c: CheckFacts, req: RequiredCheck): boolean {
  return req.app === undefined || c.app === req.app;
}

export function decideChecks(e: ChangeEvidence, policy: ChangePolicy, f: Findings): void {
  const pr = e.pullRequest;
  const headSha = pr?.headSha ?? e.commit;
  const viaQueue = e.refUpdate?.type === 'merge_queue_merge';
  const onHead = [...e.checks.head, ...(viaQueue ? e.checks.mergeCommit : [])];
  const mergedAt = pr?.mergedAt ? Date.parse(pr.mergedAt) : null;
  for (const req of policy.checks) {
    const label = `required check "${req.name}"${req.app ? ` (app ${req.app})` : ''}`;
    const named = onHead.filter((c) => c.name === req.name);
    const good = named.filter((c) => fromApp(c, req) && passed(c));
    if (good.length > 0) {
      const done = good.map((c) => Date.parse(c.completedAt ?? '')).filter((t) => !Number.isNaN(t));
      if (mergedAt !== null && done.length > 0 && Math.min(...done) > mergedAt) {
        f.add(
          'check-completed-after-merge',
          'fail',
          `${label} passed on ${good[0]?.sha.slice(0, 12)} only at ${good[0]?.completedAt}, after the merge at ${pr?.mergedAt}`,
        );
      }
      continue;
    }
    const wrongApp = named.filter((c) => !fromApp(c, req));
    if (wrongApp.length > 0 && named.every((c) => !fromApp(c, req))) {
      f.add(
        'check-wrong-app',
        'fail',
        `${label} on the head was reported by ${wrongApp.map((c) => c.app ?? 'a commit status').join(', ')}, not ${req.app}`,
      );
      continue;
    }
    const failed = named.filter((c) => fromApp(c, req));
    if (failed.length > 0) {
      const c = failed[0] as CheckFacts;
      f.add(
        'required-check-failed',
        'fail',
        `${label} on the head ${headSha.slice(0, 12)} is ${c.status === 'completed' ? c.conclusion : c.status}`,
      );
      continue;
    }
    const elsewhere = e.checks.otherShas.filter((c) => c.name === req.name && fromApp(c, req) && passed(c));
    if (elsewhere.length > 0) {
      f.add(
        'check-on-wrong-sha',
        'fail',
        `${label} passed on ${[...new Set(elsewhere.map((c) => c.sha.slice(0, 12)))].join(', ')} but not on the merged head ${headSha.slice(0, 12)}`,
      );
    } else {
      f.add(
        'required-check-missing',
        'fail',
        `${label} never reported on the merged head ${headSha.slice(0, 12)}`,
      );
    }
  }
}
