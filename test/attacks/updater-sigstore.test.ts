// Keyless provenance on the device (design §4): a release's Sigstore bundle is verified against
// the trusted_root.json the repository publishes as a TUF target, must sign the same statement
// as the release key, and its Fulcio certificate must name the workflow the provenance names.
// Everything is real: mock Fulcio/Rekor on 127.0.0.1, a really signed TUF repository, real bundles.
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  githubActionsClaims,
  hashTree,
  type MockSigstore,
  type ReportSink,
  startMockSigstore,
  startUpdaterLab,
  type UpdaterLab,
  type UpdaterRepoFixture,
} from '@clawback/testing';
import { applyUpdate, initDevice, openDevice } from '@clawback/updater';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let lab: UpdaterLab;
let tmp: string;
let fx: UpdaterRepoFixture;
let sink: ReportSink;
let mock: MockSigstore;
let other: MockSigstore;

async function device(name: string, requireSigstore: boolean): Promise<string> {
  const cfg = await lab.writeConfig(`${name}.yaml`, {
    deviceId: name,
    provenance: {
      repository: 'acme/agents',
      workflow: '.github/workflows/release.yml',
      ref: 'refs/tags/v.*',
      requireSigstore,
    },
  });
  const root = join(tmp, name);
  await initDevice({ root, trustedRoot: fx.trustedRoot, config: cfg });
  await lab.enroll(root, name);
  return root;
}

const keyless = (m: MockSigstore, claims: ReturnType<typeof githubActionsClaims>) => ({
  fulcioURL: m.fulcioURL,
  rekorURL: m.rekorURL,
  env: m.actionsEnv(claims),
});

beforeAll(async () => {
  lab = await startUpdaterLab('clawback-updater-sigstore-');
  ({ tmp, fx, sink } = lab);
  mock = await startMockSigstore();
  other = await startMockSigstore();
  const rootFile = join(tmp, 'trusted_root.json');
  await writeFile(rootFile, JSON.stringify(mock.trustedRoot));
  await fx.publishTrustRoot(rootFile);
}, 60_000);

afterAll(async () => {
  await mock?.close();
  await other?.close();
  await lab?.close(['strict', 'lenient'].map((d) => join(tmp, d)));
});

describe('Sigstore provenance on the device', () => {
  let strict: string;

  it('installs a release whose keyless provenance verifies against the TUF-published trust root', async () => {
    strict = await device('strict', true);
    const claims = githubActionsClaims({ ref: 'refs/tags/v1.0.0' });
    await fx.publish({
      version: '1.0.0',
      provenanceEnvFull: mock.actionsEnv(claims),
      sigstore: keyless(mock, claims),
    });
    sink.setDesired({ version: '1.0.0' });
    const r = await applyUpdate(await openDevice(strict));
    expect(r).toMatchObject({ outcome: 'committed', to: '1.0.0' });
    const log = await readFile(join(strict, 'audit', 'audit.log'), 'utf8');
    expect(log).toContain('certificate matches provenance');
  });

  async function refused(root: string, version: string, code: string) {
    const link = await readlink(join(root, 'current'));
    const before = await hashTree(join(root, link));
    sink.setDesired({ version });
    const r = await applyUpdate(await openDevice(root));
    expect(r).toMatchObject({ outcome: 'rejected', to: version, reasonCode: code });
    expect(await readlink(join(root, 'current'))).toBe(link);
    expect(await hashTree(join(root, link))).toBe(before);
  }

  it('refuses a certificate issued to another repository than the provenance names', async () => {
    const evil = githubActionsClaims({ repository: 'evil/agents', ref: 'refs/tags/v1.1.0' });
    const honest = githubActionsClaims({ ref: 'refs/tags/v1.1.0' });
    await fx.publish({
      version: '1.1.0',
      provenanceEnvFull: mock.actionsEnv(honest),
      sigstore: keyless(mock, evil),
    });
    await refused(strict, '1.1.0', 'SIGSTORE_CERT_PROVENANCE_MISMATCH');
  });

  it('refuses a Sigstore bundle from an authority the published trust root does not name', async () => {
    const claims = githubActionsClaims({ ref: 'refs/tags/v1.2.0' });
    await fx.publish({
      version: '1.2.0',
      provenanceEnvFull: other.actionsEnv(claims),
      sigstore: keyless(other, claims),
    });
    sink.setDesired({ version: '1.2.0' });
    const r = await applyUpdate(await openDevice(strict));
    expect(r.outcome).toBe('rejected');
    expect(r.reasonCode).toMatch(/^SIGSTORE_/);
  });

  it('refuses a release without a Sigstore bundle when the device requires one', async () => {
    await fx.publish({ version: '1.3.0' });
    await refused(strict, '1.3.0', 'SIGSTORE_BUNDLE_MISSING');
  });

  it('accepts a key-signed-only release on a device that does not require Sigstore', async () => {
    const lenient = await device('lenient', false);
    sink.setDesired({ version: '1.3.0' });
    expect((await applyUpdate(await openDevice(lenient))).outcome).toBe('committed');
  });
});
