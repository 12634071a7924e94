/**
 * Resumable download of a TUF target over `got`, as a byte stream the installer consumes
 * directly (one pass: network → length guard → SHA-256 → slot). Every byte that arrives is
 * also appended to `<part>` so a rerun after a dropped connection or a crash replays it and
 * asks only for the rest with an HTTP Range request.
 * TUF 5.7.3: the signed length is an upper bound enforced while streaming, and the stream
 * ends only after the signed SHA-256 matched; a consumer sees the error otherwise.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchedWriter } from '@clawback/bundle';
import { ClawbackError, createSha256, fsyncDir, READ_BLOCK_SIZE } from '@clawback/core';
import got, { calculateRetryDelay, RequestError, type RetryOptions } from 'got';
import { UpdaterErrors } from './errors.js';

export interface TargetStreamOptions {
  url: string;
  /** Resume file: bytes received so far (kept across runs, removed once verified). */
  part: string;
  length: number;
  sha256: string;
  /** Attempts after the first (each resumes where the last stopped). */
  retries: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
  /** Test hook: called with the byte count after each network chunk is recorded. */
  onChunk?: (bytes: number) => void;
}

export interface TargetStreamStats {
  bytes: number;
  resumedFrom: number;
  attempts: number;
}

// got's own retry policy decides which failures are worth another attempt and how long to wait;
// the loop below only adds what got cannot do for a stream: resuming at the right byte.
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

function noSpace(err: unknown, path: string): ClawbackError | null {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return null;
  return new ClawbackError(UpdaterErrors.DISK_FULL, `no space left while writing ${path}`, {
    cause: err,
    hint: 'Free space on the device; the active slot is untouched and the next apply resumes.',
  });
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/**
 * The target's bytes from byte 0, resuming as needed. `stats` is filled in as it goes.
 * Throws TARGET_LENGTH_MISMATCH, TARGET_HASH_MISMATCH (refusals), DISK_FULL, or
 * DOWNLOAD_FAILED (retries exhausted; the resume file is kept for the next run).
 */
export async function* streamTarget(
  o: TargetStreamOptions,
  stats: TargetStreamStats,
): AsyncGenerator<Uint8Array> {
  await mkdir(dirname(o.part), { recursive: true });
  const digest = createSha256();
  let offset = 0;
  // Replay what an earlier run received. Never more than the signed length.
  const existing = (await stat(o.part).catch(() => null))?.size ?? 0;
  if (existing > o.length) await rm(o.part, { force: true });
  else if (existing > 0) {
    for await (const chunk of createReadStream(o.part, { highWaterMark: READ_BLOCK_SIZE })) {
      const buf = chunk as Buffer;
      digest.update(buf);
      offset += buf.byteLength;
      yield buf;
    }
  }
  stats.resumedFrom = offset;
  stats.bytes = offset;
  let fh: FileHandle;
  try {
    fh = await open(o.part, 'a');
  } catch (err) {
    throw noSpace(err, o.part) ?? err;
  }
  // The resume file only needs to be a prefix of the target: batched appends, one in flight,
  // keep it one while the bytes already go on to the slot.
  const part = new BatchedWriter(fh);
  let reported = offset;
  let collected = offset;
  try {
    while (offset < o.length) {
      o.signal?.throwIfAborted();
      stats.attempts += 1;
      try {
        const stream = got.stream(o.url, {
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          retry: { limit: 0 },
          timeout: { connect: o.timeoutMs, response: o.timeoutMs, socket: o.timeoutMs },
          throwHttpErrors: false,
          decompress: false,
          ...(o.signal ? { signal: o.signal } : {}),
        });
        const status = await new Promise<number>((resolve, reject) => {
          stream.once('response', (r: { statusCode: number }) => resolve(r.statusCode));
          stream.once('error', reject);
        });
        if (status !== 200 && status !== 206) {
          stream.destroy();
          if (status >= 400 && status < 500 && status !== 408 && status !== 429 && status !== 416) {
            throw new ClawbackError(UpdaterErrors.DOWNLOAD_FAILED, `HTTP ${status} for ${o.url}`, {
              hint: 'The repository does not serve a target its metadata signed; check the mirror. Nothing was installed.',
            });
          }
          throw new HttpStatusError(status);
        }
        // A server that ignores Range sends the file from byte 0: skip what we already have.
        let skip = offset > 0 && status === 200 ? offset : 0;
        for await (const raw of stream) {
          let chunk = raw as Buffer;
          if (skip > 0) {
            const n = Math.min(skip, chunk.byteLength);
            skip -= n;
            chunk = chunk.subarray(n);
            if (chunk.byteLength === 0) continue;
          }
          // TUF 5.7.3: never accept more bytes than the signed length.
          if (offset + chunk.byteLength > o.length) {
            stream.destroy();
            throw new ClawbackError(
              UpdaterErrors.TARGET_LENGTH_MISMATCH,
              `${o.url}: more than the signed ${o.length} bytes`,
              {
                hint: 'The mirror served a different file than the TUF metadata signed. Nothing was installed.',
              },
            );
          }
          try {
            await part.write(chunk);
          } catch (err) {
            stream.destroy();
            throw noSpace(err, o.part) ?? err;
          }
          digest.update(chunk);
          offset += chunk.byteLength;
          stats.bytes = offset;
          o.onChunk?.(offset);
          if (offset - collected >= COLLECT_EVERY_BYTES) {
            collected = offset;
            collectYoungGarbage();
          }
          if (offset - reported >= 16 * 1024 * 1024) {
            reported = offset;
            o.onProgress?.(offset, o.length);
          }
          yield chunk;
        }
        if (offset < o.length)
          throw new RequestErrorLike(`connection closed after ${offset} of ${o.length} bytes`);
      } catch (err) {
        if (err instanceof ClawbackError) throw err;
        const delay =
          err instanceof RequestError
            ? calculateRetryDelay({
                attemptCount: stats.attempts,
                retryOptions: RETRY_OPTIONS,
                error: err,
                computedValue: 0,
              })
            : 250 * 2 ** Math.min(stats.attempts, 6);
        if (stats.attempts > o.retries || delay === 0) {
          throw new ClawbackError(
            UpdaterErrors.DOWNLOAD_FAILED,
            `download of ${o.url} failed after ${stats.attempts} attempt(s): ${(err as Error).message}`,
            {
              cause: err,
              hint: 'Nothing was installed. The bytes received are kept; the next `clawback-updater apply` resumes.',
              details: { bytes: offset, length: o.length },
            },
          );
        }
        await sleep(delay, undefined, o.signal ? { signal: o.signal } : {});
      }
    }
    try {
      await part.drain();
    } catch (err) {
      throw noSpace(err, o.part) ?? err;
    }
  } finally {
    await part.drain().catch(() => undefined);
    await fh.close().catch(() => undefined);
  }
  o.onProgress?.(offset, o.length);
  const actual = digest.hex();
  if (actual !== o.sha256) {
    await rm(o.part, { force: true });
    if (stats.resumedFrom > 0) {
      // The kept bytes may be what a power cut left behind, not what the mirror sent: start over.
      throw new ClawbackError(
        UpdaterErrors.DOWNLOAD_FAILED,
        `${o.url}: resumed download did not verify; discarded`,
        {
          hint: 'Run apply again; the download restarts from the first byte.',
        },
      );
    }
    throw new ClawbackError(
      UpdaterErrors.TARGET_HASH_MISMATCH,
      `${o.url}: sha256 ${actual} differs from the signed ${o.sha256}`,
      {
        hint: 'The mirror served different bytes than the TUF targets metadata signed. Nothing was installed.',
      },
    );
  }
}

/**
 * Every network read arrives in a fresh buffer that dies as soon as it is written and hashed,
 * but V8 frees such buffers only when a scavenge runs, and scavenges are paced by JavaScript
 * allocation, which this loop does little of: between two, tens of MiB of dead buffers pile
 * up and peak RSS follows the download speed. The bin runs with --expose-gc, so a young-
 * generation collection every few MiB keeps that garbage bounded (about a millisecond each).
 * Without the flag (the library used in-process) this does nothing.
 */
const COLLECT_EVERY_BYTES = 2 * 1024 * 1024;
function collectYoungGarbage(): void {
  (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc?.({ type: 'minor' });
}

/** A premature end of body, retried like a reset connection. */
class RequestErrorLike extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
}

export interface DownloadOptions extends Omit<TargetStreamOptions, 'part'> {
  /** Where the verified file ends up; the resume file is `${dest}.part`. */
  dest: string;
}

/** Download a target to a file (atomically, after verification). */
export async function downloadResumable(o: DownloadOptions): Promise<TargetStreamStats> {
  const stats: TargetStreamStats = { bytes: 0, resumedFrom: 0, attempts: 0 };
  const part = `${o.dest}.part`;
  const { dest: _dest, ...rest } = o;
  // Consume the stream for its checks; the bytes are already in the resume file.
  for await (const _chunk of streamTarget({ ...rest, part }, stats)) {
    // nothing to do per chunk
  }
  const handle = await open(part, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(part, o.dest);
  await fsyncDir(dirname(o.dest));
  return stats;
}
