// Attacks on keyless provenance: a certificate for another workflow, a Sigstore bundle over another
// statement, and a trusted root that does not anchor the signature. All signatures are real
// (Fulcio/Rekor mocks from @sigstore/mock on loopback, keys generated per run).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPublicKey, signerFromKeyPair } from '@clawback/core';
import { createProvenance, verifyBundleFile } from '@clawback/sign';
import {
  githubActionsClaims,
  githubActionsContextEnv,
  type MockSigstore,
  makeSignedBundle,
  publicGoodTrustedRoot,
  startMockSigstore,
} from '@clawback/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let mock: MockSigstore;
let tmp: string;
beforeAll(async () => {
  mock = await startMockSigstore();
});
afterAll(async () => {
  await mock.close();
});
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-attack-sigstore-'));
  return () => rm(tmp, { recursive: true, force: true });
});

const good = githubActionsClaims({ ref: 'refs/tags/v1.4.0' });

async function keyless(dir: string, provenanceEnv: Record<string, string>, tokenEnv: NodeJS.ProcessEnv) {
  const f = await makeSignedBundle(dir);
  const first = f.keys[0];
  if (!first) throw new Error('no key');
  const prov = await createProvenance({
    bundlePath: f.bundlePath,
    signers: [signerFromKeyPair(first)],
    env: provenanceEnv,
    sigstore: { env: tokenEnv, fulcioURL: mock.fulcioURL, rekorURL: mock.rekorURL },
  });
  const root = join(dir, 'trusted_root.json');
  await writeFile(root, JSON.stringify(mock.trustedRoot));
  const keys = [await loadPublicKey(f.publicKeyPaths[0] ?? '')];
  return { f, prov, root, keys };
}

const failed = (r: { checks: { ok: boolean; name: string; code?: string }[] }) =>
  r.checks.filter((c) => !c.ok).map((c) => `${c.name}:${c.code}`);

describe('keyless provenance attacks', () => {
  it('accepts the honest case', async () => {
    const { f, prov, root, keys } = await keyless(tmp, githubActionsContextEnv(good), mock.actionsEnv(good));
    const r = await verifyBundleFile({
      bundlePath: f.bundlePath,
      trustedKeys: keys,
      threshold: 1,
      provenancePath: prov.provenancePath,
      sigstoreBundlePath: prov.sigstorePath ?? '',
      trustedRootPath: root,
      provenancePolicy: { repository: 'acme/agents', workflowPath: '.github/workflows/release.yml' },
      now: new Date(),
    });
    expect(failed(r)).toEqual([]);
  });

  it('refuses provenance claiming acme/agents signed by a certificate of another repository', async () => {
    const evil = githubActionsClaims({ repository: 'evil/agents', ref: 'refs/tags/v1.4.0' });
    const { f, prov, root, keys } = await keyless(tmp, githubActionsContextEnv(good), mock.actionsEnv(evil));
    const r = await verifyBundleFile({
      bundlePath: f.bundlePath,
      trustedKeys: keys,
      threshold: 1,
      sigstoreBundlePath: prov.sigstorePath ?? '',
      trustedRootPath: root,
      provenancePolicy: { repository: 'acme/agents' },
      now: new Date(),
    });
    expect(failed(r)).toEqual(['sigstore-certificate:SIGSTORE_CERT_PROVENANCE_MISMATCH']);
  });

  it('refuses a Sigstore bundle over another statement than the key-signed provenance', async () => {
    const a = await keyless(join(tmp, 'a'), githubActionsContextEnv(good), mock.actionsEnv(good));
    // Same bundle bytes (builds are reproducible), but another run: another statement.
    const rerun = githubActionsClaims({ ref: 'refs/tags/v1.4.0', run_id: '999' });
    const b = await keyless(join(tmp, 'b'), githubActionsContextEnv(rerun), mock.actionsEnv(rerun));
    const r = await verifyBundleFile({
      bundlePath: a.f.bundlePath,
      trustedKeys: a.keys,
      threshold: 1,
      provenancePath: a.prov.provenancePath,
      sigstoreBundlePath: b.prov.sigstorePath ?? '',
      trustedRootPath: a.root,
      provenancePolicy: { repository: 'acme/agents' },
      now: new Date(),
    });
    expect(failed(r)).toEqual(['sigstore-bundle:SIGSTORE_PAYLOAD_MISMATCH']);
  });

  it('refuses a signature the pinned trusted root does not anchor', async () => {
    const { f, prov, keys } = await keyless(tmp, githubActionsContextEnv(good), mock.actionsEnv(good));
    const publicGood = join(tmp, 'public-good.json');
    await writeFile(publicGood, JSON.stringify(publicGoodTrustedRoot()));
    const r = await verifyBundleFile({
      bundlePath: f.bundlePath,
      trustedKeys: keys,
      threshold: 1,
      sigstoreBundlePath: prov.sigstorePath ?? '',
      trustedRootPath: publicGood,
      provenancePolicy: { repository: 'acme/agents' },
      now: new Date(),
    });
    expect(r.ok).toBe(false);
    expect(failed(r)[0]).toMatch(/^sigstore-bundle:SIGSTORE_/);
  });
});
