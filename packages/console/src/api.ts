/**
 * The console's HTTP API routes (docs/console.md lists them). Device routes authenticate by
 * signature; operator routes by API token with a minimum role.
 */
import { ClawbackError, publicKeyJson } from '@clawback/core';
import { addWebhook } from './alerts.js';
import { auditExportBundle, readAuditEntries } from './audit.js';
import {
  authenticateToken,
  createApiToken,
  createEnrollmentToken,
  listApiTokens,
  listEnrollmentTokens,
  type Principal,
  type Role,
  requireRole,
  revokeApiToken,
  revokeEnrollmentTokens,
} from './auth.js';
import { checkin } from './checkin.js';
import type { ConsoleContext } from './context.js';
import { rebindDeviceKey, retireDevice } from './device-lifecycle.js';
import { approveDevice, enrollDevice, recordHeartbeat, rotateDeviceKey } from './devices.js';
import { ConsoleErrors } from './errors.js';
import { type Reply, type Request, type Router, readJson, readJsonWithBytes } from './http/server.js';
import { attachChangeRecord, listReleases, registerRelease } from './releases.js';
import { ingestReport } from './reports.js';
import { changeRolloutState } from './rollout-control.js';
import { stageCounts } from './rollout-eval.js';
import { createRollout, getRollout, listRollouts, startRollout } from './rollouts.js';
import { createDeviceSession } from './sessions.js';
import { pinRoot } from './tuf-trust.js';
import { Fields } from './validate.js';
import { fleetView, recentFailures, rolloutDevices } from './views.js';

export const SESSION_COOKIE = 'cb_session';

export async function principalOf(ctx: ConsoleContext, req: Request): Promise<Principal | undefined> {
  const auth = req.headers.authorization;
  let token: string | undefined;
  if (auth?.startsWith('Bearer ')) token = auth.slice(7).trim();
  else {
    const cookie = req.headers.cookie ?? '';
    const m = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]+)`).exec(cookie);
    if (m?.[1]) token = decodeURIComponent(m[1]);
  }
  if (!token) return undefined;
  return authenticateToken(ctx.db, token);
}

const json = (status: number, body: unknown): Reply => ({ status, json: body });

export function registerApi(router: Router, ctx: ConsoleContext): void {
  const op = (
    method: string,
    pattern: string,
    name: string,
    role: Role,
    fn: (req: Request, p: Principal) => Promise<Reply>,
  ) =>
    router.add({
      method,
      pattern,
      name,
      handler: async (req) => fn(req, requireRole(await principalOf(ctx, req), role)),
    });
  const dev = (method: string, pattern: string, name: string, fn: (req: Request) => Promise<Reply>) =>
    router.add({ method, pattern, name, handler: fn });

  dev('GET', '/healthz', 'healthz', async () => json(200, { ok: true }));
  dev('GET', '/api/v1/console-key', 'console-key', async () =>
    json(200, { keyid: ctx.signer.keyid, publicKey: publicKeyJson(ctx.signer.publicKey.bytes) }),
  );

  // --- devices (signature-authenticated) ---
  dev('POST', '/api/v1/devices/enroll', 'enroll', async (req) => {
    const out = await enrollDevice(ctx, await readJson(req));
    return json(out.status, { deviceId: out.deviceId, status: out.deviceStatus });
  });
  dev('POST', '/api/v1/devices/:id/session', 'device-session', async (req) =>
    json(
      201,
      await createDeviceSession(
        ctx,
        req.params.id ?? '',
        req.path,
        req.headers.authorization,
        await readJsonWithBytes(req),
      ),
    ),
  );
  dev('GET', '/api/v1/devices/:id/desired', 'desired', async (req) => {
    const ifNoneMatch = req.headers['if-none-match'];
    const r = await checkin(ctx, req.params.id ?? '', req.path, req.headers.authorization, ifNoneMatch);
    if (r.status === 304) return { status: 304, headers: { etag: r.etag } };
    return { status: 200, headers: { etag: r.etag, 'content-type': 'application/json' }, body: r.body };
  });
  dev('POST', '/api/v1/devices/:id/heartbeat', 'heartbeat', async (req) => {
    await recordHeartbeat(ctx, req.params.id ?? '', await readJson(req));
    return json(200, { accepted: true });
  });
  dev('POST', '/api/v1/devices/:id/rotate-key', 'rotate-key', async (req) => {
    const out = await rotateDeviceKey(ctx, req.params.id ?? '', await readJson(req));
    return json(200, { deviceId: req.params.id, keyid: out.keyid });
  });
  dev('POST', '/api/v1/reports', 'reports', async (req) => {
    const out = await ingestReport(ctx, await readJson(req));
    return json(out.status, out.duplicate ? { accepted: true, duplicate: true } : { accepted: true });
  });

  // --- operators ---
  op('GET', '/api/v1/devices', 'devices', 'viewer', async () => json(200, { devices: await fleetView(ctx) }));
  op('POST', '/api/v1/devices/:id/approve', 'approve-device', 'admin', async (req, p) => {
    await approveDevice(ctx, req.params.id ?? '', p.name);
    return json(200, { deviceId: req.params.id, status: 'active' });
  });
  op('POST', '/api/v1/devices/:id/retire', 'retire-device', 'admin', async (req, p) =>
    json(200, await retireDevice(ctx, req.params.id ?? '', await optionalJson(req), p.name)),
  );
  op('POST', '/api/v1/devices/:id/rebind', 'rebind-device', 'admin', async (req, p) =>
    json(200, await rebindDeviceKey(ctx, req.params.id ?? '', await readJson(req), p.name)),
  );
  op('GET', '/api/v1/enrollment-tokens', 'list-enrollment-tokens', 'admin', async () =>
    json(200, { tokens: await listEnrollmentTokens(ctx.db) }),
  );
  op('POST', '/api/v1/enrollment-tokens/:name/revoke', 'revoke-enrollment-token', 'admin', async (req, p) => {
    const name = req.params.name ?? '';
    const n = await revokeEnrollmentTokens(ctx.db, name, ctx.now(), p.name);
    if (n === 0) throw noActiveToken('enrollment token', name);
    return json(200, { revoked: name, tokens: n });
  });
  op('GET', '/api/v1/tokens', 'list-tokens', 'admin', async () =>
    json(200, { tokens: await listApiTokens(ctx.db) }),
  );
  op('POST', '/api/v1/tokens/:name/revoke', 'revoke-token', 'admin', async (req, p) => {
    const name = req.params.name ?? '';
    if (!(await revokeApiToken(ctx.db, name, ctx.now(), p.name))) throw noActiveToken('API token', name);
    return json(200, { revoked: name });
  });
  op('POST', '/api/v1/enrollment-tokens', 'enrollment-tokens', 'admin', async (req, p) =>
    json(201, await enrollmentToken(ctx, await readJson(req), p.name)),
  );
  op('POST', '/api/v1/tokens', 'tokens', 'admin', async (req, p) => {
    const f = new Fields(await readJson(req));
    const name = f.str('name', { max: 64 });
    const role = f.str('role');
    f.done('token request');
    return json(201, await createApiToken(ctx.db, { name, role, now: ctx.now(), actor: p.name }));
  });
  op('PUT', '/api/v1/tuf/root', 'tuf-root', 'admin', async (req, p) =>
    json(200, await pinRoot(ctx, await readJson(req), p.name)),
  );
  op('GET', '/api/v1/releases', 'releases', 'viewer', async () =>
    json(200, { releases: await listReleases(ctx) }),
  );
  op('POST', '/api/v1/releases', 'register-release', 'release-manager', async (req, p) =>
    json(201, await registerRelease(ctx, await readJson(req, 8 * 1024 * 1024), p.name)),
  );
  op('POST', '/api/v1/releases/:id/change-record', 'change-record', 'release-manager', async (req, p) =>
    json(200, await attachChangeRecord(ctx, req.params.id ?? '', await readJson(req), p.name)),
  );
  op('GET', '/api/v1/rollouts', 'rollouts', 'viewer', async () =>
    json(200, { rollouts: await listRollouts(ctx.db) }),
  );
  op('POST', '/api/v1/rollouts', 'create-rollout', 'release-manager', async (req, p) => {
    const out = await createRollout(ctx, await readJson(req), p.name);
    return json(out.dryRun ? 200 : 201, out);
  });
  op('GET', '/api/v1/rollouts/:id', 'rollout', 'viewer', async (req) => {
    const ro = await getRollout(ctx.db, req.params.id ?? '');
    return json(200, { rollout: ro, stages: await stageCounts(ctx.db, ro.id) });
  });
  op('GET', '/api/v1/rollouts/:id/devices', 'rollout-devices', 'viewer', async (req) => {
    const ro = await getRollout(ctx.db, req.params.id ?? '');
    return json(200, { rolloutId: ro.id, devices: await rolloutDevices(ctx, ro.id) });
  });
  op('POST', '/api/v1/rollouts/:id/start', 'start-rollout', 'viewer', async (req, p) =>
    json(200, { rollout: await startRollout(ctx, req.params.id ?? '', await optionalJson(req), p) }),
  );
  for (const action of ['halt', 'resume', 'abort'] as const) {
    op('POST', `/api/v1/rollouts/:id/${action}`, `${action}-rollout`, 'release-manager', async (req, p) =>
      json(200, {
        rollout: await changeRolloutState(ctx, req.params.id ?? '', action, await optionalJson(req), p.name),
      }),
    );
  }
  op('POST', '/api/v1/webhooks', 'webhooks', 'admin', async (req, p) =>
    json(201, await addWebhook(ctx, await readJson(req), p.name)),
  );
  op('GET', '/api/v1/alerts', 'alerts', 'viewer', async () =>
    json(200, {
      alerts: await ctx.db.query(
        'SELECT id, kind, rollout_id, device_id, summary, payload, created_at FROM alerts ORDER BY created_at DESC LIMIT 200',
      ),
    }),
  );
  op('GET', '/api/v1/failures', 'failures', 'viewer', async () =>
    json(200, { failures: await recentFailures(ctx, 100) }),
  );
  op('GET', '/api/v1/audit', 'audit', 'viewer', async (req) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.get('limit') ?? 100) || 100));
    return json(200, { entries: await readAuditEntries(ctx.db, limit) });
  });
  op('GET', '/api/v1/audit/export', 'audit-export', 'viewer', async (req) => {
    const log = req.query.get('log') ?? 'console-audit.jsonl';
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(log)) {
      throw new ClawbackError(ConsoleErrors.CONSOLE_BAD_REQUEST, `log: not a plain file name: ${log}`, {
        hint: 'Pass the name the export will be saved under, e.g. ?log=console-audit.jsonl.',
      });
    }
    const b = await auditExportBundle(ctx.db, log, ctx.signer, ctx.now());
    return json(200, { log, entries: b.entries, head: b.head, text: b.text, checkpoint: b.checkpoint });
  });
}

async function enrollmentToken(ctx: ConsoleContext, body: unknown, actor: string) {
  const f = new Fields(body);
  const name = f.str('name', { max: 64 });
  const maxUses = f.num('maxUses', { optional: true, integer: true, min: 1 });
  const ttl = f.num('expiresInSecs', { optional: true, integer: true, min: 60 });
  f.done('enrollment token request');
  return createEnrollmentToken(ctx.db, {
    name,
    maxUses: maxUses ?? null,
    expiresInSecs: ttl ?? null,
    now: ctx.now(),
    actor,
  });
}

async function optionalJson(req: Request): Promise<unknown> {
  const len = Number(req.headers['content-length'] ?? 0);
  if (len === 0 && req.headers['transfer-encoding'] === undefined) return {};
  return readJson(req);
}

function noActiveToken(what: string, name: string): ClawbackError {
  return new ClawbackError(ConsoleErrors.CONSOLE_NOT_FOUND, `no active ${what} named ${name}`, {
    hint: 'Check the name (list them with `clawback-console token list` / `enroll-token list`).',
  });
}

export function notFound(path: string): ClawbackError {
  return new ClawbackError(ConsoleErrors.CONSOLE_NOT_FOUND, `no such endpoint: ${path}`, {
    hint: 'See docs/console.md for the API.',
  });
}
