// Sign-then-verify through a mock Sigstore (Fulcio, CT log, Rekor, TSA) and a GitHub Actions OIDC
// endpoint, all on 127.0.0.1. Every bundle here is really signed by the code under test.
import type { SigstoreBundleJson } from '@clawback/sign';
import { type GithubActionsClaims, githubActionsClaims, type MockSigstore } from '@clawback/testing';
import { crossCheckCertificateWithProvenance, verifySigstoreBundle } from '@clawback/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMocks, codeOf, editPayload, mockSigstore, signWith, statementFor } from './support.js';

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
    expect(verify(bundle, { now: new Date('not a date') })).toBe('INVALID_INPUT');
  });

  it('accepts only keyless DSSE bundles', () => {
    const { dsseEnvelope, ...rest } = structuredClone(bundle);
    const messageSignature = {
      ...rest,
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: Buffer.alloc(32).toString('base64') },
        signature: dsseEnvelope?.signatures[0]?.sig ?? '',
      },
    };
    expect(verify(messageSignature)).toBe('SIGSTORE_BUNDLE_UNSUPPORTED');
    const withKey = structuredClone(bundle) as Record<string, unknown> & {
      verificationMaterial: Record<string, unknown>;
    };
    delete withKey.verificationMaterial.certificate;
    withKey.verificationMaterial.publicKey = { hint: 'release-key' };
    expect(verify(withKey)).toBe('SIGSTORE_BUNDLE_UNSUPPORTED');
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
