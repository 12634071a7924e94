// Attestations and the Sigstore trust root travel as TUF targets; the flat (GitHub Release)
// layout serves the same repository to the same client.
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile, type KeyPair, signerFromKeyPair } from '@clawback/core';
import {
  addRelease,
  createBundleVerifier,
  createProvenance,
  publishedTrustRootPath,
  publishTrustRoot,
} from '@clawback/sign';
import { githubActionsEnv, publicGoodTrustedRoot, serveDirectory } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeHarness } from './harness.js';

const AGENT = 'com.openclaw.sensor_parser';

describe('attestation and trust-root targets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness();
  });
  afterAll(async () => h.close());

  it('publishes provenance next to the bundle, with its digest in the bundle target', async () => {
    const bundle = await h.artifact(AGENT, '2.0.0');
    const release = h.ceremony.keys.release as KeyPair;
    const prov = await createProvenance({
      bundlePath: bundle,
      signers: [signerFromKeyPair(release)],
      env: githubActionsEnv(),
    });
    const verifyBundle = createBundleVerifier({
      trustedKeys: [release.publicKey],
      threshold: 1,
      provenancePath: prov.provenancePath,
      now: h.t0,
    });
    const r = await addRelease({
      repo: h.repo,
      bundle,
      provenance: prov.provenancePath,
      channel: 'stable',
      now: h.t0,
      verifyBundle,
    });
    const provSha = (await hashFile(prov.provenancePath)).sha256;
    expect(r.attestations.provenance).toEqual({ path: `${AGENT}/2.0.0/provenance.json`, sha256: provSha });

    const device = await h.device('attest');
    await device.refresh();
    const [listed] = await device.listReleases(AGENT);
    expect(listed?.custom).toMatchObject({ attestations: { provenance: { sha256: provSha } } });
    const dest = join(h.dir, 'dl', 'provenance.json');
    const info = await device.downloadTarget(`${AGENT}/2.0.0/provenance.json`, dest);
    expect(info.custom).toMatchObject({ kind: 'provenance', name: AGENT, version: '2.0.0' });
    expect((await hashFile(dest)).sha256).toBe(provSha);
  });

  it('refuses provenance that does not verify against the release key', async () => {
    const bundle = await h.artifact(AGENT, '2.1.0');
    const other = h.ceremony.keys.online as KeyPair;
    const prov = await createProvenance({
      bundlePath: bundle,
      signers: [signerFromKeyPair(other)],
      env: githubActionsEnv(),
    });
    const verifyBundle = createBundleVerifier({
      trustedKeys: [(h.ceremony.keys.release as KeyPair).publicKey],
      threshold: 1,
      provenancePath: prov.provenancePath,
      now: h.t0,
    });
    await expect(
      addRelease({
        repo: h.repo,
        bundle,
        provenance: prov.provenancePath,
        channel: 'stable',
        now: h.t0,
        verifyBundle,
      }),
    ).rejects.toHaveProperty('code');
  });

  it('delivers and rotates the Sigstore trusted root as a target', async () => {
    const file = join(h.dir, 'trusted_root.json');
    const doc = publicGoodTrustedRoot();
    await writeFile(file, JSON.stringify(doc));
    const first = await publishTrustRoot({ repo: h.repo, file, now: h.t0 });
    const device = await h.device('sigstore');
    await device.refresh();
    const dest = join(h.dir, 'dl', 'trusted_root.json');
    await device.downloadTarget('sigstore/trusted_root.json', dest);
    expect((await hashFile(dest)).sha256).toBe(first.sha256);
    // A rotated trust root (here: one transparency log fewer) replaces it on the next refresh.
    await writeFile(file, JSON.stringify({ ...doc, tlogs: (doc.tlogs as unknown[]).slice(0, 1) }));
    const second = await publishTrustRoot({ repo: h.repo, file, now: h.t0 });
    expect(second.sha256).not.toBe(first.sha256);
    await device.refresh();
    expect((await device.getTarget('sigstore/trusted_root.json'))?.hashes.sha256).toBe(second.sha256);
    // `release add --sigstore-bundle` verifies against the published one by default.
    expect((await hashFile((await publishedTrustRootPath(h.repo)) as string)).sha256).toBe(second.sha256);
    await writeFile(file, '{"mediaType": "text/plain"}');
    await expect(publishTrustRoot({ repo: h.repo, file, now: h.t0 })).rejects.toMatchObject({
      code: 'TUF_TARGET_INVALID',
    });
  });

  it('serves the same repository flat, as a GitHub Release does', async () => {
    await addRelease({
      repo: h.repo,
      bundle: await h.artifact(AGENT, '3.0.0'),
      channel: 'edge',
      now: h.t0,
      verifyBundle: h.verifier,
    });
    const flat = join(h.dir, 'flat');
    await mkdir(flat, { recursive: true });
    const copyFlat = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await copyFlat(p);
        else if (!e.name.startsWith('.')) await cp(p, join(flat, e.name));
      }
    };
    await copyFlat(join(h.repo, 'metadata'));
    await copyFlat(join(h.repo, 'targets'));
    const server = await serveDirectory(flat);
    try {
      const device = await h.device('flat', {
        metadataBaseUrl: server.url,
        targetBaseUrl: server.url,
        flatTargets: true,
      });
      await device.refresh();
      const release = (await device.listReleases(AGENT)).find((r) => r.version === '3.0.0');
      expect(release).toBeDefined();
      const dest = join(h.dir, 'dl', 'flat.clawback');
      await device.downloadTarget(release?.targetPath as string, dest);
      expect((await readFile(dest)).length).toBe(release?.length);
    } finally {
      await server.close();
    }
  });
});
