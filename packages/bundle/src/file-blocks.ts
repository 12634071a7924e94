import { fstat, ReadStream, read, type Stats } from 'node:fs';
import { READ_BLOCK_SIZE } from '@clawback/core';

/** A block read from a file, and where in the file it starts. */
export interface FileBlock {
  bytes: Buffer;
  offset: number;
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

const readAt = (fd: number, into: Buffer, position: number) =>
  new Promise<number>((resolve, reject) =>
    read(fd, into, 0, into.byteLength, position, (err, n) => (err ? reject(err) : resolve(n))),
  );

/**
 * The file's bytes in 1 MiB blocks, read one ahead, from three buffers used in turn: no
 * allocation per block, so a 512 MiB read leaves no garbage behind (peak RSS stays flat).
 * A block's memory is reused two blocks later, so a consumer must be done with a block (and
 * with any view into it) by the time it has taken the next one.
 */
export async function* fileBlocks(fd: number, signal?: AbortSignal): AsyncGenerator<FileBlock> {
  const buffers = [0, 1, 2].map(() => Buffer.allocUnsafeSlow(READ_BLOCK_SIZE));
  let offset = 0;
  let turn = 0;
  let next = readAt(fd, buffers[0] as Buffer, 0);
  for (;;) {
    signal?.throwIfAborted();
    const n = await next;
    if (n === 0) return;
    const bytes = (buffers[turn] as Buffer).subarray(0, n);
    turn = (turn + 1) % buffers.length;
    next = readAt(fd, buffers[turn] as Buffer, offset + n);
    // Observed on the next turn; a consumer that stops early must not leave it unhandled.
    next.catch(() => undefined);
    yield { bytes, offset };
    offset += n;
  }
}
