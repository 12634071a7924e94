// The console's device protocol and operator API against a real server, on BOTH storage drivers
// (embedded PGlite and the PostgreSQL server .ci/services.sh starts).
import { requestJson, SimDevice } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, DRIVERS, startConsole, type TestConsole } from './harness.js';

type ErrBody = { error: { code: string; message: string; hint: string } };
const code = (b: unknown) => (b as ErrBody).error?.code;

describe.each(DRIVERS)('console device protocol (%s)', (driver) => {
  let c: TestConsole;
  let enrollToken: string;
  beforeAll(async () => {
    c = await startConsole(driver);
    const t = await requestJson(
      c.url,
      'POST',
      '/api/v1/enrollment-tokens',
      { name: 'site-a', maxUses: 5 },
      c.tokens.admin,
    );
    enrollToken = (t.body as { token: string }).token;
  });
  afterAll(async () => c?.close());

  it('enrolls with a token (active) or without one (pending until an admin approves)', async () => {
    const a = new SimDevice({ id: 'dev-a', now: c.clock.now });
    expect(await a.enroll(c.url, enrollToken)).toMatchObject({
      status: 201,
      body: { deviceId: 'dev-a', status: 'active' },
    });
    // Idempotent for the same key; refused for another key.
    expect((await a.enroll(c.url, enrollToken)).status).toBe(200);
    const imposter = new SimDevice({ id: 'dev-a', now: c.clock.now });
    const conflict = await imposter.enroll(c.url, enrollToken);
    expect([conflict.status, code(conflict.body)]).toEqual([409, 'DEVICE_KEY_CONFLICT']);

    const p = new SimDevice({ id: 'dev-p', now: c.clock.now });
    expect((await p.enroll(c.url)).body).toMatchObject({ status: 'pending' });
    const refused = await p.checkin(c.url);
    expect([refused.status, code(refused.body)]).toEqual([403, 'DEVICE_PENDING']);
    const viewerTry = await requestJson(
      c.url,
      'POST',
      '/api/v1/devices/dev-p/approve',
      undefined,
      c.tokens.viewer,
    );
    expect([viewerTry.status, code(viewerTry.body)]).toEqual([403, 'CONSOLE_FORBIDDEN']);
    expect(
      (await requestJson(c.url, 'POST', '/api/v1/devices/dev-p/approve', undefined, c.tokens.admin)).status,
    ).toBe(200);
    expect((await p.checkin(c.url)).status).toBe(200);
  });

  it('refuses a bad enrollment token and stores nothing', async () => {
    const before = await count(c.server, 'devices');
    const d = new SimDevice({ id: 'dev-badtoken', now: c.clock.now });
    const r = await d.enroll(c.url, 'cbe_not-a-real-token');
    expect([r.status, code(r.body)]).toEqual([401, 'ENROLLMENT_TOKEN_INVALID']);
    expect(await count(c.server, 'devices')).toBe(before);
  });

  it('answers a check-in with an ETag, then 304 while nothing changes', async () => {
    const d = new SimDevice({ id: 'dev-etag', now: c.clock.now });
    await d.enroll(c.url, enrollToken);
    const first = await d.checkin(c.url);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ deviceId: 'dev-etag', desired: null, pollAfterSecs: 300 });
    expect(first.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await d.checkin(c.url);
    expect(again.status).toBe(304);
    expect(again.body).toBeNull();
  });

  it('refuses check-ins that are unsigned, stale, for unknown devices, or signed with another key — and counts them', async () => {
    const d = new SimDevice({ id: 'dev-auth', now: c.clock.now });
    await d.enroll(c.url, enrollToken);
    const path = '/api/v1/devices/dev-auth/desired';
    const get = (authorization?: string) =>
      fetch(`${c.url}${path}`, { headers: authorization ? { authorization } : {} }).then(async (r) => ({
        status: r.status,
        body: await r.json(),
      }));
    expect(code((await get()).body)).toBe('DEVICE_AUTH_INVALID');
    const stale = await get(await d.authHeader('GET', path, new Date(c.clock.t - 301_000).toISOString()));
    expect([stale.status, code(stale.body)]).toEqual([401, 'REQUEST_STALE']);
    const other = new SimDevice({ id: 'dev-auth', now: c.clock.now });
    const forged = await get(await other.authHeader('GET', path));
    expect([forged.status, code(forged.body)]).toEqual([401, 'SIGNATURE_INVALID']);
    // A signature over another path does not carry over.
    const wrongPath = await get(await d.authHeader('GET', '/api/v1/devices/dev-auth/other'));
    expect(code(wrongPath.body)).toBe('SIGNATURE_INVALID');
    const ghost = new SimDevice({ id: 'dev-ghost', now: c.clock.now });
    const unknown = await ghost.checkin(c.url);
    expect([unknown.status, code(unknown.body)]).toEqual([404, 'DEVICE_UNKNOWN']);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).toMatch(/clawback_console_refused_total\{reason="bad_signature"\} [1-9]/);
    expect(metrics).toMatch(/clawback_console_refused_total\{reason="stale"\} [1-9]/);
    expect(metrics).toMatch(/clawback_console_refused_total\{reason="unknown_device"\} [1-9]/);
  });

  it('accepts heartbeats and rotates a device key; afterwards only the new key works', async () => {
    const d = new SimDevice({ id: 'dev-rot', now: c.clock.now });
    await d.enroll(c.url, enrollToken);
    d.installed = '1.0.0';
    expect((await d.heartbeat(c.url)).status).toBe(200);
    const oldSigner = d.signer;
    expect((await d.rotateKey(c.url)).status).toBe(200);
    expect((await d.checkin(c.url)).status).toBe(200);
    const path = '/api/v1/devices/dev-rot/desired';
    const withOld = await fetch(`${c.url}${path}`, {
      headers: { authorization: await d.authHeader('GET', path, undefined, oldSigner) },
    });
    expect(withOld.status).toBe(401);
    const oldReport = await requestJson(
      c.url,
      'POST',
      '/api/v1/reports',
      await d.signReport({ outcome: 'committed' }, oldSigner),
    );
    expect([oldReport.status, code(oldReport.body)]).toEqual([401, 'SIGNATURE_INVALID']);
    const rows = await c.server.db.query<{ installed_version: string }>(
      "SELECT installed_version FROM devices WHERE id = 'dev-rot'",
    );
    expect(rows[0]?.installed_version).toBe('1.0.0');
  });
});

describe.each(DRIVERS)('console reports and bad input (%s)', (driver) => {
  let c: TestConsole;
  let a: SimDevice;
  let b: SimDevice;
  beforeAll(async () => {
    c = await startConsole(driver);
    const t = await requestJson(c.url, 'POST', '/api/v1/enrollment-tokens', { name: 'x' }, c.tokens.admin);
    const token = (t.body as { token: string }).token;
    a = new SimDevice({ id: 'rep-a', now: c.clock.now });
    b = new SimDevice({ id: 'rep-b', now: c.clock.now });
    await a.enroll(c.url, token);
    await b.enroll(c.url, token);
  });
  afterAll(async () => c?.close());

  /** Every refusal must leave the store exactly as it was. */
  async function unchanged<T>(fn: () => Promise<T>): Promise<T> {
    const before = [
      await count(c.server, 'reports'),
      await count(c.server, 'audit_log'),
      await count(c.server, 'alerts'),
    ];
    const out = await fn();
    expect([
      await count(c.server, 'reports'),
      await count(c.server, 'audit_log'),
      await count(c.server, 'alerts'),
    ]).toEqual(before);
    return out;
  }

  it('stores a signed report once; an identical resend is a duplicate, a reused id with other content is refused', async () => {
    const payload = a.reportPayload({
      outcome: 'rolled-back',
      reasonCode: 'HEALTH_CHECK_FAILED',
      health: [{ check: 'rss', ok: false, measured: 80, limit: 50, unit: 'MiB' }],
    });
    const env = await a.signReport(payload);
    expect(await requestJson(c.url, 'POST', '/api/v1/reports', env)).toMatchObject({
      status: 201,
      body: { accepted: true },
    });
    await unchanged(async () => {
      expect(await requestJson(c.url, 'POST', '/api/v1/reports', env)).toMatchObject({
        status: 200,
        body: { accepted: true, duplicate: true },
      });
      const replay = await requestJson(
        c.url,
        'POST',
        '/api/v1/reports',
        await a.signReport({ ...payload, outcome: 'committed', reasonCode: null, reason: null }),
      );
      expect([replay.status, code(replay.body)]).toEqual([409, 'REPORT_REPLAYED']);
    });
  });

  it('refuses a report signed by another enrolled device, and says whose key it was', async () => {
    const res = await unchanged(async () =>
      requestJson(
        c.url,
        'POST',
        '/api/v1/reports',
        await a.signReport(a.reportPayload({ outcome: 'committed' }), b.signer),
      ),
    );
    expect([res.status, code(res.body)]).toEqual([401, 'SIGNATURE_INVALID']);
    expect((res.body as ErrBody).error.message).toContain('rep-b');
    expect(await (await fetch(`${c.url}/metrics`)).text()).toMatch(
      /clawback_console_refused_total\{reason="other_device"\} 1/,
    );
  });

  it('refuses malformed JSON, oversized bodies, wrong media types, bad envelopes, invalid payloads, unknown devices and rollouts', async () => {
    await unchanged(async () => {
      const malformed = await requestJson(c.url, 'POST', '/api/v1/reports', '{"payloadType": ');
      expect([malformed.status, code(malformed.body)]).toEqual([400, 'JSON_INVALID']);
      const big = await requestJson(
        c.url,
        'POST',
        '/api/v1/reports',
        JSON.stringify({ pad: 'x'.repeat(300 * 1024) }),
      );
      expect([big.status, code(big.body)]).toEqual([413, 'CONSOLE_BODY_TOO_LARGE']);
      const text = await fetch(`${c.url}/api/v1/reports`, {
        method: 'POST',
        body: 'hello',
        headers: { 'content-type': 'text/plain' },
      });
      expect(text.status).toBe(415);
      const notEnvelope = await requestJson(c.url, 'POST', '/api/v1/reports', { hello: 'world' });
      expect([notEnvelope.status, code(notEnvelope.body)]).toEqual([400, 'ENVELOPE_INVALID']);
      const bad = a.reportPayload({ outcome: 'committed' });
      bad.outcome = 'exploded';
      const invalid = await requestJson(c.url, 'POST', '/api/v1/reports', await a.signReport(bad));
      expect([invalid.status, code(invalid.body)]).toEqual([400, 'REPORT_INVALID']);
      expect((invalid.body as ErrBody).error.message).toContain('payload.outcome');
      const ghost = new SimDevice({ id: 'rep-ghost' });
      const unknown = await requestJson(
        c.url,
        'POST',
        '/api/v1/reports',
        await ghost.signReport({ outcome: 'committed' }),
      );
      expect([unknown.status, code(unknown.body)]).toEqual([404, 'DEVICE_UNKNOWN']);
      const noRollout = await a.report(c.url, { outcome: 'committed', rolloutId: 'ro_doesnotexist' });
      expect([noRollout.status, code(noRollout.body)]).toEqual([404, 'ROLLOUT_UNKNOWN']);
      const tampered = await a.signReport({ outcome: 'committed' });
      const p = JSON.parse(Buffer.from(tampered.payload, 'base64').toString('utf8')) as Record<
        string,
        unknown
      >;
      p.outcome = 'failed';
      tampered.payload = Buffer.from(JSON.stringify(p)).toString('base64');
      const t = await requestJson(c.url, 'POST', '/api/v1/reports', tampered);
      expect([t.status, code(t.body)]).toEqual([401, 'SIGNATURE_INVALID']);
    });
  });

  it('answers unknown endpoints, wrong methods and unknown rollout ids with clear 4xx errors', async () => {
    expect((await requestJson(c.url, 'GET', '/api/v1/nope')).status).toBe(404);
    expect((await requestJson(c.url, 'DELETE', '/api/v1/reports')).status).toBe(405);
    for (const action of ['halt', 'resume', 'abort', 'start']) {
      const r = await unchanged(() =>
        requestJson(c.url, 'POST', `/api/v1/rollouts/ro_missing/${action}`, {}, c.tokens.rm),
      );
      expect([r.status, code(r.body)]).toEqual([404, 'ROLLOUT_UNKNOWN']);
      expect((r.body as ErrBody).error.hint).not.toBe('');
    }
    const noToken = await requestJson(c.url, 'GET', '/api/v1/rollouts');
    expect([noToken.status, code(noToken.body)]).toEqual([401, 'CONSOLE_UNAUTHENTICATED']);
    const badToken = await requestJson(c.url, 'GET', '/api/v1/rollouts', undefined, 'cbt_wrong');
    expect(badToken.status).toBe(401);
  });
});
