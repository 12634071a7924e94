/** Device session rows: revocation and pruning (docs/protocol.md "Device sessions"). */
import type { ConsoleContext } from './context.js';
import type { Queryable } from './storage/db.js';

/**
 * Revoke every session of a device, inside the caller's transaction (retire, re-bind, key
 * rotation). The caller bumps the state version so other replicas drop their cached copies.
 */
export async function revokeDeviceSessions(tx: Queryable, deviceId: string): Promise<number> {
  const rows = await tx.query(
    'UPDATE device_sessions SET revoked = true WHERE device_id = $1 AND NOT revoked RETURNING hash',
    [deviceId],
  );
  return rows.length;
}

/** Delete expired sessions and nonces (they can no longer authenticate anything). */
export async function pruneDeviceAuth(ctx: ConsoleContext): Promise<{ sessions: number; nonces: number }> {
  const now = ctx.now();
  const sessions = await ctx.db.query('DELETE FROM device_sessions WHERE expires_at < $1 RETURNING hash', [
    now,
  ]);
  const nonces = await ctx.db.query('DELETE FROM device_auth_nonces WHERE expires_at < $1 RETURNING nonce', [
    now,
  ]);
  return { sessions: sessions.length, nonces: nonces.length };
}
