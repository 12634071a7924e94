/**
 * Operator device lifecycle (docs/console.md "Devices"): retire (decommission) a device for good,
 * and re-bind a device id to a new key when the old key is lost (re-provisioning). Both revoke
 * the device's sessions in the same transaction and bump the state version, so every replica
 * refuses the old sessions and the old key from its next refresh on.
 */
import { ClawbackError } from '@clawback/core';
import { appendAudit, lockAuditChain } from './audit.js';
import { bumpStateVersion, type ConsoleContext } from './context.js';
import { parsePublicKeyJson, unknownDevice } from './devices.js';
import { ConsoleErrors } from './errors.js';
import { evaluateRollout } from './rollout-eval.js';
import { revokeDeviceSessions } from './session-store.js';
import { Fields } from './validate.js';

export interface RetireResult {
  deviceId: string;
  status: 'retired';
  /** False when the device was already retired (nothing changed). */
  changed: boolean;
  sessionsRevoked: number;
  /** Rollouts in which the device's open place was closed as retired. */
  rollouts: string[];
}

export async function retireDevice(
  ctx: ConsoleContext,
  deviceId: string,
  body: unknown,
  actor: string,
): Promise<RetireResult> {
  const f = new Fields(body);
  const reason = f.str('reason', { optional: true, max: 500 }) ?? null;
  f.done('retire request');
  const now = ctx.now();
  const out = await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const row = (
      await tx.query<{ status: string }>('SELECT status FROM devices WHERE id = $1 FOR UPDATE', [deviceId])
    )[0];
    if (!row) throw unknownDevice(deviceId);
    if (row.status === 'retired') return { changed: false, sessionsRevoked: 0, rollouts: [] as string[] };
    await tx.query(
      "UPDATE devices SET status = 'retired', retired_at = $2, retired_reason = $3 WHERE id = $1",
      [deviceId, now, reason],
    );
    const sessionsRevoked = await revokeDeviceSessions(tx, deviceId);
    // A retired device will never report: close its open places in rollouts so they neither
    // wait for it nor count it as silent (which could halt a healthy rollout).
    const closed = await tx.query<{ rollout_id: string }>(
      `UPDATE rollout_devices SET status = 'retired', resolved_at = $2, reason_code = 'DEVICE_RETIRED'
        WHERE device_id = $1 AND status IN ('pending', 'offered') RETURNING rollout_id`,
      [deviceId, now],
    );
    const rollouts = [...new Set(closed.map((r) => r.rollout_id))];
    await appendAudit(
      tx,
      now,
      'device.retired',
      { deviceId, previousStatus: row.status, reason, sessionsRevoked, rollouts },
      actor,
    );
    for (const id of rollouts) await evaluateRollout(ctx, tx, id);
    await bumpStateVersion(tx);
    return { changed: true, sessionsRevoked, rollouts };
  });
  ctx.cache.devices.delete(deviceId);
  ctx.cache.forgetSessionsOf(deviceId);
  ctx.cache.desired.clear();
  if (out.rollouts.length > 0) ctx.onAlertsRaised();
  return { deviceId, status: 'retired', ...out };
}

export interface RebindResult {
  deviceId: string;
  status: 'active';
  previousKeyid: string;
  keyid: string;
  sessionsRevoked: number;
}

/**
 * Bind `deviceId` to a new public key by an admin's decision (the device lost its key, so it
 * cannot sign a rotation). The device becomes active with the new key; its rollout history and
 * reports stay under the same id.
 */
export async function rebindDeviceKey(
  ctx: ConsoleContext,
  deviceId: string,
  body: unknown,
  actor: string,
): Promise<RebindResult> {
  const f = new Fields(body);
  const key = parsePublicKeyJson(f, 'publicKey');
  const reason = f.str('reason', { optional: true, max: 500 }) ?? null;
  f.done('re-bind request');
  if (!key) throw new Error('unreachable: validated key');
  const now = ctx.now();
  const out = await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const row = (
      await tx.query<{ status: string; keyid: string }>(
        'SELECT status, keyid FROM devices WHERE id = $1 FOR UPDATE',
        [deviceId],
      )
    )[0];
    if (!row) throw unknownDevice(deviceId);
    if (row.keyid === key.keyid) {
      throw new ClawbackError(
        ConsoleErrors.DEVICE_KEY_CONFLICT,
        `device ${deviceId} is already bound to that key`,
        {
          hint: 'Re-bind to the key of the re-provisioned device (its device-key.pub.json).',
        },
      );
    }
    const other = await tx.query<{ id: string }>('SELECT id FROM devices WHERE keyid = $1 AND id <> $2', [
      key.keyid,
      deviceId,
    ]);
    if (other[0]) {
      throw new ClawbackError(
        ConsoleErrors.DEVICE_KEY_CONFLICT,
        `that key belongs to device ${other[0].id}`,
        {
          hint: 'Every device has its own key; re-provision the device to get a fresh one.',
        },
      );
    }
    await tx.query(
      `UPDATE devices SET keyid = $2, public_key = $3, status = 'active', retired_at = NULL, retired_reason = NULL
        WHERE id = $1`,
      [deviceId, key.keyid, Buffer.from(key.bytes).toString('hex')],
    );
    const sessionsRevoked = await revokeDeviceSessions(tx, deviceId);
    await appendAudit(
      tx,
      now,
      'device.key-rebound',
      {
        deviceId,
        previousStatus: row.status,
        oldKeyid: row.keyid,
        newKeyid: key.keyid,
        reason,
        sessionsRevoked,
      },
      actor,
    );
    await bumpStateVersion(tx);
    return { previousKeyid: row.keyid, sessionsRevoked };
  });
  ctx.cache.devices.delete(deviceId);
  ctx.cache.forgetSessionsOf(deviceId);
  ctx.cache.desired.delete(deviceId);
  return { deviceId, status: 'active', keyid: key.keyid, ...out };
}
