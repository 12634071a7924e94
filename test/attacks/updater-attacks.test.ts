// Attack suite for the device updater: every refusal the design names, each with its own
// code, each against really signed (or really tampered) files served by a real TUF repository
// on 127.0.0.1, and each leaving the active slot byte-for-byte as it was.
import { execFile } from 'node:child_process';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeManifest, type Manifest } from '@clawback/bundle';
import { generateKeyPair, isClawbackError, sha256Hex } from '@clawback/core';
import {
  deviceConfigYaml,
  hashTree,
  manifestFor,
  type RangeServer,
  type RawTarEntry,
  type ReportSink,
  rawTar,
  startUpdaterLab,
  type UpdaterLab,
  type UpdaterRepoFixture,
} from '@clawback/testing';
import { type ApplyResult, applyUpdate, initDevice, openDevice } from '@clawback/updater';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'packages', 'updater', 'dist', 'clawback-updater.mjs');

let lab: UpdaterLab;
let tmp: string;
let fx: UpdaterRepoFixture;
let server: RangeServer;
let sink: ReportSink;
let root: string;
let hook: string;

beforeAll(async () => {
  lab = await startUpdaterLab('clawback-attacks-');
  ({ tmp, fx, server, sink, hook } = lab);
  root = join(tmp, 'device');
  const r = await initDevice({
    root,
    trustedRoot: fx.trustedRoot,
    config: await lab.writeConfig('updater.yaml'),
  });
  await lab.enroll(root, r.deviceId);
  for (const version of ['1.0.0', '2.0.0']) {
    await fx.publish({ version });
    sink.setDesired({ version });
    expect((await applyUpdate(await openDevice(root))).outcome).toBe('committed');
  }
}, 120_000);

afterAll(async () => {
  await lab?.close([root]);
});

/** Apply `version` as the console's desired target; assert the refusal left the active slot untouched. */
async function attempt(version: string): Promise<ApplyResult> {
  const link = await readlink(join(root, 'current'));
  const before = await hashTree(join(root, link));
  sink.setDesired({ version });
  const result = await applyUpdate(await openDevice(root));
  expect(await readlink(join(root, 'current'))).toBe(link);
  expect(await hashTree(join(root, link))).toBe(before);
  const state = JSON.parse(await readFile(join(root, 'state.json'), 'utf8'));
  expect(state).toMatchObject({ committed: { version: '2.0.0' }, txn: null });
  return result;
}

function reportOf(version: string) {
  return sink.reports.filter((r) => (r.to as { version: string }).version === version).at(-1);
}

async function expectRefused(version: string, code: string, stage: string) {
  const r = await attempt(version);
  expect(r).toMatchObject({ outcome: 'rejected', to: version, reasonCode: code });
  expect(reportOf(version)).toMatchObject({
    outcome: 'rejected',
    reasonCode: code,
    stage,
    from: { version: '2.0.0' },
  });
}

function hostileManifest(version: string, files: Manifest['files']): Uint8Array {
  const { manifest } = manifestFor(files);
  return encodeManifest({ ...manifest, version, entrypoint: { path: 'ok.sh', args: [] } });
}

const okFile = (data: string): Manifest['files'][number] => ({
  path: 'ok.sh',
  type: 'file',
  mode: 0o755,
  size: Buffer.byteLength(data),
  sha256: sha256Hex(data),
});

async function publishHostile(
  version: string,
  extra: RawTarEntry[],
  options: { manifestFiles?: Manifest['files']; firstMember?: Uint8Array; okData?: string } = {},
) {
  const files = options.manifestFiles ?? [okFile('fine\n')];
  const manifestBytes = hostileManifest(version, files);
  const tar = rawTar([
    { path: 'clawback/manifest.json', data: options.firstMember ?? manifestBytes },
    { path: 'ok.sh', data: options.okData ?? 'fine\n', mode: 0o755 },
    ...extra,
  ]);
  await fx.publishRaw(version, tar, manifestBytes);
}

describe('updater refuses, with a specific code and the active slot untouched', () => {
  it('a manifest signed by a key the device does not trust: SIGNATURE_INVALID', async () => {
    await fx.publish({ version: '3.0.0', signWith: generateKeyPair() });
    await expectRefused('3.0.0', 'SIGNATURE_INVALID', 'verify');
  });

  it('provenance from another repository: PROVENANCE_REPOSITORY_MISMATCH', async () => {
    await fx.publish({
      version: '3.1.0',
      provenanceEnv: {
        GITHUB_REPOSITORY: 'evil/agents',
        GITHUB_WORKFLOW_REF: 'evil/agents/.github/workflows/release.yml@refs/tags/v3.1.0',
      },
    });
    await expectRefused('3.1.0', 'PROVENANCE_REPOSITORY_MISMATCH', 'verify');
  });

  it('provenance built from a branch the policy does not allow: PROVENANCE_REF_MISMATCH', async () => {
    await fx.publish({
      version: '3.2.0',
      provenanceEnv: {
        GITHUB_REF: 'refs/heads/feature',
        GITHUB_WORKFLOW_REF: 'acme/agents/.github/workflows/release.yml@refs/heads/feature',
      },
    });
    await expectRefused('3.2.0', 'PROVENANCE_REF_MISMATCH', 'verify');
  });

  it('no provenance where the device requires it: PROVENANCE_MISSING', async () => {
    await fx.publish({ version: '3.3.0', noProvenance: true });
    await expectRefused('3.3.0', 'PROVENANCE_MISSING', 'verify');
  });

  it('a downgrade the console asks for: DOWNGRADE_REFUSED', async () => {
    await expectRefused('1.0.0', 'DOWNGRADE_REFUSED', 'check');
  });

  it('a revoked release: RELEASE_REVOKED', async () => {
    await fx.publish({ version: '3.4.0' });
    await fx.revoke('3.4.0', 'sensor driver regression');
    await expectRefused('3.4.0', 'RELEASE_REVOKED', 'check');
  });

  it('a release for other hardware: HARDWARE_INCOMPATIBLE', async () => {
    await fx.publish({ version: '3.5.0', hardware: ['jetson-orin'] });
    await expectRefused('3.5.0', 'HARDWARE_INCOMPATIBLE', 'check');
  });

  it('a release needing a newer updater: UPDATER_TOO_OLD', async () => {
    await fx.publish({ version: '3.6.0', minUpdaterVersion: '9.0.0' });
    await expectRefused('3.6.0', 'UPDATER_TOO_OLD', 'check');
  });

  it('a mirror serving other bytes of the signed length: TARGET_HASH_MISMATCH', async () => {
    const { summary, bundlePath } = await fx.publish({ version: '3.7.0' });
    const bytes = await readFile(bundlePath);
    bytes[bytes.length - 600] = (bytes[bytes.length - 600] ?? 0) ^ 0xff;
    server.override(
      `/targets/${summary.targetPath.replace(/bundle\.clawback$/, `${summary.sha256}.bundle.clawback`)}`,
      bytes,
    );
    try {
      await expectRefused('3.7.0', 'TARGET_HASH_MISMATCH', 'download');
    } finally {
      server.clearOverrides();
    }
  });

  it('a mirror serving more than the signed length: TARGET_LENGTH_MISMATCH', async () => {
    const { summary, bundlePath } = await fx.publish({ version: '3.8.0' });
    const bytes = Buffer.concat([await readFile(bundlePath), Buffer.alloc(4096, 1)]);
    server.override(
      `/targets/${summary.targetPath.replace(/bundle\.clawback$/, `${summary.sha256}.bundle.clawback`)}`,
      bytes,
    );
    try {
      await expectRefused('3.8.0', 'TARGET_LENGTH_MISMATCH', 'download');
    } finally {
      server.clearOverrides();
    }
  });

  it('a path traversal entry in a signed bundle: BUNDLE_ENTRY_UNSAFE', async () => {
    await publishHostile('4.0.0', [{ path: '../../escape.sh', data: 'pwned', pax: true }]);
    await expectRefused('4.0.0', 'BUNDLE_ENTRY_UNSAFE', 'install');
  });

  it('a symlink leaving the slot: BUNDLE_ENTRY_UNEXPECTED', async () => {
    // A signed manifest cannot list an escaping link (validation refuses it), so the link
    // arrives unlisted and is refused as such before anything is created.
    await publishHostile('4.1.0', [{ path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }]);
    await expectRefused('4.1.0', 'BUNDLE_ENTRY_UNEXPECTED', 'install');
  });

  it('a hard link: BUNDLE_ENTRY_UNSAFE', async () => {
    await publishHostile('4.2.0', [{ path: 'shadow', type: 'Link', linkpath: 'ok.sh' }]);
    await expectRefused('4.2.0', 'BUNDLE_ENTRY_UNSAFE', 'install');
  });

  it('a device file: BUNDLE_ENTRY_UNSAFE', async () => {
    await publishHostile('4.3.0', [{ path: 'mem', type: 'CharacterDevice' }]);
    await expectRefused('4.3.0', 'BUNDLE_ENTRY_UNSAFE', 'install');
  });

  it('a payload file whose bytes differ from the signed manifest: BUNDLE_DIGEST_MISMATCH', async () => {
    await publishHostile('4.4.0', [], { okData: 'evil\n' });
    await expectRefused('4.4.0', 'BUNDLE_DIGEST_MISMATCH', 'install');
  });

  it('a first member that is not the signed manifest: BUNDLE_MANIFEST_MISMATCH', async () => {
    const other = hostileManifest('4.5.0', [okFile('fine\n'), { ...okFile('x'), path: 'zz.txt' }]);
    await publishHostile('4.5.0', [], { firstMember: other });
    await expectRefused('4.5.0', 'BUNDLE_MANIFEST_MISMATCH', 'install');
  });

  it('tampered TUF metadata: the TUF client refuses it and nothing is installed', async () => {
    const ts = JSON.parse(await readFile(join(fx.repo, 'metadata', 'timestamp.json'), 'utf8'));
    ts.signed.version += 1;
    server.override('/metadata/timestamp.json', Buffer.from(JSON.stringify(ts)));
    const link = await readlink(join(root, 'current'));
    const before = await hashTree(join(root, link));
    try {
      await fx.publish({ version: '5.0.0' });
      sink.setDesired({ version: '5.0.0' });
      const err = await applyUpdate(await openDevice(root)).catch((e: unknown) => e);
      expect(isClawbackError(err) && err.code).toBe('TUF_METADATA_INVALID');
    } finally {
      server.clearOverrides();
    }
    expect(await hashTree(join(root, link))).toBe(before);
    // Once the repository is honest again the same release installs.
    expect((await applyUpdate(await openDevice(root))).outcome).toBe('committed');
  });

  it('a full disk while writing the slot: DISK_FULL, and the device keeps running its release', async () => {
    // Run inside a private mount namespace so a small tmpfs can hold the whole device root
    // without root privileges or touching the host's mount table.
    await fx.publish({
      version: '6.0.0',
      files: { 'lib/blob.bin': new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24) },
    });
    const cfg = join(tmp, 'small.yaml');
    await writeFile(
      cfg,
      deviceConfigYaml({
        deviceId: 'edge-small',
        repoUrl: server.url,
        releaseKeyPath: fx.releaseKeyPath,
        restartHook: hook,
      }),
    );
    const mnt = join(tmp, 'small');
    const dev = join(mnt, 'dev');
    const node = process.execPath;
    const treeHash = `(cd "${dev}/current/" && find . -printf '%p %y %m %s %l\\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum`;
    const script = [
      'set -e',
      `mkdir -p "${mnt}"`,
      `mount -t tmpfs -o size=5m tmpfs "${mnt}"`,
      `"${node}" "${BIN}" init --root "${dev}" --trusted-root "${fx.trustedRoot}" --config "${cfg}" >/dev/null`,
      `"${node}" "${BIN}" apply --root "${dev}" --version 2.0.0 --json > "${tmp}/small-first.json"`,
      `${treeHash} > "${tmp}/small-before.txt"`,
      `readlink "${dev}/current" >> "${tmp}/small-before.txt"`,
      `"${node}" "${BIN}" apply --root "${dev}" --version 6.0.0 --json > "${tmp}/small-full.json" || echo "exit $?" >> "${tmp}/small-full.json"`,
      `${treeHash} > "${tmp}/small-after.txt"`,
      `readlink "${dev}/current" >> "${tmp}/small-after.txt"`,
      `cp "${dev}/state.json" "${tmp}/small-state.json"`,
      `kill "$(cat "${dev}/agent.pid")" 2>/dev/null || true`,
    ].join('\n');
    await run('unshare', ['--mount', '--map-root-user', 'sh', '-c', script], {
      env: { ...process.env, CLAWBACK_QUIET: '1' },
    });
    expect(JSON.parse(await readFile(join(tmp, 'small-first.json'), 'utf8')).outcome).toBe('committed');
    const full = (await readFile(join(tmp, 'small-full.json'), 'utf8')).split('exit ');
    expect(full[1]?.trim()).toBe('4');
    expect(JSON.parse(full[0] ?? '')).toMatchObject({
      outcome: 'failed',
      to: '6.0.0',
      reasonCode: 'DISK_FULL',
    });
    expect(await readFile(join(tmp, 'small-after.txt'), 'utf8')).toBe(
      await readFile(join(tmp, 'small-before.txt'), 'utf8'),
    );
    const state = JSON.parse(await readFile(join(tmp, 'small-state.json'), 'utf8'));
    expect(state).toMatchObject({ committed: { version: '2.0.0' }, txn: null });
  });
});
