import { availableParallelism } from 'node:os';
import type { FileBlock } from './file-blocks.js';
import { type FileHash, HashPool } from './hash-pool.js';
import { TAR_BLOCK } from './tar-header.js';

/**
 * Another hashing worker is only worth its memory (~10 MiB) while a core is free: when the caller
 * already hashes the whole file on one (`bundle verify --provenance`), members are hashed here.
 */
const coreFree = () => HashPool.live < Math.max(1, availableParallelism() - 1);

/** Members smaller than this are hashed where they are parsed: a thread round trip costs more. */
const MIN_OFFLOAD_BYTES = 256 * 1024;
const EAGER_WORKER_BYTES = 8 * 1024 * 1024;
/**
 * The worker is given members while fewer than this many of its bytes are still unhashed;
 * beyond that the parsing thread hashes the next member itself. Both threads so stay busy to the
 * end whatever their speeds (the worker also starts ~40 ms late), and the parsing thread never
 * waits on more than this backlog (~15 ms of hashing) when the tar is done.
 */
const MAX_WORKER_BACKLOG = 16 * 1024 * 1024;

/**
 * The member-hashing worker a verify of a `fileSize`-byte bundle file will want, started now so
 * its start-up overlaps the caller's own work (the signature check); undefined when the bundle
 * is too small for one to pay off or no core is free. Pass it to `readBundle` as
 * `memberHashPool`; the caller closes it.
 */
export function startMemberHashing(fileSize: number): HashPool | undefined {
  return fileSize >= EAGER_WORKER_BYTES && coreFree() ? new HashPool(1) : undefined;
}

/**
 * Splits member hashing between the parsing thread and one worker when the bundle is a file
 * the worker can read too (design §5: each file's digest is checked; issue 2: use both cores).
 *
 * The parser hands out views into the block being parsed, so the first chunk of a member tells
 * where its data starts in the file: the block's file offset plus the view's offset in it. The
 * worker then hashes exactly that range with positioned reads while the parser moves on, and
 * the parsing thread does not read the rest of that range at all (`skipTo`, see fileBlocks):
 * every byte of the file is read once, by one of the two threads. A member whose first chunk
 * is not a view of the current block (the parser joined it across blocks), or that would start
 * before the end of the previous member plus a header, is hashed on the parsing thread as
 * before: the split never decides what is checked, only where.
 */
export class MemberOffload {
  /** The block the parser is consuming now (set before each `parser.write`). */
  current: FileBlock | undefined;
  /** End of the data of the last member the worker took: the parsing thread need not read up to it. */
  skipTo = 0;
  private pool: HashPool | undefined;
  /** False when the caller started the pool (and closes it). */
  private readonly ownsPool: boolean;
  /** Bytes handed to the worker whose digest has not come back yet. */
  private backlog = 0;
  private lastEnd = -TAR_BLOCK;

  constructor(
    private readonly fd: number,
    fileSize: number,
    /** A one-worker pool the caller started earlier (so its start-up overlapped the caller's work). */
    given?: HashPool,
  ) {
    this.ownsPool = given === undefined;
    // A large bundle will need the worker: start it now, so its start-up overlaps the manifest.
    this.pool = given ?? startMemberHashing(fileSize);
  }

  /**
   * Called with a member's first chunk: its data offset in the file when the worker takes it,
   * otherwise undefined (the caller hashes it).
   */
  claim(firstChunk: Buffer, size: number): number | undefined {
    const offset = this.locate(firstChunk);
    if (offset === undefined || offset < this.lastEnd + TAR_BLOCK) return undefined;
    this.lastEnd = offset + size;
    if (size < MIN_OFFLOAD_BYTES || this.backlog >= MAX_WORKER_BACKLOG || (!this.pool && !coreFree())) {
      return undefined;
    }
    this.backlog += size;
    this.skipTo = offset + size;
    return offset;
  }

  hash(offset: number, size: number): Promise<FileHash> {
    // Otherwise it starts with the first member it takes, so small bundles never pay for it.
    this.pool ??= new HashPool(1);
    const done = () => {
      this.backlog -= size;
    };
    const job = this.pool.hashRange(this.fd, offset, size);
    job.then(done, done);
    return job;
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool?.close();
  }

  private locate(chunk: Buffer): number | undefined {
    const block = this.current;
    if (!block) return undefined;
    const b = block.bytes;
    const inside =
      chunk.buffer === b.buffer &&
      chunk.byteOffset >= b.byteOffset &&
      chunk.byteOffset + chunk.byteLength <= b.byteOffset + b.byteLength;
    return inside ? block.offset + (chunk.byteOffset - b.byteOffset) : undefined;
  }
}
