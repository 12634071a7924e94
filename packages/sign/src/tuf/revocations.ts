/**
 * Revocation (docs/tuf-repository.md, "Revocation"): a revoked release leaves the signed targets
 * and is named in the signed target `clawback/revocations.json`, which devices consult.
 */

import { join } from 'node:path';
import { ClawbackError, isoSeconds, readFileChecked, utf8 } from '@clawback/core';
import type { TargetFile } from '@tufjs/models';
import { TufRepoErrors } from './errors.js';
import {
  appendAudit,
  auditSigner,
  commit,
  loadRepo,
  type RepoState,
  targetsDir,
  withRepoLock,
} from './repository.js';
import {
  filesOf,
  hashedTargetPath,
  keyringFor,
  makeTarget,
  nextTargets,
  REVOCATIONS_TARGET,
  type SigningOptions,
} from './targets.js';

export const REVOCATIONS_SCHEMA = 'clawback.revocations/v1';

export interface Revocation {
  name: string;
  version: string;
  reason: string;
  revokedAt: string;
  /** SHA-256 of the revoked bundle, so a device can refuse the bytes even under another name. */
  sha256: string;
}

export interface RevocationList {
  schema: typeof REVOCATIONS_SCHEMA;
  revoked: Revocation[];
}

export function releaseDir(name: string, version: string): string {
  return `${name}/${version}`;
}

export async function readRevocations(state: RepoState): Promise<RevocationList> {
  const t = state.targets.signed.targets[REVOCATIONS_TARGET];
  if (!t) return { schema: REVOCATIONS_SCHEMA, revoked: [] };
  const sha = t.hashes.sha256 as string;
  const bytes = await readFileChecked(join(targetsDir(state.dir), hashedTargetPath(REVOCATIONS_TARGET, sha)));
  return JSON.parse(bytes.toString('utf8')) as RevocationList;
}

export interface RevokeReleaseOptions extends SigningOptions {
  name: string;
  version: string;
  reason: string;
}

/**
 * Withdraw a release: its targets leave the signed targets metadata, and the signed
 * revocation list (a target itself) names it, so a device refuses it even when a
 * console directs it there or a mirror still serves the old files.
 */
export async function revokeRelease(options: RevokeReleaseOptions): Promise<Revocation> {
  if (!options.reason.trim()) {
    throw new ClawbackError(TufRepoErrors.TUF_TARGET_INVALID, 'a revocation needs --reason', {
      hint: 'Say why the release is withdrawn; the reason is signed and audited.',
    });
  }
  return withRepoLock(options.repo, async () => {
    const state = await loadRepo(options.repo);
    const dir = releaseDir(options.name, options.version);
    const bundle = state.targets.signed.targets[`${dir}/bundle.clawback`];
    const list = await readRevocations(state);
    if (list.revoked.some((r) => r.name === options.name && r.version === options.version)) {
      throw new ClawbackError(
        TufRepoErrors.TUF_RELEASE_REVOKED,
        `${options.name}@${options.version} is already revoked`,
        {
          hint: 'Nothing to do; `clawback release list REPO` shows revocations.',
        },
      );
    }
    if (!bundle) {
      throw new ClawbackError(
        TufRepoErrors.TUF_RELEASE_NOT_FOUND,
        `${options.name}@${options.version} is not published in ${state.dir}`,
        {
          hint: 'Check the name and version with `clawback release list REPO`.',
        },
      );
    }
    const revocation: Revocation = {
      name: options.name,
      version: options.version,
      reason: options.reason.trim(),
      revokedAt: isoSeconds(options.now),
      sha256: bundle.hashes.sha256 as string,
    };
    const next: RevocationList = { schema: REVOCATIONS_SCHEMA, revoked: [...list.revoked, revocation] };
    const bytes = utf8(`${JSON.stringify(next, null, 2)}\n`);
    const listTarget = await makeTarget({ path: REVOCATIONS_TARGET, bytes, custom: { kind: 'revocations' } });
    const targets: Record<string, TargetFile> = {};
    for (const [path, t] of Object.entries(state.targets.signed.targets)) {
      if (!path.startsWith(`${dir}/`)) targets[path] = t;
    }
    targets[REVOCATIONS_TARGET] = listTarget.target;
    const ring = await keyringFor(state, options);
    await commit(
      state,
      { targets: nextTargets(state, options.now, targets), files: filesOf([listTarget]) },
      ring,
      options.now,
    );
    await appendAudit(
      state.dir,
      options.now,
      'tuf.release.revoke',
      { ...revocation },
      auditSigner(state.root, ring),
    );
    return revocation;
  });
}
