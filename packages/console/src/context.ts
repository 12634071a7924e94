/**
 * What every console operation needs, passed in (house style 2): the database, the clock, the
 * console's signing key, metrics, caches, and the change-record verifier.
 */
import type { Signer } from '@clawback/core';
import type { ChangeRecordVerifier } from './change-records.js';
import type { DeviceCache } from './device-cache.js';
import type { Metrics } from './metrics.js';
import type { Db, Queryable } from './storage/db.js';

export interface ConsoleContext {
  db: Db;
  now: () => Date;
  /** Signs webhook bodies and audit checkpoints. */
  signer: Signer;
  metrics: Metrics;
  cache: DeviceCache;
  verifyChangeRecord: ChangeRecordVerifier;
  /** How long devices wait between check-ins (sent in every desired response). */
  pollAfterSecs: number;
  /** Lifetime of a device session token (docs/protocol.md "Device sessions"). */
  deviceSessionTtlSecs: number;
  /** Called after a transaction raised alerts, so delivery starts without waiting for the timer. */
  onAlertsRaised: () => void;
}

/**
 * Mark that devices' desired state or keys may have changed. Other replicas notice the new
 * version within their refresh interval and drop their caches.
 */
export async function bumpStateVersion(tx: Queryable): Promise<void> {
  await tx.query('UPDATE state_version SET version = version + 1 WHERE id = 1');
}
