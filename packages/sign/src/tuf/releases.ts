/**
 * Releases as TUF targets (docs/tuf-repository.md, "Target layout contract"):
 * `release add`, `release revoke`, `release list`, and the Sigstore trust root target.
 */
import { basename, join, posix } from 'node:path';
import { ClawbackError, hashFile, isoSeconds, readFileChecked, sha256Hex, utf8 } from '@clawback/core';
import { TargetFile, Targets } from '@tufjs/models';
import semver from 'semver';
import { TufRepoErrors } from './errors.js';
import { Keyring } from './keyring.js';
import { expiryFrom, SPEC_VERSION } from './metadata.js';
import {
  appendAudit,
  commit,
  loadRepo,
  type RepoState,
  signedAt,
  targetsDir,
  withRepoLock,
} from './repository.js';

export const SIGSTORE_TRUSTED_ROOT_TARGET = 'sigstore/trusted_root.json';
export const REVOCATIONS_TARGET = 'clawback/revocations.json';
export const REVOCATIONS_SCHEMA = 'clawback.revocations/v1';

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

export function releaseDir(name: string, version: string): string {
  return `${name}/${version}`;
}

/** Consistent-snapshot file name of a target: `<dir>/<sha256>.<basename>` (TUF §5.7.3). */
export function hashedTargetPath(path: string, sha256: string): string {
  const dir = posix.dirname(path);
  const file = `${sha256}.${posix.basename(path)}`;
  return dir === '.' ? file : `${dir}/${file}`;
}

export function readCustom(target: TargetFile): Record<string, unknown> | undefined {
  const c = target.custom.clawback;
  return typeof c === 'object' && c !== null && !Array.isArray(c)
    ? (c as Record<string, unknown>)
    : undefined;
}

export async function readRevocations(state: RepoState): Promise<RevocationList> {
  const t = state.targets.signed.targets[REVOCATIONS_TARGET];
  if (!t) return { schema: REVOCATIONS_SCHEMA, revoked: [] };
  const sha = t.hashes.sha256 as string;
  const bytes = await readFileChecked(join(targetsDir(state.dir), hashedTargetPath(REVOCATIONS_TARGET, sha)));
  return JSON.parse(bytes.toString('utf8')) as RevocationList;
}

type TargetFileFields = NonNullable<ConstructorParameters<typeof TargetFile>[0]['unrecognizedFields']>;

interface FileTarget {
  path: string;
  source?: string;
  bytes?: Uint8Array;
  custom: Record<string, unknown>;
}

async function makeTarget(f: FileTarget): Promise<{ target: TargetFile; dest: string; sha256: string }> {
  let length: number;
  let sha256: string;
  if (f.bytes) {
    length = f.bytes.length;
    sha256 = sha256Hex(f.bytes);
  } else {
    const h = await hashFile(f.source as string);
    length = h.size;
    sha256 = h.sha256;
  }
  const target = new TargetFile({
    path: f.path,
    length,
    hashes: { sha256 },
    unrecognizedFields: { custom: { clawback: f.custom } } as TargetFileFields,
  });
  return { target, dest: hashedTargetPath(f.path, sha256), sha256 };
}

function nextTargets(state: RepoState, now: Date, targets: Record<string, TargetFile>): Targets {
  return new Targets({
    version: state.targets.signed.version + 1,
    specVersion: SPEC_VERSION,
    expires: expiryFrom(now, state.settings.roles.targets.expiresMs),
    targets,
    unrecognizedFields: signedAt(now),
  });
}

async function keyringFor(
  state: RepoState,
  keysDir?: string,
  keyRefs?: readonly string[],
  env?: NodeJS.ProcessEnv,
) {
  return Keyring.load({
    keysDir: keysDir ?? state.settings.keysDir,
    ...(keyRefs ? { keyRefs } : {}),
    ...(env ? { env } : {}),
  });
}

export interface SigningOptions {
  repo: string;
  now: Date;
  keysDir?: string;
  keyRefs?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

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
  if (!CHANNEL.test(options.channel)) {
    throw new ClawbackError(
      TufRepoErrors.TUF_TARGET_INVALID,
      `channel ${JSON.stringify(options.channel)} is not a valid name`,
      {
        hint: 'Use lower-case letters, digits, ".", "_" or "-" (e.g. stable, beta).',
      },
    );
  }
  if (options.allowDowngrade && !options.reason?.trim()) {
    throw new ClawbackError(TufRepoErrors.TUF_DOWNGRADE_REFUSED, '--allow-downgrade needs --reason', {
      hint: 'Say why the older version must be offered; the reason is signed into the release and the audit log.',
    });
  }
  const signaturePath = options.signature ?? `${options.bundle}.sig.json`;
  const info = await options.verifyBundle({ bundlePath: options.bundle, signaturePath });
  if (!NAME.test(info.name) || semver.valid(info.version) !== info.version) {
    throw new ClawbackError(
      TufRepoErrors.TUF_RELEASE_INVALID,
      `bundle name/version ${info.name}@${info.version} cannot be published`,
      {
        hint: 'The manifest name must be reverse-DNS and the version strict semver.',
      },
    );
  }
  return withRepoLock(options.repo, async () => {
    const state = await loadRepo(options.repo);
    const dir = releaseDir(info.name, info.version);
    const existing = state.targets.signed.targets;
    const revoked = (await readRevocations(state)).revoked;
    if (revoked.some((r) => r.name === info.name && r.version === info.version)) {
      throw new ClawbackError(
        TufRepoErrors.TUF_RELEASE_REVOKED,
        `${info.name}@${info.version} was revoked and can never be published again`,
        {
          hint: 'Publish a new version with the fix.',
        },
      );
    }
    if (existing[`${dir}/bundle.clawback`]) {
      throw new ClawbackError(
        TufRepoErrors.TUF_RELEASE_EXISTS,
        `${info.name}@${info.version} is already published`,
        {
          hint: 'Versions are immutable: bump the version and publish again.',
        },
      );
    }
    const newest = newestInChannel(state, info.name, options.channel);
    let downgrade: { reason: string } | undefined;
    if (newest && semver.lt(info.version, newest)) {
      if (!options.allowDowngrade) {
        throw new ClawbackError(
          TufRepoErrors.TUF_DOWNGRADE_REFUSED,
          `${info.name}@${info.version} is lower than ${newest}, the newest on channel ${options.channel}`,
          { hint: 'To offer an older version deliberately, pass --allow-downgrade --reason "why".' },
        );
      }
      downgrade = { reason: (options.reason as string).trim() };
    }
    const publishedAt = isoSeconds(options.now);
    const attest = (kind: string) => ({ kind, name: info.name, version: info.version });
    const sig = await makeTarget({
      path: `${dir}/bundle.sig.json`,
      source: signaturePath,
      custom: attest('signature'),
    });
    const files = [sig];
    const attestations: ReleaseCustom['attestations'] = {
      signature: { path: sig.target.path, sha256: sig.sha256 },
    };
    if (options.provenance) {
      const p = await makeTarget({
        path: `${dir}/provenance.json`,
        source: options.provenance,
        custom: attest('provenance'),
      });
      files.push(p);
      attestations.provenance = { path: p.target.path, sha256: p.sha256 };
    }
    if (options.sigstoreBundle) {
      const s = await makeTarget({
        path: `${dir}/provenance.sigstore.json`,
        source: options.sigstoreBundle,
        custom: attest('sigstore-bundle'),
      });
      files.push(s);
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
    files.push(bundle);
    const ring = await keyringFor(state, options.keysDir, options.keyRefs, options.env);
    const targets = { ...existing };
    for (const f of files) targets[f.target.path] = f.target;
    const sources = [signaturePath, options.provenance, options.sigstoreBundle, options.bundle];
    await commit(
      state,
      {
        targets: nextTargets(state, options.now, targets),
        files: files.map((f) => ({ source: sourceFor(f.target.path, sources), dest: f.dest })),
      },
      ring,
      options.now,
    );
    await appendAudit(state.dir, options.now, downgrade ? 'tuf.release.downgrade' : 'tuf.release.add', {
      name: info.name,
      version: info.version,
      channel: options.channel,
      sha256: bundle.sha256,
      bundle: basename(options.bundle),
      ...(downgrade ? { reason: downgrade.reason, newest } : {}),
    });
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

function sourceFor(targetPath: string, sources: (string | undefined)[]): string {
  const [sig, prov, sigstore, bundle] = sources;
  if (targetPath.endsWith('/bundle.sig.json')) return sig as string;
  if (targetPath.endsWith('/provenance.json')) return prov as string;
  if (targetPath.endsWith('/provenance.sigstore.json')) return sigstore as string;
  return bundle as string;
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
    const ring = await keyringFor(state, options.keysDir, options.keyRefs, options.env);
    await commit(
      state,
      { targets: nextTargets(state, options.now, targets), files: [{ bytes, dest: listTarget.dest }] },
      ring,
      options.now,
    );
    await appendAudit(state.dir, options.now, 'tuf.release.revoke', { ...revocation });
    return revocation;
  });
}

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
    const ring = await keyringFor(state, options.keysDir, options.keyRefs, options.env);
    await commit(
      state,
      {
        targets: nextTargets(state, options.now, targets),
        files: [{ bytes: new Uint8Array(bytes), dest: t.dest }],
      },
      ring,
      options.now,
    );
    await appendAudit(state.dir, options.now, 'tuf.trust-root.publish', {
      sha256: t.sha256,
      ...(previous ? { replaces: previous } : {}),
    });
    return { path: SIGSTORE_TRUSTED_ROOT_TARGET, sha256: t.sha256, length: t.target.length };
  });
}
