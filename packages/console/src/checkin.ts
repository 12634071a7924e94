/**
 * The check-in: `GET /api/v1/devices/<id>/desired`. This is the hot path (every device, every
 * poll), so it touches the database only on a cache miss, checks a device session token with one
 * SHA-256 and a map lookup (or, for older devices, a signed header with one OpenSSL Ed25519
 * verify), buffers last-seen times, and answers 304 when nothing changed.
 */
import { canonicalJson, sha256Hex } from '@clawback/core';
import type { ConsoleContext } from './context.js';
import { authenticateDeviceGet } from './device-auth.js';
import type { CachedDesired } from './device-cache.js';

export interface CheckinResult {
  status: 200 | 304;
  etag: string;
  body: Buffer;
}

export async function checkin(
  ctx: ConsoleContext,
  deviceId: string,
  path: string,
  authorization: string | undefined,
  ifNoneMatch: string | undefined,
): Promise<CheckinResult> {
  await authenticateDeviceGet(ctx, deviceId, path, authorization);
  ctx.cache.lastSeen.set(deviceId, ctx.now());
  const desired = await desiredFor(ctx, deviceId);
  const status = ifNoneMatch !== undefined && ifNoneMatch === desired.etag ? 304 : 200;
  ctx.metrics.inc('clawback_console_checkins_total', { status: String(status) });
  return { status, ...desired };
}

interface DesiredRow {
  rollout_id: string;
  stage: number;
  agent: string;
  version: string;
  target_path: string;
}

/**
 * The device's desired target: from the newest rollout that has reached the device's stage,
 * or that the device has already committed.
 */
export async function desiredFor(ctx: ConsoleContext, deviceId: string): Promise<CachedDesired> {
  const hit = ctx.cache.desired.get(deviceId);
  if (hit) return hit;
  // Most devices are in no rollout most of the time: one indexed lookup settles that before
  // the join (PGlite plans each statement afresh, so the join is the expensive part).
  const member = await ctx.db.query('SELECT 1 FROM rollout_devices WHERE device_id = $1 LIMIT 1', [deviceId]);
  const row =
    member.length === 0
      ? undefined
      : (
          await ctx.db.query<DesiredRow>(
            `SELECT r.id AS rollout_id, rd.stage, rel.agent, rel.version, rel.target_path
         FROM rollout_devices rd
         JOIN rollouts r ON r.id = rd.rollout_id
         JOIN releases rel ON rel.id = r.release_id
        WHERE rd.device_id = $1
          AND ((r.state IN ('active', 'completed') AND rd.stage <= r.current_stage AND rd.status <> 'failed')
               -- A halt stops a release spreading; it never points a device that already
               -- committed it back at an older version (the device would refuse a downgrade).
               OR rd.status = 'committed')
        ORDER BY r.ord DESC
        LIMIT 1`,
            [deviceId],
          )
        )[0];
  const desired = row
    ? {
        agent: row.agent,
        version: row.version,
        targetPath: row.target_path,
        rolloutId: row.rollout_id,
        stage: row.stage,
      }
    : null;
  const body = Buffer.from(canonicalJson({ deviceId, desired, pollAfterSecs: ctx.pollAfterSecs }));
  const entry = { etag: `"${sha256Hex(body).slice(0, 32)}"`, body };
  ctx.cache.desired.set(deviceId, entry);
  return entry;
}
