/**
 * The trusted metadata set on disk: staging a copy for tuf-js, the floored expiry check,
 * installing verified roles atomically, and moving the time floor (docs/tuf-repository.md).
 */
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClawbackError, pathExists, writeFileAtomic } from '@clawback/core';
import {
  Metadata,
  MetadataKind,
  type Root,
  type Snapshot,
  type Targets,
  type Timestamp,
} from '@tufjs/models';
import { TufClientErrors } from './errors.js';
import { advanceTimeFloor, readTimeFloor } from './floor.js';

export const SIGNED_AT_FIELD = 'x-clawback-signed-at';
const ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
type Role = (typeof ROLES)[number];

export interface Trusted {
  root: Metadata<Root>;
  timestamp: Metadata<Timestamp>;
  snapshot: Metadata<Snapshot>;
  targets: Metadata<Targets>;
}

/** Copy the trusted set into a staging directory for tuf-js to work on. */
export async function stageTrusted(metadataDir: string, stage: string): Promise<void> {
  for (const role of ROLES) {
    const src = join(metadataDir, `${role}.json`);
    if (await pathExists(src)) await copyFile(src, join(stage, `${role}.json`));
  }
}

/** TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5, judged at the floored reference time. */
export function checkExpiry(trusted: Trusted, reference: Date): void {
  for (const role of ROLES) {
    const signed = trusted[role].signed;
    if (!signed.isExpired(reference)) continue;
    throw new ClawbackError(
      TufClientErrors.TUF_METADATA_EXPIRED,
      `${role} v${signed.version} expired ${signed.expires} (reference time ${reference.toISOString()})`,
      {
        hint: 'The repository must re-sign (`clawback repo refresh`); see runbooks/expired-metadata.md.',
        details: { role, expires: signed.expires, referenceTime: reference.toISOString() },
      },
    );
  }
}

/**
 * Install a fully verified staged set: root first, timestamp last, each file atomically. A role
 * whose bytes did not change is left alone: a device polling an unchanged repository writes
 * nothing (no flash wear, no fsync), and the order of the files that do change is kept.
 */
export async function install(stage: string, metadataDir: string): Promise<void> {
  for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
    const installed = join(metadataDir, `${role}.json`);
    const bytes = await readFile(join(stage, `${role}.json`));
    if (await holds(installed, bytes)) continue;
    await writeFileAtomic(installed, bytes);
  }
}

/** Whether the file at `path` already holds exactly `bytes` (false when it is missing). */
async function holds(path: string, bytes: Buffer): Promise<boolean> {
  return (await readFile(path).catch(() => undefined))?.equals(bytes) === true;
}

async function readRole(dir: string, role: Role): Promise<unknown | undefined> {
  const path = join(dir, `${role}.json`);
  if (!(await pathExists(path))) return undefined;
  return JSON.parse(await readFile(path, 'utf8'));
}

export async function loadLocal(dir: string): Promise<{ root: Metadata<Root> } | undefined> {
  const root = await readRole(dir, 'root');
  if (root === undefined) return undefined;
  try {
    return { root: Metadata.fromJSON(MetadataKind.Root, root as Parameters<typeof Metadata.fromJSON>[1]) };
  } catch (cause) {
    throw new ClawbackError(
      TufClientErrors.TUF_TRUSTED_ROOT_INVALID,
      `trusted root in ${dir} is not TUF root metadata`,
      {
        cause,
        hint: 'Re-provision the device with the repository root.json.',
      },
    );
  }
}

export async function loadTrusted(stage: string): Promise<Trusted> {
  type J = Parameters<typeof Metadata.fromJSON>[1];
  const get = async (role: Role) => (await readRole(stage, role)) as J;
  return {
    root: Metadata.fromJSON(MetadataKind.Root, await get('root')),
    timestamp: Metadata.fromJSON(MetadataKind.Timestamp, await get('timestamp')),
    snapshot: Metadata.fromJSON(MetadataKind.Snapshot, await get('snapshot')),
    targets: Metadata.fromJSON(MetadataKind.Targets, await get('targets')),
  };
}

/** The newest signing time among the verified set; a time after the document's own expiry is ignored. */
export async function advanceFloor(trusted: Trusted, floorFile: string): Promise<Date | undefined> {
  let best: { at: Date; source: string } | undefined;
  for (const role of ROLES) {
    const signed = trusted[role].signed;
    const raw = signed.unrecognizedFields[SIGNED_AT_FIELD];
    if (typeof raw !== 'string') continue;
    const at = new Date(raw);
    if (Number.isNaN(at.getTime()) || at > new Date(signed.expires)) continue;
    if (!best || at > best.at) best = { at, source: `${role} v${signed.version}` };
  }
  if (!best) return readTimeFloor(floorFile);
  return advanceTimeFloor(floorFile, best.at, best.source);
}

export async function keepVerified(stage: string, metadataDir: string, reference: Date): Promise<void> {
  type J = Parameters<typeof Metadata.fromJSON>[1];
  const kinds = {
    root: MetadataKind.Root,
    timestamp: MetadataKind.Timestamp,
    snapshot: MetadataKind.Snapshot,
    targets: MetadataKind.Targets,
  } as const;
  for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
    const staged = join(stage, `${role}.json`);
    const installed = join(metadataDir, `${role}.json`);
    if (!(await pathExists(staged))) continue;
    const bytes = await readFile(staged);
    if (await holds(installed, bytes)) continue;
    let md: { signed: { isExpired(t: Date): boolean } };
    try {
      md = Metadata.fromJSON(kinds[role] as MetadataKind.Root, JSON.parse(bytes.toString('utf8')) as J);
    } catch {
      return;
    }
    // Intermediate roots are kept whatever their expiry (TUF 5.3.8 precedes the 5.3.10 check).
    if (role !== 'root' && md.signed.isExpired(reference)) return;
    await writeFileAtomic(installed, bytes);
  }
}
