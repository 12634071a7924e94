/** The stable API of the device-side TUF client (docs/tuf-repository.md, "Device client"). */
import type { Fetcher } from 'tuf-js';
import type { GotFetcherOptions } from './fetcher.js';

export interface TufClientOptions {
  /** Trusted metadata directory: holds `root.json` (pinned at provisioning) and the newest verified set. */
  metadataDir: string;
  /** Where the repository's `metadata/` is served, e.g. `https://updates.example/metadata/`. */
  metadataBaseUrl: string;
  /** Where the repository's `targets/` is served. */
  targetBaseUrl: string;
  /** Scratch space for staging a refresh and partial downloads (default: the OS temp dir). */
  cacheDir?: string;
  /** The time-floor file (default `<metadataDir>.time-floor.json`, beside the metadata set, not in it). */
  floorFile?: string;
  /** Clock (default `new Date()`); expiry is judged against max(clock, floor). */
  now?: () => Date;
  /** A Fetcher, or options for the default got-based one. */
  fetcher?: Fetcher | GotFetcherOptions;
  /** Cap on root versions walked in one refresh (TUF 5.3.3; default 32). */
  maxRootRotations?: number;
  /**
   * Targets are served flat as `<sha256>.<basename>` (a GitHub Release, see
   * `clawback repo publish --github`) instead of under their directories.
   */
  flatTargets?: boolean;
}

export interface RefreshReport {
  rootVersion: number;
  timestampVersion: number;
  snapshotVersion: number;
  targetsVersion: number;
  /** Root versions newly trusted by this refresh. */
  rotatedRoots: number[];
  /** The reference time expiry was judged against. */
  referenceTime: string;
  /** The time floor after the refresh (undefined until metadata carried a signing time). */
  floor?: string;
}

export interface TufRelease {
  name: string;
  version: string;
  channel: string;
  hardwareIds: string[];
  minUpdaterVersion?: string;
  publishedAt?: string;
  /** `<name>/<version>/bundle.clawback` */
  targetPath: string;
  length: number;
  hashes: Record<string, string>;
  /** The bundle target's `custom.clawback` object, as signed. */
  custom: Record<string, unknown>;
}

export interface TufTargetInfo {
  path: string;
  length: number;
  hashes: Record<string, string>;
  custom: Record<string, unknown>;
}

export interface RevokedRelease {
  name: string;
  version: string;
  reason: string;
  revokedAt: string;
  sha256: string;
}

export interface TufClient {
  /** TUF client workflow 5.1–5.6: update root, timestamp, snapshot, targets; persist; advance the floor. */
  refresh(): Promise<RefreshReport>;
  /** Releases offered by the trusted targets (revoked ones never appear), optionally for one agent. */
  listReleases(agent?: string): Promise<TufRelease[]>;
  /** Whether the signed revocation list names `name@version`. */
  isRevoked(name: string, version: string): Promise<boolean>;
  revocations(): Promise<RevokedRelease[]>;
  /** Signed facts about one target, or undefined if the trusted targets do not list it. */
  getTarget(path: string): Promise<TufTargetInfo | undefined>;
  /** Download a target into `dest` (atomically), verifying length and hashes (TUF 5.7.3). */
  downloadTarget(path: string, dest: string): Promise<TufTargetInfo>;
}
