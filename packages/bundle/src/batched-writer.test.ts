import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allocWriteBlocks, BatchedWriter } from './batched-writer.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-batched-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('BatchedWriter', () => {
  it('writes chunks of every size, spanning blocks, in order', async () => {
    const path = join(tmp, 'out.bin');
    const fh = await open(path, 'w');
    // Small blocks so chunks straddle, fill exactly, and exceed a block.
    const w = new BatchedWriter(fh, allocWriteBlocks(1000));
    const chunks = [1, 999, 1000, 1, 2500, 0, 37, 4000, 3].map((n) => randomBytes(n));
    for (const c of chunks) await w.write(c);
    await w.drain();
    await fh.close();
    expect((await readFile(path)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('copies a chunk at once, so the caller may reuse its buffer', async () => {
    const path = join(tmp, 'reuse.bin');
    const fh = await open(path, 'w');
    const w = new BatchedWriter(fh, allocWriteBlocks(64));
    const scratch = Buffer.alloc(10);
    const expected: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      scratch.fill(i);
      expected.push(Buffer.from(scratch));
      await w.write(scratch);
    }
    await w.drain();
    await fh.close();
    expect((await readFile(path)).equals(Buffer.concat(expected))).toBe(true);
  });

  it('surfaces a failed write from a later write or from drain', async () => {
    const path = join(tmp, 'ro.bin');
    await (await open(path, 'w')).close();
    const fh = await open(path, 'r'); // writes fail with EBADF
    const error = await errorWriting(new BatchedWriter(fh, allocWriteBlocks(16)), 8);
    await fh.close();
    expect((error as NodeJS.ErrnoException | undefined)?.code).toBe('EBADF');
  });

  it('fills its first block while the file is still opening, then writes in order', async () => {
    const path = join(tmp, 'late.bin');
    let opened!: (fh: Awaited<ReturnType<typeof open>>) => void;
    const opening = new Promise<Awaited<ReturnType<typeof open>>>((resolve) => {
      opened = resolve;
    });
    const w = new BatchedWriter(opening, allocWriteBlocks(100));
    const chunks = [40, 50].map((n) => randomBytes(n));
    // Both fit the first block: neither waits for the open.
    for (const c of chunks) expect(w.write(c)).toBeUndefined();
    const more = randomBytes(250);
    const spanning = w.write(more); // fills blocks: has to wait for the open
    opened(await open(path, 'w'));
    await spanning;
    await w.drain();
    await (await opening).close();
    expect((await readFile(path)).equals(Buffer.concat([...chunks, more]))).toBe(true);
  });

  it('surfaces a failed open like a failed write', async () => {
    const failedOpen = open(join(tmp, 'missing-dir', 'x.bin'), 'wx');
    const error = await errorWriting(new BatchedWriter(failedOpen, allocWriteBlocks(16)), 4);
    expect((error as NodeJS.ErrnoException | undefined)?.code).toBe('ENOENT');
  });
});

/** Write `blocks` 16-byte chunks and drain; the error that surfaced, if any. */
async function errorWriting(w: BatchedWriter, blocks: number): Promise<unknown> {
  try {
    for (let i = 0; i < blocks; i++) await w.write(Buffer.alloc(16, i));
    await w.drain();
  } catch (err) {
    return err;
  }
  return undefined;
}
