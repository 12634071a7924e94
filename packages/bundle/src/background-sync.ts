import type { FileHandle } from 'node:fs/promises';

/**
 * fsyncs finished files in the background while later files stream in, then closes them.
 * Awaiting each file's fsync before the next file left the extraction idle for the disk's
 * writeback of every file in turn (~0.3 s of a 512 MiB install here, test/bench/updater.mjs);
 * overlapped, the writeback runs while the network delivers the next bytes. At most `limit`
 * fsyncs run at once, so they never take every thread-pool thread from the writes; up to
 * `backlog` more files wait their turn without holding up the caller. A file's job first waits
 * for `ready` (its last write and chmod). `settle()` returns only when every file is on disk, and
 * the caller marks the extraction complete only after it, so nothing is claimed durable early
 * (design §6 invariant 2).
 */
export class BackgroundSync {
  private readonly running = new Set<Promise<void>>();
  private readonly waiting: Array<{ fh: FileHandle; ready: Promise<void>; onClosed: () => void }> = [];
  private error: unknown;
  private failed = false;

  constructor(
    private readonly limit = 2,
    private readonly backlog = 8,
  ) {}

  /**
   * Queue `fh` for fsync and close once `ready` resolves (a rejection fails the whole set, like
   * a failed fsync). Waits only while `backlog` files already wait; throws an earlier failure.
   */
  async add(fh: FileHandle, onClosed: () => void, ready: Promise<void> = Promise.resolve()): Promise<void> {
    this.throwIfFailed();
    // Observed by the job; never left unhandled meanwhile.
    ready.catch(() => undefined);
    this.waiting.push({ fh, ready, onClosed });
    this.pump();
    while (this.waiting.length > this.backlog) await Promise.race(this.running);
    this.throwIfFailed();
  }

  /** Wait for every queued fsync; throws the first failure. */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    this.throwIfFailed();
  }

  private pump(): void {
    while (this.running.size < this.limit) {
      const next = this.waiting.shift();
      if (!next) return;
      const { fh, ready, onClosed } = next;
      const job: Promise<void> = ready
        .then(() => fh.sync())
        .catch((err: unknown) => {
          if (!this.failed) {
            this.failed = true;
            this.error = err;
          }
        })
        .finally(async () => {
          await fh.close().catch(() => undefined);
          onClosed();
          this.running.delete(job);
          this.pump();
        });
      this.running.add(job);
    }
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.error;
  }
}
