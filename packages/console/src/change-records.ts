/**
 * Change records (design §4, §8): the signed approval decision for a release, written by
 * `clawback approve`. The console refuses to roll out a release whose record does not verify.
 * Verification is the change-control package's `verifyChangeRecord`; the console takes it as a
 * function so a deployment (or a test) can pin its own keys.
 */
import { verifyChangeRecord } from '@clawback/approvals';
import { isClawbackError, type PublicKey } from '@clawback/core';

export interface ReleaseRef {
  agent: string;
  version: string;
  targetPath: string;
  /** SHA-256 of the bundle target. */
  digest: string;
}

export type ChangeRecordCheck =
  | { ok: true; summary: Record<string, unknown> }
  /** `mismatch`: validly signed and approving, but for another bundle than this release's target. */
  | { ok: false; problem: string; mismatch?: boolean };

export type ChangeRecordVerifier = (
  record: unknown,
  release: ReleaseRef,
  now: Date,
) => Promise<ChangeRecordCheck>;

/** Refuses every record: the console was started without change-record keys. */
export function noChangeRecordKeys(): ChangeRecordVerifier {
  return async () => ({
    ok: false,
    problem: 'the console has no trusted change-record keys (start it with --change-record-key FILE)',
  });
}

/**
 * Verify with `@clawback/approvals`: signed by a threshold of `trustedKeys`, an approving
 * decision, and a bundle subject whose sha256 is exactly the release's bundle target digest
 * (the TUF-signed artifact; the record's own signed subject binds that digest to its commit).
 */
export function changeRecordVerifier(trustedKeys: readonly PublicKey[], threshold = 1): ChangeRecordVerifier {
  if (trustedKeys.length === 0) return noChangeRecordKeys();
  return async (record, release) => {
    try {
      // Signature, shape and decision first; the subject is compared separately below so a
      // genuine record for another bundle is told apart from a bad record.
      const v = verifyChangeRecord(record, { trustedKeys, threshold });
      const bundles = v.statement.subject.map((s) => s.digest?.sha256).filter((x): x is string => !!x);
      if (!bundles.includes(release.digest)) {
        return {
          ok: false,
          mismatch: true,
          problem: `the change record covers bundle ${bundles.join(', ') || '(none)'} (commit ${v.predicate.commit}), not this release's target ${release.targetPath} (sha256 ${release.digest})`,
        };
      }
      const p = v.predicate;
      return {
        ok: true,
        summary: {
          repository: p.repository,
          commit: p.commit,
          pullRequest: p.pullRequest,
          decision: p.decision.status,
          approvers: p.decision.qualifyingApprovers,
          emergency: p.decision.emergency !== null,
          environment: p.evidence?.environment
            ? {
                name: p.evidence.environment.name,
                runId: p.evidence.environment.runId,
                runTriggeringActor: p.evidence.environment.runTriggeringActor,
                // Who approved the deployment: what a release manager and an auditor look for.
                approvedBy: p.evidence.environment.approvals
                  .filter(
                    (a) =>
                      a.state === 'approved' && a.environments.includes(p.evidence?.environment?.name ?? ''),
                  )
                  .map((a) => a.user?.login ?? '(unknown)'),
              }
            : null,
          signedBy: v.keyids,
        },
      };
    } catch (err) {
      if (!isClawbackError(err)) throw err;
      return { ok: false, problem: `${err.code}: ${err.message}` };
    }
  };
}
