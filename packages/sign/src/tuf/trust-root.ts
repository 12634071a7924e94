/** The Sigstore trusted root as a TUF target (`repo trust-root`). */

import { join } from 'node:path';
import { ClawbackError, readFileChecked } from '@clawback/core';
import { TufRepoErrors } from './errors.js';
import { appendAudit, auditSigner, commit, loadRepo, targetsDir, withRepoLock } from './repository.js';
import {
  filesOf,
  hashedTargetPath,
  keyringFor,
  makeTarget,
  nextTargets,
  SIGSTORE_TRUSTED_ROOT_TARGET,
  type SigningOptions,
} from './targets.js';

export interface TrustRootOptions extends SigningOptions {
  file: string;
}

/** Publish (or replace) the Sigstore `trusted_root.json` as a TUF target, so devices can rotate it. */
export async function publishTrustRoot(
  options: TrustRootOptions,
): Promise<{ path: string; sha256: string; length: number }> {
  const bytes = await readFileChecked(options.file, 'Sigstore trusted root');
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new ClawbackError(TufRepoErrors.TUF_TARGET_INVALID, `${options.file} is not JSON`, { cause });
  }
  const mediaType = (doc as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    throw new ClawbackError(
      TufRepoErrors.TUF_TARGET_INVALID,
      `${options.file} is not a Sigstore trusted_root.json`,
      {
        hint: 'Expected mediaType application/vnd.dev.sigstore.trustedroot+json…; fetch it with the sigstore TUF client.',
      },
    );
  }
  return withRepoLock(options.repo, async () => {
    const state = await loadRepo(options.repo);
    const t = await makeTarget({
      path: SIGSTORE_TRUSTED_ROOT_TARGET,
      bytes: new Uint8Array(bytes),
      custom: { kind: 'sigstore-trusted-root' },
    });
    const previous = state.targets.signed.targets[SIGSTORE_TRUSTED_ROOT_TARGET]?.hashes.sha256;
    const targets = { ...state.targets.signed.targets, [SIGSTORE_TRUSTED_ROOT_TARGET]: t.target };
    const ring = await keyringFor(state, options);
    await commit(
      state,
      {
        targets: nextTargets(state, options.now, targets),
        files: filesOf([t]),
      },
      ring,
      options.now,
    );
    await appendAudit(
      state.dir,
      options.now,
      'tuf.trust-root.publish',
      {
        sha256: t.sha256,
        ...(previous ? { replaces: previous } : {}),
      },
      auditSigner(state.root, ring),
    );
    return { path: SIGSTORE_TRUSTED_ROOT_TARGET, sha256: t.sha256, length: t.target.length };
  });
}

/** The file of the Sigstore trusted root the repository currently publishes, if any. */
export async function publishedTrustRootPath(repo: string): Promise<string | undefined> {
  const state = await loadRepo(repo);
  const t = state.targets.signed.targets[SIGSTORE_TRUSTED_ROOT_TARGET];
  const sha = t?.hashes.sha256;
  return sha ? join(targetsDir(state.dir), hashedTargetPath(SIGSTORE_TRUSTED_ROOT_TARGET, sha)) : undefined;
}
