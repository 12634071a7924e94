import { generateKeyPair, signerFromKeyPair } from '@clawback/core';
import { describe, expect, it } from 'vitest';
import type { ChangeDecision } from './decide.js';
import type { ChangeEvidence } from './evidence.js';
import {
  buildChangeRecord,
  CHANGE_RECORD_PREDICATE_TYPE,
  signChangeRecord,
  verifyChangeRecord,
} from './record.js';

const COMMIT = 'a'.repeat(40);
const BUNDLE = 'b'.repeat(64);

function decision(status: ChangeDecision['status']): ChangeDecision {
  return {
    status,
    approved: status !== 'rejected',
    failedRules: status === 'rejected' ? ['stale-approval'] : [],
    findings: [],
    requiredApprovals: 1,
    qualifyingApprovers: [],
    emergency: null,
    decidedAt: '2026-03-02T14:00:00Z',
  };
}

async function record(status: ChangeDecision['status'] = 'approved', title = 'Bump') {
  const evidence = {
    repository: 'acme/agents',
    commit: COMMIT,
    targetBranch: 'main',
    pullRequest: { number: 1, url: 'u', title },
  } as unknown as ChangeEvidence;
  const st = buildChangeRecord({
    evidence,
    decision: decision(status),
    policySource: {
      repo: 'acme/agents',
      ref: 'c'.repeat(40),
      path: '.clawback/change-policy.yaml',
      blobSha: null,
      sha256: 'd'.repeat(64),
    },
    bundle: { name: 'bundle.clawback', sha256: BUNDLE },
  });
  const pair = generateKeyPair();
  return { st, pair, env: await signChangeRecord(st, [signerFromKeyPair(pair)]) };
}

describe('change records', () => {
  it('subject is the commit and the bundle; predicate type is ours', async () => {
    const { st, env, pair } = await record();
    expect(st.predicateType).toBe(CHANGE_RECORD_PREDICATE_TYPE);
    expect(st.subject.map((s) => s.digest)).toEqual([{ gitCommit: COMMIT }, { sha256: BUNDLE }]);
    expect(
      verifyChangeRecord(env, {
        trustedKeys: [pair.publicKey],
        expectedCommit: COMMIT,
        expectedBundleSha256: BUNDLE,
      }).keyids,
    ).toEqual([pair.publicKey.keyid]);
  });

  it('refuses an untrusted key, another commit or bundle, and a rejected decision', async () => {
    const { env, pair } = await record();
    const other = generateKeyPair();
    expect(() => verifyChangeRecord(env, { trustedKeys: [other.publicKey] })).toThrow(
      expect.objectContaining({ code: 'CHANGE_RECORD_INVALID' }),
    );
    expect(() =>
      verifyChangeRecord(env, { trustedKeys: [pair.publicKey], expectedCommit: 'f'.repeat(40) }),
    ).toThrow(expect.objectContaining({ code: 'CHANGE_RECORD_INVALID' }));
    expect(() =>
      verifyChangeRecord(env, { trustedKeys: [pair.publicKey], expectedBundleSha256: 'e'.repeat(64) }),
    ).toThrow(expect.objectContaining({ code: 'CHANGE_RECORD_INVALID' }));
    const rejected = await record('rejected');
    expect(() => verifyChangeRecord(rejected.env, { trustedKeys: [rejected.pair.publicKey] })).toThrow(
      expect.objectContaining({ code: 'CHANGE_NOT_APPROVED' }),
    );
    expect(
      verifyChangeRecord(rejected.env, { trustedKeys: [rejected.pair.publicKey], requireApproved: false })
        .predicate.decision.status,
    ).toBe('rejected');
  });

  it('redacts secrets that reach evidence text', async () => {
    const { st } = await record('approved', 'rotate ghp_abcdefghijklmnopqrstuvwxyz0123456789 now');
    expect(JSON.stringify(st)).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
  });
});
