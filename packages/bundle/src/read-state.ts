import { bytesEqual, ClawbackError, createSha256, type Sha256Hex } from '@clawback/core';
import type { Parser, ReadEntry } from 'tar';
import { BundleErrors } from './errors.js';
import { decodeManifest } from './manifest.js';
import { type FileEntry, MANIFEST_PATH, type Manifest } from './manifest-types.js';
import type { MemberOffload } from './member-offload.js';
import { pathProblem, symlinkTargetProblem } from './paths.js';
import type { EntryVisitor, FileWriter, ReadBundleResult, ReadLimits } from './reader.js';

export const fail = (code: string, message: string, details?: Record<string, unknown>) =>
  new ClawbackError(code, message, {
    hint: 'Do not install this bundle; fetch it again from the release, or rebuild and re-sign it.',
    ...(details ? { details } : {}),
  });

export function asBundleError(err: unknown): ClawbackError {
  if (err instanceof ClawbackError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return new ClawbackError(BundleErrors.BUNDLE_READ_ABORTED, 'bundle read was aborted', {
      cause: err,
      hint: 'Nothing was installed; run again.',
    });
  }
  return fail(
    BundleErrors.BUNDLE_TAR_INVALID,
    `not a valid bundle tar: ${(err as Error)?.message ?? String(err)}`,
  );
}

/** Per-read bookkeeping; one instance per `readBundle` call. */
export class ReadState {
  error: ClawbackError | undefined;
  private manifest: Manifest | undefined;
  private manifestStarted = false;
  private manifestBytes: Uint8Array | undefined;
  private listed = new Map<string, FileEntry>();
  private seen = new Set<string>();
  private entries = 0;
  private payloadBytes = 0;
  private fileCount = 0;
  private pending: Promise<void> = Promise.resolve();
  private readonly onAbort: (() => void)[] = [];
  /** Digests a worker is computing for members of a file bundle; `settled()` waits for them. */
  private readonly ranged: Promise<void>[] = [];
  /** Set by `readBundle` when members may be hashed on a second thread (file sources only). */
  offload: MemberOffload | undefined;

  constructor(
    private readonly limits: ReadLimits,
    private readonly expected: Uint8Array | undefined,
    private readonly visitor: EntryVisitor,
  ) {}

  onEntry(entry: ReadEntry, parser: Parser): void {
    try {
      this.entries += 1;
      if (this.entries > this.limits.maxEntries + 1) {
        throw fail(BundleErrors.BUNDLE_TOO_LARGE, `more than ${this.limits.maxEntries} entries`);
      }
      // A global pax header rewrites later headers; bundles never need one.
      if (entry.globalExtended)
        throw fail(BundleErrors.BUNDLE_ENTRY_UNSAFE, 'global pax header is not allowed');
      if (!this.manifestStarted) this.readManifest(entry, parser);
      else this.readPayload(entry, parser);
    } catch (err) {
      this.abort(err, parser);
      entry.resume();
    }
  }

  /** Record the first failure, stop the parser, and release everything waiting on an entry. */
  fail(err: unknown, parser: Parser): void {
    this.abort(err, parser);
  }

  private abort(err: unknown, parser: Parser): void {
    this.error ??= asBundleError(err);
    parser.abort(this.error);
    // An aborted tar never ends its current entry: release whoever waits for it.
    for (const release of this.onAbort.splice(0)) release();
  }

  private readManifest(entry: ReadEntry, parser: Parser): void {
    if (entry.path !== MANIFEST_PATH || (entry.type !== 'File' && entry.type !== 'OldFile')) {
      throw fail(
        BundleErrors.BUNDLE_MANIFEST_MISMATCH,
        `first member is ${entry.path}, expected ${MANIFEST_PATH}`,
      );
    }
    const max = this.expected?.byteLength ?? this.limits.maxManifestBytes;
    if (this.expected ? entry.size !== max : entry.size > max) {
      throw fail(
        BundleErrors.BUNDLE_MANIFEST_MISMATCH,
        `${MANIFEST_PATH} differs from the signed manifest (size)`,
      );
    }
    const parts: Buffer[] = [];
    this.manifestStarted = true;
    // Copied: a file source reuses its read buffers once the parser has moved on.
    entry.on('data', (c: Buffer) => parts.push(Buffer.from(c)));
    entry.on('end', () => {
      try {
        const bytes = Buffer.concat(parts);
        if (this.expected && !bytesEqual(bytes, this.expected)) {
          throw fail(
            BundleErrors.BUNDLE_MANIFEST_MISMATCH,
            `${MANIFEST_PATH} differs from the signed manifest`,
          );
        }
        const manifest = decodeManifest(bytes, {
          source: MANIFEST_PATH,
          signed: this.expected !== undefined,
        });
        this.manifest = manifest;
        this.manifestBytes = new Uint8Array(bytes);
        for (const f of manifest.files) this.listed.set(f.path, f);
        this.chain(() => this.visitor.manifest?.(manifest, new Uint8Array(bytes)), parser);
      } catch (err) {
        this.abort(err, parser);
      }
    });
    entry.resume();
  }

  private readPayload(entry: ReadEntry, parser: Parser): void {
    if (!this.manifest) throw fail(BundleErrors.BUNDLE_TAR_INVALID, 'manifest member is incomplete');
    const isDir = entry.type === 'Directory';
    const path = isDir && entry.path.endsWith('/') ? entry.path.slice(0, -1) : entry.path;
    const bad = pathProblem(path, { allowReserved: false });
    if (bad) throw fail(BundleErrors.BUNDLE_ENTRY_UNSAFE, `${JSON.stringify(path)}: ${bad}`);
    const kind = tarKind(entry.type);
    if (kind === undefined) {
      throw fail(
        BundleErrors.BUNDLE_ENTRY_UNSAFE,
        `${path}: ${entry.type} entries are not allowed in a bundle`,
      );
    }
    const listed = this.listed.get(path);
    if (!listed)
      throw fail(BundleErrors.BUNDLE_ENTRY_UNEXPECTED, `${path}: not listed in the signed manifest`);
    if (this.seen.has(path)) throw fail(BundleErrors.BUNDLE_ENTRY_UNEXPECTED, `${path}: appears twice`);
    this.seen.add(path);
    if (listed.type !== kind) {
      throw fail(
        BundleErrors.BUNDLE_ENTRY_UNEXPECTED,
        `${path}: is a ${kind} in the tar, a ${listed.type} in the manifest`,
      );
    }
    if (listed.type === 'symlink') {
      const t = symlinkTargetProblem(path, entry.linkpath ?? '');
      if (t) throw fail(BundleErrors.BUNDLE_ENTRY_UNSAFE, `${path}: ${t}`);
      if (entry.linkpath !== listed.target) {
        throw fail(BundleErrors.BUNDLE_ENTRY_UNEXPECTED, `${path}: link target differs from the manifest`);
      }
      this.chain(() => this.visitor.symlink?.(listed), parser);
      entry.resume();
      return;
    }
    if (listed.type === 'directory') {
      this.chain(() => this.visitor.directory?.(listed), parser);
      entry.resume();
      return;
    }
    if (entry.size !== listed.size) {
      throw fail(
        BundleErrors.BUNDLE_DIGEST_MISMATCH,
        `${path}: size ${entry.size} differs from the manifest (${listed.size})`,
      );
    }
    if ((entry.mode ?? 0) !== listed.mode) {
      throw fail(BundleErrors.BUNDLE_ENTRY_UNEXPECTED, `${path}: mode differs from the manifest`);
    }
    if (listed.size > this.limits.maxFileBytes) {
      throw fail(
        BundleErrors.BUNDLE_TOO_LARGE,
        `${path}: ${listed.size} bytes exceeds the ${this.limits.maxFileBytes}-byte cap`,
      );
    }
    this.payloadBytes += listed.size;
    if (this.payloadBytes > this.limits.maxTotalBytes) {
      throw fail(BundleErrors.BUNDLE_TOO_LARGE, `payload exceeds the ${this.limits.maxTotalBytes}-byte cap`);
    }
    this.fileCount += 1;
    this.streamFile(entry, listed, parser);
  }

  /** Hash a file's bytes as they go to the writer; pause the tar while the writer is busy. */
  private streamFile(entry: ReadEntry, listed: Extract<FileEntry, { type: 'file' }>, parser: Parser): void {
    if (!this.visitor.file) {
      this.hashOnly(entry, listed, parser);
      return;
    }
    const digest = createSha256();
    let writer: FileWriter | undefined;
    let busy: Promise<void> = this.pending.then(async () => {
      if (!this.error) writer = (await this.visitor.file?.(listed)) ?? undefined;
    });
    // Every chunk is chained behind the writer's open and the previous write, and the
    // entry is paused meanwhile, so bytes reach the file in order and memory stays flat.
    // Once nothing is pending, a chunk the writer takes synchronously (it batches) skips the
    // pause and the extra tick.
    let idle = false;
    const track = (p: Promise<void>) => {
      idle = false;
      entry.pause();
      busy = p.then(
        () => {
          idle = true;
          if (!this.error) entry.resume();
        },
        (err) => this.abort(err, parser),
      );
    };
    entry.on('data', (chunk: Buffer) => {
      digest.update(chunk);
      if (idle) {
        if (this.error || !writer) return;
        const wrote = writer.write(chunk);
        if (wrote) track(Promise.resolve(wrote));
        return;
      }
      track(
        busy.then(async () => {
          if (writer && !this.error) await writer.write(chunk);
        }),
      );
    });
    track(busy);
    const finished = new Promise<void>((resolve) => {
      // On abort, wait only for the write in flight, so the caller can clean up safely.
      this.onAbort.push(() => void busy.finally(resolve));
      if (this.error) void busy.finally(resolve);
      entry.on('end', () => {
        // Design §5: each file's digest is checked as it is written; only a match is finished.
        busy
          .then(async () => {
            if (digest.size !== listed.size || digest.hex() !== listed.sha256) {
              throw fail(
                BundleErrors.BUNDLE_DIGEST_MISMATCH,
                `${listed.path}: SHA-256 differs from the manifest`,
              );
            }
            await writer?.finish();
          })
          .catch((err) => this.abort(err, parser))
          .finally(resolve);
      });
    });
    this.pending = finished;
  }

  /**
   * Verify-only fast path: hash synchronously as the parser hands over bytes, no pausing; or,
   * for a file bundle, let the worker hash the member's byte range of the file (MemberOffload).
   */
  private hashOnly(entry: ReadEntry, listed: Extract<FileEntry, { type: 'file' }>, parser: Parser): void {
    const digest = createSha256();
    let offset: number | undefined;
    let seen = 0;
    entry.on('data', (chunk: Buffer) => {
      if (seen === 0 && this.offload) offset = this.offload.claim(chunk, listed.size);
      seen += chunk.byteLength;
      if (offset === undefined) digest.update(chunk);
    });
    const mismatch = () =>
      this.abort(
        fail(BundleErrors.BUNDLE_DIGEST_MISMATCH, `${listed.path}: SHA-256 differs from the manifest`),
        parser,
      );
    entry.on('end', () => {
      if (offset === undefined) {
        if (digest.size !== listed.size || digest.hex() !== listed.sha256) mismatch();
        return;
      }
      if (seen !== listed.size || !this.offload) {
        mismatch();
        return;
      }
      this.ranged.push(
        this.offload.hash(offset, listed.size).then(
          (r) => {
            if (r.size !== listed.size || r.sha256 !== listed.sha256) mismatch();
          },
          (err) => this.abort(err, parser),
        ),
      );
    });
  }

  private chain(fn: () => Promise<void> | void, parser: Parser): void {
    this.pending = this.pending
      .then(() => (this.error ? undefined : fn()))
      .catch((err) => this.abort(err, parser));
  }

  async settled(): Promise<void> {
    await this.pending;
    await Promise.all(this.ranged);
  }

  finish(size: number, sha256: Sha256Hex | undefined): ReadBundleResult {
    if (!this.manifest || !this.manifestBytes) {
      throw fail(BundleErrors.BUNDLE_TAR_INVALID, `no ${MANIFEST_PATH} member: not a Clawback bundle`);
    }
    const missing = [...this.listed.keys()].filter((p) => !this.seen.has(p));
    if (missing.length > 0) {
      throw fail(
        BundleErrors.BUNDLE_ENTRY_MISSING,
        `${missing.length} entr(ies) listed in the manifest are missing: ${missing.slice(0, 5).join(', ')}`,
        {
          missing: missing.slice(0, 100),
        },
      );
    }
    return {
      manifest: this.manifest,
      manifestBytes: this.manifestBytes,
      size,
      ...(sha256 === undefined ? {} : { sha256 }),
      fileCount: this.fileCount,
      payloadBytes: this.payloadBytes,
    };
  }
}

function tarKind(type: string): FileEntry['type'] | undefined {
  switch (type) {
    case 'File':
    case 'OldFile':
      return 'file';
    case 'Directory':
      return 'directory';
    case 'SymbolicLink':
      return 'symlink';
    default:
      // Link (hardlink), CharacterDevice, BlockDevice, FIFO, ContiguousFile, GNUDumpDir...
      return undefined;
  }
}
