// Sign-then-verify through a mock Sigstore (Fulcio, CT log, Rekor, TSA) and a GitHub Actions OIDC
// endpoint, all on 127.0.0.1. Every bundle here is really signed by the code under test.

import { githubProvenancePredicate } from '@clawback/bundle';
import { type ClawbackError, canonicalJsonBytes, makeStatement } from '@clawback/core';
import { type KeylessOptions, type SigstoreBundleJson, signStatementKeyless } from '@clawback/sign';
import {
  type GithubActionsClaims,
  githubActionsClaims,
  githubActionsContextEnv,
  type MockSigstore,
  startMockSigstore,
} from '@clawback/testing';
import {
  assertCertificateMatchesProvenance,
  crossCheckCertificateWithProvenance,
  verifySigstoreBundle,
} from '@clawback/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const mocks: MockSigstore[] = [];

async function mockSigstore(options: Parameters<typeof startMockSigstore>[0] = {}): Promise<MockSigstore> {
  const m = await startMockSigstore(options);
  mocks.push(m);
  return m;
}

// The provenance builder under test elsewhere (@clawback/bundle), fed the job environment for these claims.
function predicateFor(claims: GithubActionsClaims) {
  return githubProvenancePredicate(githubActionsContextEnv(claims));
}

function statementFor(claims: GithubActionsClaims): Uint8Array {
  return canonicalJsonBytes(
    makeStatement(
      [{ name: 'sensor_parser-1.2.0.clawback', digest: { sha256: 'c0ffee'.padEnd(64, '0') } }],
      SLSA_V1,
      predicateFor(claims),
    ),
  );
}

function signWith(
  mock: MockSigstore,
  statement: Uint8Array,
  claims: GithubActionsClaims,
  extra: KeylessOptions = {},
) {
  return signStatementKeyless(statement, {
    fulcioURL: mock.fulcioURL,
    rekorURL: mock.rekorURL,
    env: mock.actionsEnv(claims),
    retries: 0,
    ...extra,
  });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as ClawbackError).code;
  }
  return undefined;
}

function editPayload(
  bundle: SigstoreBundleJson,
  edit: (statement: Record<string, unknown>) => void,
): SigstoreBundleJson {
  const copy = structuredClone(bundle);
  const envelope = copy.dsseEnvelope;
  if (envelope === undefined) throw new Error('bundle without DSSE envelope');
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
  edit(statement);
  envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  return copy;
}

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

afterAll(async () => {
  await Promise.all(mocks.map((m) => m.close()));
});

describe('keyless round trip', () => {
  it('signs in a simulated Actions job and verifies against the pinned root', () => {
    expect(mock.oidcAudiences).toEqual(['sigstore']);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.tlogEntries.map((e) => e.kindVersion?.kind)).toEqual(['dsse']);
    expect(bundle.verificationMaterial.certificate).toBeDefined();

    const result = verifySigstoreBundle(bundle, {
      trustedRoot: mock.trustedRoot,
      now: new Date(),
      expectedPayload: statement,
    });
    expect(Buffer.from(result.statementBytes).equals(Buffer.from(statement))).toBe(true);
    expect(result.payloadType).toBe('application/vnd.in-toto+json');
    expect(result.timestamps.map((t) => t.source)).toEqual(['transparency-log']);
    expect(result.certificate.subjectAlternativeName).toBe(
      'https://github.com/acme/agents/.github/workflows/release.yml@refs/heads/main',
    );
    expect(result.certificate.issuer).toBe('https://token.actions.githubusercontent.com');
    expect(result.certificate.extensions).toMatchObject({
      sourceRepositoryURI: 'https://github.com/acme/agents',
      sourceRepositoryDigest: claims.sha,
      sourceRepositoryRef: 'refs/heads/main',
      buildTrigger: 'push',
      runInvocationURI: 'https://github.com/acme/agents/actions/runs/123456789/attempts/1',
      sourceRepositoryVisibilityAtSigning: 'public',
    });

    const predicate = (
      JSON.parse(Buffer.from(result.statementBytes).toString('utf8')) as { predicate: unknown }
    ).predicate;
    const cross = crossCheckCertificateWithProvenance(result.certificate, predicate);
    expect(cross.checks.filter((c) => !c.ok)).toEqual([]);
    expect(cross.ok).toBe(true);
  });

  it('adds an RFC 3161 timestamp when a TSA is configured, and can rely on it alone', async () => {
    // One whole-second clock for CA, log and TSA: @sigstore/core 3.2 parses a GeneralizedTime only with
    // exactly three fractional digits, while DER (and asn1js) drop trailing zeros, so a mock TSA time
    // like 12:00:00.120 would be unreadable. Whole seconds carry no fraction at all.
    const t = new Date(Math.floor(Date.now() / 1000) * 1000 + 2000);
    const tsaMock = await mockSigstore({ caClock: t, tlogClock: t, tsaClock: t });
    const withTsa = await signWith(tsaMock, statement, claims, { tsaURL: tsaMock.tsaURL });
    const both = verifySigstoreBundle(withTsa, {
      trustedRoot: tsaMock.trustedRoot,
      now: new Date(),
      timestampThreshold: 2,
    });
    expect(both.timestamps.map((ts) => ts.source).sort()).toEqual([
      'timestamp-authority',
      'transparency-log',
    ]);
    expect(both.timestamps.map((ts) => ts.time.getTime())).toEqual([t.getTime(), t.getTime()]);

    const tsaOnly = await signWith(tsaMock, statement, claims, { tsaURL: tsaMock.tsaURL, tlogUpload: false });
    expect(tsaOnly.verificationMaterial.tlogEntries ?? []).toEqual([]);
    const ok = verifySigstoreBundle(tsaOnly, {
      trustedRoot: tsaMock.trustedRoot,
      now: new Date(),
      tlogThreshold: 0,
    });
    expect(ok.timestamps.map((ts) => ts.source)).toEqual(['timestamp-authority']);
    // The default policy (as for the public good) requires a transparency log entry.
    expect(
      codeOf(() => verifySigstoreBundle(tsaOnly, { trustedRoot: tsaMock.trustedRoot, now: new Date() })),
    ).toBe('SIGSTORE_TLOG_INVALID');
    // A TSA the trusted root does not list is refused.
    expect(
      codeOf(() =>
        verifySigstoreBundle(tsaOnly, { trustedRoot: mock.trustedRoot, now: new Date(), tlogThreshold: 0 }),
      ),
    ).toBe('SIGSTORE_TIMESTAMP_INVALID');
  });
});

describe('tampering and trust', () => {
  const verify = (b: unknown, extra: Partial<Parameters<typeof verifySigstoreBundle>[1]> = {}) =>
    codeOf(() => verifySigstoreBundle(b, { trustedRoot: mock.trustedRoot, now: new Date(), ...extra }));

  it('rejects a modified statement', () => {
    const tampered = editPayload(bundle, (s) => {
      (s.subject as { digest: { sha256: string } }[])[0] = { digest: { sha256: 'f'.repeat(64) } } as never;
    });
    expect(verify(tampered)).toBe('SIGSTORE_SIGNATURE_INVALID');
  });

  it('rejects a modified signature', () => {
    const tampered = structuredClone(bundle);
    const sig = tampered.dsseEnvelope?.signatures[0];
    if (sig === undefined) throw new Error('no signature');
    const bytes = Buffer.from(sig.sig, 'base64');
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0x01;
    sig.sig = bytes.toString('base64');
    expect(verify(tampered)).toBe('SIGSTORE_SIGNATURE_INVALID');
  });

  it('rejects a modified transparency log entry', () => {
    const tampered = structuredClone(bundle);
    const entry = tampered.verificationMaterial.tlogEntries[0];
    if (entry === undefined) throw new Error('no tlog entry');
    entry.integratedTime = String(Number(entry.integratedTime) - 60);
    expect(verify(tampered)).toBe('SIGSTORE_TLOG_INVALID');
  });

  it('rejects a bundle verified against another Sigstore instance', async () => {
    const other = await mockSigstore();
    expect(verify(bundle, { trustedRoot: other.trustedRoot })).toBe('SIGSTORE_CERT_UNTRUSTED');
  });

  it('rejects a statement other than the expected one, and a foreign payload type', async () => {
    expect(
      verify(bundle, { expectedPayload: statementFor(githubActionsClaims({ sha: 'b'.repeat(40) })) }),
    ).toBe('SIGSTORE_PAYLOAD_MISMATCH');
    const other = await signWith(mock, statement, claims, {
      payloadType: 'application/vnd.clawback.other+json',
    });
    expect(verify(other)).toBe('SIGSTORE_PAYLOAD_TYPE_MISMATCH');
  });

  it('rejects malformed bundles and unusable trusted roots with their own codes', () => {
    expect(verify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' })).toBe(
      'SIGSTORE_BUNDLE_INVALID',
    );
    expect(verify('not a bundle')).toBe('SIGSTORE_BUNDLE_INVALID');
    expect(verify(bundle, { trustedRoot: { mediaType: 'nope' } })).toBe('SIGSTORE_TRUSTED_ROOT_INVALID');
  });
});

describe('certificate validity and now', () => {
  it('rejects a certificate that had expired when the entry was logged', async () => {
    const late = await mockSigstore({ caClock: new Date(Date.now() - 3600_000) });
    const b = await signWith(late, statement, claims);
    expect(codeOf(() => verifySigstoreBundle(b, { trustedRoot: late.trustedRoot, now: new Date() }))).toBe(
      'SIGSTORE_CERT_EXPIRED',
    );
  });

  it('rejects a certificate that was not yet valid when the entry was logged', async () => {
    const early = await mockSigstore({ caClock: new Date(Date.now() + 3600_000) });
    const b = await signWith(early, statement, claims);
    expect(codeOf(() => verifySigstoreBundle(b, { trustedRoot: early.trustedRoot, now: new Date() }))).toBe(
      'SIGSTORE_CERT_NOT_YET_VALID',
    );
  });

  it('rejects evidence from after `now`, and accepts it long after the certificate expired', () => {
    const signedAt = new Date(Number(bundle.verificationMaterial.tlogEntries[0]?.integratedTime) * 1000);
    const before = new Date(signedAt.getTime() - 3600_000);
    expect(codeOf(() => verifySigstoreBundle(bundle, { trustedRoot: mock.trustedRoot, now: before }))).toBe(
      'SIGSTORE_CERT_NOT_YET_VALID',
    );
    // Fulcio certificates live 10 minutes; what matters is the logged signing time, so a year later is fine.
    const yearLater = new Date(signedAt.getTime() + 365 * 24 * 3600_000);
    expect(
      verifySigstoreBundle(bundle, { trustedRoot: mock.trustedRoot, now: yearLater }).certificate.issuer,
    ).toBe('https://token.actions.githubusercontent.com');
  });

  it('rejects a signing time after `now` even when the certificate started before it', async () => {
    const ahead = await mockSigstore({ tlogClock: new Date(Date.now() + 8 * 60_000) });
    const b = await signWith(ahead, statement, claims);
    expect(codeOf(() => verifySigstoreBundle(b, { trustedRoot: ahead.trustedRoot, now: new Date() }))).toBe(
      'SIGSTORE_TIMESTAMP_IN_FUTURE',
    );
  });
});

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

describe('signing failures', () => {
  const failingFetch = (() => {
    throw new Error('the network must not be used');
  }) as unknown as typeof fetch;

  async function codeOfAsync(p: Promise<unknown>): Promise<ClawbackError> {
    try {
      await p;
    } catch (err) {
      return err as ClawbackError;
    }
    throw new Error('expected a rejection');
  }

  it('says to add `permissions: id-token: write` when the job has no OIDC token', async () => {
    const err = await codeOfAsync(
      signStatementKeyless(statement, {
        env: { GITHUB_ACTIONS: 'true' },
        fetch: failingFetch,
        fulcioURL: mock.url,
      }),
    );
    expect(err.code).toBe('SIGSTORE_OIDC_UNAVAILABLE');
    expect(err.hint).toContain('id-token: write');
    expect(err.kind).toBe('environment');
    const outside = await codeOfAsync(signStatementKeyless(statement, { env: {}, fetch: failingFetch }));
    expect(outside.code).toBe('SIGSTORE_OIDC_UNAVAILABLE');
  });

  it('refuses to sign bytes that are not an in-toto statement', async () => {
    const err = await codeOfAsync(signWith(mock, new TextEncoder().encode('{"hello":1}'), claims));
    expect(err.code).toBe('STATEMENT_INVALID');
  });

  it('maps OIDC, Fulcio and Rekor failures to their codes without leaking the token', async () => {
    const failing = await mockSigstore();
    const env = failing.actionsEnv(claims);
    const token = new URL(env.ACTIONS_ID_TOKEN_REQUEST_URL ?? '').searchParams.get('claims') ?? '';
    const cases: [Parameters<MockSigstore['fail']>[0], string][] = [
      ['oidc', 'SIGSTORE_OIDC_TOKEN_FAILED'],
      ['fulcio', 'SIGSTORE_FULCIO_FAILED'],
      ['rekor', 'SIGSTORE_REKOR_FAILED'],
    ];
    for (const [service, code] of cases) {
      failing.fail(service, 400);
      const err = await codeOfAsync(signWith(failing, statement, claims));
      failing.fail(service, undefined);
      expect(err.code).toBe(code);
      const shown = JSON.stringify(err.toJSON()) + String(err.message);
      expect(shown).not.toContain(Buffer.from(token, 'base64url').toString('utf8'));
      expect(shown).not.toContain('mock-actions-request-token');
    }
  });
});
