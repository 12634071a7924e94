/**
 * `approve check` as a library call: collect (I/O) → decide (pure) → record
 * (signed when a signer is given). The CLI command is a thin shell over this.
 */
import type { DsseEnvelope, Signer, Statement } from '@clawback/core';
import { type CollectOptions, collectChangeEvidence } from './collect.js';
import { type ChangeDecision, decideChange } from './decide.js';
import type { ChangeEvidence } from './evidence.js';
import type { GitHubClient } from './github-client.js';
import type { ChangePolicy, PolicySource } from './policy.js';
import {
  buildChangeRecord,
  type ChangeRecordBundle,
  type ChangeRecordPredicate,
  signChangeRecord,
} from './record.js';

export interface ApproveCheckOptions extends CollectOptions {
  client: GitHubClient;
  signer?: Signer;
  bundle?: ChangeRecordBundle;
}

export interface ApproveCheckResult {
  evidence: ChangeEvidence;
  policy: ChangePolicy;
  policySource: PolicySource;
  decision: ChangeDecision;
  statement: Statement<ChangeRecordPredicate>;
  envelope: DsseEnvelope | null;
}

export async function approveCheck(options: ApproveCheckOptions): Promise<ApproveCheckResult> {
  const { client, signer, bundle, ...collect } = options;
  const { evidence, policy, policySource } = await collectChangeEvidence(client, collect);
  const decision = decideChange(evidence, policy, options.now);
  const statement = buildChangeRecord({ evidence, decision, policySource, ...(bundle ? { bundle } : {}) });
  const envelope = signer ? await signChangeRecord(statement, [signer]) : null;
  return { evidence, policy, policySource, decision, statement, envelope };
}

/** The human summary `approve check` prints. */
export function formatDecision(evidence: ChangeEvidence, decision: ChangeDecision): string {
  const pr = evidence.pullRequest;
  const lines = [
    `${evidence.repository}@${evidence.commit.slice(0, 12)} on ${evidence.targetBranch}: ${decision.status.toUpperCase()}`,
  ];
  if (pr) {
    lines.push(
      `  PR #${pr.number} "${pr.title}" by ${pr.author.login}, ${pr.mergeMethod ?? 'unmerged'} by ${pr.mergedBy?.login ?? 'unknown'} at ${pr.mergedAt ?? '-'}`,
      `  approvals: ${decision.qualifyingApprovers.length}/${decision.requiredApprovals} qualifying${decision.qualifyingApprovers.length ? ` (${decision.qualifyingApprovers.join(', ')})` : ''}`,
    );
  } else {
    lines.push('  no merged pull request');
  }
  if (evidence.refUpdate)
    lines.push(`  landed by: ${evidence.refUpdate.type} by ${evidence.refUpdate.actor ?? 'unknown'}`);
  const mark = { fail: 'FAIL', warn: 'warn', info: 'info' } as const;
  for (const f of decision.findings) lines.push(`  ${mark[f.severity]} ${f.id}: ${f.message}`);
  if (decision.failedRules.length > 0) lines.push(`not approved: ${decision.failedRules.join(', ')}`);
  return lines.join('\n');
}
