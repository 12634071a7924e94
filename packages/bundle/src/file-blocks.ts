import { fstat, ReadStream, readSync, type Stats } from 'node:fs';
import { READ_BLOCK_SIZE } from '@clawback/core';

/** A block read from a file, and where in the file it starts. */
export interface FileBlock {
  bytes: Buffer;
  offset: number;
  /** The bytes were not read: a zero-filled stand-in for a range hashed elsewhere. */
  skipped?: boolean;
}

/**
 * The descriptor behind `source` when it is an `fs.ReadStream` over a whole file that nothing
 * has read yet (what `createReadStream()` of a path or FileHandle returns); otherwise undefined.
 * Such a file can be read with positioned reads, and a second thread can hash ranges of it.
 * A stream of a path opens its file asynchronously: wait for that (an open error is left for
 * the ordinary read to report).
 */
export async function untouchedFileStream(
  source: unknown,
): Promise<{ stream: ReadStream; fd: number; size: number } | undefined> {
  if (!(source instanceof ReadStream)) return undefined;
  const s = source as ReadStream & { fd?: unknown; start?: unknown; end?: unknown };
  if (s.bytesRead !== 0 || s.readableDidRead || s.destroyed) return undefined;
  if ((s.start ?? 0) !== 0 || (s.end ?? Number.POSITIVE_INFINITY) !== Number.POSITIVE_INFINITY)
    return undefined;
  if (s.fd === null && s.pending) {
    await new Promise<void>((resolve) => {
      const done = () => {
        s.off('ready', done);
        s.off('error', done);
        resolve();
      };
      s.once('ready', done);
      s.once('error', done);
    });
  }
  if (typeof s.fd !== 'number' || s.destroyed) return undefined;
  const fd = s.fd;
  const stat = await new Promise<Stats | undefined>((resolve) =>
    fstat(fd, (err, st) => resolve(err ? undefined : st)),
  );
  // Positioned reads need a regular file (not a pipe or a device).
  return stat?.isFile() ? { stream: s, fd, size: stat.size } : undefined;
}

/** What is read after a skipped member: its padding, the next header, and a little data. */
const PEEK_BYTES = 64 * 1024;

/** Never written: stands in for bytes that another thread reads and hashes itself. */
let zeros: Buffer | undefined;

/**
 * The file's bytes in 1 MiB blocks, read on this thread into three buffers used in turn: no
 * allocation per block, so a 512 MiB read leaves no garbage behind (peak RSS stays flat).
 * A block's memory is reused two blocks later, so a consumer must be done with a block (and
 * with any view into it) by the time it has taken the next one.
 *
 * `skipTo()` is asked before each read: bytes before the offset it returns that are not read yet
 * belong to a member whose digest a worker computes from the file itself (MemberOffload), so they
 * are not read here at all; the parser gets a zero-filled view of the same length instead (it
 * only counts a member's data; the tar headers around it are always real bytes). Such a block
 * has `skipped` set.
 *
 * Reads are synchronous (from this thread, which has nothing else to do meanwhile); the event
 * loop gets a turn after every block so worker replies are taken in as they arrive.
 */
export async function* fileBlocks(
  fd: number,
  fileSize: number,
  signal?: AbortSignal,
  skipTo: () => number = () => 0,
): AsyncGenerator<FileBlock> {
  const buffers = [0, 1, 2].map(() => Buffer.allocUnsafeSlow(READ_BLOCK_SIZE));
  let offset = 0;
  let turn = 0;
  let afterSkip = false;
  for (;;) {
    signal?.throwIfAborted();
    const skipEnd = Math.min(skipTo(), fileSize);
    if (skipEnd > offset) {
      zeros ??= Buffer.alloc(READ_BLOCK_SIZE);
      const n = Math.min(skipEnd - offset, zeros.byteLength);
      yield { bytes: zeros.subarray(0, n), offset, skipped: true };
      offset += n;
      afterSkip = true;
      continue;
    }
    const into = buffers[turn] as Buffer;
    // Right after a skipped member comes the next header and the start of the next member, which
    // the worker will likely take too: a short read finds out without reading much of its data.
    const want = afterSkip ? PEEK_BYTES : into.byteLength;
    afterSkip = false;
    const n = readSync(fd, into, 0, want, offset);
    if (n === 0) return;
    turn = (turn + 1) % buffers.length;
    yield { bytes: into.subarray(0, n), offset };
    offset += n;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
