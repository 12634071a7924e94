/**
 * Device lifecycle: enrollment (token or operator approval), key rotation, heartbeats.
 * Devices authenticate by signature only (docs/protocol.md).
 */
import {
  ClawbackError,
  type DsseEnvelope,
  fromHex,
  isClawbackError,
  makePublicKey,
  type PublicKey,
  parseDsseEnvelope,
  parseJson,
  verifyDsse,
} from '@clawback/core';
import { appendAudit, lockAuditChain } from './audit.js';
import { hashesEqual, secretHash } from './auth.js';
import { bumpStateVersion, type ConsoleContext } from './context.js';
import { type CachedDevice, keyObjectOf } from './device-cache.js';
import { ConsoleErrors } from './errors.js';
import { HEARTBEAT_PAYLOAD_TYPE, KEY_ROTATION_PAYLOAD_TYPE, REQUEST_MAX_SKEW_SECS } from './protocol.js';
import { revokeDeviceSessions } from './session-store.js';
import type { Queryable } from './storage/db.js';
import { Fields, ID_PATTERN } from './validate.js';

export interface DeviceRow {
  id: string;
  keyid: string;
  public_key: string;
  status: string;
  hardware_id: string;
  agent: string;
  channel: string;
  updater_version: string;
  tags: string[];
  enrolled_at: Date;
  last_seen: Date | null;
  installed_version: string | null;
  state: string | null;
  last_outcome: string | null;
  health: unknown;
}

const SEMVERISH = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)*$/;

export function parsePublicKeyJson(f: Fields, key: string): PublicKey | undefined {
  const sub = f.sub(key);
  if (!sub) return undefined;
  sub.str('keytype', { oneOf: ['ed25519'] });
  sub.str('scheme', { oneOf: ['ed25519'] });
  const hex = sub.sub('keyval')?.str('public', { pattern: /^[0-9a-f]{64}$/ });
  const bytes = hex ? fromHex(hex) : undefined;
  return bytes && bytes.length === 32 ? makePublicKey(bytes) : undefined;
}

export async function enrollDevice(
  ctx: ConsoleContext,
  body: unknown,
): Promise<{ status: 201 | 200; deviceId: string; deviceStatus: string }> {
  const f = new Fields(body);
  const deviceId = f.str('deviceId', { pattern: ID_PATTERN });
  const key = parsePublicKeyJson(f, 'publicKey');
  const hardwareId = f.str('hardwareId', { pattern: ID_PATTERN });
  const agent = f.str('agent', { pattern: ID_PATTERN });
  const channel = f.str('channel', { optional: true, pattern: ID_PATTERN }) ?? 'stable';
  const updaterVersion = f.str('updaterVersion', { pattern: SEMVERISH });
  const tags = f.strArray('tags', { optional: true });
  const enrollmentToken = f.str('enrollmentToken', { optional: true, max: 200 });
  f.done('enrollment request');
  if (!key) throw new Error('unreachable: validated key');
  const now = ctx.now();
  const out = await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const existing = (
      await tx.query<{ keyid: string; status: string }>('SELECT keyid, status FROM devices WHERE id = $1', [
        deviceId,
      ])
    )[0];
    if (existing) {
      if (existing.keyid !== key.keyid) {
        throw new ClawbackError(
          ConsoleErrors.DEVICE_KEY_CONFLICT,
          `device ${deviceId} is enrolled with another key`,
          {
            hint: 'Rotate the key with a statement signed by the old key (POST …/rotate-key); if the old key is lost, an admin re-binds the id (`clawback-console device rebind`); or pick another id.',
          },
        );
      }
      // Re-enrolling with the same key is idempotent (a device that lost the response retries).
      return { status: 200 as const, deviceStatus: existing.status };
    }
    const viaToken =
      enrollmentToken !== undefined ? await consumeEnrollmentToken(tx, enrollmentToken, now) : undefined;
    const deviceStatus = viaToken ? 'active' : 'pending';
    await tx.query(
      `INSERT INTO devices (id, keyid, public_key, status, hardware_id, agent, channel, updater_version, tags,
                            enrolled_at, enrolled_via)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)`,
      [
        deviceId,
        key.keyid,
        Buffer.from(key.bytes).toString('hex'),
        deviceStatus,
        hardwareId,
        agent,
        channel,
        updaterVersion,
        JSON.stringify(tags),
        now,
        viaToken ? `token:${viaToken}` : 'approval',
      ],
    );
    await appendAudit(tx, now, 'device.enrolled', {
      deviceId,
      keyid: key.keyid,
      hardwareId,
      agent,
      channel,
      status: deviceStatus,
      via: viaToken ? `enrollment token ${viaToken}` : 'pending operator approval',
    });
    await bumpStateVersion(tx);
    return { status: 201 as const, deviceStatus };
  });
  ctx.cache.devices.delete(deviceId);
  ctx.metrics.inc('clawback_console_enrollments_total', { status: out.deviceStatus });
  return { ...out, deviceId };
}

async function consumeEnrollmentToken(tx: Queryable, token: string, now: Date): Promise<string> {
  const hash = secretHash(token);
  const row = (
    await tx.query<{
      hash: string;
      name: string;
      expires_at: Date | null;
      max_uses: number | null;
      uses: number;
      revoked: boolean;
    }>(
      'SELECT hash, name, expires_at, max_uses, uses, revoked FROM enrollment_tokens WHERE hash = $1 FOR UPDATE',
      [hash],
    )
  )[0];
  const usable =
    row &&
    hashesEqual(row.hash, hash) &&
    !row.revoked &&
    (row.expires_at === null || row.expires_at > now) &&
    (row.max_uses === null || row.uses < row.max_uses);
  if (!usable || !row) {
    throw new ClawbackError(
      ConsoleErrors.ENROLLMENT_TOKEN_INVALID,
      'the enrollment token is unknown, expired, used up or revoked',
      {
        hint: 'Ask an admin for a new token (`clawback-console enroll-token create`), or enroll without one and have an operator approve the device.',
      },
    );
  }
  await tx.query('UPDATE enrollment_tokens SET uses = uses + 1 WHERE hash = $1', [hash]);
  return row.name;
}

export async function approveDevice(ctx: ConsoleContext, deviceId: string, actor: string): Promise<void> {
  const now = ctx.now();
  await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const rows = await tx.query<{ status: string }>('SELECT status FROM devices WHERE id = $1 FOR UPDATE', [
      deviceId,
    ]);
    const status = rows[0]?.status;
    if (status === undefined) throw unknownDevice(deviceId);
    if (status === 'active') return;
    await tx.query("UPDATE devices SET status = 'active' WHERE id = $1", [deviceId]);
    await appendAudit(tx, now, 'device.approved', { deviceId, previousStatus: status }, actor);
    await bumpStateVersion(tx);
  });
  ctx.cache.devices.delete(deviceId);
}

export function unknownDevice(deviceId: string): ClawbackError {
  return new ClawbackError(ConsoleErrors.DEVICE_UNKNOWN, `no device ${deviceId} is enrolled`, {
    hint: 'Enroll the device first (POST /api/v1/devices/enroll).',
  });
}

/** The device's key and status, from the cache or the database. */
export async function loadDevice(ctx: ConsoleContext, deviceId: string): Promise<CachedDevice | undefined> {
  const hit = ctx.cache.devices.get(deviceId);
  if (hit) return hit;
  const row = (
    await ctx.db.query<{ id: string; status: string; public_key: string }>(
      'SELECT id, status, public_key FROM devices WHERE id = $1',
      [deviceId],
    )
  )[0];
  if (!row) return undefined;
  const key = makePublicKey(fromHex(row.public_key) ?? new Uint8Array());
  const device: CachedDevice = { id: row.id, status: row.status, key, keyObject: keyObjectOf(key) };
  ctx.cache.devices.set(deviceId, device);
  return device;
}

export function requireActive(device: CachedDevice): void {
  if (device.status === 'pending') {
    throw new ClawbackError(
      ConsoleErrors.DEVICE_PENDING,
      `device ${device.id} is waiting for operator approval`,
      {
        hint: 'An operator approves it with `clawback-console device approve` or POST …/approve.',
      },
    );
  }
  if (device.status === 'retired') {
    throw new ClawbackError(ConsoleErrors.DEVICE_RETIRED, `device ${device.id} is retired`, {
      hint: 'A retired device is refused for good; an admin re-binds the id to a new key (`clawback-console device rebind`) to bring it back.',
    });
  }
  if (device.status !== 'active') {
    throw new ClawbackError(ConsoleErrors.DEVICE_DISABLED, `device ${device.id} is ${device.status}`, {
      hint: 'Ask an admin to re-enable the device.',
    });
  }
}

/** Verify a device-signed DSSE body (heartbeat, key rotation) and return its JSON payload. */
export function verifyDeviceEnvelope(
  ctx: ConsoleContext,
  device: CachedDevice,
  body: unknown,
  payloadType: string,
): Record<string, unknown> {
  const envelope: DsseEnvelope = parseDsseEnvelope(body, 'request body');
  let payload: Uint8Array;
  try {
    payload = verifyDsse(envelope, {
      trustedKeys: [device.key],
      threshold: 1,
      payloadType,
      source: 'request body',
    }).payload;
  } catch (err) {
    if (isClawbackError(err) && err.code !== 'PAYLOAD_TYPE_MISMATCH')
      ctx.metrics.inc('clawback_console_refused_total', { reason: 'bad_signature' });
    throw err;
  }
  const parsed = parseJson(Buffer.from(payload).toString('utf8'), 'signed payload');
  const f = new Fields(parsed, 'payload');
  const id = f.str('deviceId');
  const ts = f.str('ts');
  f.done('signed payload');
  if (id !== device.id)
    throw new ClawbackError(
      ConsoleErrors.DEVICE_AUTH_INVALID,
      `payload names device ${id}, not ${device.id}`,
    );
  checkFresh(ctx, ts);
  return parsed as Record<string, unknown>;
}

export function checkFresh(ctx: ConsoleContext, ts: string): void {
  const t = Date.parse(ts);
  // Protocol: ts more than 300 s from the console's clock is refused (replay window).
  if (!Number.isFinite(t) || Math.abs(t - ctx.now().getTime()) > REQUEST_MAX_SKEW_SECS * 1000) {
    ctx.metrics.inc('clawback_console_refused_total', { reason: 'stale' });
    throw new ClawbackError(
      ConsoleErrors.REQUEST_STALE,
      `request time ${ts} is not within ${REQUEST_MAX_SKEW_SECS}s of the console's clock`,
      {
        hint: "Sync the device's clock (NTP) and resend with a fresh ts.",
      },
    );
  }
}

export async function rotateDeviceKey(
  ctx: ConsoleContext,
  deviceId: string,
  body: unknown,
): Promise<{ keyid: string }> {
  const device = await loadDevice(ctx, deviceId);
  if (!device) throw unknownDevice(deviceId);
  // A retired device stays retired: its key cannot be rotated back into service.
  if (device.status === 'retired') requireActive(device);
  const payload = verifyDeviceEnvelope(ctx, device, body, KEY_ROTATION_PAYLOAD_TYPE);
  const f = new Fields(payload, 'payload');
  const newKey = parsePublicKeyJson(f, 'newPublicKey');
  f.done('key rotation');
  if (!newKey) throw new Error('unreachable: validated key');
  const now = ctx.now();
  await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    // Compare-and-set on the old key: two concurrent rotations cannot both win.
    const rows = await tx.query(
      'UPDATE devices SET keyid = $1, public_key = $2 WHERE id = $3 AND keyid = $4 RETURNING id',
      [newKey.keyid, Buffer.from(newKey.bytes).toString('hex'), deviceId, device.key.keyid],
    );
    if (rows.length === 0) {
      throw new ClawbackError(
        ConsoleErrors.DEVICE_KEY_CONFLICT,
        `device ${deviceId}'s key changed meanwhile`,
        {
          hint: 'Sign the rotation with the current key and resend.',
        },
      );
    }
    const sessionsRevoked = await revokeDeviceSessions(tx, deviceId);
    await appendAudit(
      tx,
      now,
      'device.key-rotated',
      { deviceId, oldKeyid: device.key.keyid, newKeyid: newKey.keyid, sessionsRevoked },
      deviceId,
    );
    await bumpStateVersion(tx);
  });
  ctx.cache.devices.delete(deviceId);
  ctx.cache.forgetSessionsOf(deviceId);
  return { keyid: newKey.keyid };
}

export async function recordHeartbeat(ctx: ConsoleContext, deviceId: string, body: unknown): Promise<void> {
  const device = await loadDevice(ctx, deviceId);
  if (!device) {
    ctx.metrics.inc('clawback_console_refused_total', { reason: 'unknown_device' });
    throw unknownDevice(deviceId);
  }
  requireActive(device);
  const payload = verifyDeviceEnvelope(ctx, device, body, HEARTBEAT_PAYLOAD_TYPE);
  const f = new Fields(payload, 'payload');
  const installed = f.sub('installed', true);
  const version = installed?.str('version', { optional: true, pattern: SEMVERISH });
  const digest = installed?.str('digest', { optional: true, pattern: /^[0-9a-f]{64}$/ });
  const state = f.str('state', { optional: true, max: 64 });
  const policyHash = f.str('policyHash', { optional: true, pattern: /^[0-9a-f]{64}$/ });
  const auditHead = f.sub('auditHead', true);
  auditHead?.num('seq', { integer: true, min: 0 });
  auditHead?.str('hash', { pattern: /^[0-9a-f]{64}$/ });
  f.done('heartbeat');
  await ctx.db.query(
    `UPDATE devices SET last_seen = GREATEST(COALESCE(last_seen, $2), $2), installed_version = COALESCE($3, installed_version),
            installed_digest = COALESCE($4, installed_digest), state = COALESCE($5, state),
            policy_hash = COALESCE($6, policy_hash), audit_head = COALESCE($7::jsonb, audit_head)
      WHERE id = $1`,
    [
      deviceId,
      ctx.now(),
      version ?? null,
      digest ?? null,
      state ?? null,
      policyHash ?? null,
      auditHead ? JSON.stringify(payload.auditHead) : null,
    ],
  );
}
