/**
 * Hash-chained audit log, the file half. One live file (`audit.log`), rotated
 * files beside it (`audit.log.000001`, …, oldest first) and a signed checkpoint
 * (`audit.log.checkpoint`). An append that cannot be made durable throws, so the
 * action it records fails with it (design §10).
 */
import { open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  AUDIT_CHECKPOINT_PAYLOAD_TYPE,
  AUDIT_GENESIS,
  AUDIT_RECOVERED_KIND,
  AUDIT_ROTATED_KIND,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditFileText,
  type AuditVerifyReport,
  sealEntry,
  verifyAuditChain,
} from './audit-chain.js';
import { canonicalJsonBytes } from './canonical.js';
import { sha256Hex } from './digest.js';
import { signDsse } from './dsse.js';
import { ClawbackError, CoreErrors } from './errors.js';
import { withLock, writeFileAtomic } from './fs.js';
import type { PublicKey, Signer } from './keys.js';
import { isoSeconds } from './time.js';

export interface AuditLogOptions {
  now?: () => Date;
  /** Signs checkpoints. Without a signer no checkpoint is written. */
  signer?: Signer;
  /** Rotate the live file once it is larger than this many bytes (default 8 MiB). */
  rotateBytes?: number;
  /** Write a signed checkpoint every N appends (default 1: after every append). */
  checkpointEvery?: number;
  /** Default actor recorded on entries. */
  actor?: string;
  /** fsync every append (default true). */
  durable?: boolean;
}

export interface AppendOptions {
  actor?: string;
}

interface Head {
  seq: number;
  hash: string;
}

export class AuditLog {
  readonly path: string;
  private readonly options: AuditLogOptions;
  private sinceCheckpoint = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, options: AuditLogOptions) {
    this.path = path;
    this.options = options;
  }

  static async open(path: string, options: AuditLogOptions = {}): Promise<AuditLog> {
    const { mkdir } = await import('node:fs/promises');
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (cause) {
      throw appendError(path, cause);
    }
    return new AuditLog(path, options);
  }

  /** Append one entry. Serialized within the process and locked across processes. */
  append(kind: string, data: Record<string, unknown>, opts: AppendOptions = {}): Promise<AuditEntry> {
    const run = this.queue.then(() => this.appendNow(kind, data, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The newest entry's sequence number and hash (what reports carry as `auditHead`), if any. */
  async head(): Promise<{ seq: number; hash: string } | undefined> {
    return withLock(`${this.path}.lock`, () => readHead(this.path));
  }

  /** Write a signed checkpoint of the current head now. */
  async checkpoint(): Promise<void> {
    await withLock(`${this.path}.lock`, async () => {
      const head = await readHead(this.path);
      if (head) await this.writeCheckpoint(head);
    });
  }

  private async appendNow(
    kind: string,
    data: Record<string, unknown>,
    opts: AppendOptions,
  ): Promise<AuditEntry> {
    try {
      return await withLock(`${this.path}.lock`, async () => {
        const torn = await cutTornTail(this.path);
        let head = await readHead(this.path);
        await assertNotBehindCheckpoint(this.path, head);
        if (torn) {
          head = await this.write(AUDIT_RECOVERED_KIND, torn, undefined, head);
        }
        const rotateBytes = this.options.rotateBytes ?? 8 * 1024 * 1024;
        const size = await fileSize(this.path);
        if (head && size > rotateBytes) {
          const rotatedTo = await this.rotate();
          head = await this.write(
            AUDIT_ROTATED_KIND,
            { previousFile: basename(rotatedTo), previousSeq: head.seq, previousHash: head.hash },
            undefined,
            head,
          );
        }
        const now = this.options.now?.() ?? new Date();
        const entry = await this.write(kind, data, opts.actor ?? this.options.actor, head, now);
        this.sinceCheckpoint += 1;
        if (this.options.signer && this.sinceCheckpoint >= (this.options.checkpointEvery ?? 1)) {
          await this.writeCheckpoint(entry, now);
        }
        return entry;
      });
    } catch (cause) {
      // Coded errors (tampered log, lock held, unreadable head) keep their code; raw I/O errors get ours.
      if (cause instanceof ClawbackError) throw cause;
      throw appendError(this.path, cause);
    }
  }

  private async write(
    kind: string,
    data: Record<string, unknown>,
    actor: string | undefined,
    head: Head | undefined,
    now: Date = this.options.now?.() ?? new Date(),
  ): Promise<AuditEntry & Head> {
    const entry = sealEntry({
      v: 1,
      seq: (head?.seq ?? 0) + 1,
      ts: now.toISOString(),
      kind,
      ...(actor === undefined ? {} : { actor }),
      data,
      prev: head?.hash ?? AUDIT_GENESIS,
    });
    const handle = await open(this.path, 'a', 0o640);
    try {
      await handle.write(`${JSON.stringify(entry)}\n`);
      if (this.options.durable ?? true) await handle.sync();
    } finally {
      await handle.close();
    }
    return entry;
  }

  private async rotate(): Promise<string> {
    const rotated = await listRotated(this.path);
    const next = (rotated.at(-1)?.index ?? 0) + 1;
    const target = `${this.path}.${String(next).padStart(6, '0')}`;
    await rename(this.path, target);
    return target;
  }

  private async writeCheckpoint(head: Head, now: Date = this.options.now?.() ?? new Date()): Promise<void> {
    const signer = this.options.signer;
    if (!signer) return;
    const cp: AuditCheckpoint = {
      log: basename(this.path),
      seq: head.seq,
      hash: head.hash,
      ts: isoSeconds(now),
    };
    const envelope = await signDsse(AUDIT_CHECKPOINT_PAYLOAD_TYPE, canonicalJsonBytes(cp), [signer]);
    await writeFileAtomic(`${this.path}.checkpoint`, `${JSON.stringify(envelope)}\n`, {
      durable: this.options.durable ?? true,
    });
    this.sinceCheckpoint = 0;
  }
}

function appendError(path: string, cause: unknown): ClawbackError {
  return new ClawbackError(
    CoreErrors.AUDIT_APPEND_FAILED,
    `could not append to audit log ${path}: ${(cause as Error).message}`,
    {
      cause,
      hint: 'The action was not carried out because it could not be recorded. Check disk space and permissions.',
    },
  );
}

/**
 * A power cut during an append can leave a partial last line. Cut the file back to its
 * last complete line so the log can go on, and return what was cut so it is recorded
 * (an `audit.recovered` entry with the cut bytes' size and digest). Only an unfinished
 * line is cut: a last line that is a whole entry without its newline gets the newline.
 * A cut can never hide a checkpointed entry: the checkpoint check that follows refuses.
 */
async function cutTornTail(path: string): Promise<Record<string, unknown> | undefined> {
  const handle = await open(path, 'r+').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    if (size === 0) return undefined;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return undefined;
    // Find the start of the unfinished line (entries are small; read back in growing windows).
    let window = 64 * 1024;
    let start = 0;
    for (;;) {
      const from = Math.max(0, size - window);
      const buf = Buffer.alloc(size - from);
      await handle.read(buf, 0, buf.length, from);
      const nl = buf.lastIndexOf(0x0a);
      if (nl >= 0) {
        start = from + nl + 1;
        break;
      }
      if (from === 0) break;
      window *= 4;
    }
    const tail = Buffer.alloc(size - start);
    await handle.read(tail, 0, tail.length, start);
    try {
      const e = JSON.parse(tail.toString('utf8')) as Partial<AuditEntry>;
      if (Number.isInteger(e.seq) && typeof e.hash === 'string') {
        await handle.write('\n', size);
        await handle.sync();
        return undefined;
      }
    } catch {
      // an unfinished line: cut below
    }
    await handle.truncate(start);
    await handle.sync();
    return {
      cutBytes: tail.length,
      cutSha256: sha256Hex(tail),
      reason: 'unfinished last line (interrupted write)',
    };
  } finally {
    await handle.close();
  }
}

/**
 * Refuse to extend a log whose newest entries were deleted. Without this, the next
 * append would write a fresh checkpoint over the shorter chain and erase the only
 * evidence of the truncation. The checkpoint's payload is read without checking its
 * signature: a forged checkpoint can only make appends refuse (fail closed), and
 * `verifyAuditLog` with the owner's key judges it properly.
 */
async function assertNotBehindCheckpoint(path: string, head: Head | undefined): Promise<void> {
  let text: string;
  try {
    text = await readFile(`${path}.checkpoint`, 'utf8');
  } catch {
    return;
  }
  let cp: Partial<AuditCheckpoint>;
  try {
    const env = JSON.parse(text) as { payload?: unknown };
    cp = JSON.parse(Buffer.from(String(env.payload), 'base64').toString('utf8')) as Partial<AuditCheckpoint>;
  } catch {
    throw tampered(path, 'its checkpoint file is unreadable');
  }
  if (typeof cp.seq !== 'number') throw tampered(path, 'its checkpoint file is malformed');
  const headSeq = head?.seq ?? 0;
  if (headSeq < cp.seq) {
    throw tampered(
      path,
      `it ends at entry ${headSeq} but its checkpoint anchors entry ${cp.seq} (truncated)`,
    );
  }
  if (headSeq === cp.seq && head?.hash !== cp.hash) {
    throw tampered(path, `entry ${cp.seq} differs from the one its checkpoint signed (rewritten)`);
  }
}

function tampered(path: string, why: string): ClawbackError {
  return new ClawbackError(CoreErrors.AUDIT_LOG_TAMPERED, `audit log ${path} was tampered with: ${why}`, {
    hint: `Nothing was appended. Run \`clawback audit verify ${path}\`, keep the log and its checkpoint as evidence, then move both aside so a new log can start.`,
  });
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function listRotated(path: string): Promise<{ path: string; index: number }[]> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d{6,})$`);
  return names
    .flatMap((n) => {
      const m = re.exec(n);
      return m?.[1] ? [{ path: join(dir, n), index: Number.parseInt(m[1], 10) }] : [];
    })
    .sort((a, b) => a.index - b.index);
}

/** The log's files, oldest first, live file last (when present). */
export async function listAuditFiles(path: string): Promise<string[]> {
  const rotated = (await listRotated(path)).map((r) => r.path);
  return (await fileSize(path)) > 0 || (await exists(path)) ? [...rotated, path] : rotated;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Head of the chain: the last entry of the live file, or of the newest rotated file. */
async function readHead(path: string): Promise<Head | undefined> {
  const files = await listAuditFiles(path);
  for (const f of files.reverse()) {
    const line = await readLastLine(f);
    if (line === undefined) continue;
    try {
      const e = JSON.parse(line) as AuditEntry;
      if (Number.isInteger(e.seq) && typeof e.hash === 'string') return { seq: e.seq, hash: e.hash };
    } catch {
      // fall through
    }
    throw new ClawbackError(CoreErrors.AUDIT_LOG_INVALID, `the last line of ${f} is not an audit entry`, {
      hint: `Run \`clawback audit verify ${path}\` to see what happened to the log.`,
    });
  }
  return undefined;
}

/** Read the last non-empty line without reading the whole file. */
async function readLastLine(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    let window = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - window);
      const buf = Buffer.alloc(size - start);
      await handle.read(buf, 0, buf.length, start);
      const text = buf.toString('utf8').replace(/\n+$/, '');
      const nl = text.lastIndexOf('\n');
      if (nl >= 0) return text.slice(nl + 1);
      if (start === 0) return text === '' ? undefined : text;
      window *= 4;
    }
  } finally {
    await handle.close();
  }
}

/** Read every file of a log (and its checkpoint) for verification, export or summary. */
export async function readAuditLog(path: string): Promise<{ files: AuditFileText[]; checkpoint?: string }> {
  const files = await listAuditFiles(path);
  if (files.length === 0) {
    throw new ClawbackError(CoreErrors.FILE_NOT_FOUND, `audit log not found: ${path}`, {
      hint: 'Pass the path of the live log file (e.g. /var/lib/clawback/audit.log).',
    });
  }
  const texts = await Promise.all(
    files.map(async (f) => ({ name: basename(f), text: await readFile(f, 'utf8') })),
  );
  const checkpoint = await readFile(`${path}.checkpoint`, 'utf8').catch(() => undefined);
  return checkpoint === undefined ? { files: texts } : { files: texts, checkpoint };
}

export async function verifyAuditLog(
  path: string,
  options: { trustedKeys?: readonly PublicKey[] } = {},
): Promise<AuditVerifyReport> {
  const { files, checkpoint } = await readAuditLog(path);
  return verifyAuditChain({
    files,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(options.trustedKeys ? { trustedKeys: options.trustedKeys } : {}),
  });
}
