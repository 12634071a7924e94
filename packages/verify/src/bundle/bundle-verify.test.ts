import {
  encodeManifest,
  GITHUB_WORKFLOW_BUILD_TYPE,
  githubProvenancePredicate,
  MANIFEST_PAYLOAD_TYPE,
  type Manifest,
  provenanceStatement,
} from '@clawback/bundle';
import {
  canonicalJsonBytes,
  type DsseEnvelope,
  generateKeyPair,
  INTOTO_PAYLOAD_TYPE,
  sha256Hex,
  signDsse,
  signerFromKeyPair,
} from '@clawback/core';
import { describe, expect, it } from 'vitest';
import { evaluateProvenanceStatement, verifyProvenance } from './provenance.js';
import { verifyManifestSignature } from './signature.js';
import { assertCompatible, assertVersionPolicy, checkVersionPolicy } from './version.js';

const body = '#!/bin/sh\n';
const manifest: Manifest = {
  schema_version: 1,
  name: 'com.example.agent',
  version: '1.2.3',
  agent_profile: {
    identifier: 'com.example.agent',
    resource_limits: { max_working_set_mb: 50, max_cpu_percent: 15, max_secure_storage_kb: 10 },
    monitoring: { heartbeat_interval_secs: 300, anomaly_reporting: true },
  },
  entrypoint: { path: 'run', args: [] },
  health: { probation_secs: 60, interval_secs: 10, checks: [{ type: 'process' }] },
  compatibility: { hardware: ['rpi4-64'], min_updater_version: '0.1.0' },
  files: [{ path: 'run', type: 'file', mode: 0o755, size: body.length, sha256: sha256Hex(body) }],
};
const bytes = encodeManifest(manifest);
const [a, b, c] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
const pub = (...ks: (typeof a)[]) => ks.map((k) => k.publicKey);
const sign = (...ks: (typeof a)[]) => signDsse(MANIFEST_PAYLOAD_TYPE, bytes, ks.map(signerFromKeyPair));
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe('verifyManifestSignature', () => {
  it('accepts k of n distinct trusted keys and returns the exact signed bytes', async () => {
    const env = await sign(a, b);
    const r = verifyManifestSignature(env, { trustedKeys: pub(a, b, c), threshold: 2 });
    expect(r.manifestBytes).toEqual(bytes);
    expect(r.manifest.name).toBe('com.example.agent');
    expect(r.validKeyIds.sort()).toEqual([a.publicKey.keyid, b.publicKey.keyid].sort());
  });

  it('rejects a wrong key, too few signatures, and counts a duplicated key once', async () => {
    expect(codeOf(() => verifyManifestSignature(null, { trustedKeys: pub(a), threshold: 1 }))).toBe(
      'ENVELOPE_INVALID',
    );
    const byC = await sign(c);
    expect(codeOf(() => verifyManifestSignature(byC, { trustedKeys: pub(a, b), threshold: 1 }))).toBe(
      'SIGNATURE_INVALID',
    );
    const byA = await sign(a);
    expect(codeOf(() => verifyManifestSignature(byA, { trustedKeys: pub(a, b), threshold: 2 }))).toBe(
      'SIGNATURE_THRESHOLD_NOT_MET',
    );
    const dup: DsseEnvelope = {
      ...byA,
      signatures: [...byA.signatures, ...byA.signatures, { keyid: '', sig: byA.signatures[0]?.sig ?? '' }],
    };
    expect(codeOf(() => verifyManifestSignature(dup, { trustedKeys: pub(a, b), threshold: 2 }))).toBe(
      'SIGNATURE_THRESHOLD_NOT_MET',
    );
  });

  it('rejects another payloadType and a signed manifest that fails the schema', async () => {
    const other = await signDsse('application/json', bytes, [signerFromKeyPair(a)]);
    expect(codeOf(() => verifyManifestSignature(other, { trustedKeys: pub(a), threshold: 1 }))).toBe(
      'PAYLOAD_TYPE_MISMATCH',
    );
    const junk = await signDsse(MANIFEST_PAYLOAD_TYPE, canonicalJsonBytes({ ...manifest, files: [] }), [
      signerFromKeyPair(a),
    ]);
    expect(codeOf(() => verifyManifestSignature(junk, { trustedKeys: pub(a), threshold: 1 }))).toBe(
      'SIGNED_MANIFEST_INVALID',
    );
  });
});

const env = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/agents',
  GITHUB_REPOSITORY_ID: '1',
  GITHUB_REPOSITORY_OWNER_ID: '2',
  GITHUB_WORKFLOW_REF: 'acme/agents/.github/workflows/release.yml@refs/tags/v1.2.3',
  GITHUB_REF: 'refs/tags/v1.2.3',
  GITHUB_SHA: 'a'.repeat(40),
  GITHUB_EVENT_NAME: 'push',
  GITHUB_RUN_ID: '77',
  GITHUB_RUN_ATTEMPT: '2',
  RUNNER_ENVIRONMENT: 'github-hosted',
};
const digest = 'b'.repeat(64);
const policy = {
  repository: 'acme/agents',
  workflowPath: '.github/workflows/release.yml',
  refPattern: 'refs/tags/v.*',
};

describe('provenance', () => {
  it('builds the GitHub workflow/v1 predicate from the runner environment', () => {
    const p = githubProvenancePredicate(env);
    expect(p.buildDefinition.buildType).toBe(GITHUB_WORKFLOW_BUILD_TYPE);
    expect(p.buildDefinition.externalParameters.workflow).toEqual({
      ref: 'refs/tags/v1.2.3',
      repository: 'https://github.com/acme/agents',
      path: '.github/workflows/release.yml',
    });
    expect(p.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'git+https://github.com/acme/agents@refs/tags/v1.2.3', digest: { gitCommit: 'a'.repeat(40) } },
    ]);
    expect(p.runDetails.builder.id).toBe(
      'https://github.com/acme/agents/.github/workflows/release.yml@refs/tags/v1.2.3',
    );
    expect(p.runDetails.metadata?.invocationId).toBe(
      'https://github.com/acme/agents/actions/runs/77/attempts/2',
    );
  });

  const signed = async (predicate: object, sha = digest, type = INTOTO_PAYLOAD_TYPE) =>
    signDsse(type, canonicalJsonBytes(provenanceStatement('x.bundle', sha, predicate as never)), [
      signerFromKeyPair(a),
    ]);
  const failed = (checks: { ok: boolean; code?: string; name: string }[]) =>
    checks.filter((x) => !x.ok).map((x) => `${x.name}:${x.code}`);

  it('passes every named check for matching provenance', async () => {
    const r = verifyProvenance(await signed(githubProvenancePredicate(env)), {
      trustedKeys: pub(a),
      threshold: 1,
      bundleSha256: digest,
      policy,
    });
    expect(failed(r.checks)).toEqual([]);
    expect(r.checks.map((x) => x.name)).toEqual([
      'provenance-payload-type',
      'provenance-signature',
      'provenance-predicate-type',
      'provenance-subject',
      'provenance-build-type',
      'provenance-external-parameters',
      'provenance-repository',
      'provenance-workflow',
      'provenance-ref',
    ]);
  });

  it('refuses a wrong subject, repository, workflow, ref, key and payloadType', async () => {
    const p = githubProvenancePredicate(env);
    const opts = { trustedKeys: pub(a), threshold: 1, bundleSha256: digest, policy };
    expect(failed(verifyProvenance(await signed(p, 'c'.repeat(64)), opts).checks)).toEqual([
      'provenance-subject:PROVENANCE_SUBJECT_MISMATCH',
    ]);
    const other = githubProvenancePredicate({
      ...env,
      GITHUB_REPOSITORY: 'evil/agents',
      GITHUB_WORKFLOW_REF: 'evil/agents/.github/workflows/x.yml@refs/heads/main',
    });
    expect(failed(verifyProvenance(await signed(other), opts).checks)).toEqual([
      'provenance-repository:PROVENANCE_REPOSITORY_MISMATCH',
      'provenance-workflow:PROVENANCE_WORKFLOW_MISMATCH',
      'provenance-ref:PROVENANCE_REF_MISMATCH',
    ]);
    expect(failed(verifyProvenance(await signed(p), { ...opts, trustedKeys: pub(b) }).checks)).toEqual([
      'provenance-signature:SIGNATURE_INVALID',
    ]);
    expect(failed(verifyProvenance(await signed(p, digest, 'text/plain'), opts).checks)).toEqual([
      'provenance-payload-type:PAYLOAD_TYPE_MISMATCH',
    ]);
  });

  it('refuses unknown buildTypes and unknown external parameters', async () => {
    const p = githubProvenancePredicate(env);
    const opts = { trustedKeys: pub(a), threshold: 1, bundleSha256: digest, policy };
    const odd = { ...p, buildDefinition: { ...p.buildDefinition, buildType: 'https://example.com/other' } };
    expect(failed(verifyProvenance(await signed(odd), opts).checks)).toEqual([
      'provenance-build-type:PROVENANCE_BUILD_TYPE_NOT_ALLOWED',
    ]);
    const extra = {
      ...p,
      buildDefinition: {
        ...p.buildDefinition,
        externalParameters: { ...p.buildDefinition.externalParameters, inputs: { debug: 'true' } },
      },
    };
    expect(failed(verifyProvenance(await signed(extra), opts).checks)).toEqual([
      'provenance-external-parameters:PROVENANCE_EXTERNAL_PARAMETERS_UNKNOWN',
    ]);
  });

  it('refuses another predicateType and anchors the ref pattern', () => {
    const stmt = canonicalJsonBytes({
      ...provenanceStatement('x', digest, githubProvenancePredicate(env)),
      predicateType: 'https://slsa.dev/provenance/v0.2',
    });
    expect(failed(evaluateProvenanceStatement(stmt, { bundleSha256: digest }).checks)).toEqual([
      'provenance-predicate-type:PROVENANCE_PREDICATE_TYPE',
    ]);
    const sneaky = githubProvenancePredicate({
      ...env,
      GITHUB_WORKFLOW_REF: 'acme/agents/.github/workflows/release.yml@refs/heads/x-refs/tags/v1',
    });
    const r = evaluateProvenanceStatement(canonicalJsonBytes(provenanceStatement('x', digest, sneaky)), {
      bundleSha256: digest,
      policy,
    });
    expect(failed(r.checks)).toEqual(['provenance-ref:PROVENANCE_REF_MISMATCH']);
  });
});

describe('version policy and compatibility', () => {
  it('refuses downgrades, versions below the floor and invalid versions', () => {
    expect(assertVersionPolicy({ candidate: '1.3.0', installed: '1.2.9', floor: '1.0.0' })).toMatch(
      /accepted/,
    );
    expect(codeOf(() => assertVersionPolicy({ candidate: '1.2.0', installed: '1.2.9' }))).toBe(
      'VERSION_DOWNGRADE',
    );
    expect(codeOf(() => assertVersionPolicy({ candidate: '0.9.0', floor: '1.0.0' }))).toBe(
      'VERSION_BELOW_FLOOR',
    );
    expect(codeOf(() => assertVersionPolicy({ candidate: 'v1' }))).toBe('VERSION_INVALID');
    expect(
      codeOf(() => assertVersionPolicy({ candidate: '1.2.9', installed: '1.2.9', allowSame: false })),
    ).toBe('VERSION_DOWNGRADE');
    expect(checkVersionPolicy({ candidate: '1.0.0-rc.1', installed: '1.0.0' })).toMatchObject({
      ok: false,
      code: 'VERSION_DOWNGRADE',
    });
  });

  it('checks hardware ids and the minimum updater version', () => {
    const compat = { hardware: ['rpi4-64'], min_updater_version: '0.2.0' };
    expect(assertCompatible(compat, { hardwareId: 'rpi4-64', updaterVersion: '0.2.1' })).toMatch(/rpi4-64/);
    expect(codeOf(() => assertCompatible(compat, { hardwareId: 'x86', updaterVersion: '1.0.0' }))).toBe(
      'HARDWARE_INCOMPATIBLE',
    );
    expect(codeOf(() => assertCompatible(compat, { hardwareId: 'rpi4-64', updaterVersion: '0.1.9' }))).toBe(
      'UPDATER_TOO_OLD',
    );
  });
});
