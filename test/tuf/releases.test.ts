import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, hashFile } from '@clawback/core';
import { addRelease, hashedTargetPath, listReleases, repoStatus, revokeRelease } from '@clawback/sign';
import { sampleAgentSpec } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeHarness } from './harness.js';

const AGENT = 'com.openclaw.sensor_parser';

async function rejects(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  throw new Error('expected a rejection');
}

describe('releases through the repository and the device client', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness();
  });
  afterAll(async () => h.close());

  const add = (version: string, extra: Partial<Parameters<typeof addRelease>[0]> = {}) =>
    h.artifact(AGENT, version).then((bundle) =>
      addRelease({
        repo: h.repo,
        bundle,
        channel: 'stable',
        now: h.t0,
        verifyBundle: h.verifier,
        ...extra,
      }),
    );

  it('publishes a release with the target layout contract and the device lists and downloads it', async () => {
    const r = await add('1.0.0');
    expect(r.targetPath).toBe(`${AGENT}/1.0.0/bundle.clawback`);
    expect(r.attestations.signature.path).toBe(`${AGENT}/1.0.0/bundle.sig.json`);
    const device = await h.device('a');
    const report = await device.refresh();
    expect(report.targetsVersion).toBe(2);
    const releases = await device.listReleases(AGENT);
    expect(releases.map((x) => [x.version, x.channel, x.hardwareIds])).toEqual([
      ['1.0.0', 'stable', sampleAgentSpec().compatibility.hardware],
    ]);
    expect(releases[0]?.custom).toMatchObject({
      kind: 'bundle',
      name: AGENT,
      attestations: { signature: { sha256: expect.any(String) } },
    });
    const dest = join(h.dir, 'dl', 'bundle.clawback');
    const info = await device.downloadTarget(r.targetPath, dest);
    expect(info.hashes.sha256).toBe(r.sha256);
    expect((await hashFile(dest)).sha256).toBe(r.sha256);
    expect(r.sha256).toBe((await hashFile(await h.artifactPath(AGENT, '1.0.0'))).sha256);
  });

  it('refuses a version already published, and a lower version without --allow-downgrade', async () => {
    await add('1.2.0');
    expect(await rejects(add('1.2.0'))).toBe('TUF_RELEASE_EXISTS');
    expect(await rejects(add('1.1.0'))).toBe('TUF_DOWNGRADE_REFUSED');
    expect(await rejects(add('1.1.0', { allowDowngrade: true }))).toBe('TUF_DOWNGRADE_REFUSED');
    const d = await add('1.1.0', { allowDowngrade: true, reason: '1.2.0 breaks the sensor driver' });
    expect(d.downgrade).toEqual({ reason: '1.2.0 breaks the sensor driver' });
    // Other channels are independent.
    await add('0.9.0', { channel: 'beta' });
    const audit = await readFile(join(h.repo, 'audit', 'audit.log'), 'utf8');
    expect(audit).toContain('tuf.release.downgrade');
    expect(audit).toContain('1.2.0 breaks the sensor driver');
  });

  it('refuses a bundle that does not verify and changes nothing', async () => {
    const before = await repoStatus(h.repo, h.t0);
    // Really signed, but by a key that is not the release key.
    const bad = await h.artifact(AGENT, '9.9.9', generateKeyPair());
    const code = await rejects(
      addRelease({ repo: h.repo, bundle: bad, channel: 'stable', now: h.t0, verifyBundle: h.verifier }),
    );
    expect(code).toMatch(/SIGNATURE|THRESHOLD|MANIFEST/);
    expect((await repoStatus(h.repo, h.t0)).roles.targets.version).toBe(before.roles.targets.version);
    expect((await listReleases(h.repo)).releases.map((x) => x.version)).not.toContain('9.9.9');
  });

  it('revokes a release: gone from targets, listed as revoked, never offered or installable again', async () => {
    const r = await add('2.0.0');
    const device = await h.device('b');
    await device.refresh();
    expect((await device.listReleases(AGENT)).map((x) => x.version)).toContain('2.0.0');
    await revokeRelease({
      repo: h.repo,
      name: AGENT,
      version: '2.0.0',
      reason: 'crash loop on rpi4',
      now: h.t0,
    });
    await device.refresh();
    expect((await device.listReleases(AGENT)).map((x) => x.version)).not.toContain('2.0.0');
    expect(await device.isRevoked(AGENT, '2.0.0')).toBe(true);
    expect(await device.isRevoked(AGENT, '1.0.0')).toBe(false);
    // A console that directs the device to the revoked target is refused.
    expect(await rejects(device.downloadTarget(r.targetPath, join(h.dir, 'dl', 'revoked')))).toBe(
      'TUF_TARGET_UNKNOWN',
    );
    // The repository refuses to publish it again, or to revoke it twice.
    expect(await rejects(add('2.0.0'))).toBe('TUF_RELEASE_REVOKED');
    expect(
      await rejects(revokeRelease({ repo: h.repo, name: AGENT, version: '2.0.0', reason: 'x', now: h.t0 })),
    ).toBe('TUF_RELEASE_REVOKED');
    const listed = await listReleases(h.repo);
    expect(listed.revoked.map((x) => `${x.name}@${x.version}`)).toEqual([`${AGENT}@2.0.0`]);
  });

  it('refuses a target whose bytes differ from the signed hash or length', async () => {
    const r = await add('3.0.0');
    const device = await h.device('c');
    await device.refresh();
    const served = `/targets/${hashedTargetPath(r.targetPath, r.sha256)}`;
    const original = await readFile(join(h.repo, 'targets', hashedTargetPath(r.targetPath, r.sha256)));
    const sameLength = Buffer.from(original);
    const last = sameLength.length - 1;
    sameLength[last] = (sameLength[last] ?? 0) ^ 0xff;
    h.server.override(served, sameLength);
    expect(await rejects(device.downloadTarget(r.targetPath, join(h.dir, 'dl', 'x1')))).toBe(
      'TUF_TARGET_MISMATCH',
    );
    h.server.override(served, Buffer.concat([original, Buffer.from('tail')]));
    expect(await rejects(device.downloadTarget(r.targetPath, join(h.dir, 'dl', 'x2')))).toBe(
      'TUF_TARGET_MISMATCH',
    );
    h.server.clearOverrides();
    await device.downloadTarget(r.targetPath, join(h.dir, 'dl', 'x3'));
  });

  it('lists releases in semver order, revoked ones never', async () => {
    await add('1.9.0', { channel: 'lts' });
    await add('1.10.0', { channel: 'lts' });
    const device = await h.device('order');
    await device.refresh();
    expect((await device.listReleases(AGENT)).map((x) => x.version)).toEqual([
      '0.9.0',
      '1.0.0',
      '1.1.0',
      '1.2.0',
      '1.9.0',
      '1.10.0',
      '3.0.0',
    ]);
  });
});
