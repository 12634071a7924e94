// The real Sigstore public-good trusted root (from @sigstore/tuf's TUF seed) and a real bundle signed by
// the public-good instance in GitHub Actions (GitHub CLI's build provenance, from GitHub's API description).
import type { ClawbackError } from '@clawback/core';
import { signStatementKeyless } from '@clawback/sign';
import {
  githubActionsClaims,
  type MockSigstore,
  mockIdentityToken,
  publicGoodExampleBundle,
  publicGoodTrustedRoot,
  startMockSigstore,
} from '@clawback/testing';
import {
  assertCertificateMatchesProvenance,
  crossCheckCertificateWithProvenance,
  parseTrustedRoot,
  verifySigstoreBundle,
} from '@clawback/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = parseTrustedRoot(publicGoodTrustedRoot());
const realBundle = publicGoodExampleBundle();
const now = new Date('2026-01-01T00:00:00Z');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as ClawbackError).code;
  }
  return undefined;
}

let mock: MockSigstore;
beforeAll(async () => {
  mock = await startMockSigstore();
});
afterAll(async () => {
  await mock.close();
});

describe('public-good trusted root', () => {
  it('loads from the @sigstore/tuf seed and names the public-good services', () => {
    expect(root.summary.certificateAuthorities.map((a) => a.uri)).toContain('https://fulcio.sigstore.dev');
    expect(root.summary.tlogs.map((a) => a.uri)).toContain('https://rekor.sigstore.dev');
    expect(root.summary.ctlogs.length).toBeGreaterThan(0);
  });

  it('verifies a real public-good bundle and reads the GitHub identity from its certificate', () => {
    const result = verifySigstoreBundle(realBundle, { trustedRoot: root, now });
    expect(result.payloadType).toBe('application/vnd.in-toto+json');
    expect(result.timestamps.map((t) => t.time.toISOString())).toEqual(['2024-05-29T16:09:52.000Z']);
    expect(result.certificate.subjectAlternativeName).toBe(
      'https://github.com/cli/cli/.github/workflows/deployment.yml@refs/heads/trunk',
    );
    expect(result.certificate.issuer).toBe('https://token.actions.githubusercontent.com');
    expect(result.certificate.extensions).toMatchObject({
      sourceRepositoryURI: 'https://github.com/cli/cli',
      sourceRepositoryDigest: 'faef2ddd81b0736748413a7c646cd0bfc26c00a0',
      sourceRepositoryRef: 'refs/heads/trunk',
      buildTrigger: 'workflow_dispatch',
      runInvocationURI: 'https://github.com/cli/cli/actions/runs/9289075752/attempts/1',
      runnerEnvironment: 'github-hosted',
    });
  });

  it('cross-checks the real certificate with the real provenance (an older builder id format)', () => {
    const result = verifySigstoreBundle(realBundle, { trustedRoot: root, now });
    const statement = JSON.parse(Buffer.from(result.statementBytes).toString('utf8')) as {
      predicate: unknown;
    };
    const cross = crossCheckCertificateWithProvenance(result.certificate, statement.predicate);
    // In 2024 attest-build-provenance recorded the runner as builder.id; today it records the workflow
    // identity (the SAN). Everything else Fulcio vouches for agrees.
    expect(cross.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['builder-id', 'build-signer-uri']);
    expect(cross.checks.filter((c) => c.ok).map((c) => c.name)).toEqual([
      'issuer',
      'source-repository-uri',
      'source-repository-digest',
      'source-repository-ref',
      'build-trigger',
      'run-invocation-uri',
      'source-repository-identifier',
      'source-repository-owner-identifier',
    ]);
    expect(codeOf(() => assertCertificateMatchesProvenance(result.certificate, statement.predicate))).toBe(
      'SIGSTORE_CERT_PROVENANCE_MISMATCH',
    );
  });

  it('rejects the real bundle when its statement is altered', () => {
    const tampered = structuredClone(realBundle) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(tampered.dsseEnvelope.payload, 'base64');
    payload[payload.length - 2] = (payload[payload.length - 2] ?? 0) ^ 0x20;
    tampered.dsseEnvelope.payload = payload.toString('base64');
    expect(codeOf(() => verifySigstoreBundle(tampered, { trustedRoot: root, now }))).toBe(
      'SIGSTORE_SIGNATURE_INVALID',
    );
  });

  it('checks the Rekor checkpoint signature (the API description stores it with escaped newlines)', () => {
    const asShipped = structuredClone(realBundle) as {
      verificationMaterial: { tlogEntries: { inclusionProof: { checkpoint: { envelope: string } } }[] };
    };
    for (const e of asShipped.verificationMaterial.tlogEntries) {
      e.inclusionProof.checkpoint.envelope = e.inclusionProof.checkpoint.envelope.replaceAll('\n', '\\n');
    }
    expect(codeOf(() => verifySigstoreBundle(asShipped, { trustedRoot: root, now }))).toBe(
      'SIGSTORE_TLOG_INVALID',
    );
  });

  it('refuses a verifier clock earlier than the signature', () => {
    expect(
      codeOf(() =>
        verifySigstoreBundle(realBundle, { trustedRoot: root, now: new Date('2024-05-01T00:00:00Z') }),
      ),
    ).toBe('SIGSTORE_CERT_NOT_YET_VALID');
  });

  it('does not trust a mock-signed bundle, and the mock root does not trust the real one', async () => {
    const claims = githubActionsClaims();
    const statement = new TextEncoder().encode(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'a', digest: { sha256: '0'.repeat(64) } }],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {},
      }),
    );
    const mockBundle = await signStatementKeyless(statement, {
      fulcioURL: mock.fulcioURL,
      rekorURL: mock.rekorURL,
      identityToken: mockIdentityToken(claims),
      retries: 0,
    });
    expect(codeOf(() => verifySigstoreBundle(mockBundle, { trustedRoot: root, now: new Date() }))).toBe(
      'SIGSTORE_CERT_UNTRUSTED',
    );
    expect(codeOf(() => verifySigstoreBundle(realBundle, { trustedRoot: mock.trustedRoot, now }))).toBe(
      'SIGSTORE_CERT_UNTRUSTED',
    );
  });
});
