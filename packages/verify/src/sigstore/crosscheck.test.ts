import { describe, expect, it } from 'vitest';
import type { CertificateIdentity } from './certificate.js';
import { assertCertificateMatchesProvenance, crossCheckCertificateWithProvenance } from './crosscheck.js';

const SAN = 'https://github.com/acme/agents/.github/workflows/release.yml@refs/tags/v1.2.0';
const RUN = 'https://github.com/acme/agents/actions/runs/42/attempts/2';
const SHA = '0123456789abcdef0123456789abcdef01234567';

function cert(
  overrides: Record<string, string | undefined> = {},
  issuer = 'https://token.actions.githubusercontent.com',
) {
  const identity: CertificateIdentity = {
    subjectAlternativeName: SAN,
    issuer,
    extensions: {
      issuer,
      buildSignerURI: SAN,
      sourceRepositoryURI: 'https://github.com/acme/agents',
      sourceRepositoryDigest: SHA,
      sourceRepositoryRef: 'refs/tags/v1.2.0',
      buildTrigger: 'push',
      runInvocationURI: RUN,
      runnerEnvironment: 'github-hosted',
      sourceRepositoryIdentifier: '77',
      sourceRepositoryOwnerIdentifier: '88',
    },
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2026-01-01T00:10:00Z'),
    certificateDerBase64: '',
  };
  for (const [name, value] of Object.entries(overrides)) {
    const key = name as keyof CertificateIdentity['extensions'];
    if (value === undefined) delete identity.extensions[key];
    else identity.extensions[key] = value;
  }
  return identity;
}

interface Predicate {
  buildDefinition: {
    buildType: string;
    externalParameters: { workflow: { ref: string; repository: string; path: string } };
    internalParameters: { github: Record<string, string> };
    resolvedDependencies: { uri: string; digest: { gitCommit: string } }[];
  };
  runDetails: { builder: { id: string }; metadata: { invocationId: string } };
}

function predicate(edit: (p: Predicate) => void = () => {}): Predicate {
  const p: Predicate = {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: {
        workflow: {
          ref: 'refs/tags/v1.2.0',
          repository: 'https://github.com/acme/agents',
          path: '.github/workflows/release.yml',
        },
      },
      internalParameters: { github: { event_name: 'push', repository_id: '77', repository_owner_id: '88' } },
      resolvedDependencies: [
        { uri: 'git+https://github.com/acme/tools@refs/heads/main', digest: { gitCommit: 'f'.repeat(40) } },
        { uri: 'git+https://github.com/acme/agents@refs/tags/v1.2.0', digest: { gitCommit: SHA } },
      ],
    },
    runDetails: { builder: { id: SAN }, metadata: { invocationId: RUN } },
  };
  edit(p);
  return p;
}

const failed = (r: ReturnType<typeof crossCheckCertificateWithProvenance>) =>
  r.checks.filter((c) => !c.ok).map((c) => c.name);

describe('crossCheckCertificateWithProvenance', () => {
  it('accepts provenance filled from the same token, picking the source among several dependencies', () => {
    const r = crossCheckCertificateWithProvenance(cert(), predicate());
    expect(failed(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.name)).toEqual([
      'issuer',
      'builder-id',
      'source-repository-uri',
      'source-repository-digest',
      'source-repository-ref',
      'build-trigger',
      'run-invocation-uri',
      'build-signer-uri',
      'source-repository-identifier',
      'source-repository-owner-identifier',
    ]);
  });

  it('resolves a bare owner/repo against the builder server', () => {
    const r = crossCheckCertificateWithProvenance(
      cert(),
      predicate((p) => {
        p.buildDefinition.externalParameters.workflow.repository = 'acme/agents';
      }),
    );
    expect(failed(r)).toEqual([]);
  });

  it('accepts a run URI without the attempt suffix only for the same run', () => {
    const noAttempt = predicate((p) => {
      p.runDetails.metadata.invocationId = 'https://github.com/acme/agents/actions/runs/42';
    });
    expect(failed(crossCheckCertificateWithProvenance(cert(), noAttempt))).toEqual([]);
    const otherRun = predicate((p) => {
      p.runDetails.metadata.invocationId = 'https://github.com/acme/agents/actions/runs/43';
    });
    expect(failed(crossCheckCertificateWithProvenance(cert(), otherRun))).toEqual(['run-invocation-uri']);
    const otherAttempt = predicate((p) => {
      p.runDetails.metadata.invocationId = 'https://github.com/acme/agents/actions/runs/42/attempts/1';
    });
    expect(failed(crossCheckCertificateWithProvenance(cert(), otherAttempt))).toEqual(['run-invocation-uri']);
  });

  it('requires the certificate to vouch for optional fields the provenance states', () => {
    const r = crossCheckCertificateWithProvenance(
      cert({ sourceRepositoryIdentifier: undefined }),
      predicate((p) => {
        p.buildDefinition.internalParameters.github.runner_environment = 'self-hosted';
      }),
    );
    expect(failed(r)).toEqual(['runner-environment', 'source-repository-identifier']);
  });

  it('fails every required check when the predicate is not provenance', () => {
    const r = crossCheckCertificateWithProvenance(cert(), 'not an object');
    expect(failed(r)).toEqual([
      'builder-id',
      'source-repository-uri',
      'source-repository-digest',
      'source-repository-ref',
      'build-trigger',
      'run-invocation-uri',
    ]);
    expect(r.checks.find((c) => c.name === 'builder-id')).toEqual({
      name: 'builder-id',
      ok: false,
      expected: undefined,
      actual: SAN,
    });
  });

  it('checks the OIDC issuer, which a caller may set for GitHub Enterprise', () => {
    const ghes = 'https://token.actions.githubusercontent.com/acme-enterprise';
    expect(failed(crossCheckCertificateWithProvenance(cert({}, ghes), predicate()))).toEqual(['issuer']);
    expect(
      failed(crossCheckCertificateWithProvenance(cert({}, ghes), predicate(), { expectedIssuer: ghes })),
    ).toEqual([]);
  });

  it('assert form throws SIGSTORE_CERT_PROVENANCE_MISMATCH naming each failed check', () => {
    const p = predicate((q) => {
      q.buildDefinition.internalParameters.github.event_name = 'pull_request';
      const source = q.buildDefinition.resolvedDependencies[1];
      if (source !== undefined) source.digest.gitCommit = 'e'.repeat(40);
    });
    expect(() => assertCertificateMatchesProvenance(cert(), p)).toThrow(
      expect.objectContaining({
        code: 'SIGSTORE_CERT_PROVENANCE_MISMATCH',
        details: expect.objectContaining({ failed: ['source-repository-digest', 'build-trigger'] }),
      }),
    );
    expect(assertCertificateMatchesProvenance(cert(), predicate()).ok).toBe(true);
  });
});
