/**
 * The default UpdateSource: the device's TUF client (./tuf) over got. Candidates come
 * only from verified targets metadata; revoked releases never appear; small targets are
 * fetched through the client, which checks their signed length and hashes. The bundle
 * itself is fetched by the resumable downloader from the target's URL (consistent
 * snapshot name, as tuf-js would build it) and checked against the same signed hash.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { readJsonChecked } from '@clawback/core';
import type { Device } from './device.js';
import type { ReleaseCandidate, UpdateSource } from './install.js';
import type { TargetInfo } from './state.js';
import { createTufClient, type TufRelease } from './tuf/index.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function attestation(custom: Obj, key: string): { path: string; sha256: string } | null {
  const a = isObj(custom.attestations) ? custom.attestations[key] : undefined;
  return isObj(a) && typeof a.path === 'string' && typeof a.sha256 === 'string'
    ? { path: a.path, sha256: a.sha256 }
    : null;
}

export function candidateOf(r: TufRelease): ReleaseCandidate {
  return {
    agent: r.name,
    version: r.version,
    channel: r.channel,
    targetPath: r.targetPath,
    length: r.length,
    sha256: r.hashes.sha256 ?? '',
    hardwareIds: r.hardwareIds,
    minUpdaterVersion: r.minUpdaterVersion ?? null,
    attestations: {
      signature: attestation(r.custom, 'signature'),
      provenance: attestation(r.custom, 'provenance'),
      sigstore: attestation(r.custom, 'sigstore'),
    },
  };
}

export async function createTufUpdateSource(device: Device): Promise<UpdateSource> {
  const { repository } = device.config;
  const cacheDir = join(device.layout.root, 'cache');
  const client = createTufClient({
    metadataDir: device.layout.tufDir,
    metadataBaseUrl: repository.metadataUrl,
    targetBaseUrl: repository.targetsUrl,
    cacheDir,
    now: device.now,
    flatTargets: repository.flatTargets === true,
    fetcher: { retries: device.config.download.retries, tmpDir: cacheDir },
  });
  // One verified refresh per process: a resumed transaction fetches its attestations from
  // metadata refreshed now, never from whatever was on disk.
  let fresh: Promise<unknown> | undefined;
  const ensureFresh = () => {
    fresh ??= client.refresh().catch((err) => {
      fresh = undefined;
      throw err;
    });
    return fresh;
  };
  return {
    async refresh() {
      fresh = undefined;
      await ensureFresh();
    },
    async listReleases(agent) {
      await ensureFresh();
      return (await client.listReleases(agent)).map(candidateOf);
    },
    async revokedVersions(agent) {
      await ensureFresh();
      return new Set((await client.revocations()).filter((r) => r.name === agent).map((r) => r.version));
    },
    async fetchTarget(path) {
      await ensureFresh();
      const dir = await mkdtemp(join(cacheDir, 'target-'));
      try {
        const file = join(dir, posix.basename(path));
        await client.downloadTarget(path, file);
        return new Uint8Array(await readFile(file));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async targetUrl(target: TargetInfo) {
      const root = (await readJsonChecked(join(device.layout.tufDir, 'root.json'), 'trusted root')) as {
        signed?: { consistent_snapshot?: boolean };
      };
      const dir = posix.dirname(target.targetPath);
      const base = posix.basename(target.targetPath);
      if (repository.flatTargets) {
        // `clawback repo publish --github`: every target is a release asset named <sha256>.<name>.
        return `${repository.targetsUrl.replace(/\/+$/, '')}/${encodeURIComponent(`${target.sha256}.${base}`)}`;
      }
      // TUF 5.7.2: with consistent snapshots the file is served as <dir>/<sha256>.<name>.
      const name = root.signed?.consistent_snapshot ? `${target.sha256}.${base}` : base;
      const rel = (dir === '.' ? [name] : [...dir.split('/'), name]).map(encodeURIComponent).join('/');
      return `${repository.targetsUrl.replace(/\/+$/, '')}/${rel}`;
    },
  };
}
