import { open, stat } from 'node:fs/promises';
import { ClawbackError, CoreErrors, hashFile, READ_BLOCK_SIZE, type Sha256Hex } from '@clawback/core';

function readError(path: string, what: string, cause: unknown): ClawbackError {
  const code = (cause as NodeJS.ErrnoException).code;
  return new ClawbackError(
    code === 'ENOENT' ? CoreErrors.FILE_NOT_FOUND : CoreErrors.FILE_READ_FAILED,
    `cannot read ${what} ${path}: ${(cause as Error).message}`,
    { cause, hint: 'Check the path.' },
  );
}

/** Open a bundle for streaming in 1 MiB blocks; a missing file is a coded FILE_NOT_FOUND. */
export async function openBundle(path: string): Promise<AsyncIterable<Uint8Array>> {
  try {
    const fh = await open(path, 'r');
    return fh.createReadStream({ highWaterMark: READ_BLOCK_SIZE });
  } catch (cause) {
    throw readError(path, 'bundle', cause);
  }
}

/** SHA-256 of a whole bundle file (the provenance subject digest). */
export async function hashBundle(path: string): Promise<{ sha256: Sha256Hex; size: number }> {
  try {
    return await hashFile(path);
  } catch (cause) {
    throw readError(path, 'bundle', cause);
  }
}

/** Fail early, with a coded error, when an input file is missing. */
export async function requireFile(path: string, what: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
  } catch (cause) {
    throw readError(path, what, cause);
  }
}
