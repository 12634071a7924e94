/**
 * `clawback keys rotate`: a new root version that changes the keys (or threshold) of one
 * role. Per the TUF client workflow (5.3.4 and 5.3.5), a device accepts root N+1 only if it
 * is signed by a threshold of the root keys of version N AND a threshold of its own root
 * keys; we check both before writing. When targets/snapshot/timestamp keys change, those
 * roles are re-signed with the new keys in the same change, so the old key's signatures
 * stop being accepted the moment a device takes the new root.
 */
import { ClawbackError, type PublicKey, type Signer } from '@clawback/core';
import { type Key, Metadata, Root, Targets } from '@tufjs/models';
import type { TopRole } from './config.js';
import { TufRepoErrors } from './errors.js';
import { Keyring } from './keyring.js';
import { expiryFrom, requireThreshold, SPEC_VERSION, signMetadata, tufKey } from './metadata.js';
import {
  appendAudit,
  auditSigner,
  commit,
  loadRepo,
  type RepoState,
  signedAt,
  withRepoLock,
  writeSettings,
} from './repository.js';
import { Role } from './role.js';

export interface RotateKeysOptions {
  repo: string;
  role: TopRole;
  add?: readonly { key: PublicKey; name?: string }[];
  /** Keys to remove (a compromised or retired key): key ids, or key names recorded in the repository. */
  remove?: readonly string[];
  threshold?: number;
  /** Private root keys (paths or env:VAR) that sign the new root: old and new root keys. */
  rootKeyRefs: readonly string[];
  /** Other private keys: the new keys of the rotated role when it is online. */
  keyRefs?: readonly string[];
  keysDir?: string;
  now: Date;
  env?: NodeJS.ProcessEnv;
}

export interface RotateKeysResult {
  role: TopRole;
  rootVersion: number;
  keyids: string[];
  threshold: number;
  added: string[];
  removed: string[];
  resigned: TopRole[];
}

export async function rotateKeys(options: RotateKeysOptions): Promise<RotateKeysResult> {
  const add = options.add ?? [];
  if (add.length === 0 && (options.remove ?? []).length === 0 && options.threshold === undefined) {
    throw usage('nothing to rotate: give --add, --remove and/or --threshold');
  }
  return withRepoLock(options.repo, async () => {
    const state = await loadRepo(options.repo);
    const remove = (options.remove ?? []).map((ref) => resolveKeyRef(ref, state.settings.keyNames));
    const { next, keyids, threshold } = nextRoot(state, options, remove);
    const ring = await Keyring.load({
      keysDir: options.keysDir ?? state.settings.keysDir,
      keyRefs: [...options.rootKeyRefs, ...(options.keyRefs ?? [])],
      ...(options.env ? { env: options.env } : {}),
    });
    const keyNames = { ...state.settings.keyNames };
    for (const a of add) if (a.name) keyNames[a.key.keyid] = a.name;
    const rootMd = await signRoot(state.root.signed, next, ring, keyNames);

    const resigned: TopRole[] = ['root'];
    let targets: Targets | undefined;
    if (options.role === 'targets') {
      const t = state.targets.signed;
      targets = new Targets({
        version: t.version + 1,
        specVersion: SPEC_VERSION,
        expires: expiryFrom(options.now, state.settings.roles.targets.expiresMs),
        targets: t.targets,
        unrecognizedFields: signedAt(options.now),
      });
      resigned.push('targets');
    }
    const needsSnapshot = options.role !== 'root';
    if (needsSnapshot) resigned.push('snapshot');
    resigned.push('timestamp');
    const settings = { ...state.settings, keyNames };
    await commit(
      { ...state, settings },
      { root: rootMd, ...(targets ? { targets } : {}), snapshot: needsSnapshot },
      ring,
      options.now,
    );
    await writeSettings(state.dir, settings);
    const result: RotateKeysResult = {
      role: options.role,
      rootVersion: next.version,
      keyids,
      threshold,
      added: add.map((a) => a.key.keyid),
      removed: [...remove],
      resigned,
    };
    await appendAudit(state.dir, options.now, 'tuf.keys.rotate', { ...result }, auditSigner(rootMd, ring));
    return result;
  });
}

/** Root N+1 with the role's keys and threshold changed; keys no role uses leave `keys`. */
function nextRoot(
  state: RepoState,
  options: RotateKeysOptions,
  remove: readonly string[],
): { next: Root; keyids: string[]; threshold: number } {
  const add = options.add ?? [];
  const old = state.root.signed;
  const oldRole = old.roles[options.role] as Role;
  for (const id of remove) {
    if (!oldRole.keyIDs.includes(id)) throw usage(`key ${id} is not a ${options.role} key`);
  }
  for (const { key } of add) {
    if (oldRole.keyIDs.includes(key.keyid) && !remove.includes(key.keyid)) {
      throw usage(`key ${key.keyid} already holds the ${options.role} role`);
    }
  }
  const keyids = [
    ...oldRole.keyIDs.filter((k: string) => !remove.includes(k)),
    ...add.map((a) => a.key.keyid),
  ];
  const threshold = options.threshold ?? Math.min(oldRole.threshold, keyids.length);
  if (keyids.length === 0 || threshold < 1 || threshold > keyids.length) {
    throw usage(`${options.role} would have ${keyids.length} key(s) with threshold ${threshold}`);
  }
  const roles: Record<string, Role> = {};
  for (const [name, r] of Object.entries(old.roles)) {
    roles[name] =
      name === options.role
        ? new Role({ keyIDs: keyids, threshold })
        : new Role({ keyIDs: [...r.keyIDs], threshold: r.threshold });
  }
  const used = new Set(Object.values(roles).flatMap((r) => r.keyIDs));
  const keys: Record<string, Key> = {};
  for (const [id, k] of Object.entries(old.keys)) if (used.has(id)) keys[id] = k;
  for (const { key } of add) keys[key.keyid] = tufKey(key);
  const next = new Root({
    version: old.version + 1,
    specVersion: SPEC_VERSION,
    expires: expiryFrom(options.now, state.settings.roles.root.expiresMs),
    keys,
    roles,
    consistentSnapshot: true,
    unrecognizedFields: signedAt(options.now),
  });
  return { next, keyids, threshold };
}

/** Sign root N+1 with every available old and new root key, after checking both thresholds. */
async function signRoot(
  old: Root,
  next: Root,
  ring: Keyring,
  keyNames: Record<string, string>,
): Promise<Metadata<Root>> {
  const names = new Map(Object.entries(keyNames));
  const oldRoot = old.roles.root as Role;
  const newRoot = next.roles.root as Role;
  // TUF 5.3.4: a threshold of the trusted (old) root's root keys; 5.3.5: a threshold of its own.
  requireThreshold(
    'root (old root keys)',
    oldRoot.keyIDs,
    oldRoot.threshold,
    ring.pick(oldRoot.keyIDs),
    names,
  );
  requireThreshold(
    'root (new root keys)',
    newRoot.keyIDs,
    newRoot.threshold,
    ring.pick(newRoot.keyIDs),
    names,
  );
  const signers: Signer[] = ring.pick([...new Set([...oldRoot.keyIDs, ...newRoot.keyIDs])]);
  const md = new Metadata(next);
  await signMetadata(md, signers);
  return md;
}

function usage(message: string): ClawbackError {
  return new ClawbackError(TufRepoErrors.TUF_ROTATION_INVALID, message, {
    hint: 'See runbooks/key-rotation.md; `clawback repo status REPO` lists each role’s key ids.',
  });
}

/** A key id, or a key name the repository recorded (`online`, `root-1`). */
function resolveKeyRef(ref: string, names: Record<string, string>): string {
  if (/^[0-9a-f]{64}$/.test(ref)) return ref;
  const hits = Object.entries(names).filter(([, n]) => n === ref);
  if (hits.length === 1 && hits[0]) return hits[0][0];
  throw usage(`--remove ${JSON.stringify(ref)} is neither a key id nor a key name in this repository`);
}
