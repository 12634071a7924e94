/**
 * Device sessions (docs/protocol.md "Device sessions"), as Mender does it: a device signs one
 * request with its key and receives a short-lived opaque bearer token; its check-ins then cost
 * a hash and a map lookup instead of an Ed25519 verify. Tokens are 32 random bytes, stored only
 * as SHA-256 (in the database, so every replica accepts them, and in each replica's cache).
 * Reports stay signed DSSE bodies: a session never stands in for a device signature on
 * anything that must be non-repudiable.
 */
import { randomBytes } from 'node:crypto';
import { ClawbackError, sha256Hex } from '@clawback/core';
import type { ConsoleContext } from './context.js';
import { authenticateDeviceRequest, DEVICE_SESSION_PREFIX, sessionHash } from './device-auth.js';
import { ConsoleErrors } from './errors.js';
import { REQUEST_MAX_SKEW_SECS } from './protocol.js';
import { Fields } from './validate.js';

export const DEFAULT_DEVICE_SESSION_TTL_SECS = 3600;
/** A nonce is 16–64 bytes, hex or base64url. */
const NONCE_PATTERN = /^[A-Za-z0-9_-]{22,128}$/;

export interface DeviceSession {
  token: string;
  tokenType: 'Bearer';
  expiresAt: string;
  expiresInSecs: number;
}

/**
 * `POST /api/v1/devices/<id>/session`: the request is signed like any header-authenticated
 * request, with `bodySha256` over the exact body bytes, so the nonce is covered. Freshness (±300 s)
 * bounds how long a captured request could be replayed; the nonce, remembered for that window,
 * makes each signed request good for exactly one session.
 */
export async function createDeviceSession(
  ctx: ConsoleContext,
  deviceId: string,
  path: string,
  authorization: string | undefined,
  body: { value: unknown; bytes: Buffer },
): Promise<DeviceSession> {
  const device = await authenticateDeviceRequest(
    ctx,
    deviceId,
    'POST',
    path,
    authorization,
    sha256Hex(body.bytes),
  );
  const f = new Fields(body.value);
  const nonce = f.str('nonce', { pattern: NONCE_PATTERN, max: 128 });
  f.done('session request');
  const now = ctx.now();
  const token = `${DEVICE_SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
  const hash = sessionHash(token);
  const expiresAt = new Date(now.getTime() + ctx.deviceSessionTtlSecs * 1000);
  await ctx.db.transaction(async (tx) => {
    // Nonces older than the freshness window can never be replayed (their ts would be stale).
    await tx.query('DELETE FROM device_auth_nonces WHERE device_id = $1 AND expires_at < $2', [
      deviceId,
      now,
    ]);
    const fresh = await tx.query(
      `INSERT INTO device_auth_nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (device_id, nonce) DO NOTHING RETURNING nonce`,
      [deviceId, nonce, new Date(now.getTime() + 2 * REQUEST_MAX_SKEW_SECS * 1000)],
    );
    if (fresh.length === 0) {
      ctx.metrics.inc('clawback_console_refused_total', { reason: 'replayed' });
      throw new ClawbackError(
        ConsoleErrors.DEVICE_AUTH_REPLAYED,
        `device ${deviceId} already used this session request (nonce seen before)`,
        { hint: 'Sign a new session request with a fresh random nonce.' },
      );
    }
    await tx.query(
      'INSERT INTO device_sessions (hash, device_id, keyid, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [hash, deviceId, device.key.keyid, now, expiresAt],
    );
  });
  ctx.cache.rememberSession(hash, { deviceId, keyid: device.key.keyid, expiresAt: expiresAt.getTime() });
  ctx.metrics.inc('clawback_console_device_sessions_total');
  return {
    token,
    tokenType: 'Bearer',
    expiresAt: expiresAt.toISOString(),
    expiresInSecs: ctx.deviceSessionTtlSecs,
  };
}
