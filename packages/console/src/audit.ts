/**
 * The console's hash-chained audit log (design §10). Entries are sealed with core's
 * `sealEntry`, so the chain format is the one every Clawback log uses, but they live in the
 * database: an entry is written in the SAME transaction as the state change it records (a
 * failed append rolls the change back, and a rolled-back change leaves no entry), and every
 * replica sharing the database appends to one chain. `exportAuditLog` writes the chain as a
 * JSON-lines file plus a signed checkpoint that `clawback audit verify` checks offline.
 */
import { basename } from 'node:path';
import {
  AUDIT_CHECKPOINT_PAYLOAD_TYPE,
  AUDIT_GENESIS,
  type AuditCheckpoint,
  type AuditEntry,
  canonicalJsonBytes,
  type DsseEnvelope,
  isoSeconds,
  redactValue,
  type Signer,
  sealEntry,
  signDsse,
  writeFileAtomic,
} from '@clawback/core';
import type { Queryable } from './storage/db.js';

/** Arbitrary constant naming the audit chain lock; serialises appends across replicas. */
const AUDIT_LOCK = 0x61756474;

/**
 * Take the chain lock. Every write transaction takes it first, so all of them lock in one
 * order (chain, then rows) and two can never deadlock across replicas.
 */
export async function lockAuditChain(tx: Queryable): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(${AUDIT_LOCK})`);
}

export async function appendAudit(
  tx: Queryable,
  now: Date,
  kind: string,
  data: Record<string, unknown>,
  actor?: string,
): Promise<AuditEntry> {
  await lockAuditChain(tx);
  const head = (
    await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')
  )[0];
  const entry = sealEntry({
    v: 1,
    seq: (head?.seq ?? 0) + 1,
    ts: now.toISOString(),
    kind,
    ...(actor === undefined ? {} : { actor }),
    // Entries are exported and shown; secrets never enter them (house style 14).
    data: redactValue(data) as Record<string, unknown>,
    prev: head?.hash ?? AUDIT_GENESIS,
  });
  await tx.query('INSERT INTO audit_log (seq, hash, line) VALUES ($1, $2, $3)', [
    entry.seq,
    entry.hash,
    JSON.stringify(entry),
  ]);
  return entry;
}

export async function readAuditEntries(db: Queryable, limit?: number): Promise<AuditEntry[]> {
  const rows =
    limit === undefined
      ? await db.query<{ line: string }>('SELECT line FROM audit_log ORDER BY seq')
      : (
          await db.query<{ line: string }>('SELECT line FROM audit_log ORDER BY seq DESC LIMIT $1', [limit])
        ).reverse();
  return rows.map((r) => JSON.parse(r.line) as AuditEntry);
}

/**
 * The whole chain as JSON lines plus, with a signer, a checkpoint over its head naming the file
 * `logName` (the name `clawback audit verify` will see it under).
 */
export async function auditExportBundle(
  db: Queryable,
  logName: string,
  signer: Signer | undefined,
  now: Date,
): Promise<{
  text: string;
  checkpoint: DsseEnvelope | null;
  entries: number;
  head: { seq: number; hash: string } | null;
}> {
  const rows = await db.query<{ seq: number; hash: string; line: string }>(
    'SELECT seq, hash, line FROM audit_log ORDER BY seq',
  );
  const last = rows.at(-1);
  let checkpoint: DsseEnvelope | null = null;
  if (signer && last) {
    const cp: AuditCheckpoint = { log: logName, seq: last.seq, hash: last.hash, ts: isoSeconds(now) };
    checkpoint = await signDsse(AUDIT_CHECKPOINT_PAYLOAD_TYPE, canonicalJsonBytes(cp), [signer]);
  }
  return {
    text: rows.map((r) => `${r.line}\n`).join(''),
    checkpoint,
    entries: rows.length,
    head: last ? { seq: last.seq, hash: last.hash } : null,
  };
}

/** Write the chain to `path` (JSON lines) and, with a signer, `path.checkpoint`. */
export async function exportAuditLog(
  db: Queryable,
  path: string,
  signer: Signer | undefined,
  now: Date,
): Promise<{ entries: number; head: { seq: number; hash: string } | null }> {
  const b = await auditExportBundle(db, basename(path), signer, now);
  await writeExport(path, b.text, b.checkpoint);
  return { entries: b.entries, head: b.head };
}

/** Write an export and its checkpoint atomically (the checkpoint last, so it never names a missing log). */
export async function writeExport(
  path: string,
  text: string,
  checkpoint: DsseEnvelope | null,
): Promise<void> {
  await writeFileAtomic(path, text);
  if (checkpoint) await writeFileAtomic(`${path}.checkpoint`, `${JSON.stringify(checkpoint)}\n`);
}
