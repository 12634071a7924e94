/**
 * Device request authentication (docs/protocol.md "Device authentication"): the signed
 * `Clawback-Device` header (one Ed25519 verify per request), and the bearer device session a
 * device obtains with one signed request (one SHA-256 and a map lookup per request).
 */
import { createHash, verify } from 'node:crypto';
import { ClawbackError, fromBase64 } from '@clawback/core';
import type { ConsoleContext } from './context.js';
import type { CachedDevice, CachedSession } from './device-cache.js';
import { checkFresh, loadDevice, requireActive, unknownDevice } from './devices.js';
import { ConsoleErrors } from './errors.js';
import { deviceRequestMessage, parseDeviceAuthHeader } from './protocol.js';

/** Prefix of device session tokens, so a leaked one is recognisable (and redactable). */
export const DEVICE_SESSION_PREFIX = 'cbd_';

/** SHA-256 (hex) of a session token: the only form the console stores. */
export function sessionHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Verify a header-signed device request and return the device. */
export async function authenticateDeviceRequest(
  ctx: ConsoleContext,
  deviceId: string,
  method: string,
  path: string,
  authorization: string | undefined,
  bodySha256 = '',
): Promise<CachedDevice> {
  const auth = parseDeviceAuthHeader(authorization);
  if (!auth) {
    ctx.metrics.inc('clawback_console_refused_total', { reason: 'no_auth' });
    throw new ClawbackError(
      ConsoleErrors.DEVICE_AUTH_INVALID,
      'missing or malformed device Authorization header',
      {
        hint: 'Sign the request (Clawback-Device) or send a device session token (Bearer) as docs/protocol.md describes.',
      },
    );
  }
  if (auth.id !== deviceId) {
    ctx.metrics.inc('clawback_console_refused_total', { reason: 'bad_signature' });
    throw new ClawbackError(
      ConsoleErrors.DEVICE_AUTH_INVALID,
      `the header is for device ${auth.id}, the path for ${deviceId}`,
    );
  }
  const device = await loadDevice(ctx, deviceId);
  if (!device) {
    ctx.metrics.inc('clawback_console_refused_total', { reason: 'unknown_device' });
    throw unknownDevice(deviceId);
  }
  checkFresh(ctx, auth.ts);
  const sig = fromBase64(auth.sig);
  const message = deviceRequestMessage({ method, path, ts: auth.ts, bodySha256 });
  const ok =
    auth.keyid === device.key.keyid &&
    sig !== undefined &&
    sig.length === 64 &&
    verify(null, message, device.keyObject, sig);
  if (!ok) {
    ctx.metrics.inc('clawback_console_refused_total', { reason: 'bad_signature' });
    throw new ClawbackError(
      'SIGNATURE_INVALID',
      `the request signature does not verify with device ${deviceId}'s enrolled key`,
      {
        hint: 'Sign with the enrolled device key; after a key rotation only the new key is accepted.',
      },
    );
  }
  requireActive(device);
  return device;
}

function sessionInvalid(ctx: ConsoleContext, why: string): ClawbackError {
  ctx.metrics.inc('clawback_console_refused_total', { reason: 'session_invalid' });
  return new ClawbackError(ConsoleErrors.DEVICE_SESSION_INVALID, `device session token ${why}`, {
    hint: 'Obtain a new session with a signed POST /api/v1/devices/<id>/session (the updater does this by itself).',
  });
}

/** The session a token names, from this replica's cache or the shared database. */
async function lookupSession(
  ctx: ConsoleContext,
  hash: string,
): Promise<(CachedSession & { revoked: boolean }) | undefined> {
  const hit = ctx.cache.sessions.get(hash);
  if (hit) return { ...hit, revoked: false };
  const row = (
    await ctx.db.query<{ device_id: string; keyid: string; expires_at: Date; revoked: boolean }>(
      'SELECT device_id, keyid, expires_at, revoked FROM device_sessions WHERE hash = $1',
      [hash],
    )
  )[0];
  if (!row) return undefined;
  const session = {
    deviceId: row.device_id,
    keyid: row.keyid,
    expiresAt: new Date(row.expires_at).getTime(),
  };
  // Only live sessions are cached; a revoked one is re-read (and refused) every time.
  if (!row.revoked) ctx.cache.rememberSession(hash, session);
  return { ...session, revoked: row.revoked };
}

/**
 * Verify `Authorization: Bearer <device session token>`. The token is 32 random bytes, looked up
 * by its SHA-256: a timing difference in the map lookup reveals nothing about any other token.
 * A session is valid while unexpired, unrevoked, and bound to the key the device has NOW (a
 * rotation or re-bind therefore ends it on every replica even before the revocation is seen).
 * The device's own state is checked first, so a retired device hears that it is retired.
 */
export async function authenticateDeviceSession(
  ctx: ConsoleContext,
  deviceId: string,
  token: string,
): Promise<CachedDevice> {
  if (!token.startsWith(DEVICE_SESSION_PREFIX) || token.length > 128) {
    throw sessionInvalid(ctx, 'is not a device session token');
  }
  const hash = sessionHash(token);
  const session = await lookupSession(ctx, hash);
  if (!session) throw sessionInvalid(ctx, 'is unknown');
  if (session.deviceId !== deviceId) {
    ctx.metrics.inc('clawback_console_refused_total', { reason: 'bad_signature' });
    throw new ClawbackError(
      ConsoleErrors.DEVICE_AUTH_INVALID,
      `the session belongs to device ${session.deviceId}, the path names ${deviceId}`,
    );
  }
  const device = await loadDevice(ctx, deviceId);
  if (!device) throw unknownDevice(deviceId);
  requireActive(device);
  if (session.revoked) throw sessionInvalid(ctx, 'was revoked');
  if (session.expiresAt <= ctx.now().getTime()) {
    ctx.cache.sessions.delete(hash);
    throw sessionInvalid(ctx, 'has expired');
  }
  if (device.key.keyid !== session.keyid)
    throw sessionInvalid(ctx, "was issued for the device's previous key");
  return device;
}

/** A device GET: a bearer device session, or (compatibility) a signed header. */
export async function authenticateDeviceGet(
  ctx: ConsoleContext,
  deviceId: string,
  path: string,
  authorization: string | undefined,
): Promise<CachedDevice> {
  if (authorization?.startsWith('Bearer ')) {
    return authenticateDeviceSession(ctx, deviceId, authorization.slice(7).trim());
  }
  return authenticateDeviceRequest(ctx, deviceId, 'GET', path, authorization);
}
