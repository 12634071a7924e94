/** Shared pieces for changes that publish targets: paths, custom metadata, the next targets. */
import { hashFile, sha256Hex } from '@clawback/core';
import { TargetFile, Targets } from '@tufjs/models';
import { Keyring } from './keyring.js';
import { expiryFrom, SPEC_VERSION } from './metadata.js';
import { type RepoState, signedAt } from './repository.js';

export const SIGSTORE_TRUSTED_ROOT_TARGET = 'sigstore/trusted_root.json';
export const REVOCATIONS_TARGET = 'clawback/revocations.json';

export interface SigningOptions {
  repo: string;
  now: Date;
  keysDir?: string;
  keyRefs?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** Consistent-snapshot file name of a target: `<dir>/<sha256>.<basename>` (TUF 5.7.3). */
export function hashedTargetPath(path: string, sha256: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? `${sha256}.${path}` : `${path.slice(0, slash)}/${sha256}.${path.slice(slash + 1)}`;
}

export function readCustom(target: TargetFile): Record<string, unknown> | undefined {
  const c = target.custom.clawback;
  return typeof c === 'object' && c !== null && !Array.isArray(c)
    ? (c as Record<string, unknown>)
    : undefined;
}

type TargetFileFields = NonNullable<ConstructorParameters<typeof TargetFile>[0]['unrecognizedFields']>;

export interface FileTarget {
  path: string;
  source?: string;
  bytes?: Uint8Array;
  custom: Record<string, unknown>;
}

export interface MadeTarget {
  target: TargetFile;
  /** Where the file goes under targets/. */
  dest: string;
  sha256: string;
  source?: string;
  bytes?: Uint8Array;
}

/** Hash a file (or bytes) into a TargetFile with `custom.clawback`. */
export async function makeTarget(f: FileTarget): Promise<MadeTarget> {
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
  return {
    target,
    dest: hashedTargetPath(f.path, sha256),
    sha256,
    ...(f.source ? { source: f.source } : {}),
    ...(f.bytes ? { bytes: f.bytes } : {}),
  };
}

/** The files a commit copies in for made targets. */
export function filesOf(
  made: readonly MadeTarget[],
): { source?: string; bytes?: Uint8Array; dest: string }[] {
  return made.map((m) => ({
    dest: m.dest,
    ...(m.bytes ? { bytes: m.bytes } : { source: m.source as string }),
  }));
}

export function nextTargets(state: RepoState, now: Date, targets: Record<string, TargetFile>): Targets {
  return new Targets({
    version: state.targets.signed.version + 1,
    specVersion: SPEC_VERSION,
    expires: expiryFrom(now, state.settings.roles.targets.expiresMs),
    targets,
    unrecognizedFields: signedAt(now),
  });
}

export function keyringFor(state: RepoState, options: SigningOptions): Promise<Keyring> {
  return Keyring.load({
    keysDir: options.keysDir ?? state.settings.keysDir,
    ...(options.keyRefs ? { keyRefs: options.keyRefs } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
}
