/**
 * The two seams between the updater and the release format (house style 6):
 * - `UpdateSource` yields signed release candidates and their bytes (TUF over got);
 * - `ReleaseVerifier` checks a candidate's detached manifest signature, provenance and
 *   compatibility before a byte of the bundle is downloaded;
 * - `BundleInstaller` streams a bundle (straight from the download) into an empty slot,
 *   checking every file's digest as it is written.
 * The default implementations (tuf-source.ts, release-verifier.ts, below) use
 * @clawback/bundle and @clawback/verify, the same code `clawback bundle verify` runs.
 */
import type { Manifest } from '@clawback/bundle';
import { ClawbackError } from '@clawback/core';
import { UpdaterErrors } from './errors.js';
import type { TargetInfo } from './state.js';

export interface ReleaseCandidate extends TargetInfo {
  attestations: NonNullable<TargetInfo['attestations']>;
}

export interface UpdateSource {
  /** TUF client workflow: root, timestamp, snapshot, targets (network). */
  refresh(): Promise<void>;
  listReleases(agent: string): Promise<ReleaseCandidate[]>;
  /** Versions of `agent` on the signed revocation list. */
  revokedVersions(agent: string): Promise<Set<string>>;
  /** A small target (signature, provenance), verified against TUF length and hashes. */
  fetchTarget(path: string): Promise<Uint8Array>;
  /** URL of a target for the resumable download (consistent-snapshot name included). */
  targetUrl(candidate: TargetInfo): Promise<string>;
}

export interface ReleaseTrust {
  releaseKeys: import('@clawback/core').PublicKey[];
  threshold: number;
  provenance: import('./config.js').ProvenancePolicyConfig | null;
  hardwareId: string;
  updaterVersion: string;
}

export interface VerifiedRelease {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  /** Names of the checks that passed, for the audit log. */
  checks: string[];
}

export interface ReleaseVerifier {
  verify(input: {
    target: TargetInfo;
    signature: Uint8Array;
    provenance: Uint8Array | null;
    /** The Sigstore bundle over the provenance and the pinned trusted root, both fetched through TUF. */
    sigstore: { bundle: Uint8Array; trustedRoot: Uint8Array } | null;
    trust: ReleaseTrust;
    now: Date;
  }): VerifiedRelease;
}

export interface InstallResult {
  fileCount: number;
  payloadBytes: number;
}

export interface InstallInput {
  /** The bundle's bytes from the first (a download stream that verifies as it goes). */
  source: AsyncIterable<Uint8Array>;
  /** An empty slot directory. */
  slotDir: string;
  /** The manifest bytes whose signature verified; the bundle's first member must equal them. */
  manifestBytes: Uint8Array;
  signal?: AbortSignal;
}

export interface BundleInstaller {
  install(input: InstallInput): Promise<InstallResult>;
}

function isNoSpace(err: unknown): boolean {
  for (
    let e = err as { code?: string; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  ) {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
  }
  return false;
}

/** Streams the bundle file through `extractBundle` (design §5 safe reader, §6 invariant 2). */
export class StreamingBundleInstaller implements BundleInstaller {
  async install(input: InstallInput): Promise<InstallResult> {
    try {
      // Loaded on first use: commands that never install (boot, status) start faster without it.
      const { extractBundle } = await import('@clawback/bundle');
      const result = await extractBundle(input.source, input.slotDir, {
        expectedManifest: input.manifestBytes,
        durable: true,
        ...(input.signal ? { signal: input.signal } : {}),
      });
      return { fileCount: result.fileCount, payloadBytes: result.payloadBytes };
    } catch (err) {
      if (isNoSpace(err)) {
        throw new ClawbackError(UpdaterErrors.DISK_FULL, `no space left writing slot ${input.slotDir}`, {
          cause: err,
          hint: 'Free space on the device. The active slot is untouched; the next apply retries.',
        });
      }
      throw err;
    }
  }
}
