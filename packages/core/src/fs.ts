/**
 * The file-system seam of core: atomic writes, directory fsync, a lock file, and
 * key loading. Everything that must survive a power cut goes through
 * `writeFileAtomic` (design §6 invariant 3).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Sha256Hex, sha256OfStream } from './digest.js';
import { ClawbackError, CoreErrors } from './errors.js';
import {
  type KeyPair,
  type PublicKey,
  parsePrivateKey,
  parsePublicKey,
  type Signer,
  signerFromKeyPair,
} from './keys.js';

/** Read size for streaming file work; large blocks keep syscalls and hashing overhead low. */
export const READ_BLOCK_SIZE = 1 << 20;

export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some file systems refuse fsync on a directory (EINVAL/EISDIR); the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await handle?.close();
  }
}

export interface AtomicWriteOptions {
  mode?: number;
  /** Skip fsync (tests of non-durable scratch data only). */
  durable?: boolean;
}

/**
 * Write a file so that readers see either the old or the new content, never a
 * mix: write a temp file beside it, fsync it, rename over the target, fsync the
 * directory. A crash at any point leaves the old file or the new one.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const durable = options.durable ?? true;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, 'wx', options.mode ?? 0o644);
    await handle.writeFile(data);
    if (durable) await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
    if (durable) await fsyncDir(dir);
  } catch (cause) {
    await handle?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new ClawbackError(
      CoreErrors.FILE_WRITE_FAILED,
      `could not write ${path}: ${(cause as Error).message}`,
      {
        cause,
        hint: 'Check free disk space and permissions on the directory.',
        details: { path, errno: (cause as NodeJS.ErrnoException).code },
      },
    );
  }
}

export async function writeJsonAtomic(
  path: string,
  value: unknown,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Read a file, turning "missing" and "unreadable" into coded errors that name it. */
export async function readFileChecked(path: string, what = 'file'): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ClawbackError(CoreErrors.FILE_NOT_FOUND, `${what} not found: ${path}`, {
        cause,
        hint: 'Check the path.',
      });
    }
    throw new ClawbackError(
      CoreErrors.FILE_READ_FAILED,
      `could not read ${what} ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

export async function readTextChecked(path: string, what = 'file'): Promise<string> {
  return (await readFileChecked(path, what)).toString('utf8');
}

export async function readJsonChecked(path: string, what = 'file'): Promise<unknown> {
  const text = await readTextChecked(path, what);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ClawbackError(
      CoreErrors.JSON_INVALID,
      `${what} ${path} is not valid JSON: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Stream a file through SHA-256 in large blocks. */
export async function hashFile(path: string): Promise<{ sha256: Sha256Hex; size: number }> {
  return sha256OfStream(createReadStream(path, { highWaterMark: READ_BLOCK_SIZE }));
}

// ---------------------------------------------------------------------------
// Lock file: exclusive create, holder pid inside, stale locks (dead pid) taken over.

export interface LockOptions {
  /** How long to wait for a held lock before failing with LOCK_HELD. */
  waitMs?: number;
  signal?: AbortSignal;
}

export async function withLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  await mkdir(dirname(lockPath), { recursive: true });
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await lockIsStale(lockPath)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new ClawbackError(CoreErrors.LOCK_HELD, `${lockPath} is held by another process`, {
          hint: 'Wait for the other run to finish; if no other run exists, remove the lock file.',
        });
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function lockIsStale(lockPath: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch {
    return false;
  }
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    // A lock without a pid is a crash between create and write; treat as stale after a moment.
    try {
      const s = await stat(lockPath);
      return Date.now() - s.mtimeMs > 2_000;
    } catch {
      return false;
    }
  }
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

// ---------------------------------------------------------------------------
// Key loading. A key reference is a path, or `env:NAME` for a key held in an
// environment variable (a CI secret). Key material never appears in errors.

export async function loadKeyText(ref: string, env: NodeJS.ProcessEnv, what: string): Promise<string> {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = env[name];
    if (value === undefined || value.trim() === '') {
      throw new ClawbackError(CoreErrors.ENV_MISSING, `${what}: environment variable ${name} is not set`, {
        hint: `Set ${name} (for example from a CI secret) or pass a key file path.`,
      });
    }
    return value;
  }
  try {
    return await readFile(ref, 'utf8');
  } catch (cause) {
    throw new ClawbackError(CoreErrors.KEY_NOT_FOUND, `${what}: cannot read ${ref}`, {
      cause,
      hint: 'Check the path, or generate a key with `clawback keys generate`.',
    });
  }
}

export async function loadKeyPair(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<KeyPair> {
  return parsePrivateKey(await loadKeyText(ref, env, 'private key'), ref.startsWith('env:') ? ref : ref);
}

export async function loadSigner(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<Signer> {
  return signerFromKeyPair(await loadKeyPair(ref, env));
}

export async function loadPublicKey(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<PublicKey> {
  return parsePublicKey(await loadKeyText(ref, env, 'public key'), ref);
}
