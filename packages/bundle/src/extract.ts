import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ClawbackError, writeFileAtomic } from '@clawback/core';
import { BackgroundSync } from './background-sync.js';
import { allocWriteBlocks, BatchedWriter, type WriteBlocks } from './batched-writer.js';
import { BundleErrors } from './errors.js';
import { MANIFEST_PATH } from './manifest-types.js';
import { type FileWriter, type ReadBundleOptions, type ReadBundleResult, readBundle } from './reader.js';

export interface ExtractBundleOptions extends ReadBundleOptions {
  /** The verified manifest bytes (required: a device never extracts an unverified bundle). */
  expectedManifest: Uint8Array;
  /** fsync every file before it counts as written (default true; the device needs it). */
  durable?: boolean;
}

/**
 * Extract a bundle into an empty directory (the device's inactive slot) while
 * verifying it (design §5, §6 invariant 2). Files are created exclusively and
 * never through a symlink; each file's SHA-256 is checked as its bytes are
 * written; `clawback/manifest.json` is written last, so its presence marks a
 * complete, verified extraction. On any failure the directory is emptied again.
 */
export async function extractBundle(
  source: AsyncIterable<Uint8Array>,
  destination: string,
  options: ExtractBundleOptions,
): Promise<ReadBundleResult> {
  const root = resolve(destination);
  await prepareDestination(root);
  const durable = options.durable ?? true;
  const target = (p: string) => join(root, ...p.split('/'));
  const files = new OpenFiles(root);
  // Files are written one after another; a finished file's last writes complete in the
  // background while the next file fills another pair of write blocks.
  const blocks = new BlockPairs();
  const syncs = durable ? new BackgroundSync() : undefined;
  try {
    const result = await readBundle(source, options, {
      directory: async (e) => {
        await mkdirSafe(target(e.path));
        files.directoryExists(target(e.path));
      },
      symlink: async (e) => {
        await mkdir(dirname(target(e.path)), { recursive: true });
        await symlink(e.target, target(e.path));
      },
      file: async (e) => openWriter(target(e.path), e.mode, files, blocks, syncs),
    });
    // Every file is on disk before the manifest, which marks a complete extraction, is written.
    await syncs?.settle();
    await mkdir(join(root, 'clawback'), { recursive: true });
    await writeFileAtomic(join(root, ...MANIFEST_PATH.split('/')), result.manifestBytes, { durable });
    return result;
  } catch (err) {
    await syncs?.settle().catch(() => undefined);
    await files.closeAll();
    await emptyDirectory(root);
    if (err instanceof ClawbackError) throw err;
    throw writeError(root, err);
  }
}

/**
 * A writer for one file. It returns before the file is open: the open (and, for a directory not
 * seen yet, a mkdir) runs on the thread pool while the first block fills, so a bundle of many
 * small files does not stall the stream on two round trips per file.
 */
async function openWriter(
  path: string,
  mode: number,
  files: OpenFiles,
  pairs: BlockPairs,
  syncs: BackgroundSync | undefined,
): Promise<FileWriter> {
  const blocks = await pairs.acquire();
  const opening = files.open(path, mode);
  const out = new BatchedWriter(opening, blocks);
  const failed = (cause: unknown) => {
    throw writeError(path, cause);
  };
  // The last writes and the mode, then the blocks go back to the pool (on failure too).
  const complete = async (fh: FileHandle) => {
    try {
      await out.drain();
      await fh.chmod(mode);
    } catch (cause) {
      failed(cause);
    } finally {
      pairs.release(blocks);
    }
  };
  return {
    write(chunk) {
      return out.write(chunk)?.catch(failed);
    },
    async finish() {
      let fh: FileHandle;
      try {
        fh = await opening;
      } catch (cause) {
        pairs.release(blocks);
        throw writeError(path, cause);
      }
      if (syncs) {
        // Durable: the background job waits for `complete`, fsyncs and closes; its failure
        // fails `settle()`, which runs before the completion manifest is written.
        await syncs.add(fh, () => files.closed(fh), complete(fh));
        return;
      }
      try {
        await complete(fh);
      } finally {
        files.closed(fh);
        await fh.close();
      }
    },
  };
}

/** The files of one extraction that are open or opening, so a failure can close them all. */
class OpenFiles {
  private readonly handles = new Set<FileHandle>();
  private readonly opening = new Set<Promise<FileHandle>>();
  /** Directories made (or being made) in this extraction: later files skip the mkdir. */
  private readonly directories = new Map<string, Promise<unknown>>();

  constructor(root: string) {
    this.directories.set(root, Promise.resolve());
  }

  directoryExists(path: string): void {
    this.directories.set(path, Promise.resolve());
  }

  open(path: string, mode: number): Promise<FileHandle> {
    const parent = dirname(path);
    let made = this.directories.get(parent);
    if (!made) {
      made = mkdir(parent, { recursive: true });
      made.catch(() => undefined);
      this.directories.set(parent, made);
    }
    const opening = (async () => {
      await made;
      // O_EXCL + O_NOFOLLOW: never overwrite, never write through a link.
      const fh = await open(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        mode,
      );
      this.handles.add(fh);
      return fh;
    })();
    this.opening.add(opening);
    const settled = () => this.opening.delete(opening);
    opening.then(settled, settled);
    return opening;
  }

  closed(fh: FileHandle): void {
    this.handles.delete(fh);
  }

  /** After a failure: wait for opens in flight, then close every handle still open. */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.opening]);
    await Promise.all([...this.handles].map((fh) => fh.close().catch(() => undefined)));
    this.handles.clear();
  }
}

/**
 * Write-block pairs for the files of one extraction: a finished file keeps its pair until its
 * last write is done while the next file fills another. At most `max` pairs (2 MiB each) exist.
 */
class BlockPairs {
  private readonly free: WriteBlocks[] = [];
  private readonly waiters: Array<(b: WriteBlocks) => void> = [];
  private allocated = 0;

  constructor(private readonly max = 3) {}

  acquire(): Promise<WriteBlocks> {
    const ready = this.free.pop();
    if (ready) return Promise.resolve(ready);
    if (this.allocated < this.max) {
      this.allocated += 1;
      return Promise.resolve(allocWriteBlocks());
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(blocks: WriteBlocks): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(blocks);
    else this.free.push(blocks);
  }
}

async function mkdirSafe(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: 0o755 });
  } catch (cause) {
    throw writeError(path, cause);
  }
}

async function prepareDestination(root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  const existing = await readdir(root);
  if (existing.length > 0) {
    throw new ClawbackError(BundleErrors.EXTRACT_DESTINATION_NOT_EMPTY, `${root} is not empty`, {
      hint: 'Extract into an empty directory (the updater empties the inactive slot first).',
    });
  }
}

async function emptyDirectory(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  await Promise.all(names.map((n) => rm(join(root, n), { recursive: true, force: true })));
}

function writeError(path: string, cause: unknown): ClawbackError {
  return new ClawbackError(
    BundleErrors.EXTRACT_WRITE_FAILED,
    `could not write ${path}: ${(cause as Error).message}`,
    {
      cause,
      hint: 'Check free space and permissions of the destination.',
    },
  );
}
