import type { FileHandle } from 'node:fs/promises';

/**
 * fsyncs finished files in the background while later files stream in, then closes them.
 * Awaiting each file's fsync before the next file left the extraction idle for the disk's
 * writeback of every file in turn (~0.3 s of a 512 MiB install here, test/bench/updater.mjs);
 * overlapped, the writeback runs while the network delivers the next bytes. At most `limit`
 * run at once, so they never take every thread-pool thread from the writes. `settle()` returns
 * only when every file is on disk, and the caller marks the extraction complete only after it,
 * so nothing is claimed durable early (design §6 invariant 2).
 */
export class BackgroundSync {
  private readonly running = new Set<Promise<void>>();
  private error: unknown;
  private failed = false;

  constructor(private readonly limit = 2) {}

  /** Queue `fh` for fsync and close; waits first while `limit` are running. */
  async add(fh: FileHandle, onClosed: () => void): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.throwIfFailed();
    const job: Promise<void> = fh
      .sync()
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
      });
    this.running.add(job);
  }

  /** Wait for every queued fsync; throws the first fsync failure. */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.error;
  }
}
