/**
 * Device-side TUF client over tuf-js (docs/tuf-repository.md, "Device client").
 *
 * Each refresh runs tuf-js's Updater on a staging copy of the trusted metadata. tuf-js checks
 * expiry against the real clock only (its TrustedMetadataStore fixes `new Date()` at
 * construction and offers no reference-time option), so after it has verified signatures,
 * versions, hashes and the root chain, we re-check every role's expiry against the time floor
 * (max(clock, floor) is never earlier than the clock, so this is only ever stricter) and only
 * then install the staged files into the trusted directory, atomically, timestamp last. A refresh
 * that fails keeps only the roles that passed their own checks, as the TUF workflow persists them.
 */

import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { ClawbackError, pathExists } from '@clawback/core';
import type { TargetFile } from '@tufjs/models';
import { type Fetcher, Updater } from 'tuf-js';
import { semver } from '../semver.js';
import { TufClientErrors } from './errors.js';
import { GotFetcher, type GotFetcherOptions } from './fetcher.js';
import { effectiveTime, readTimeFloor } from './floor.js';
import { toClientError } from './map-error.js';
import {
  advanceFloor,
  checkExpiry,
  install,
  keepVerified,
  loadLocal,
  loadTrusted,
  stageTrusted,
  type Trusted,
} from './trusted-set.js';
import type {
  RefreshReport,
  RevokedRelease,
  TufClient,
  TufClientOptions,
  TufRelease,
  TufTargetInfo,
} from './types.js';

export const REVOCATIONS_TARGET = 'clawback/revocations.json';

export function defaultFloorFile(metadataDir: string): string {
  return `${metadataDir.replace(/[/\\]+$/, '')}.time-floor.json`;
}

function isFetcher(f: TufClientOptions['fetcher']): f is Fetcher {
  return typeof (f as Fetcher | undefined)?.downloadFile === 'function';
}

export function createTufClient(options: TufClientOptions): TufClient {
  const now = options.now ?? (() => new Date());
  const floorFile = options.floorFile ?? defaultFloorFile(options.metadataDir);
  const cacheDir = options.cacheDir ?? tmpdir();
  const fetcher: Fetcher = isFetcher(options.fetcher)
    ? options.fetcher
    : new GotFetcher({ tmpDir: cacheDir, ...((options.fetcher as GotFetcherOptions | undefined) ?? {}) });
  let session: { updater: Updater; trusted: Trusted; revoked: RevokedRelease[] } | undefined;

  async function refresh(): Promise<RefreshReport> {
    const rootPath = join(options.metadataDir, 'root.json');
    if (!(await pathExists(rootPath))) {
      throw new ClawbackError(TufClientErrors.TUF_CLIENT_NOT_INITIALIZED, `no trusted root at ${rootPath}`, {
        hint: 'Provision the device with the repository root.json (`clawback-tuf-conformance init` or the updater`s init).',
      });
    }
    await mkdir(cacheDir, { recursive: true });
    const stage = await mkdtemp(join(cacheDir, 'clawback-tuf-'));
    const before = await loadLocal(options.metadataDir);
    // TUF 5.1: one reference time for the whole refresh, floored (see floor.ts).
    const reference = effectiveTime(now(), await readTimeFloor(floorFile));
    try {
      await stageTrusted(options.metadataDir, stage);
      const updater = new Updater({
        metadataDir: stage,
        metadataBaseUrl: options.metadataBaseUrl,
        targetBaseUrl: options.targetBaseUrl,
        targetDir: stage,
        fetcher,
        config: { maxRootRotations: options.maxRootRotations ?? 32, prefixTargetsWithHash: true },
      });
      try {
        await updater.refresh();
      } catch (err) {
        throw toClientError(err, 'refresh');
      }
      const trusted = await loadTrusted(stage);
      checkExpiry(trusted, reference);
      const revoked = await loadRevocations(updater, trusted, stage);
      await install(stage, options.metadataDir);
      const newFloor = await advanceFloor(trusted, floorFile);
      session = { updater, trusted, revoked };
      await rm(stage, { recursive: true, force: true });
      const fromRoot = before?.root.signed.version ?? trusted.root.signed.version;
      const rotatedRoots: number[] = [];
      for (let v = fromRoot + 1; v <= trusted.root.signed.version; v++) rotatedRoots.push(v);
      return {
        rootVersion: trusted.root.signed.version,
        timestampVersion: trusted.timestamp.signed.version,
        snapshotVersion: trusted.snapshot.signed.version,
        targetsVersion: trusted.targets.signed.version,
        rotatedRoots,
        referenceTime: reference.toISOString(),
        ...(newFloor ? { floor: newFloor.toISOString() } : {}),
      };
    } catch (err) {
      // TUF 5.3.8, 5.4.5, 5.5.7: each role is persisted once it has passed its own checks, even
      // when a later step fails; a role that is expired at the floored time is never kept.
      await keepVerified(stage, options.metadataDir, reference);
      await rm(stage, { recursive: true, force: true });
      throw err;
    }
  }

  function current() {
    if (!session) {
      throw new ClawbackError(
        TufClientErrors.TUF_CLIENT_NOT_INITIALIZED,
        'the TUF client has not been refreshed',
        {
          hint: 'Call refresh() first; releases are only listed from freshly verified metadata.',
        },
      );
    }
    return session;
  }

  function revokedMatch(revoked: RevokedRelease[], target: TargetFile): RevokedRelease | undefined {
    const c = clawbackCustom(target);
    return revoked.find(
      (r) =>
        r.sha256 === target.hashes.sha256 ||
        (c?.kind === 'bundle' && r.name === c.name && r.version === c.version) ||
        target.path.startsWith(`${r.name}/${r.version}/`),
    );
  }

  async function listReleases(agent?: string): Promise<TufRelease[]> {
    const { trusted, revoked } = current();
    const out: TufRelease[] = [];
    for (const t of Object.values(trusted.targets.signed.targets)) {
      const c = clawbackCustom(t);
      if (c?.kind !== 'bundle' || typeof c.name !== 'string' || typeof c.version !== 'string') continue;
      if (agent !== undefined && c.name !== agent) continue;
      if (revokedMatch(revoked, t)) continue;
      out.push({
        name: c.name,
        version: c.version,
        channel: typeof c.channel === 'string' ? c.channel : '',
        hardwareIds: Array.isArray(c.hardwareIds)
          ? c.hardwareIds.filter((h): h is string => typeof h === 'string')
          : [],
        ...(typeof c.minUpdaterVersion === 'string' ? { minUpdaterVersion: c.minUpdaterVersion } : {}),
        ...(typeof c.publishedAt === 'string' ? { publishedAt: c.publishedAt } : {}),
        targetPath: t.path,
        length: t.length,
        hashes: { ...t.hashes },
        custom: c,
      });
    }
    // By agent, then semver (a string sort would put 1.10.0 before 1.9.0); invalid versions last.
    return out.sort(
      (a, b) =>
        byCodeUnits(a.name, b.name) ||
        (semver.valid(a.version) && semver.valid(b.version)
          ? semver.compare(a.version, b.version)
          : byCodeUnits(a.version, b.version)),
    );
  }

  async function getTarget(path: string): Promise<TufTargetInfo | undefined> {
    const t = current().trusted.targets.signed.targets[path];
    return t ? info(t) : undefined;
  }

  async function downloadTarget(path: string, dest: string): Promise<TufTargetInfo> {
    const { trusted, revoked, updater } = current();
    const target = trusted.targets.signed.targets[path];
    if (!target) {
      throw new ClawbackError(
        TufClientErrors.TUF_TARGET_UNKNOWN,
        `${path} is not a target of the signed repository`,
        {
          hint: 'Only targets listed in verified targets metadata can be installed (revoked releases are removed).',
        },
      );
    }
    const hit = revokedMatch(revoked, target);
    if (hit) {
      throw new ClawbackError(
        TufClientErrors.TUF_TARGET_REVOKED,
        `${path} belongs to revoked release ${hit.name}@${hit.version}`,
        {
          hint: `Revoked: ${hit.reason}`,
        },
      );
    }
    await mkdir(dirname(dest), { recursive: true });
    // Already there with the signed length and hashes: nothing to download.
    if (await verifiesAs(target, dest)) return info(target);
    const tmp = `${dest}.partial`;
    try {
      if (options.flatTargets) {
        const url = joinUrl(options.targetBaseUrl, `${target.hashes.sha256}.${posix.basename(target.path)}`);
        await fetcher.downloadFile(url, target.length, async (file) => {
          await target.verify(createReadStream(file));
          await copyFile(file, tmp);
        });
      } else {
        await updater.downloadTarget(target, tmp, options.targetBaseUrl);
      }
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw toClientError(err, `download ${path}`);
    }
    return info(target);
  }

  return {
    refresh,
    listReleases,
    async isRevoked(name, version) {
      return current().revoked.some((r) => r.name === name && r.version === version);
    },
    async revocations() {
      return [...current().revoked];
    },
    getTarget,
    downloadTarget,
  };

  async function loadRevocations(
    updater: Updater,
    trusted: Trusted,
    stage: string,
  ): Promise<RevokedRelease[]> {
    const t = trusted.targets.signed.targets[REVOCATIONS_TARGET];
    if (!t) return [];
    const file = join(stage, 'revocations.json');
    try {
      if (options.flatTargets) {
        const url = joinUrl(options.targetBaseUrl, `${t.hashes.sha256}.revocations.json`);
        await fetcher.downloadFile(url, t.length, async (f) => {
          await t.verify(createReadStream(f));
          await copyFile(f, file);
        });
      } else {
        await updater.downloadTarget(t, file, options.targetBaseUrl);
      }
    } catch (err) {
      throw toClientError(err, 'download the revocation list');
    }
    const doc = JSON.parse(await readFile(file, 'utf8')) as { revoked?: RevokedRelease[] };
    return Array.isArray(doc.revoked) ? doc.revoked : [];
  }
}

/**
 * Order of identifiers that must not depend on the device's locale (nor pay ICU's start-up, ~10
 * ms, as `localeCompare` does on first use).
 */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function verifiesAs(target: TargetFile, path: string): Promise<boolean> {
  if (!(await pathExists(path))) return false;
  try {
    await target.verify(createReadStream(path));
    return true;
  } catch {
    return false;
  }
}

function info(t: TargetFile): TufTargetInfo {
  return { path: t.path, length: t.length, hashes: { ...t.hashes }, custom: clawbackCustom(t) ?? {} };
}

function clawbackCustom(t: TargetFile): Record<string, unknown> | undefined {
  const c = t.custom.clawback;
  return typeof c === 'object' && c !== null && !Array.isArray(c)
    ? (c as Record<string, unknown>)
    : undefined;
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.split('/').map(encodeURIComponent).join('/')}`;
}
