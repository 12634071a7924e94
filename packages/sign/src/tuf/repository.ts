/**
 * The on-disk TUF repository and the one write path every mutation goes through.
 *
 *   REPO/clawback-repo.json          settings: expiry per role, keys directory
 *   REPO/metadata/N.root.json        every root version (clients walk them, TUF 5.3)
 *   REPO/metadata/root.json          the newest root, for provisioning devices
 *   REPO/metadata/N.snapshot.json    consistent snapshots (TUF §6.2)
 *   REPO/metadata/N.targets.json
 *   REPO/metadata/timestamp.json     written last, so readers see a complete new set or the old one
 *   REPO/targets/<dir>/<sha256>.<name>  hash-prefixed target files
 *   REPO/audit/audit.log             hash-chained log of every mutation
 */

import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  AuditLog,
  ClawbackError,
  fsyncDir,
  readFileChecked,
  type Signer,
  withLock,
  writeFileAtomic,
  writeJsonAtomic,
} from '@clawback/core';
import {
  Metadata,
  MetadataKind,
  MetaFile,
  type Root,
  Snapshot,
  type Targets,
  Timestamp,
} from '@tufjs/models';

type JSONObject = Parameters<typeof Metadata.fromJSON>[1];

import { type RepoConfig, TOP_ROLES, type TopRole } from './config.js';
import { TufRepoErrors } from './errors.js';
import type { Keyring } from './keyring.js';
import {
  expiryFrom,
  fileInfo,
  metadataBytes,
  requireThreshold,
  SIGNED_AT_FIELD,
  SPEC_VERSION,
  signMetadata,
} from './metadata.js';

export const REPO_SETTINGS_FILE = 'clawback-repo.json';
export const REPO_SETTINGS_SCHEMA = 'clawback.repo/v1';

export interface RoleTiming {
  expires: string;
  expiresMs: number;
  refreshBefore: string;
  refreshBeforeMs: number;
}

export interface RepoSettings {
  schema: typeof REPO_SETTINGS_SCHEMA;
  /** Absolute path of the keys directory used at init (online keys are looked up here). */
  keysDir: string;
  roles: Record<TopRole, RoleTiming>;
  /** Key names by key id, for status output and error messages. */
  keyNames: Record<string, string>;
}

export interface RepoState {
  dir: string;
  settings: RepoSettings;
  root: Metadata<Root>;
  targets: Metadata<Targets>;
  snapshot: Metadata<Snapshot>;
  timestamp: Metadata<Timestamp>;
}

export function metadataDir(repo: string): string {
  return join(repo, 'metadata');
}
export function targetsDir(repo: string): string {
  return join(repo, 'targets');
}

export function settingsFromConfig(
  config: RepoConfig,
  keysDir: string,
  keyNames: Record<string, string>,
): RepoSettings {
  const roles = {} as Record<TopRole, RoleTiming>;
  for (const r of TOP_ROLES) {
    const { expires, expiresMs, refreshBefore, refreshBeforeMs } = config[r];
    roles[r] = { expires, expiresMs, refreshBefore, refreshBeforeMs };
  }
  return { schema: REPO_SETTINGS_SCHEMA, keysDir: resolve(keysDir), roles, keyNames };
}

async function readMetadataJson(repo: string, file: string, kind: MetadataKind): Promise<JSONObject> {
  const path = join(metadataDir(repo), file);
  const bytes = await readFileChecked(path, 'TUF metadata').catch((cause: unknown) => {
    throw new ClawbackError(
      TufRepoErrors.TUF_REPO_NOT_FOUND,
      `${path} is missing: not a Clawback TUF repository?`,
      {
        cause,
        hint: 'Create one with `clawback repo init --keys DIR --out REPO`, or check the path.',
      },
    );
  });
  try {
    return JSON.parse(bytes.toString('utf8')) as JSONObject;
  } catch (cause) {
    throw corrupt(path, kind, cause);
  }
}

function corrupt(path: string, kind: string, cause: unknown): ClawbackError {
  return new ClawbackError(TufRepoErrors.TUF_REPO_CORRUPT, `${path} is not valid ${kind} metadata`, {
    cause,
    hint: 'Restore the repository directory from its last published copy.',
  });
}

function parsed<T>(path: string, kind: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw corrupt(path, kind, cause);
  }
}

/** Load the current repository state (newest root, timestamp, and the snapshot/targets it names). */
export async function loadRepo(repo: string): Promise<RepoState> {
  const dir = resolve(repo);
  const settingsPath = join(dir, REPO_SETTINGS_FILE);
  const settingsBytes = await readFileChecked(settingsPath, 'repository settings').catch((cause: unknown) => {
    throw new ClawbackError(TufRepoErrors.TUF_REPO_NOT_FOUND, `${dir} is not a Clawback TUF repository`, {
      cause,
      hint: 'Create one with `clawback repo init --keys DIR --out REPO`, or check the path.',
    });
  });
  const settings = JSON.parse(settingsBytes.toString('utf8')) as RepoSettings;
  if (settings.schema !== REPO_SETTINGS_SCHEMA) {
    throw new ClawbackError(TufRepoErrors.TUF_REPO_CORRUPT, `${settingsPath}: unknown schema`, {
      hint: 'This repository was made by an incompatible Clawback version.',
    });
  }
  const R = MetadataKind;
  const rootJson = await readMetadataJson(dir, 'root.json', R.Root);
  const root = parsed('root.json', R.Root, () => Metadata.fromJSON(R.Root, rootJson));
  const tsJson = await readMetadataJson(dir, 'timestamp.json', R.Timestamp);
  const timestamp = parsed('timestamp.json', R.Timestamp, () => Metadata.fromJSON(R.Timestamp, tsJson));
  const snapVersion = timestamp.signed.snapshotMeta.version;
  const snapFile = `${snapVersion}.snapshot.json`;
  const snapJson = await readMetadataJson(dir, snapFile, R.Snapshot);
  const snapshot = parsed(snapFile, R.Snapshot, () => Metadata.fromJSON(R.Snapshot, snapJson));
  const targetsVersion = snapshot.signed.meta['targets.json']?.version;
  if (targetsVersion === undefined) {
    throw new ClawbackError(
      TufRepoErrors.TUF_REPO_CORRUPT,
      `snapshot v${snapVersion} does not list targets.json`,
    );
  }
  const targetsFile = `${targetsVersion}.targets.json`;
  const targetsJson = await readMetadataJson(dir, targetsFile, R.Targets);
  const targets = parsed(targetsFile, R.Targets, () => Metadata.fromJSON(R.Targets, targetsJson));
  return { dir, settings, root, targets, snapshot, timestamp };
}

/** Serialise repository mutations across processes. */
export function withRepoLock<T>(repo: string, fn: () => Promise<T>): Promise<T> {
  return withLock(join(resolve(repo), '.clawback-repo.lock'), fn, { waitMs: 30_000 });
}

/**
 * Append to the repository audit log. With a signer (the online timestamp key, when present)
 * the log's head is anchored by a signed checkpoint, so truncation is detected
 * (`clawback audit verify REPO/audit/audit.log --trusted-key <online key>.pub`).
 */
export async function appendAudit(
  repo: string,
  now: Date,
  kind: string,
  data: Record<string, unknown>,
  signer?: Signer,
): Promise<void> {
  const log = await AuditLog.open(join(resolve(repo), 'audit', 'audit.log'), {
    now: () => now,
    ...(signer ? { signer } : {}),
  });
  await log.append(kind, data, { actor: 'clawback-repo' });
}

/** The key that signs audit checkpoints: the first available timestamp key of `root`. */
export function auditSigner(root: Metadata<Root>, ring: Keyring): Signer | undefined {
  return ring.pick(root.signed.roles.timestamp?.keyIDs ?? [])[0];
}

/** Signers for a role under a given root, or TUF_KEY_MISSING before anything is written. */
export function roleSigners(
  root: Root,
  role: TopRole,
  ring: Keyring,
  names: Record<string, string>,
): Signer[] {
  const def = root.roles[role];
  if (!def) throw new ClawbackError(TufRepoErrors.TUF_REPO_CORRUPT, `root has no ${role} role`);
  const signers = ring.pick(def.keyIDs);
  requireThreshold(role, def.keyIDs, def.threshold, signers, new Map(Object.entries(names)));
  return signers;
}

export function signedAt(now: Date): Record<string, string> {
  return { [SIGNED_AT_FIELD]: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/** A staged change: new documents to sign and publish, target files to copy in. */
export interface Change {
  root?: Metadata<Root>;
  /** New `signed` for targets; signed here with the targets keys of the (new) root. */
  targets?: Targets;
  /** Force a new snapshot even if targets did not change (rotation, expiry refresh). */
  snapshot?: boolean;
  /** Files to place under targets/ before the metadata that names them. */
  files?: { source?: string; bytes?: Uint8Array; dest: string }[];
}

/**
 * Sign and write a change. Order matters for readers of a live directory: target files,
 * then targets and snapshot, then root, then timestamp.json last (one atomic rename), so a
 * client sees either the previous complete set or the new one.
 */
/** A state to commit on top of; a brand-new repository has no snapshot or timestamp yet. */
export type CommitBase = Omit<RepoState, 'targets' | 'snapshot' | 'timestamp'> & {
  targets?: Metadata<Targets>;
  snapshot?: Metadata<Snapshot>;
  timestamp?: Metadata<Timestamp>;
};

export async function commit(
  state: CommitBase,
  change: Change,
  ring: Keyring,
  now: Date,
): Promise<RepoState> {
  const root = change.root ?? state.root;
  const names = state.settings.keyNames;
  const t = state.settings.roles;
  // Resolve every signer first, so a missing key changes nothing.
  const targetsSigners = change.targets ? roleSigners(root.signed, 'targets', ring, names) : [];
  const snapshotSigners = roleSigners(root.signed, 'snapshot', ring, names);
  const timestampSigners = roleSigners(root.signed, 'timestamp', ring, names);

  let targets = state.targets;
  if (change.targets) {
    targets = new Metadata(change.targets);
    await signMetadata(targets, targetsSigners);
  }
  if (!targets) throw new Error('commit: a new repository needs its first targets');
  const targetsBytes = metadataBytes(targets);
  let snapshot = state.snapshot;
  let snapshotBytes: Buffer | undefined;
  if (change.targets || change.snapshot || !snapshot) {
    snapshot = new Metadata(
      new Snapshot({
        version: (state.snapshot?.signed.version ?? 0) + 1,
        specVersion: SPEC_VERSION,
        expires: expiryFrom(now, t.snapshot.expiresMs),
        // TUF 5.5.5 / 5.6.2: version, length and hashes let clients refuse mix-and-match.
        meta: {
          'targets.json': new MetaFile({ version: targets.signed.version, ...fileInfo(targetsBytes) }),
        },
        unrecognizedFields: signedAt(now),
      }),
    );
    await signMetadata(snapshot, snapshotSigners);
    snapshotBytes = metadataBytes(snapshot);
  }
  const snapBytesForTs =
    snapshotBytes ??
    (await readFileChecked(join(metadataDir(state.dir), `${snapshot.signed.version}.snapshot.json`)));
  const timestamp = new Metadata(
    new Timestamp({
      version: (state.timestamp?.signed.version ?? 0) + 1,
      specVersion: SPEC_VERSION,
      expires: expiryFrom(now, t.timestamp.expiresMs),
      snapshotMeta: new MetaFile({ version: snapshot.signed.version, ...fileInfo(snapBytesForTs) }),
      unrecognizedFields: signedAt(now),
    }),
  );
  await signMetadata(timestamp, timestampSigners);

  const mdir = metadataDir(state.dir);
  for (const f of change.files ?? []) {
    const dest = join(targetsDir(state.dir), f.dest);
    await mkdir(dirname(dest), { recursive: true });
    if (f.bytes) await writeFileAtomic(dest, f.bytes);
    else if (f.source) await copyFileAtomic(f.source, dest);
  }
  if (change.targets)
    await writeFileAtomic(join(mdir, `${targets.signed.version}.targets.json`), targetsBytes);
  if (snapshotBytes)
    await writeFileAtomic(join(mdir, `${snapshot.signed.version}.snapshot.json`), snapshotBytes);
  if (change.root) {
    const rootBytes = metadataBytes(change.root);
    await writeFileAtomic(join(mdir, `${change.root.signed.version}.root.json`), rootBytes);
    await writeFileAtomic(join(mdir, 'root.json'), rootBytes);
  }
  await writeFileAtomic(join(mdir, 'timestamp.json'), metadataBytes(timestamp));
  return { ...state, root, targets, snapshot, timestamp };
}

async function copyFileAtomic(source: string, dest: string): Promise<void> {
  const tmp = join(dirname(dest), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await copyFile(source, tmp);
    // Make the copy durable before it becomes visible under its final name.
    const handle = await open(tmp, 'r+');
    await handle.sync().finally(() => handle.close());
    await rename(tmp, dest);
    await fsyncDir(dirname(dest));
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new ClawbackError(
      TufRepoErrors.TUF_TARGET_INVALID,
      `could not copy ${source} into the repository`,
      {
        cause,
        hint: 'Check the file exists and the repository directory is writable.',
      },
    );
  }
}

export async function writeSettings(repo: string, settings: RepoSettings): Promise<void> {
  await writeJsonAtomic(join(repo, REPO_SETTINGS_FILE), settings);
}

/** A metadata expiry relative to now. */
export function remainingMs(expires: string, now: Date): number {
  return new Date(expires).getTime() - now.getTime();
}
