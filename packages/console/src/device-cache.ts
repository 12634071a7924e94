/**
 * Per-replica caches for the hot check-in path: device keys (as node:crypto KeyObjects, so a
 * header signature costs one OpenSSL Ed25519 verify), device session tokens (by hash, so a
 * bearer check-in costs one SHA-256 and a map lookup) and each device's desired response. All
 * are dropped whenever the shared `state_version` moves, which every change that can affect
 * them bumps, so replicas converge within one refresh interval.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { PublicKey } from '@clawback/core';
import type { Queryable } from './storage/db.js';

export interface CachedDevice {
  id: string;
  status: string;
  key: PublicKey;
  keyObject: KeyObject;
}

/** A device session token's record, keyed by the token's SHA-256 (docs/protocol.md). */
export interface CachedSession {
  deviceId: string;
  /** The device key that authenticated when the session was issued. */
  keyid: string;
  /** Expiry in epoch milliseconds. */
  expiresAt: number;
}

/** Bound on cached sessions per replica; past it the map starts over (misses fall back to the database). */
export const MAX_CACHED_SESSIONS = 200_000;

export interface CachedDesired {
  etag: string;
  body: Buffer;
}

// SPKI DER prefix for a raw 32-byte Ed25519 public key (RFC 8410).
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function keyObjectOf(key: PublicKey): KeyObject {
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, key.bytes]),
    format: 'der',
    type: 'spki',
  });
}

export class DeviceCache {
  readonly devices = new Map<string, CachedDevice>();
  readonly desired = new Map<string, CachedDesired>();
  readonly sessions = new Map<string, CachedSession>();
  private version = -1;
  /** last-seen times not yet written to the database. */
  readonly lastSeen = new Map<string, Date>();

  clear(): void {
    this.devices.clear();
    this.desired.clear();
    // Sessions too: a revocation (retire, re-bind, rotation) bumps the state version, so every
    // replica forgets the revoked tokens and re-reads them from the database on the next use.
    this.sessions.clear();
  }

  rememberSession(hash: string, session: CachedSession): void {
    if (this.sessions.size >= MAX_CACHED_SESSIONS) this.sessions.clear();
    this.sessions.set(hash, session);
  }

  /** Drop a device's cached sessions on this replica (others follow the state version). */
  forgetSessionsOf(deviceId: string): void {
    for (const [hash, s] of this.sessions) if (s.deviceId === deviceId) this.sessions.delete(hash);
  }

  /** Drop the caches if another replica (or this one) changed state since the last look. */
  async refresh(db: Queryable): Promise<void> {
    const rows = await db.query<{ version: number }>('SELECT version FROM state_version WHERE id = 1');
    const v = Number(rows[0]?.version ?? 0);
    if (v !== this.version) {
      this.clear();
      this.version = v;
    }
  }

  /** Write buffered last-seen times in one statement; never moves a time backwards. */
  async flushLastSeen(db: Queryable): Promise<number> {
    if (this.lastSeen.size === 0) return 0;
    const batch = [...this.lastSeen.entries()].map(([id, ts]) => ({ id, ts: ts.toISOString() }));
    this.lastSeen.clear();
    await db.query(
      `UPDATE devices SET last_seen = v.ts
         FROM jsonb_to_recordset($1::jsonb) AS v(id text, ts timestamptz)
        WHERE devices.id = v.id AND (devices.last_seen IS NULL OR devices.last_seen < v.ts)`,
      [JSON.stringify(batch)],
    );
    return batch.length;
  }
}
