/**
 * Hash-chained audit log, the pure half (design §10). Every entry carries the
 * previous entry's hash and its own hash over its canonical JSON; a signed
 * checkpoint anchors the head so deleting the newest entries is detected too.
 * This module only parses and verifies text; `audit.ts` does the file I/O.
 */
import { canonicalJson } from './canonical.js';
import { isSha256Hex, sha256Hex } from './digest.js';
import { type DsseEnvelope, parseDsseEnvelope, verifyDsse } from './dsse.js';
import { fromUtf8 } from './encoding.js';
import { isClawbackError } from './errors.js';
import type { PublicKey } from './keys.js';

export const AUDIT_GENESIS = '0'.repeat(64);
export const AUDIT_CHECKPOINT_PAYLOAD_TYPE = 'application/vnd.clawback.audit-checkpoint+json';
export const AUDIT_ROTATED_KIND = 'audit.rotated';
/** Written when an interrupted append left a partial last line that was cut off. */
export const AUDIT_RECOVERED_KIND = 'audit.recovered';

export interface AuditEntry {
  v: 1;
  seq: number;
  ts: string;
  kind: string;
  actor?: string;
  data: Record<string, unknown>;
  prev: string;
  hash: string;
}

export type UnhashedEntry = Omit<AuditEntry, 'hash'>;

export function entryHash(entry: UnhashedEntry): string {
  const { v, seq, ts, kind, actor, data, prev } = entry;
  return sha256Hex(
    canonicalJson(
      actor === undefined ? { v, seq, ts, kind, data, prev } : { v, seq, ts, kind, actor, data, prev },
    ),
  );
}

export function sealEntry(entry: UnhashedEntry): AuditEntry {
  return { ...entry, hash: entryHash(entry) };
}

export interface AuditCheckpoint {
  /** Base name of the live log file the checkpoint was taken on. */
  log: string;
  seq: number;
  hash: string;
  ts: string;
}

export type AuditProblemCode =
  | 'LINE_INVALID'
  | 'ENTRY_MODIFIED'
  | 'ENTRY_MISSING'
  | 'ENTRIES_REORDERED'
  | 'ENTRY_DUPLICATED'
  | 'CHAIN_BROKEN'
  | 'ROTATION_LINK_BROKEN'
  | 'LOG_TRUNCATED'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_MISMATCH';

export interface AuditProblem {
  code: AuditProblemCode;
  file: string;
  line?: number;
  seq?: number;
  message: string;
}

export type CheckpointStatus = 'verified' | 'unsigned-check' | 'missing' | 'invalid';

export interface AuditVerifyReport {
  ok: boolean;
  files: string[];
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  headHash: string | null;
  /** The first entry does not link to genesis: older files were removed by retention. */
  startsMidChain: boolean;
  checkpoint: { status: CheckpointStatus; seq?: number; keyids?: string[]; unanchoredEntries?: number };
  problems: AuditProblem[];
  warnings: string[];
}

export interface AuditFileText {
  name: string;
  text: string;
}

/** Parse entries for export/summary. Lines that are not entries are skipped (verify reports them). */
export function parseAuditEntries(files: readonly AuditFileText[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (const f of files) {
    for (const line of f.text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const e = JSON.parse(line) as AuditEntry;
        if (isEntryShape(e)) out.push(e);
      } catch {
        // verify names malformed lines; readers skip them
      }
    }
  }
  return out;
}

function isEntryShape(e: unknown): e is AuditEntry {
  const x = e as Partial<AuditEntry> | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    x.v === 1 &&
    Number.isInteger(x.seq) &&
    typeof x.ts === 'string' &&
    typeof x.kind === 'string' &&
    typeof x.data === 'object' &&
    x.data !== null &&
    isSha256Hex(x.prev) &&
    isSha256Hex(x.hash) &&
    (x.actor === undefined || typeof x.actor === 'string')
  );
}

export interface VerifyAuditInput {
  /** Oldest first; the live file last. */
  files: readonly AuditFileText[];
  /** The checkpoint envelope text, if the log has one. */
  checkpoint?: string;
  /** Keys allowed to sign checkpoints. Without them the checkpoint is checked for consistency only. */
  trustedKeys?: readonly PublicKey[];
}

/**
 * Verify a whole (possibly rotated) log. Reports every problem, each named:
 * an edited entry (its hash no longer matches), a deleted one (sequence gap),
 * reordered entries, a broken link between rotated files, and truncation of the
 * newest entries (the signed checkpoint names an entry that is not there).
 */
export function verifyAuditChain(input: VerifyAuditInput): AuditVerifyReport {
  const problems: AuditProblem[] = [];
  const warnings: string[] = [];
  const bySeq = new Map<number, AuditEntry>();
  // Sequence gaps; a gap whose entries all appear elsewhere is reordering, not deletion.
  const gaps: { from: number; to: number; index: number }[] = [];
  let prevEntry: AuditEntry | undefined;
  let count = 0;
  let first: AuditEntry | undefined;

  for (const file of input.files) {
    const lines = file.text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    let firstInFile = true;
    lines.forEach((line, idx) => {
      const lineNo = idx + 1;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        problems.push({ code: 'LINE_INVALID', file: file.name, line: lineNo, message: 'line is not JSON' });
        return;
      }
      if (!isEntryShape(parsed)) {
        problems.push({
          code: 'LINE_INVALID',
          file: file.name,
          line: lineNo,
          message: 'line is not an audit entry',
        });
        return;
      }
      const e = parsed;
      count += 1;
      first ??= e;
      const at = { file: file.name, line: lineNo, seq: e.seq };
      const { hash, ...rest } = e;
      if (entryHash(rest) !== hash) {
        problems.push({
          code: 'ENTRY_MODIFIED',
          ...at,
          message: `entry ${e.seq} was modified after it was written`,
        });
      }
      if (prevEntry) {
        if (e.seq === prevEntry.seq) {
          problems.push({ code: 'ENTRY_DUPLICATED', ...at, message: `entry ${e.seq} appears twice` });
        } else if (e.seq < prevEntry.seq) {
          problems.push({
            code: 'ENTRIES_REORDERED',
            ...at,
            message: `entry ${e.seq} comes after entry ${prevEntry.seq}: entries were reordered`,
          });
        } else if (e.seq > prevEntry.seq + 1) {
          const missing = e.seq - prevEntry.seq - 1;
          gaps.push({ from: prevEntry.seq + 1, to: e.seq - 1, index: problems.length });
          problems.push({
            code: 'ENTRY_MISSING',
            ...at,
            message: `${missing} entr${missing === 1 ? 'y' : 'ies'} missing between ${prevEntry.seq} and ${e.seq}`,
          });
        } else if (e.prev !== prevEntry.hash) {
          const code = firstInFile ? 'ROTATION_LINK_BROKEN' : 'CHAIN_BROKEN';
          problems.push({
            code,
            ...at,
            message: firstInFile
              ? `${file.name} does not link to the last entry of the previous file`
              : `entry ${e.seq} does not link to entry ${prevEntry.seq}`,
          });
        }
      }
      if (firstInFile && prevEntry && e.kind !== AUDIT_ROTATED_KIND) {
        warnings.push(`${file.name} does not start with an ${AUDIT_ROTATED_KIND} entry`);
      }
      bySeq.set(e.seq, e);
      prevEntry = e;
      firstInFile = false;
    });
  }

  const reordered = new Set(
    gaps
      .filter(
        (g) =>
          g.to - g.from < 10_000 &&
          Array.from({ length: g.to - g.from + 1 }, (_, i) => g.from + i).every((q) => bySeq.has(q)),
      )
      .map((g) => g.index),
  );
  if (reordered.size > 0) {
    const kept = problems.filter((_, i) => !reordered.has(i));
    problems.length = 0;
    problems.push(...kept);
  }
  const startsMidChain = first !== undefined && !(first.seq === 1 && first.prev === AUDIT_GENESIS);
  if (startsMidChain && first) {
    warnings.push(
      `log starts at entry ${first.seq}: older entries are not present (rotated away or removed)`,
    );
  }
  const checkpoint = checkCheckpoint(input, bySeq, prevEntry, problems, warnings);
  return {
    ok: problems.length === 0,
    files: input.files.map((f) => f.name),
    entries: count,
    firstSeq: first?.seq ?? null,
    lastSeq: prevEntry?.seq ?? null,
    headHash: prevEntry?.hash ?? null,
    startsMidChain,
    checkpoint,
    problems,
    warnings,
  };
}

function checkCheckpoint(
  input: VerifyAuditInput,
  bySeq: Map<number, AuditEntry>,
  last: AuditEntry | undefined,
  problems: AuditProblem[],
  warnings: string[],
): AuditVerifyReport['checkpoint'] {
  const file = input.files.at(-1)?.name ?? 'audit log';
  if (input.checkpoint === undefined) {
    warnings.push('no checkpoint: deletion of the newest entries cannot be ruled out');
    return { status: 'missing' };
  }
  let envelope: DsseEnvelope;
  let cp: AuditCheckpoint;
  let keyids: string[] | undefined;
  try {
    envelope = parseDsseEnvelope(JSON.parse(input.checkpoint), 'checkpoint');
    let payload: Uint8Array;
    if (input.trustedKeys && input.trustedKeys.length > 0) {
      const v = verifyDsse(envelope, {
        trustedKeys: input.trustedKeys,
        threshold: 1,
        payloadType: AUDIT_CHECKPOINT_PAYLOAD_TYPE,
        source: 'audit checkpoint',
      });
      payload = v.payload;
      keyids = v.validKeyIds;
    } else {
      payload = Buffer.from(envelope.payload, 'base64');
      warnings.push('checkpoint signature not checked: no trusted key given');
    }
    cp = JSON.parse(fromUtf8(payload)) as AuditCheckpoint;
    if (!Number.isInteger(cp.seq) || !isSha256Hex(cp.hash))
      throw new Error('checkpoint payload is malformed');
  } catch (err) {
    const why = isClawbackError(err) ? err.message : (err as Error).message;
    problems.push({ code: 'CHECKPOINT_INVALID', file, message: `checkpoint rejected: ${why}` });
    return { status: 'invalid' };
  }
  const status: CheckpointStatus = keyids ? 'verified' : 'unsigned-check';
  if (cp.log !== undefined && cp.log !== file) {
    warnings.push(`the checkpoint was taken on ${cp.log}, but the live file is ${file}`);
  }
  const anchored = bySeq.get(cp.seq);
  if (!last || cp.seq > last.seq) {
    const lost = last ? cp.seq - last.seq : cp.seq;
    problems.push({
      code: 'LOG_TRUNCATED',
      file,
      seq: cp.seq,
      message: `the checkpoint anchors entry ${cp.seq} but the log ends at ${last?.seq ?? 'nothing'}: ${lost} newest entr${lost === 1 ? 'y was' : 'ies were'} deleted`,
    });
  } else if (!anchored) {
    problems.push({
      code: 'CHECKPOINT_MISMATCH',
      file,
      seq: cp.seq,
      message: `the checkpoint anchors entry ${cp.seq}, which is not in the log`,
    });
  } else if (anchored.hash !== cp.hash) {
    problems.push({
      code: 'CHECKPOINT_MISMATCH',
      file,
      seq: cp.seq,
      message: `entry ${cp.seq} differs from the one the checkpoint signed: the log was rewritten`,
    });
  }
  const unanchored = last && cp.seq <= last.seq ? last.seq - cp.seq : 0;
  if (unanchored > 0)
    warnings.push(`${unanchored} entr${unanchored === 1 ? 'y' : 'ies'} after the last checkpoint`);
  return { status, seq: cp.seq, ...(keyids ? { keyids } : {}), unanchoredEntries: unanchored };
}
