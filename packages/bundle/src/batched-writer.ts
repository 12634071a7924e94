import type { FileHandle } from 'node:fs/promises';

/** Bytes gathered before one write: large enough that per-call overhead vanishes. */
export const WRITE_BATCH_BYTES = 1 << 20;

/** Two blocks a `BatchedWriter` fills in turn; reusable by the next writer once it drained. */
export type WriteBlocks = [Buffer, Buffer];

export function allocWriteBlocks(size = WRITE_BATCH_BYTES): WriteBlocks {
  return [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
}

/**
 * Appends chunks to an open file in whole-block writes (1 MiB by default), with one block
 * being written while the other fills. Streams arrive in 16–64 KiB pieces; awaiting a write
 * per piece left the thread idle between a round trip to the thread pool and the next piece
 * (measured in test/bench/updater.mjs).
 *
 * Chunks are copied into the blocks at once, so the caller's buffers die young (a retained
 * network buffer survives into the old generation and raises peak RSS), and memory is exactly
 * the two blocks. Bytes reach the file in order; an error surfaces from a later `write` or
 * from `drain`.
 *
 * The file may still be opening (`fh` a promise): the first block fills meanwhile, so a caller
 * streaming many small files never waits for an open (a thread-pool round trip each); a failed
 * open surfaces like a failed write.
 */
export class BatchedWriter {
  private fill = 0;
  private current = 0;
  private inflight: Promise<void> = Promise.resolve();

  private readonly fh: Promise<FileHandle>;

  constructor(
    fh: FileHandle | Promise<FileHandle>,
    private readonly blocks: WriteBlocks = allocWriteBlocks(),
  ) {
    this.fh = Promise.resolve(fh);
    // Observed by the first write or drain; never left unhandled meanwhile.
    this.fh.catch(() => undefined);
  }

  /**
   * Queue a chunk. Returns a promise only when the caller must wait (a full block had to wait
   * for the write before it); otherwise `undefined`, so the common case costs no tick.
   */
  write(chunk: Uint8Array): Promise<void> | undefined {
    const block = this.blocks[this.current] as Buffer;
    if (this.fill + chunk.byteLength < block.byteLength) {
      block.set(chunk, this.fill);
      this.fill += chunk.byteLength;
      return undefined;
    }
    return this.writeSpanning(chunk);
  }

  /** Write everything queued and wait until it is in the file (not fsynced). */
  async drain(): Promise<void> {
    if (this.fill > 0) await this.submit();
    await this.inflight;
  }

  private async writeSpanning(chunk: Uint8Array): Promise<void> {
    let rest = chunk;
    while (rest.byteLength > 0) {
      const block = this.blocks[this.current] as Buffer;
      const n = Math.min(rest.byteLength, block.byteLength - this.fill);
      block.set(rest.subarray(0, n), this.fill);
      this.fill += n;
      rest = rest.subarray(n);
      if (this.fill === block.byteLength) await this.submit();
    }
  }

  /** Start writing the current block after the one in flight; resolve when the other block is free. */
  private submit(): Promise<void> {
    const block = (this.blocks[this.current] as Buffer).subarray(0, this.fill);
    const before = this.inflight;
    const next = before.then(async () => writeAll(await this.fh, block));
    // Observed by the next submit or drain; never left unhandled meanwhile.
    next.catch(() => undefined);
    this.inflight = next;
    this.current = 1 - this.current;
    this.fill = 0;
    return before;
  }
}

/** Write until every byte is written (a short write continues where it stopped). */
async function writeAll(fh: FileHandle, block: Buffer): Promise<void> {
  let rest = block;
  while (rest.byteLength > 0) {
    const { bytesWritten } = await fh.write(rest, 0, rest.byteLength);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    rest = rest.subarray(bytesWritten);
  }
}
