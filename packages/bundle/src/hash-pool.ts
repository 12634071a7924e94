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

interface Job {
  resolve(hash: FileHash): void;
  reject(err: Error): void;
}

interface PoolWorker {
  worker: Worker;
  /** Jobs posted to this worker and not answered yet, by id (a worker runs its jobs in order). */
  jobs: Map<number, Job>;
}

/**
 * A small pool of hashing threads. Call `close()` when done (it is also safe to let it be collected).
 *
 * Jobs are posted at once to the worker with the fewest outstanding ones and queue in its message
 * port: a worker never sits idle waiting for the round trip that would hand it its next job.
 */
export class HashPool {
  /** Hashing threads alive in this process (every pool), so a caller can avoid oversubscribing cores. */
  static live = 0;
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;

  constructor(size = 2) {
    for (let i = 0; i < Math.max(1, size); i++) {
      // A small heap: the worker only holds one 1 MiB buffer and a hash state.
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      });
      worker.unref();
      HashPool.live += 1;
      const entry: PoolWorker = { worker, jobs: new Map() };
      worker.on('message', (r: Reply) => {
        const job = entry.jobs.get(r.id);
        if (!job) return;
        entry.jobs.delete(r.id);
        if (r.error !== undefined) job.reject(Object.assign(new Error(r.error), { code: r.errno }));
        else job.resolve({ sha256: r.sha256 ?? '', size: r.size ?? 0 });
      });
      // A dead worker fails every job it still held; later jobs go to the others (or fail the same way).
      const failAll = (err: Error) => {
        for (const job of entry.jobs.values()) job.reject(err);
        entry.jobs.clear();
      };
      worker.on('error', failAll);
      worker.once('exit', (code) => {
        HashPool.live -= 1;
        failAll(new Error(`hashing worker exited (code ${code})`));
      });
      this.workers.push(entry);
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

  private run(job: { path: string } | { fd: number; offset: number; size: number }): Promise<FileHash> {
    let target = this.workers[0] as PoolWorker;
    for (const w of this.workers) if (w.jobs.size < target.jobs.size) target = w;
    const id = this.nextId++;
    return new Promise<FileHash>((resolve, reject) => {
      target.jobs.set(id, { resolve, reject });
      target.worker.postMessage({ id, ...job });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
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
