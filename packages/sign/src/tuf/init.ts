/** `clawback repo init`: a new repository from the key layout of keys-template/. */
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ClawbackError, readTextChecked, writeFileAtomic } from '@clawback/core';
import { Metadata, Root, Targets } from '@tufjs/models';
import { parseRepoConfig, TOP_ROLES } from './config.js';
import { TufRepoErrors } from './errors.js';
import { Keyring, loadNamedPublicKey } from './keyring.js';
import {
  expiryFrom,
  metadataBytes,
  requireThreshold,
  SPEC_VERSION,
  signMetadata,
  tufKey,
} from './metadata.js';
import {
  appendAudit,
  auditSigner,
  type CommitBase,
  commit,
  metadataDir,
  roleSigners,
  settingsFromConfig,
  signedAt,
  targetsDir,
  writeSettings,
} from './repository.js';
import { Role } from './role.js';

export interface InitRepoOptions {
  /** Key directory: `repo.yaml` plus `<name>.pub` (and the private `<name>.key` files present). */
  keysDir: string;
  out: string;
  /** Extra private keys (paths or env:VAR), e.g. root keys held on removable media. */
  keyRefs?: readonly string[];
  /** Config file (default `<keysDir>/repo.yaml`). */
  configPath?: string;
  now: Date;
  env?: NodeJS.ProcessEnv;
}

export interface InitRepoResult {
  repo: string;
  rootVersion: number;
  roles: Record<string, { keyids: string[]; threshold: number; expires: string }>;
}

export async function initRepo(options: InitRepoOptions): Promise<InitRepoResult> {
  const keysDir = resolve(options.keysDir);
  const out = resolve(options.out);
  const configPath = options.configPath ?? join(keysDir, 'repo.yaml');
  const config = parseRepoConfig(await readTextChecked(configPath, 'repository config'), configPath);
  if (await nonEmpty(out)) {
    throw new ClawbackError(TufRepoErrors.TUF_REPO_EXISTS, `${out} already exists and is not empty`, {
      hint: 'Choose a new directory; an existing repository changes only through release/keys/refresh commands.',
    });
  }
  const keyNames: Record<string, string> = {};
  const root = new Root({
    version: 1,
    specVersion: SPEC_VERSION,
    expires: expiryFrom(options.now, config.root.expiresMs),
    consistentSnapshot: true,
    unrecognizedFields: signedAt(options.now),
  });
  for (const role of TOP_ROLES) {
    const keyids: string[] = [];
    for (const name of config[role].keys) {
      const pub = await loadNamedPublicKey(keysDir, name);
      keyNames[pub.keyid] = name;
      keyids.push(pub.keyid);
      root.keys[pub.keyid] = tufKey(pub);
    }
    root.roles[role] = new Role({ keyIDs: keyids, threshold: config[role].threshold });
  }
  const ring = await Keyring.load({
    keysDir,
    ...(options.keyRefs ? { keyRefs: options.keyRefs } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const settings = settingsFromConfig(config, keysDir, keyNames);
  const names = new Map(Object.entries(keyNames));
  // Check every role can be signed before writing anything.
  for (const role of TOP_ROLES) {
    const def = root.roles[role] as Role;
    requireThreshold(role, def.keyIDs, def.threshold, ring.pick(def.keyIDs), names);
  }
  const rootMd = new Metadata(root);
  await signMetadata(rootMd, ring.pick((root.roles.root as Role).keyIDs));

  // `commit` writes targets v1 → snapshot v1 → timestamp v1 on top of the signed root.
  const seed: CommitBase = { dir: out, settings, root: rootMd };
  roleSigners(root, 'targets', ring, keyNames);
  await mkdir(metadataDir(out), { recursive: true });
  await mkdir(targetsDir(out), { recursive: true });
  await writeSettings(out, settings);
  const rootBytes = metadataBytes(rootMd);
  await writeFileAtomic(join(metadataDir(out), '1.root.json'), rootBytes);
  await writeFileAtomic(join(metadataDir(out), 'root.json'), rootBytes);
  await commit(
    seed,
    {
      targets: new Targets({
        version: 1,
        specVersion: SPEC_VERSION,
        expires: expiryFrom(options.now, config.targets.expiresMs),
        unrecognizedFields: signedAt(options.now),
      }),
    },
    ring,
    options.now,
  );
  const roles: InitRepoResult['roles'] = {};
  for (const role of TOP_ROLES) {
    const def = root.roles[role] as Role;
    roles[role] = { keyids: def.keyIDs, threshold: def.threshold, expires: config[role].expires };
  }
  await appendAudit(out, options.now, 'tuf.repo.init', { rootVersion: 1, roles }, auditSigner(rootMd, ring));
  return { repo: out, rootVersion: 1, roles };
}

/** True when `dir` exists as anything but an empty directory. */
async function nonEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
