// Certificate <-> provenance cross-check on bundles really signed through the mock Sigstore.
import type { ClawbackError } from '@clawback/core';
import type { SigstoreBundleJson } from '@clawback/sign';
import { type GithubActionsClaims, githubActionsClaims, type MockSigstore } from '@clawback/testing';
import {
  assertCertificateMatchesProvenance,
  crossCheckCertificateWithProvenance,
  verifySigstoreBundle,
} from '@clawback/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMocks, mockSigstore, predicateFor, signWith, statementFor } from './support.js';

let mock: MockSigstore;
let claims: GithubActionsClaims;
let statement: Uint8Array;
let bundle: SigstoreBundleJson;

beforeAll(async () => {
  mock = await mockSigstore();
  claims = githubActionsClaims();
  statement = statementFor(claims);
  bundle = await signWith(mock, statement, claims);
});

afterAll(closeMocks);

describe('certificate <-> provenance cross-check on a really signed bundle', () => {
  type Predicate = ReturnType<typeof predicateFor> & {
    buildDefinition: {
      externalParameters: { workflow: { ref: string; repository: string } };
      internalParameters: { github: { event_name: string } };
      resolvedDependencies: { digest: { gitCommit: string } }[];
    };
    runDetails: { builder: { id: string }; metadata: { invocationId: string } };
  };
  const edits: [string, (p: Predicate) => void][] = [
    [
      'builder-id',
      (p) => {
        p.runDetails.builder.id = 'https://github.com/acme/agents/.github/workflows/evil.yml@refs/heads/main';
      },
    ],
    [
      'source-repository-uri',
      (p) => {
        p.buildDefinition.externalParameters.workflow.repository = 'https://github.com/acme/other';
      },
    ],
    [
      'source-repository-ref',
      (p) => {
        p.buildDefinition.externalParameters.workflow.ref = 'refs/tags/v9.9.9';
      },
    ],
    [
      'source-repository-digest',
      (p) => {
        const source = p.buildDefinition.resolvedDependencies[0];
        if (source !== undefined) source.digest.gitCommit = 'b'.repeat(40);
      },
    ],
    [
      'build-trigger',
      (p) => {
        p.buildDefinition.internalParameters.github.event_name = 'workflow_dispatch';
      },
    ],
    [
      'run-invocation-uri',
      (p) => {
        p.runDetails.metadata.invocationId = 'https://github.com/acme/agents/actions/runs/1/attempts/1';
      },
    ],
  ];

  it.each(edits)('names %s when only that provenance field disagrees with the certificate', (name, edit) => {
    const { certificate } = verifySigstoreBundle(bundle, { trustedRoot: mock.trustedRoot, now: new Date() });
    const predicate = structuredClone(predicateFor(claims)) as Predicate;
    edit(predicate);
    let error: ClawbackError | undefined;
    try {
      assertCertificateMatchesProvenance(certificate, predicate);
    } catch (err) {
      error = err as ClawbackError;
    }
    expect(error?.code).toBe('SIGSTORE_CERT_PROVENANCE_MISMATCH');
    const failed = (error?.details as { failed?: string[] } | undefined)?.failed;
    // The builder id is also compared with the Build Signer URI extension, which says the same thing.
    expect(failed).toEqual(name === 'builder-id' ? ['builder-id', 'build-signer-uri'] : [name]);
  });

  it('catches provenance from another run: a certificate for a tag build against main-branch provenance', async () => {
    const tagClaims = githubActionsClaims({ ref: 'refs/tags/v1.2.0', sha: 'c'.repeat(40), run_id: '987' });
    const tagBundle = await signWith(mock, statementFor(tagClaims), tagClaims);
    const { certificate } = verifySigstoreBundle(tagBundle, {
      trustedRoot: mock.trustedRoot,
      now: new Date(),
    });
    const result = crossCheckCertificateWithProvenance(certificate, predicateFor(claims));
    expect(result.ok).toBe(false);
    expect(result.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'builder-id',
      'source-repository-digest',
      'source-repository-ref',
      'run-invocation-uri',
      'build-signer-uri',
    ]);
  });
});
