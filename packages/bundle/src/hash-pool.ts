import { Worker } from 'node:worker_threads';
import type { Sha256Hex } from '@clawback/core';

/**
 * Hash whole files, or byte ranges of an open file, on worker threads so a build or a
 * verify uses every core (the devices we target have two). Each worker reads the bytes
 * itself in 1 MiB blocks into one reused buffer, so no file data crosses threads and
 * memory stays flat.
 *
 * The worker is evaluated from source text rather than loaded from a sibling
 * .js file, so the same code runs from the TypeScript sources under the test
 * runner and from the built package.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync, constants } = require('node:fs');
const { createHash } = require('node:crypto');
// One reused 1 MiB block: synchronous reads on this thread allocate nothing per chunk,
// so hashing a 512 MiB file leaves no garbage for the collector and RSS stays flat.
const block = Buffer.allocUnsafe(1 << 20);
// A job names a file (hashed whole) or a byte range of a descriptor the process already has
// open (threads share the descriptor table; positioned reads leave its offset alone).
parentPort.on('message', (job) => {
  let fd;
  try {
    const ranged = job.path === undefined;
    fd = ranged ? job.fd : openSync(job.path, constants.O_RDONLY | (constants.O_NOFOLLOW || 0));
    const hash = createHash('sha256');
    let size = 0;
    let position = ranged ? job.offset : null;
    for (;;) {
      const want = ranged ? Math.min(block.length, job.size - size) : block.length;
      if (want === 0) break;
      const n = readSync(fd, block, 0, want, position);
      if (n === 0) break;
      hash.update(n === block.length ? block : block.subarray(0, n));
      size += n;
      if (ranged) position += n;
    }
    parentPort.postMessage({ id: job.id, sha256: hash.digest('hex'), size });
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: e.message, errno: e.code });
  } finally {
    if (fd !== undefined && job.path !== undefined) closeSync(fd);
  }
});
`;

export interface FileHash {
  sha256: Sha256Hex;
  size: number;
}

interface Reply {
  id: number;
  sha256?: string;
  size?: number;
  error?: string;
  errno?: string;
}

/** A small pool of hashing threads. Call `close()` when done (it is also safe to let it be collected). */
export class HashPool {
  /** Hashing threads alive in this process (every pool), so a caller can avoid oversubscribing cores. */
  static live = 0;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: (() => void)[] = [];
  private nextId = 0;

  constructor(size = 2) {
    for (let i = 0; i < Math.max(1, size); i++) {
      // A small heap: the worker only holds one 1 MiB buffer and a hash state.
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      });
      w.unref();
      HashPool.live += 1;
      w.once('exit', () => {
        HashPool.live -= 1;
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Hash one file (symlinks are not followed). Rejects with an Error carrying `code` on I/O failure. */
  async hash(path: string): Promise<FileHash> {
    return this.run({ path });
  }

  /**
   * Hash `size` bytes at `offset` of an open descriptor with positioned reads (the descriptor's
   * own offset is untouched). `size` in the result is what could be read (less at end of file).
   */
  async hashRange(fd: number, offset: number, size: number): Promise<FileHash> {
    return this.run({ fd, offset, size });
  }

  private async run(job: { path: string } | { fd: number; offset: number; size: number }): Promise<FileHash> {
    const worker = await this.acquire();
    try {
      return await new Promise<FileHash>((resolve, reject) => {
        const id = this.nextId++;
        const onMessage = (r: Reply) => {
          if (r.id !== id) return;
          worker.off('message', onMessage);
          worker.off('error', onError);
          if (r.error !== undefined) {
            reject(Object.assign(new Error(r.error), { code: r.errno }));
          } else resolve({ sha256: r.sha256 ?? '', size: r.size ?? 0 });
        };
        const onError = (e: Error) => {
          worker.off('message', onMessage);
          reject(e);
        };
        worker.on('message', onMessage);
        worker.once('error', onError);
        worker.postMessage({ id, ...job });
      });
    } finally {
      this.release(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private async acquire(): Promise<Worker> {
    for (;;) {
      const w = this.idle.pop();
      if (w) return w;
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.waiting.shift()?.();
  }
}

/** Hash many files on `threads` workers, in input order. */
export async function hashFiles(paths: readonly string[], threads = 2): Promise<FileHash[]> {
  const pool = new HashPool(Math.min(threads, Math.max(1, paths.length)));
  try {
    return await Promise.all(paths.map((p) => pool.hash(p)));
  } finally {
    await pool.close();
  }
}
