import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ClawbackError, CoreErrors, createSha256, fsyncDir, READ_BLOCK_SIZE } from '@clawback/core';
import { BundleErrors } from './errors.js';
import { hashFiles } from './hash-pool.js';
import { encodeManifest, validateManifest } from './manifest.js';
import {
  type AgentSpec,
  type FileEntry,
  MANIFEST_PATH,
  MANIFEST_SCHEMA_VERSION,
  type Manifest,
} from './manifest-types.js';
import { type ScannedEntry, scanDirectory } from './scan.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from './tar-header.js';

export interface BuildBundleOptions {
  /** Directory whose contents become the payload. */
  dir: string;
  spec: AgentSpec;
  /** Output file; written atomically (temp file + rename). */
  out: string;
  /** Seconds since the epoch written as every member's mtime (`SOURCE_DATE_EPOCH`); default 0. */
  sourceDateEpoch?: number;
  /** Replace an existing output file (default: refuse). */
  overwrite?: boolean;
  /** Threads used to hash files (default 2). */
  threads?: number;
  onProgress?: (message: string) => void;
}

export interface BuildBundleResult {
  path: string;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  /** Size of the bundle file in bytes. */
  size: number;
}

/** Parse `SOURCE_DATE_EPOCH` (reproducible-builds.org): whole seconds, or a usage error naming it. */
export function parseSourceDateEpoch(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,12}$/.test(value)) {
    throw new ClawbackError(
      CoreErrors.USAGE,
      `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(value)}`,
      {
        hint: 'Use `git log -1 --format=%ct` for the commit time.',
      },
    );
  }
  return Number(value);
}

/**
 * Build a deterministic bundle (design §5): the same directory, spec and
 * `sourceDateEpoch` give byte-identical output. Two passes: hash every file (on
 * worker threads) to write the manifest first, then stream the files into the
 * tar while hashing them again, so a file changed mid-build fails the build
 * instead of producing a bundle whose manifest lies.
 */
export async function buildBundle(options: BuildBundleOptions): Promise<BuildBundleResult> {
  const dir = resolve(options.dir);
  const out = resolve(options.out);
  const progress = options.onProgress ?? (() => undefined);
  await checkInputs(dir, out, options.overwrite === true);

  const scanned = await scanDirectory(dir);
  const files = scanned.filter((e): e is Extract<ScannedEntry, { type: 'file' }> => e.type === 'file');
  progress(`hashing ${files.length} file(s)`);
  const hashes = await hashFiles(
    files.map((f) => f.abs),
    options.threads ?? 2,
  ).catch((cause: NodeJS.ErrnoException) => {
    throw new ClawbackError(BundleErrors.BUILD_SOURCE_CHANGED, `could not read ${dir}: ${cause.message}`, {
      cause,
      hint: 'Make sure nothing modifies the directory during the build.',
    });
  });
  const digests = new Map(files.map((f, i) => [f.path, hashes[i]]));
  const entries: FileEntry[] = scanned.map((e) => {
    if (e.type === 'file') {
      const h = digests.get(e.path);
      if (!h || h.size !== e.size) throw changed(e.path);
      return { path: e.path, type: 'file', mode: e.mode, size: e.size, sha256: h.sha256 };
    }
    return e.type === 'directory' ? { path: e.path, type: 'directory', mode: e.mode } : { ...e };
  });
  const manifest = assembleManifest(options.spec, entries);
  const manifestBytes = encodeManifest(manifest);
  const mtime = new Date((options.sourceDateEpoch ?? 0) * 1000);

  progress(`writing ${out}`);
  await mkdir(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const outFh = await open(tmp, 'wx', 0o644);
    try {
      await writeTar(outFh, manifestBytes, scanned, entries, mtime);
      await outFh.sync();
    } finally {
      await outFh.close();
    }
    if (!options.overwrite && (await exists(out))) {
      throw new ClawbackError(BundleErrors.BUILD_OUTPUT_EXISTS, `${out} already exists`);
    }
    await rename(tmp, out);
    await fsyncDir(dirname(out));
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof ClawbackError) throw err;
    throw new ClawbackError(
      CoreErrors.FILE_WRITE_FAILED,
      `could not write ${out}: ${(err as Error).message}`,
      {
        cause: err,
        hint: 'Check free disk space and permissions.',
      },
    );
  }
  const size = (await stat(out)).size;
  return { path: out, manifest, manifestBytes, size };
}

/** Combine the operator's spec with the file list and validate the result as a whole. */
export function assembleManifest(spec: AgentSpec, files: FileEntry[]): Manifest {
  const { policy, ...rest } = spec;
  let policyRef: Manifest['policy'];
  if (policy) {
    const f = files.find((e) => e.path === policy.path);
    if (f?.type !== 'file') {
      throw new ClawbackError(
        BundleErrors.MANIFEST_INVALID,
        `policy.path: ${policy.path} is not a file in the bundle directory`,
        {
          hint: 'Put the policy file inside the bundle directory and give its path relative to it.',
        },
      );
    }
    policyRef = {
      path: policy.path,
      sha256: f.sha256,
      ...(policy.role === undefined ? {} : { role: policy.role }),
    };
  }
  const manifest: Manifest = {
    schema_version: MANIFEST_SCHEMA_VERSION,
    ...rest,
    ...(policyRef ? { policy: policyRef } : {}),
    files,
  };
  return validateManifest(manifest, { source: 'bundle manifest' });
}

/**
 * Write the tar: manifest member, then every entry in order. File data moves through
 * one reused 1 MiB buffer (read, hash, write), so memory is flat and nothing is
 * allocated per block.
 */
async function writeTar(
  out: FileHandle,
  manifestBytes: Uint8Array,
  scanned: readonly ScannedEntry[],
  entries: readonly FileEntry[],
  mtime: Date,
): Promise<void> {
  const write = async (b: Uint8Array) => {
    for (let off = 0; off < b.byteLength; ) off += (await out.write(b, off, b.byteLength - off)).bytesWritten;
  };
  const size = manifestBytes.byteLength;
  await write(encodeHeader({ path: MANIFEST_PATH, type: 'File', mode: 0o644, size, mtime }));
  await write(manifestBytes);
  await write(padding(size));
  const blocks: [Buffer, Buffer] = [Buffer.allocUnsafe(READ_BLOCK_SIZE), Buffer.allocUnsafe(READ_BLOCK_SIZE)];
  for (const [i, e] of scanned.entries()) {
    const m = entries[i];
    if (e.type === 'directory') {
      await write(encodeHeader({ path: e.path, type: 'Directory', mode: 0o755, size: 0, mtime }));
    } else if (e.type === 'symlink') {
      const link = {
        path: e.path,
        type: 'SymbolicLink',
        mode: 0o777,
        size: 0,
        mtime,
        linkpath: e.target,
      } as const;
      await write(encodeHeader(link));
    } else if (m?.type === 'file') {
      await write(encodeHeader({ path: e.path, type: 'File', mode: m.mode, size: m.size, mtime }));
      await copyFile(e.abs, m, blocks, write);
      await write(padding(m.size));
    }
  }
  await write(END_OF_ARCHIVE);
}

/**
 * Copy one payload file into the tar, hashing it again: a file changed since pass 1 fails the
 * build. Two blocks in turn: the write of one block runs while the next is read and hashed.
 */
async function copyFile(
  abs: string,
  m: Extract<FileEntry, { type: 'file' }>,
  blocks: [Buffer, Buffer],
  write: (b: Uint8Array) => Promise<void>,
): Promise<void> {
  const digest = createSha256();
  // O_NOFOLLOW: a file swapped for a symlink after the scan is refused, never followed.
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  let writing: Promise<void> = Promise.resolve();
  try {
    for (let turn = 0; ; turn ^= 1) {
      // This block's last write was awaited before the other block's write began.
      const block = blocks[turn] as Buffer;
      const { bytesRead } = await fh.read(block, 0, block.byteLength, null);
      if (bytesRead === 0) break;
      if (digest.size + bytesRead > m.size) throw changed(m.path);
      const chunk = block.subarray(0, bytesRead);
      digest.update(chunk);
      await writing;
      writing = write(chunk);
      writing.catch(() => undefined); // awaited on the next turn or below
    }
    await writing;
  } finally {
    await writing.catch(() => undefined);
    await fh.close();
  }
  if (digest.size !== m.size || digest.hex() !== m.sha256) throw changed(m.path);
}

function changed(path: string): ClawbackError {
  return new ClawbackError(
    BundleErrors.BUILD_SOURCE_CHANGED,
    `${path} changed while the bundle was being built`,
    {
      hint: 'Make sure nothing modifies the directory during the build, then build again.',
    },
  );
}

async function checkInputs(dir: string, out: string, overwrite: boolean): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(dir);
  } catch (cause) {
    throw new ClawbackError(CoreErrors.FILE_NOT_FOUND, `bundle directory not found: ${dir}`, { cause });
  }
  if (!st.isDirectory()) throw new ClawbackError(CoreErrors.INVALID_INPUT, `${dir} is not a directory`);
  const rel = relative(dir, out);
  if (rel === '' || (rel.split(sep)[0] !== '..' && !isAbsolute(rel))) {
    throw new ClawbackError(CoreErrors.USAGE, `output ${out} is inside the bundle directory ${dir}`, {
      hint: 'Write the bundle outside the directory being bundled.',
    });
  }
  if (!overwrite && (await exists(out))) {
    throw new ClawbackError(BundleErrors.BUILD_OUTPUT_EXISTS, `${out} already exists`, {
      hint: 'Choose another --out path or delete the old bundle first.',
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
