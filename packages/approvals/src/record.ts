/**
 * Signed change records: an in-toto Statement v1 whose subject is the commit
 * (`gitCommit` digest) and, for a release, the bundle's sha256; the predicate holds
 * the decision and the evidence it was made from. Signed as DSSE with core's
 * signStatement. The console requires a valid, approved record before a rollout
 * (design §4).
 */
import {
  ClawbackError,
  type DsseEnvelope,
  INTOTO_PAYLOAD_TYPE,
  isClawbackError,
  isSha256Hex,
  makeStatement,
  type PublicKey,
  parseDsseEnvelope,
  parseStatement,
  type ResourceDescriptor,
  redactValue,
  type Signer,
  type Statement,
  signStatement,
  verifyDsse,
} from '@clawback/core';
import type { ChangeDecision } from './decide.js';
import { ApprovalErrors } from './errors.js';
import type { ChangeEvidence } from './evidence.js';
import type { PolicySource } from './policy.js';

export const CHANGE_RECORD_PREDICATE_TYPE = 'https://clawback.dev/change-record/v1';

export interface ChangeRecordBundle {
  name: string;
  sha256: string;
}

export interface ChangeRecordPredicate {
  repository: string;
  commit: string;
  targetBranch: string;
  pullRequest: { number: number; url: string; title: string } | null;
  decision: ChangeDecision;
  policy: PolicySource;
  bundle: ChangeRecordBundle | null;
  evidence: ChangeEvidence;
}

export interface BuildRecordInput {
  evidence: ChangeEvidence;
  decision: ChangeDecision;
  policySource: PolicySource;
  bundle?: ChangeRecordBundle;
}

export function buildChangeRecord(input: BuildRecordInput): Statement<ChangeRecordPredicate> {
  // Secrets never reach evidence (house style 14): PR titles, commit subjects and
  // check names are user text, so the whole evidence is scrubbed where it is built.
  const evidence = redactValue(input.evidence);
  const pr = evidence.pullRequest;
  const subject: ResourceDescriptor[] = [
    {
      name: `git+https://github.com/${evidence.repository}@${evidence.commit}`,
      digest: { gitCommit: evidence.commit },
    },
  ];
  if (input.bundle) {
    if (!isSha256Hex(input.bundle.sha256)) {
      throw new ClawbackError(
        ApprovalErrors.EVIDENCE_INPUT_INVALID,
        `bundle digest ${input.bundle.sha256} is not a sha256 hex digest`,
      );
    }
    subject.push({ name: input.bundle.name, digest: { sha256: input.bundle.sha256 } });
  }
  return makeStatement(subject, CHANGE_RECORD_PREDICATE_TYPE, {
    repository: evidence.repository,
    commit: evidence.commit,
    targetBranch: evidence.targetBranch,
    pullRequest: pr ? { number: pr.number, url: pr.url, title: pr.title } : null,
    decision: input.decision,
    policy: input.policySource,
    bundle: input.bundle ?? null,
    evidence,
  });
}

export function signChangeRecord(
  statement: Statement<ChangeRecordPredicate>,
  signers: readonly Signer[],
): Promise<DsseEnvelope> {
  return signStatement(statement, signers);
}

export interface VerifyChangeRecordOptions {
  trustedKeys: readonly PublicKey[];
  threshold?: number;
  /** The commit being rolled out must be the record's gitCommit subject. */
  expectedCommit?: string;
  /** The bundle being rolled out must be the record's sha256 subject. */
  expectedBundleSha256?: string;
  /** Refuse a validly signed record whose decision is `rejected` (default true). */
  requireApproved?: boolean;
}

export interface VerifiedChangeRecord {
  statement: Statement<ChangeRecordPredicate>;
  predicate: ChangeRecordPredicate;
  keyids: string[];
}

/**
 * Verify a change record envelope: DSSE signature by trusted keys, in-toto
 * statement shape, our predicate type, the expected commit/bundle subjects, and
 * (by default) an approving decision. Every failure is CHANGE_RECORD_INVALID
 * (or CHANGE_NOT_APPROVED) with the reason.
 */
export function verifyChangeRecord(
  envelope: unknown,
  options: VerifyChangeRecordOptions,
): VerifiedChangeRecord {
  let statement: Statement<ChangeRecordPredicate>;
  let keyids: string[];
  try {
    const env = parseDsseEnvelope(envelope, 'change record');
    const v = verifyDsse(env, {
      trustedKeys: options.trustedKeys,
      threshold: options.threshold ?? 1,
      payloadType: INTOTO_PAYLOAD_TYPE,
      source: 'change record',
    });
    keyids = v.validKeyIds;
    statement = parseStatement(v.payload, CHANGE_RECORD_PREDICATE_TYPE) as Statement<ChangeRecordPredicate>;
  } catch (err) {
    if (!isClawbackError(err)) throw err;
    throw new ClawbackError(ApprovalErrors.CHANGE_RECORD_INVALID, err.message, {
      cause: err,
      details: { reason: err.code },
      hint:
        err.hint ??
        'Re-run `clawback approve check --out` with the release key, and pass its public key as trusted.',
    });
  }
  const p = statement.predicate;
  const problems: string[] = [];
  if (
    typeof p.commit !== 'string' ||
    typeof p.decision?.status !== 'string' ||
    !Array.isArray(p.decision.failedRules)
  ) {
    problems.push('predicate: missing commit or decision');
  }
  const commits = statement.subject.map((s) => s.digest?.gitCommit).filter((x): x is string => !!x);
  const bundles = statement.subject.map((s) => s.digest?.sha256).filter((x): x is string => !!x);
  if (!commits.includes(p.commit))
    problems.push(`subject: no gitCommit digest for predicate commit ${p.commit}`);
  if (options.expectedCommit !== undefined && !commits.includes(options.expectedCommit)) {
    problems.push(
      `subject: record is for commit ${commits.join(', ') || '(none)'}, not ${options.expectedCommit}`,
    );
  }
  if (options.expectedBundleSha256 !== undefined && !bundles.includes(options.expectedBundleSha256)) {
    problems.push(
      `subject: record covers bundle ${bundles.join(', ') || '(none)'}, not ${options.expectedBundleSha256}`,
    );
  }
  if (problems.length > 0) {
    throw new ClawbackError(ApprovalErrors.CHANGE_RECORD_INVALID, `change record: ${problems.join('; ')}`, {
      details: { problems },
      hint: 'Use the change record written for this exact commit and bundle.',
    });
  }
  if (
    (options.requireApproved ?? true) &&
    (p.decision.status === 'rejected' || p.decision.approved !== true)
  ) {
    throw new ClawbackError(
      ApprovalErrors.CHANGE_NOT_APPROVED,
      `change record for ${p.commit} says the change is not approved: ${p.decision.failedRules.join(', ')}`,
      {
        details: { failedRules: p.decision.failedRules },
        hint: 'Fix the failed rules (or use the emergency path) and re-run `clawback approve check`.',
      },
    );
  }
  return { statement, predicate: p, keyids };
}
