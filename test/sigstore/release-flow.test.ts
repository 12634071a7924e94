// The release flow end to end, offline: a signed bundle, provenance from a simulated Actions job signed
// by the release key and keyless through the mock Sigstore, then the file-level verifier with the
// trusted root pinned in a file. Exercises the Sigstore library through its real callers.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signerFromKeyPair } from '@clawback/core';
import { createProvenance, readTrustedKeys, verifyBundleFile } from '@clawback/sign';
import {
  type GithubActionsClaims,
  githubActionsClaims,
  type MockSigstore,
  makeSignedBundle,
  type SignedBundleFixture,
} from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMocks, mockSigstore } from './support.js';

let tmp: string;
let mock: MockSigstore;
let claims: GithubActionsClaims;
let fixture: SignedBundleFixture;
let provenancePath: string;
let sigstorePath: string;
let trustedRootPath: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-sigstore-'));
  mock = await mockSigstore();
  claims = githubActionsClaims({ ref: 'refs/tags/v1.2.0' });
  fixture = await makeSignedBundle(tmp);
  const first = fixture.keys[0];
  if (first === undefined) throw new Error('fixture without keys');
  const env = mock.actionsEnv(claims);
  const result = await createProvenance({
    bundlePath: fixture.bundlePath,
    signers: [signerFromKeyPair(first)],
    env,
    sigstore: { fulcioURL: mock.fulcioURL, rekorURL: mock.rekorURL, env, retries: 0 },
  });
  provenancePath = result.provenancePath;
  sigstorePath = result.sigstorePath ?? '';
  trustedRootPath = join(tmp, 'trusted_root.json');
  await writeFile(trustedRootPath, JSON.stringify(mock.trustedRoot));
});

afterAll(async () => {
  await closeMocks();
  await rm(tmp, { recursive: true, force: true });
});

async function verifyWith(overrides: { sigstoreBundlePath?: string; trustedRootPath?: string } = {}) {
  const trustedKeys = await readTrustedKeys(fixture.publicKeyPaths, {});
  return verifyBundleFile({
    bundlePath: fixture.bundlePath,
    trustedKeys,
    threshold: 1,
    provenancePath,
    provenancePolicy: {
      repository: 'acme/agents',
      workflowPath: '.github/workflows/release.yml',
      refPattern: 'refs/tags/v.*',
    },
    sigstoreBundlePath: overrides.sigstoreBundlePath ?? sigstorePath,
    trustedRootPath: overrides.trustedRootPath ?? trustedRootPath,
    now: new Date(),
  });
}

const failedChecks = (r: Awaited<ReturnType<typeof verifyWith>>) =>
  r.checks.filter((c) => !c.ok).map((c) => `${c.name}:${c.code}`);

describe('release flow with Sigstore keyless provenance', () => {
  it('verifies the bundle, both provenance signatures and the certificate cross-check', async () => {
    expect(sigstorePath).toMatch(/provenance\.sigstore\.json$/);
    const report = await verifyWith();
    expect(failedChecks(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['sigstore-bundle', 'sigstore-certificate']),
    );
  });

  it('fails the Sigstore check when the Sigstore bundle file is altered', async () => {
    const bundle = JSON.parse(await readFile(sigstorePath, 'utf8')) as {
      dsseEnvelope: { signatures: { sig: string }[] };
    };
    const sig = bundle.dsseEnvelope.signatures[0];
    if (sig === undefined) throw new Error('no signature');
    const bytes = Buffer.from(sig.sig, 'base64');
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    sig.sig = bytes.toString('base64');
    const tampered = join(tmp, 'tampered.sigstore.json');
    await writeFile(tampered, JSON.stringify(bundle));
    const report = await verifyWith({ sigstoreBundlePath: tampered });
    expect(report.ok).toBe(false);
    expect(failedChecks(report)).toEqual(['sigstore-bundle:SIGSTORE_SIGNATURE_INVALID']);
  });

  it('fails the Sigstore check against the trusted root of another instance', async () => {
    const other = await mockSigstore();
    const otherRoot = join(tmp, 'other_root.json');
    await writeFile(otherRoot, JSON.stringify(other.trustedRoot));
    const report = await verifyWith({ trustedRootPath: otherRoot });
    expect(failedChecks(report)).toEqual(['sigstore-bundle:SIGSTORE_CERT_UNTRUSTED']);
  });
});
