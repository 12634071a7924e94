import { createSha256, type Sha256Hex } from '@clawback/core';
import { Parser, type ReadEntry } from 'tar';
import { BundleErrors } from './errors.js';
import { type FileBlock, fileBlocks, untouchedFileStream } from './file-blocks.js';
import type { HashPool } from './hash-pool.js';
import { MAX_MANIFEST_BYTES } from './manifest.js';
import type { FileEntry, Manifest } from './manifest-types.js';
import { MemberOffload } from './member-offload.js';
import { fail, ReadState } from './read-state.js';

/** Caps applied while reading, before any data is trusted (design §5: size caps). */
export interface ReadLimits {
  maxEntries: number;
  maxFileBytes: number;
  maxTotalBytes: number;
  maxManifestBytes: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxEntries: 100_000,
  maxFileBytes: 8 * 1024 ** 3,
  maxTotalBytes: 32 * 1024 ** 3,
  maxManifestBytes: MAX_MANIFEST_BYTES,
};

/** What the reader hands a sink for each payload entry, after it passed every check. */
export interface EntryVisitor {
  /** The manifest member was read and checked; payload entries follow. */
  manifest?(manifest: Manifest, bytes: Uint8Array): Promise<void> | void;
  directory?(entry: Extract<FileEntry, { type: 'directory' }>): Promise<void> | void;
  symlink?(entry: Extract<FileEntry, { type: 'symlink' }>): Promise<void> | void;
  /** A file begins; return a writer for its bytes (or nothing to only verify it). */
  file?(
    entry: Extract<FileEntry, { type: 'file' }>,
  ): Promise<FileWriter | undefined> | FileWriter | undefined;
}

export interface FileWriter {
  write(chunk: Buffer): Promise<void> | void;
  /** Called once the digest matched: make the file final. */
  finish(): Promise<void>;
}

export interface ReadBundleOptions {
  /**
   * The manifest bytes whose signature was verified. The first member must be
   * byte-identical. Leave unset only to inspect an unverified bundle.
   */
  expectedManifest?: Uint8Array;
  limits?: Partial<ReadLimits>;
  signal?: AbortSignal;
  /** Also compute the SHA-256 of the whole stream (costs one more hash pass). */
  hashWhole?: boolean;
  /**
   * For a bundle file: a one-worker HashPool the caller already started, to hash members on
   * instead of starting one here, so the worker's start-up overlaps the caller's own work (the
   * signature check). The caller closes it.
   */
  memberHashPool?: HashPool;
}

export interface ReadBundleResult {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  /** Bytes read from the source. */
  size: number;
  /** SHA-256 of the whole stream, when `hashWhole` was set. */
  sha256?: Sha256Hex;
  fileCount: number;
  payloadBytes: number;
}

/**
 * Stream a bundle tar through every safety and integrity check (design §5) in
 * constant memory: the first member is the manifest (byte-identical to the
 * signed bytes), every later member must be listed in it with the same type,
 * mode, size and digest, nothing may escape, and nothing listed may be missing.
 * Entries reach the visitor only after their header passed; file bytes are
 * hashed as they are handed to the writer, and `finish()` runs only on a match.
 *
 * When `source` is an unread `fs.ReadStream` of a regular file and nothing is
 * written (no `file` visitor, no `hashWhole`), the file is read directly with
 * positioned reads and large members are hashed on a worker thread (see
 * member-offload.ts); the stream is destroyed (its file closed) when done, as
 * reading it to the end would have.
 */
export async function readBundle(
  source: AsyncIterable<Uint8Array>,
  options: ReadBundleOptions = {},
  visitor: EntryVisitor = {},
): Promise<ReadBundleResult> {
  const limits = { ...DEFAULT_READ_LIMITS, ...options.limits };
  const state = new ReadState(limits, options.expectedManifest, visitor);
  // A verify of a file on disk (nothing written, no whole-stream digest) reads the file itself and
  // hashes members on two threads; anything else streams `source` as given.
  const file = !visitor.file && !options.hashWhole ? await untouchedFileStream(source) : undefined;
  const offload = file ? new MemberOffload(file.fd, file.size, options.memberHashPool) : undefined;
  state.offload = offload;
  try {
    return await parseBlocks(
      file ? fileBlocks(file.fd, file.size, options.signal, () => offload?.skipTo ?? 0) : blocksOf(source),
      state,
      options,
      offload,
    );
  } finally {
    await offload?.close();
    file?.stream.destroy();
  }
}

async function* blocksOf(source: AsyncIterable<Uint8Array>): AsyncGenerator<FileBlock> {
  let offset = 0;
  for await (const chunk of source) {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    yield { bytes, offset };
    offset += bytes.byteLength;
  }
}

async function parseBlocks(
  blocks: AsyncIterable<FileBlock>,
  state: ReadState,
  options: ReadBundleOptions,
  offload: MemberOffload | undefined,
): Promise<ReadBundleResult> {
  // strict: every tar warning (bad checksum, truncation, bad pax) is an error.
  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024 });
  const whole = options.hashWhole ? createSha256() : undefined;
  let size = 0;
  const done = new Promise<void>((resolve, reject) => {
    parser.on('entry', (entry: ReadEntry) => state.onEntry(entry, parser));
    parser.on('ignoredEntry', (entry: ReadEntry) =>
      parser.abort(
        fail(BundleErrors.BUNDLE_ENTRY_UNSAFE, `${entry.path}: entry of unsupported type ${entry.type}`),
      ),
    );
    parser.on('warn', (code: string, message: string | Error) =>
      parser.abort(
        fail(BundleErrors.BUNDLE_TAR_INVALID, `not a valid bundle tar: ${code} ${String(message)}`),
      ),
    );
    const failed = (err: unknown) => {
      state.fail(err, parser);
      reject(state.error);
    };
    parser.on('error', failed);
    parser.on('abort', failed);
    parser.on('end', () => resolve());
  });
  done.catch(() => undefined);
  try {
    for await (const block of blocks) {
      options.signal?.throwIfAborted();
      if (state.error) break;
      whole?.update(block.bytes);
      size += block.bytes.byteLength;
      // A stand-in block holds no member's first bytes: nothing in it may be handed to the worker.
      if (offload) offload.current = block.skipped ? undefined : block;
      if (!parser.write(block.bytes)) await Promise.race([new Promise((r) => parser.once('drain', r)), done]);
    }
    if (!state.error) parser.end();
    await done;
    await state.settled();
  } catch (err) {
    state.fail(err, parser);
    // Let queued visitor work drain before the caller cleans up (e.g. empties the slot).
    await state.settled();
  }
  if (state.error) throw state.error;
  return state.finish(size, whole?.hex());
}
