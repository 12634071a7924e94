import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ClawbackError, CoreErrors, fsyncDir } from '@clawback/core';
import { BundleErrors } from './errors.js';
import { encodeManifest, validateManifest } from './manifest.js';
import { type AgentSpec, type FileEntry, MANIFEST_SCHEMA_VERSION, type Manifest } from './manifest-types.js';
import { type ScannedEntry, scanDirectory } from './scan.js';
import { manifestSection, sourceChanged, writePayload } from './tar-writer.js';

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
 * `sourceDateEpoch` give byte-identical output. The manifest comes first but lists
 * every file's digest, and a SHA-256 in hex always has 64 characters: so the
 * manifest's length is known before any file is read, the payload is written after
 * the space it takes (each file hashed from the tar on a worker as it is written),
 * and the manifest is written last into that space. One pass over the data; the
 * manifest describes exactly the bytes the bundle holds.
 */
export async function buildBundle(options: BuildBundleOptions): Promise<BuildBundleResult> {
  const dir = resolve(options.dir);
  const out = resolve(options.out);
  const progress = options.onProgress ?? (() => undefined);
  await checkInputs(dir, out, options.overwrite === true);

  const scanned = await scanDirectory(dir);
  const entriesWith = (digest: (e: Extract<ScannedEntry, { type: 'file' }>) => string): FileEntry[] =>
    scanned.map((e) => {
      if (e.type === 'file')
        return { path: e.path, type: 'file', mode: e.mode, size: e.size, sha256: digest(e) };
      return e.type === 'directory' ? { path: e.path, type: 'directory', mode: e.mode } : { ...e };
    });
  // Validated now, so a bad spec fails before anything is written.
  const placeholder = encodeManifest(
    assembleManifest(
      options.spec,
      entriesWith(() => '0'.repeat(64)),
    ),
  );
  const mtime = new Date((options.sourceDateEpoch ?? 0) * 1000);
  const start = manifestSection(placeholder, mtime).byteLength;

  progress(`writing ${out}: ${scanned.filter((e) => e.type === 'file').length} file(s)`);
  await mkdir(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let manifest: Manifest;
  let manifestBytes: Uint8Array;
  try {
    // Read and write: the hashing workers read each file's range back from the tar.
    const outFh = await open(tmp, 'wx+', 0o644);
    try {
      const digests = await writePayload(outFh, start, scanned, mtime, options.threads ?? 2);
      manifest = assembleManifest(
        options.spec,
        entriesWith((e) => {
          const h = digests.get(e.path);
          if (!h || h.size !== e.size) throw sourceChanged(e.path);
          return h.sha256;
        }),
      );
      manifestBytes = encodeManifest(manifest);
      const section = manifestSection(manifestBytes, mtime);
      if (section.byteLength !== start) throw new Error('manifest length changed with its digests');
      await outFh.write(section, 0, section.byteLength, 0);
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
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') {
      throw new ClawbackError(
        BundleErrors.BUILD_SOURCE_CHANGED,
        `could not read ${dir}: ${(err as Error).message}`,
        {
          cause: err,
          hint: 'Make sure nothing modifies the directory during the build.',
        },
      );
    }
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
