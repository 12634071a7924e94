/**
 * Releases as TUF targets (docs/tuf-repository.md, "Target layout contract"):
 * `release add` and `release list`.
 */
import { basename } from 'node:path';
import { ClawbackError, isoSeconds } from '@clawback/core';
import semver from 'semver';
import { TufRepoErrors } from './errors.js';
import { appendAudit, auditSigner, commit, loadRepo, type RepoState, withRepoLock } from './repository.js';
import { type Revocation, readRevocations, releaseDir } from './revocations.js';
import {
  filesOf,
  keyringFor,
  type MadeTarget,
  makeTarget,
  nextTargets,
  readCustom,
  type SigningOptions,
} from './targets.js';

/** What a verified bundle tells the repository about itself. */
export interface VerifiedBundleInfo {
  name: string;
  version: string;
  hardwareIds: string[];
  minUpdaterVersion?: string;
}

/** Verifies a bundle against its detached signature and returns its manifest facts; throws if it does not verify. */
export type BundleVerifier = (input: {
  bundlePath: string;
  signaturePath: string;
}) => Promise<VerifiedBundleInfo>;

export interface ReleaseCustom {
  kind: 'bundle';
  name: string;
  version: string;
  channel: string;
  hardwareIds: string[];
  minUpdaterVersion?: string;
  publishedAt: string;
  attestations: {
    signature: { path: string; sha256: string };
    provenance?: { path: string; sha256: string };
    sigstore?: { path: string; sha256: string };
  };
  downgrade?: { reason: string };
}

const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/i;
const CHANNEL = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface AddReleaseOptions extends SigningOptions {
  bundle: string;
  /** Detached manifest signature (default `<bundle>.sig.json`). */
  signature?: string;
  provenance?: string;
  sigstoreBundle?: string;
  channel: string;
  allowDowngrade?: boolean;
  reason?: string;
  verifyBundle: BundleVerifier;
}

export interface ReleaseSummary {
  name: string;
  version: string;
  channel: string;
  targetPath: string;
  sha256: string;
  length: number;
  hardwareIds: string[];
  publishedAt: string;
  attestations: ReleaseCustom['attestations'];
  downgrade?: { reason: string };
}

export async function addRelease(options: AddReleaseOptions): Promise<ReleaseSummary> {
  checkAddOptions(options);
  const signaturePath = options.signature ?? `${options.bundle}.sig.json`;
  // Verification happens before the lock: a bundle that does not verify changes nothing.
  const info = await options.verifyBundle({ bundlePath: options.bundle, signaturePath });
  if (!NAME.test(info.name) || semver.valid(info.version) !== info.version) {
    throw new ClawbackError(
      TufRepoErrors.TUF_RELEASE_INVALID,
      `bundle name/version ${info.name}@${info.version} cannot be published`,
      { hint: 'The manifest name must be reverse-DNS and the version strict semver.' },
    );
  }
  return withRepoLock(options.repo, async () => {
    const state = await loadRepo(options.repo);
    const { newest, downgrade } = await checkPublishable(state, info, options);
    const publishedAt = isoSeconds(options.now);
    const { made, bundle, attestations } = await releaseTargets(
      info,
      options,
      signaturePath,
      publishedAt,
      downgrade,
    );
    const targets = { ...state.targets.signed.targets };
    for (const m of made) targets[m.target.path] = m.target;
    const ring = await keyringFor(state, options);
    await commit(
      state,
      { targets: nextTargets(state, options.now, targets), files: filesOf(made) },
      ring,
      options.now,
    );
    await appendAudit(
      state.dir,
      options.now,
      downgrade ? 'tuf.release.downgrade' : 'tuf.release.add',
      {
        name: info.name,
        version: info.version,
        channel: options.channel,
        sha256: bundle.sha256,
        bundle: basename(options.bundle),
        ...(downgrade ? { reason: downgrade.reason, newest } : {}),
      },
      auditSigner(state.root, ring),
    );
    return {
      name: info.name,
      version: info.version,
      channel: options.channel,
      targetPath: bundle.target.path,
      sha256: bundle.sha256,
      length: bundle.target.length,
      hardwareIds: info.hardwareIds,
      publishedAt,
      attestations,
      ...(downgrade ? { downgrade } : {}),
    };
  });
}

function checkAddOptions(options: AddReleaseOptions): void {
  if (!CHANNEL.test(options.channel)) {
    throw new ClawbackError(
      TufRepoErrors.TUF_TARGET_INVALID,
      `channel ${JSON.stringify(options.channel)} is not a valid name`,
      { hint: 'Use lower-case letters, digits, ".", "_" or "-" (e.g. stable, beta).' },
    );
  }
  if (options.allowDowngrade && !options.reason?.trim()) {
    throw new ClawbackError(TufRepoErrors.TUF_DOWNGRADE_REFUSED, '--allow-downgrade needs --reason', {
      hint: 'Say why the older version must be offered; the reason is signed into the release and the audit log.',
    });
  }
}

/** Refuse revoked and already-published versions, and unexplained downgrades on the channel. */
async function checkPublishable(
  state: RepoState,
  info: VerifiedBundleInfo,
  options: AddReleaseOptions,
): Promise<{ newest?: string; downgrade?: { reason: string } }> {
  const id = `${info.name}@${info.version}`;
  const revoked = (await readRevocations(state)).revoked;
  if (revoked.some((r) => r.name === info.name && r.version === info.version)) {
    throw new ClawbackError(
      TufRepoErrors.TUF_RELEASE_REVOKED,
      `${id} was revoked and can never be published again`,
      {
        hint: 'Publish a new version with the fix.',
      },
    );
  }
  if (state.targets.signed.targets[`${releaseDir(info.name, info.version)}/bundle.clawback`]) {
    throw new ClawbackError(TufRepoErrors.TUF_RELEASE_EXISTS, `${id} is already published`, {
      hint: 'Versions are immutable: bump the version and publish again.',
    });
  }
  const newest = newestInChannel(state, info.name, options.channel);
  if (!newest || !semver.lt(info.version, newest)) return newest ? { newest } : {};
  if (!options.allowDowngrade) {
    throw new ClawbackError(
      TufRepoErrors.TUF_DOWNGRADE_REFUSED,
      `${id} is lower than ${newest}, the newest on channel ${options.channel}`,
      { hint: 'To offer an older version deliberately, pass --allow-downgrade --reason "why".' },
    );
  }
  return { newest, downgrade: { reason: (options.reason as string).trim() } };
}

/** The bundle, signature and attestation targets of one release (target layout contract). */
async function releaseTargets(
  info: VerifiedBundleInfo,
  options: AddReleaseOptions,
  signaturePath: string,
  publishedAt: string,
  downgrade: { reason: string } | undefined,
): Promise<{ made: MadeTarget[]; bundle: MadeTarget; attestations: ReleaseCustom['attestations'] }> {
  const dir = releaseDir(info.name, info.version);
  const attest = (kind: string) => ({ kind, name: info.name, version: info.version });
  const sig = await makeTarget({
    path: `${dir}/bundle.sig.json`,
    source: signaturePath,
    custom: attest('signature'),
  });
  const made = [sig];
  const attestations: ReleaseCustom['attestations'] = {
    signature: { path: sig.target.path, sha256: sig.sha256 },
  };
  if (options.provenance) {
    const p = await makeTarget({
      path: `${dir}/provenance.json`,
      source: options.provenance,
      custom: attest('provenance'),
    });
    made.push(p);
    attestations.provenance = { path: p.target.path, sha256: p.sha256 };
  }
  if (options.sigstoreBundle) {
    const s = await makeTarget({
      path: `${dir}/provenance.sigstore.json`,
      source: options.sigstoreBundle,
      custom: attest('sigstore-bundle'),
    });
    made.push(s);
    attestations.sigstore = { path: s.target.path, sha256: s.sha256 };
  }
  const custom: ReleaseCustom = {
    kind: 'bundle',
    name: info.name,
    version: info.version,
    channel: options.channel,
    hardwareIds: info.hardwareIds,
    ...(info.minUpdaterVersion ? { minUpdaterVersion: info.minUpdaterVersion } : {}),
    publishedAt,
    attestations,
    ...(downgrade ? { downgrade } : {}),
  };
  const bundle = await makeTarget({
    path: `${dir}/bundle.clawback`,
    source: options.bundle,
    custom: custom as unknown as Record<string, unknown>,
  });
  made.push(bundle);
  return { made, bundle, attestations };
}

function newestInChannel(state: RepoState, name: string, channel: string): string | undefined {
  let newest: string | undefined;
  for (const t of Object.values(state.targets.signed.targets)) {
    const c = readCustom(t);
    if (c?.kind !== 'bundle' || c.name !== name || c.channel !== channel || typeof c.version !== 'string')
      continue;
    if (!newest || semver.gt(c.version, newest)) newest = c.version;
  }
  return newest;
}

export function listReleasesInState(state: RepoState): ReleaseSummary[] {
  const out: ReleaseSummary[] = [];
  for (const t of Object.values(state.targets.signed.targets)) {
    const c = readCustom(t) as Partial<ReleaseCustom> | undefined;
    if (c?.kind !== 'bundle') continue;
    out.push({
      name: c.name as string,
      version: c.version as string,
      channel: c.channel as string,
      targetPath: t.path,
      sha256: t.hashes.sha256 as string,
      length: t.length,
      hardwareIds: c.hardwareIds ?? [],
      publishedAt: c.publishedAt as string,
      attestations: c.attestations as ReleaseCustom['attestations'],
      ...(c.downgrade ? { downgrade: c.downgrade } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || semver.compare(a.version, b.version));
}

export async function listReleases(
  repo: string,
): Promise<{ releases: ReleaseSummary[]; revoked: Revocation[] }> {
  const state = await loadRepo(repo);
  return { releases: listReleasesInState(state), revoked: (await readRevocations(state)).revoked };
}
