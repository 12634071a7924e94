// Device sessions (docs/protocol.md "Device sessions") against a real console on both storage
// drivers: a signed, nonce-carrying request opens a short-lived bearer session; check-ins with
// it skip the per-request signature; replays, stale or tampered requests, expiry, key rotation,
// retirement and re-binding all end in a coded refusal with nothing stored.
import { createHash } from 'node:crypto';
import { pruneDeviceAuth } from '@clawback/console';
import { generateKeyPair, publicKeyJson, signerFromKeyPair } from '@clawback/core';
import { requestJson, SimDevice } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, DRIVERS, startConsole, type TestConsole } from './harness.js';
import { bearerCheckin, errCode, openSession, postSession, sessionRequest } from './session-helpers.js';

describe.each(DRIVERS)('device sessions (%s)', (driver) => {
  let c: TestConsole;
  let enrollToken: string;
  const enroll = async (id: string) => {
    const d = new SimDevice({ id, now: c.clock.now });
    expect((await d.enroll(c.url, enrollToken)).status).toBe(201);
    return d;
  };
  beforeAll(async () => {
    c = await startConsole(driver);
    enrollToken = (
      (await requestJson(c.url, 'POST', '/api/v1/enrollment-tokens', { name: 'sess' }, c.tokens.admin))
        .body as { token: string }
    ).token;
  });
  afterAll(async () => c?.close());

  it('opens a session with a signed request; check-ins with the bearer token get 200 then 304', async () => {
    const d = await enroll('sess-a');
    const r = await postSession(c.url, await sessionRequest(d, c.clock.now));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ tokenType: 'Bearer', expiresInSecs: 3600 });
    const token = r.body.token as string;
    expect(token).toMatch(/^cbd_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(r.body.expiresAt as string)).toBe(c.clock.t + 3_600_000);
    const first = await bearerCheckin(c.url, d.id, token);
    expect(first).toMatchObject({ status: 200, body: { deviceId: 'sess-a', desired: null } });
    const again = await bearerCheckin(c.url, d.id, token, first.etag ?? undefined);
    expect(again.status).toBe(304);
    // Stored only as SHA-256: the token itself is nowhere in the database.
    const hash = createHash('sha256').update(token).digest('hex');
    const rows = await c.server.db.query<{ hash: string; device_id: string }>(
      'SELECT hash, device_id FROM device_sessions WHERE device_id = $1',
      ['sess-a'],
    );
    expect(rows).toEqual([{ hash, device_id: 'sess-a' }]);
    const dump = JSON.stringify(await c.server.db.query('SELECT * FROM device_sessions'));
    expect(dump).not.toContain(token.slice(4));
    // The signed-header form keeps working beside it.
    expect((await d.checkin(c.url)).status).toBe(200);
  });

  it('refuses a replayed, stale, tampered or foreign session request and stores nothing', async () => {
    const d = await enroll('sess-b');
    const req = await sessionRequest(d, c.clock.now);
    expect((await postSession(c.url, req)).status).toBe(201);
    const before = await count(c.server, 'device_sessions');
    const replay = await postSession(c.url, req);
    expect([replay.status, errCode(replay.body)]).toEqual([401, 'DEVICE_AUTH_REPLAYED']);
    const stale = await postSession(
      c.url,
      await sessionRequest(d, c.clock.now, { ts: new Date(c.clock.t - 301_000).toISOString() }),
    );
    expect([stale.status, errCode(stale.body)]).toEqual([401, 'REQUEST_STALE']);
    // The signature covers the body: another nonce under the same signature does not verify.
    const tampered = { ...req, body: JSON.stringify({ nonce: 'f'.repeat(32) }) };
    const bad = await postSession(c.url, tampered);
    expect([bad.status, errCode(bad.body)]).toEqual([401, 'SIGNATURE_INVALID']);
    const other = signerFromKeyPair(generateKeyPair());
    const forged = await postSession(c.url, await sessionRequest(d, c.clock.now, { signer: other }));
    expect([forged.status, errCode(forged.body)]).toEqual([401, 'SIGNATURE_INVALID']);
    const shortNonce = await postSession(c.url, await sessionRequest(d, c.clock.now, { nonce: 'abc' }));
    expect([shortNonce.status, errCode(shortNonce.body)]).toEqual([400, 'CONSOLE_BAD_REQUEST']);
    const ghost = new SimDevice({ id: 'sess-ghost', now: c.clock.now });
    const unknown = await postSession(c.url, await sessionRequest(ghost, c.clock.now));
    expect([unknown.status, errCode(unknown.body)]).toEqual([404, 'DEVICE_UNKNOWN']);
    expect(await count(c.server, 'device_sessions')).toBe(before);
  });

  it('refuses unknown, expired and other devices’ tokens with clear codes', async () => {
    const d = await enroll('sess-c');
    const e = await enroll('sess-d');
    const token = await openSession(c.url, d, c.clock.now);
    const unknown = await bearerCheckin(c.url, d.id, `cbd_${'A'.repeat(43)}`);
    expect([unknown.status, errCode(unknown.body)]).toEqual([401, 'DEVICE_SESSION_INVALID']);
    const apiToken = await bearerCheckin(c.url, d.id, c.tokens.admin);
    expect([apiToken.status, errCode(apiToken.body)]).toEqual([401, 'DEVICE_SESSION_INVALID']);
    const foreign = await bearerCheckin(c.url, e.id, token);
    expect([foreign.status, errCode(foreign.body)]).toEqual([401, 'DEVICE_AUTH_INVALID']);
    c.clock.advance(3_600_000);
    const expired = await bearerCheckin(c.url, d.id, token);
    expect([expired.status, errCode(expired.body)]).toEqual([401, 'DEVICE_SESSION_INVALID']);
    // A new signed request opens a new session.
    expect((await bearerCheckin(c.url, d.id, await openSession(c.url, d, c.clock.now))).status).toBe(200);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).toMatch(/clawback_console_refused_total\{reason="session_invalid"\} [1-9]/);
    expect(metrics).toMatch(/clawback_console_device_sessions_total [1-9]/);
  });

  it('prunes expired sessions and auth nonces, and only those', async () => {
    const d = await enroll('sess-prune');
    const other = await enroll('sess-prune-2');
    const old = await openSession(c.url, d, c.clock.now);
    await openSession(c.url, other, c.clock.now);
    c.clock.advance(3_600_001);
    const fresh = await openSession(c.url, d, c.clock.now);
    const pruned = await pruneDeviceAuth(c.server.ctx);
    expect(pruned.sessions).toBeGreaterThanOrEqual(2);
    expect(pruned.nonces).toBeGreaterThanOrEqual(1);
    expect(await count(c.server, "device_sessions WHERE device_id = 'sess-prune-2'")).toBe(0);
    expect(await count(c.server, "device_auth_nonces WHERE device_id = 'sess-prune-2'")).toBe(0);
    expect(await count(c.server, "device_sessions WHERE device_id = 'sess-prune'")).toBe(1);
    expect(await count(c.server, "device_auth_nonces WHERE device_id = 'sess-prune'")).toBe(1);
    expect(errCode((await bearerCheckin(c.url, d.id, old)).body)).toBe('DEVICE_SESSION_INVALID');
    expect((await bearerCheckin(c.url, d.id, fresh)).status).toBe(200);
  });

  it('ends sessions when the device rotates its key', async () => {
    const d = await enroll('sess-rot');
    const token = await openSession(c.url, d, c.clock.now);
    expect((await d.rotateKey(c.url)).status).toBe(200);
    const after = await bearerCheckin(c.url, d.id, token);
    expect([after.status, errCode(after.body)]).toEqual([401, 'DEVICE_SESSION_INVALID']);
    const revoked = await c.server.db.query<{ revoked: boolean }>(
      'SELECT revoked FROM device_sessions WHERE device_id = $1',
      [d.id],
    );
    expect(revoked.map((r) => r.revoked)).toEqual([true]);
    expect((await bearerCheckin(c.url, d.id, await openSession(c.url, d, c.clock.now))).status).toBe(200);
  });

  it('retires a device for good (sessions, check-ins, reports, heartbeats refused) and re-binds it to a new key', async () => {
    const d = await enroll('sess-ret');
    const token = await openSession(c.url, d, c.clock.now);
    const viewerTry = await requestJson(c.url, 'POST', `/api/v1/devices/${d.id}/retire`, {}, c.tokens.rm);
    expect([viewerTry.status, errCode(viewerTry.body)]).toEqual([403, 'CONSOLE_FORBIDDEN']);
    const retired = await requestJson(
      c.url,
      'POST',
      `/api/v1/devices/${d.id}/retire`,
      { reason: 'hardware returned' },
      c.tokens.admin,
    );
    expect(retired).toMatchObject({
      status: 200,
      body: { status: 'retired', changed: true, sessionsRevoked: 1 },
    });
    const again = await requestJson(
      c.url,
      'POST',
      `/api/v1/devices/${d.id}/retire`,
      undefined,
      c.tokens.admin,
    );
    expect(again.body).toMatchObject({ changed: false });
    for (const r of [
      await bearerCheckin(c.url, d.id, token),
      await d.checkin(c.url),
      await postSession(c.url, await sessionRequest(d, c.clock.now)),
      await d.report(c.url, { outcome: 'committed' }),
      await d.heartbeat(c.url),
      await d.rotateKey(c.url),
    ]) {
      expect([r.status, errCode(r.body)]).toEqual([403, 'DEVICE_RETIRED']);
    }
    expect(await count(c.server, "reports WHERE device_id = 'sess-ret'")).toBe(0);

    // Re-provisioned with a new key: an admin re-binds the id; only the new key works.
    const fresh = new SimDevice({ id: d.id, now: c.clock.now });
    const body = { publicKey: publicKeyJson(fresh.signer.publicKey.bytes), reason: 're-provisioned' };
    const same = await requestJson(
      c.url,
      'POST',
      `/api/v1/devices/${d.id}/rebind`,
      { publicKey: publicKeyJson(d.signer.publicKey.bytes) },
      c.tokens.admin,
    );
    expect([same.status, errCode(same.body)]).toEqual([409, 'DEVICE_KEY_CONFLICT']);
    const badKey = await requestJson(
      c.url,
      'POST',
      `/api/v1/devices/${d.id}/rebind`,
      { publicKey: { keytype: 'rsa' } },
      c.tokens.admin,
    );
    expect([badKey.status, errCode(badKey.body)]).toEqual([400, 'CONSOLE_BAD_REQUEST']);
    const ghost = await requestJson(c.url, 'POST', '/api/v1/devices/nope/rebind', body, c.tokens.admin);
    expect([ghost.status, errCode(ghost.body)]).toEqual([404, 'DEVICE_UNKNOWN']);
    const rebound = await requestJson(c.url, 'POST', `/api/v1/devices/${d.id}/rebind`, body, c.tokens.admin);
    expect(rebound).toMatchObject({
      status: 200,
      body: { deviceId: d.id, status: 'active', keyid: fresh.signer.keyid, previousKeyid: d.signer.keyid },
    });
    expect((await d.checkin(c.url)).status).toBe(401);
    const old = await bearerCheckin(c.url, d.id, token);
    expect(errCode(old.body)).toBe('DEVICE_SESSION_INVALID');
    expect((await bearerCheckin(c.url, d.id, await openSession(c.url, fresh, c.clock.now))).status).toBe(200);
    const audit = await requestJson(c.url, 'GET', '/api/v1/audit?limit=20', undefined, c.tokens.viewer);
    const kinds = (audit.body as { entries: { kind: string; data: { deviceId?: string } }[] }).entries
      .filter((e) => e.data.deviceId === d.id)
      .map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['device.retired', 'device.key-rebound']));
  });
});
