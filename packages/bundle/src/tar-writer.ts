import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { ClawbackError, createSha256, READ_BLOCK_SIZE, type StreamingDigest } from '@clawback/core';
import { BundleErrors } from './errors.js';
import { type FileHash, HashPool } from './hash-pool.js';
import { MANIFEST_PATH } from './manifest-types.js';
import type { ScannedEntry } from './scan.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from './tar-header.js';

/** Files smaller than this are hashed while copied: a thread round trip costs more. */
const MIN_OFFLOAD_BYTES = 256 * 1024;
const WORKER_SHARE = 1.25;
const WRITEBACK_EVERY_BYTES = 32 * 1024 * 1024;

/** The manifest member (header, bytes, padding): what goes at offset 0 of the tar. */
export function manifestSection(manifestBytes: Uint8Array, mtime: Date): Buffer {
  const size = manifestBytes.byteLength;
  const header = encodeHeader({ path: MANIFEST_PATH, type: 'File', mode: 0o644, size, mtime });
  return Buffer.concat([header, manifestBytes, padding(size)]);
}

/**
 * Write every payload entry of the tar from byte `start` on (the manifest member goes before it
 * once the digests are known), and return each file's SHA-256 computed from the bytes written
 * to the tar: either here, from the copy blocks as they are written, or, for about 5 bytes in 9
 * (this thread also copies everything), by a worker that hashes the file's range of the output
 * while this thread copies the next file. One pass over the data, on two cores (`threads`
 * counts this one), with one worker for memory's sake, and the manifest describes exactly the
 * bytes the bundle holds.
 */
export async function writePayload(
  out: FileHandle,
  start: number,
  scanned: readonly ScannedEntry[],
  mtime: Date,
  threads: number,
): Promise<Map<string, FileHash>> {
  const pool = threads > 1 ? new HashPool(threads - 1) : undefined;
  const hashes: Promise<[string, FileHash]>[] = [];
  let workerBytes = 0;
  let localBytes = 0;
  try {
    const blocks: [Buffer, Buffer] = [
      Buffer.allocUnsafe(READ_BLOCK_SIZE),
      Buffer.allocUnsafe(READ_BLOCK_SIZE),
    ];
    let pos = start;
    const put = async (b: Uint8Array) => {
      await writeAt(out, b, pos);
      pos += b.byteLength;
    };
    const flusher = new EarlyWriteback(out);
    for (const e of scanned) {
      if (e.type === 'directory') {
        await put(encodeHeader({ path: e.path, type: 'Directory', mode: 0o755, size: 0, mtime }));
      } else if (e.type === 'symlink') {
        const link = { path: e.path, type: 'SymbolicLink', mode: 0o777, size: 0, mtime, linkpath: e.target };
        await put(encodeHeader({ ...link, type: 'SymbolicLink' }));
      } else {
        await put(encodeHeader({ path: e.path, type: 'File', mode: e.mode, size: e.size, mtime }));
        const offload = pool && e.size >= MIN_OFFLOAD_BYTES && workerBytes <= localBytes * WORKER_SHARE;
        const digest = offload ? undefined : createSha256();
        await copyFileAt(e.abs, e.path, e.size, out, pos, blocks, digest);
        if (pool && !digest) {
          workerBytes += e.size;
          hashes.push(pool.hashRange(out.fd, pos, e.size).then((h) => [e.path, h]));
          // Observed below; a failure in between must not go unhandled.
          hashes.at(-1)?.catch(() => undefined);
        } else if (digest) {
          localBytes += e.size;
          hashes.push(Promise.resolve([e.path, { sha256: digest.hex(), size: digest.size }]));
        }
        pos += e.size;
        await put(padding(e.size));
        flusher.wrote(pos);
      }
    }
    await put(END_OF_ARCHIVE);
    await flusher.settle();
    return new Map(await Promise.all(hashes));
  } finally {
    await Promise.allSettled(hashes);
    await pool?.close();
  }
}

/**
 * Starts writing the bundle back to disk while it is still being built: a `datasync` in the
 * background after every 32 MiB (one at a time). The caller's final fsync, which makes the
 * bundle durable before it is renamed into place, then has little left to flush; alone at
 * the end it took ~0.2 s of a 512 MiB build here (test/bench/bundle.mjs).
 */
class EarlyWriteback {
  private flushed = 0;
  private running: Promise<void> | undefined;

  constructor(private readonly out: FileHandle) {}

  wrote(position: number): void {
    if (this.running || position - this.flushed < WRITEBACK_EVERY_BYTES) return;
    this.flushed = position;
    this.running = this.out.datasync().then(
      () => {
        this.running = undefined;
      },
      // Only a head start: the final fsync reports any failure.
      () => {
        this.running = undefined;
      },
    );
  }

  async settle(): Promise<void> {
    await this.running;
  }
}

async function writeAt(out: FileHandle, b: Uint8Array, position: number): Promise<void> {
  for (let off = 0; off < b.byteLength; ) {
    off += (await out.write(b, off, b.byteLength - off, position + off)).bytesWritten;
  }
}

/**
 * Copy exactly `size` bytes of a payload file (its size when scanned) to `position`; a file
 * that is shorter or longer by now fails the build. Two blocks in turn: the write of one runs
 * while the next is read.
 */
async function copyFileAt(
  abs: string,
  path: string,
  size: number,
  out: FileHandle,
  position: number,
  blocks: [Buffer, Buffer],
  digest: StreamingDigest | undefined,
): Promise<void> {
  // O_NOFOLLOW: a file swapped for a symlink after the scan is refused, never followed.
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  let writing: Promise<void> = Promise.resolve();
  let copied = 0;
  try {
    for (let turn = 0; ; turn ^= 1) {
      // This block's last write was awaited before the other block's write began.
      const block = blocks[turn] as Buffer;
      const { bytesRead } = await fh.read(block, 0, block.byteLength, null);
      if (bytesRead === 0) break;
      if (copied + bytesRead > size) throw sourceChanged(path);
      digest?.update(block.subarray(0, bytesRead));
      await writing;
      writing = writeAt(out, block.subarray(0, bytesRead), position + copied);
      writing.catch(() => undefined); // awaited on the next turn or below
      copied += bytesRead;
    }
    await writing;
  } finally {
    await writing.catch(() => undefined);
    await fh.close();
  }
  if (copied !== size) throw sourceChanged(path);
}

export function sourceChanged(path: string): ClawbackError {
  return new ClawbackError(
    BundleErrors.BUILD_SOURCE_CHANGED,
    `${path} changed while the bundle was being built`,
    {
      hint: 'Make sure nothing modifies the directory during the build, then build again.',
    },
  );
}
