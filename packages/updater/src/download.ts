/**
 * Resumable download of a TUF target over `got`. Bytes land in `<final>.part`; a rerun
 * (after a dropped connection or a crash) asks for the rest with an HTTP Range request.
 * TUF 5.7.3: the signed length is an upper bound enforced while streaming, and the signed
 * SHA-256 is checked before the file is renamed into place.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClawbackError,
  createSha256,
  fsyncDir,
  hashFile,
  READ_BLOCK_SIZE,
  type StreamingDigest,
} from '@clawback/core';
import got, { calculateRetryDelay, RequestError, type RetryOptions } from 'got';
import { UpdaterErrors } from './errors.js';

export interface DownloadOptions {
  url: string;
  /** Where the verified file ends up; the partial file is `${dest}.part`. */
  dest: string;
  length: number;
  sha256: string;
  /** Attempts after the first (each resumes where the last stopped). */
  retries: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
  /** Test hook: called with the byte count after each chunk is written. */
  onChunk?: (bytes: number) => void;
}

export interface DownloadResult {
  bytes: number;
  resumedFrom: number;
  attempts: number;
}

const RETRY_OPTIONS: RetryOptions = {
  limit: Number.POSITIVE_INFINITY,
  methods: ['GET'],
  statusCodes: [408, 413, 429, 500, 502, 503, 504, 521, 522, 524],
  errorCodes: [
    'ETIMEDOUT',
    'ECONNRESET',
    'EADDRINUSE',
    'ECONNREFUSED',
    'EPIPE',
    'ENOTFOUND',
    'ENETUNREACH',
    'EAI_AGAIN',
    'ERR_STREAM_PREMATURE_CLOSE',
  ],
  maxRetryAfter: 30_000,
  backoffLimit: 15_000,
  noise: 100,
  enforceRetryRules: true,
  calculateDelay: ({ computedValue }) => computedValue,
};

function diskError(err: unknown, path: string): ClawbackError | null {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ClawbackError(UpdaterErrors.DISK_FULL, `no space left while writing ${path}`, {
      cause: err,
      hint: 'Free space on the device; the active slot is untouched and the next apply resumes.',
    });
  }
  return null;
}

async function hashExisting(part: string, digest: StreamingDigest): Promise<number> {
  try {
    for await (const chunk of createReadStream(part, { highWaterMark: READ_BLOCK_SIZE })) {
      digest.update(chunk as Buffer);
    }
    return digest.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

export async function downloadResumable(o: DownloadOptions): Promise<DownloadResult> {
  // A previous run may have finished and crashed before recording it: re-check, don't refetch.
  const existing = await stat(o.dest).catch(() => null);
  if (existing) {
    const h = await hashFile(o.dest);
    if (h.size === o.length && h.sha256 === o.sha256)
      return { bytes: h.size, resumedFrom: h.size, attempts: 0 };
    await rm(o.dest, { force: true });
  }
  const part = `${o.dest}.part`;
  let resumedFrom: number | undefined;
  let attempts = 0;
  let digest: StreamingDigest;
  for (;;) {
    o.signal?.throwIfAborted();
    // The digest always covers exactly the bytes on disk, whatever an interrupted write left.
    digest = createSha256();
    let offset = await hashExisting(part, digest);
    if (offset > o.length) {
      await rm(part, { force: true });
      digest = createSha256();
      offset = 0;
    }
    resumedFrom ??= offset;
    if (offset === o.length) break;
    attempts += 1;
    try {
      await fetchRange(o, part, offset, digest);
    } catch (err) {
      if (err instanceof ClawbackError) throw err;
      const full = diskError(err, part);
      if (full) throw full;
      const delay =
        err instanceof RequestError
          ? calculateRetryDelay({
              attemptCount: attempts,
              retryOptions: RETRY_OPTIONS,
              error: err,
              computedValue: 0,
            })
          : 250 * 2 ** Math.min(attempts, 6);
      if (attempts > o.retries || delay === 0) {
        throw new ClawbackError(
          UpdaterErrors.DOWNLOAD_FAILED,
          `download of ${o.url} failed after ${attempts} attempt(s): ${(err as Error).message}`,
          {
            cause: err,
            hint: 'Nothing was installed. The partial download is kept; the next `clawback-updater apply` resumes it.',
            details: { length: o.length },
          },
        );
      }
      await sleep(delay, undefined, o.signal ? { signal: o.signal } : {});
    }
  }
  const handle = await open(part, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  const actual = digest.hex();
  if (actual !== o.sha256) {
    await rm(part, { force: true });
    throw new ClawbackError(
      UpdaterErrors.TARGET_HASH_MISMATCH,
      `${o.url}: sha256 ${actual} differs from the signed ${o.sha256}`,
      {
        hint: 'The mirror served different bytes than the TUF targets metadata signed. Nothing was installed.',
      },
    );
  }
  await rename(part, o.dest);
  await fsyncDir(dirname(o.dest));
  return { bytes: o.length, resumedFrom: resumedFrom ?? 0, attempts };
}

/** One request from `offset`. A 200 answer to a Range request restarts the file from byte 0. */
async function fetchRange(
  o: DownloadOptions,
  part: string,
  offset: number,
  digest: StreamingDigest,
): Promise<void> {
  const stream = got.stream(o.url, {
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    retry: { limit: 0 },
    timeout: { connect: o.timeoutMs, response: o.timeoutMs, read: o.timeoutMs },
    ...(o.signal ? { signal: o.signal } : {}),
    decompress: false,
    throwHttpErrors: false,
  });
  const response = await new Promise<{ statusCode: number }>((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('error', reject);
  });
  if (offset > 0 && response.statusCode === 200) {
    // The server ignored Range: drop what we have and ask again from byte 0.
    stream.destroy();
    await truncate(part, 0);
    return;
  }
  if (response.statusCode === 416) {
    stream.destroy();
    throw new ClawbackError(
      UpdaterErrors.TARGET_LENGTH_MISMATCH,
      `${o.url}: server has fewer bytes than the ${offset} already downloaded`,
      { hint: 'The mirror serves a different file than the TUF metadata signed.' },
    );
  }
  if (response.statusCode !== 200 && response.statusCode !== 206) {
    stream.destroy();
    const status = response.statusCode;
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new ClawbackError(UpdaterErrors.DOWNLOAD_FAILED, `HTTP ${status} for ${o.url}`, {
        hint: 'The repository does not serve a target its metadata signed; check the mirror. Nothing was installed.',
      });
    }
    throw new Error(`HTTP ${status} for ${o.url}`);
  }
  let written = offset;
  let reported = offset;
  const guard = new Transform({
    transform(chunk: Buffer, _enc, done) {
      written += chunk.byteLength;
      // TUF 5.7.3: never accept more bytes than the signed length.
      if (written > o.length) {
        done(
          new ClawbackError(
            UpdaterErrors.TARGET_LENGTH_MISMATCH,
            `${o.url}: more than the signed ${o.length} bytes`,
            {
              hint: 'The mirror served a different file than the TUF metadata signed. Nothing was installed.',
            },
          ),
        );
        return;
      }
      digest.update(chunk);
      o.onChunk?.(written);
      if (written - reported >= 16 * 1024 * 1024) {
        reported = written;
        o.onProgress?.(written, o.length);
      }
      done(null, chunk);
    },
  });
  const sink = createWriteStream(part, { flags: offset > 0 ? 'a' : 'w', highWaterMark: READ_BLOCK_SIZE });
  await pipeline(stream, guard, sink);
  o.onProgress?.(written, o.length);
  if (written < o.length) {
    const e = new Error(`connection closed after ${written} of ${o.length} bytes`) as NodeJS.ErrnoException;
    e.code = 'ERR_STREAM_PREMATURE_CLOSE';
    throw e;
  }
}
