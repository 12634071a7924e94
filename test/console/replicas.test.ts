// Several console replicas sharing one PostgreSQL database: migrations race safely at start,
// and a change made through one replica reaches devices checking in through another.
import { type ConsoleServer, changeRecordVerifier, createApiToken, openConsole } from '@clawback/console';
import { generateKeyPair, signerFromKeyPair } from '@clawback/core';
import { requestJson, SimDevice } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRelease, repoFor } from './fixtures.js';
import { Clock, freshSchema, type TestConsole } from './harness.js';
import { bearerCheckin, errCode, openSession, postSession, sessionRequest } from './session-helpers.js';

async function until(fn: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never happened: ${what}`);
}

describe('console replicas on one PostgreSQL database', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  const replicas: { server: ConsoleServer; url: string }[] = [];
  const clock = new Clock();
  const releaseSigner = signerFromKeyPair(generateKeyPair());
  const consoleKey = signerFromKeyPair(generateKeyPair());
  beforeAll(async () => {
    schema = await freshSchema();
    // Three replicas start at once: each runs the migrations under the advisory lock.
    const servers = await Promise.all(
      [0, 1, 2].map(() =>
        openConsole({
          databaseUrl: schema.url,
          now: clock.now,
          signer: consoleKey,
          verifyChangeRecord: changeRecordVerifier([releaseSigner.publicKey]),
          sweepIntervalMs: 0,
          alertIntervalMs: 0,
          syncIntervalMs: 50,
        }),
      ),
    );
    for (const server of servers) replicas.push({ server, url: (await server.listen(0)).url });
  });
  afterAll(async () => {
    for (const r of replicas) await r.server.close();
    await schema?.drop();
  });

  it('applied each migration exactly once', async () => {
    const rows = await replicas[0]?.server.db.query<{ version: number }>(
      'SELECT version FROM schema_migrations',
    );
    expect(rows?.map((r) => Number(r.version)).sort()).toEqual([1, 2]);
  });

  it('serves devices from any replica and propagates rollout changes between them', async () => {
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const admin = (
      await createApiToken(a.server.db, { name: 'admin', role: 'admin', now: clock.now(), actor: 't' })
    ).token;
    const rm = (
      await createApiToken(a.server.db, { name: 'rm', role: 'release-manager', now: clock.now(), actor: 't' })
    ).token;
    const c = { url: a.url, tokens: { admin, rm, viewer: rm }, releaseSigner } as unknown as TestConsole;
    const repo = await repoFor(c);
    const rel = await registerRelease(c, repo, '2.0.0');
    const tok = (await requestJson(a.url, 'POST', '/api/v1/enrollment-tokens', { name: 'r' }, admin))
      .body as { token: string };
    const d = new SimDevice({ id: 'rep-dev', now: clock.now });
    expect((await d.enroll(a.url, tok.token)).status).toBe(201);
    // Enrolled through A, checks in through B (B learns the key from the shared database).
    expect((await d.checkin(b.url)).body).toMatchObject({ desired: null });
    const created = await requestJson(
      a.url,
      'POST',
      '/api/v1/rollouts',
      { releaseId: rel.id, stages: [{ name: 'all', percent: 100 }] },
      rm,
    );
    const id = (created.body as { id: string }).id;
    await requestJson(a.url, 'POST', `/api/v1/rollouts/${id}/start`, {}, rm);
    await until(async () => {
      const r = await d.checkin(b.url);
      return (
        r.status === 200 && (r.body as { desired: { rolloutId: string } | null }).desired?.rolloutId === id
      );
    }, 'replica B offers the rollout started on A');
    await requestJson(b.url, 'POST', `/api/v1/rollouts/${id}/halt`, { reason: 'manual check' }, rm);
    await until(async () => {
      const r = await d.checkin(a.url);
      return r.status === 200 && (r.body as { desired: unknown }).desired === null;
    }, 'replica A stops offering after B halted it');
    // One audit chain across replicas.
    const entries = await a.server.db.query<{ seq: number }>('SELECT seq FROM audit_log ORDER BY seq');
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
  });

  it('accepts a device session on every replica and ends it everywhere when the device is retired', async () => {
    const [a, b, c3] = replicas as [(typeof replicas)[0], (typeof replicas)[0], (typeof replicas)[0]];
    const admin = (
      await createApiToken(a.server.db, { name: 'admin-s', role: 'admin', now: clock.now(), actor: 't' })
    ).token;
    const tok = (await requestJson(a.url, 'POST', '/api/v1/enrollment-tokens', { name: 's' }, admin))
      .body as {
      token: string;
    };
    const d = new SimDevice({ id: 'rep-sess', now: clock.now });
    expect((await d.enroll(a.url, tok.token)).status).toBe(201);
    // Opened through A; B and C have never seen it (cache miss -> the shared database).
    const session = await openSession(a.url, d, clock.now);
    for (const r of [b, c3]) expect((await bearerCheckin(r.url, d.id, session)).status).toBe(200);
    // A replayed session request is refused by another replica too (the nonce is in the database).
    const req = await sessionRequest(d, clock.now);
    expect((await postSession(b.url, req)).status).toBe(201);
    expect(errCode((await postSession(c3.url, req)).body)).toBe('DEVICE_AUTH_REPLAYED');
    // Retired through C: A and B (which cached the session) refuse it after their refresh.
    expect((await requestJson(c3.url, 'POST', `/api/v1/devices/${d.id}/retire`, {}, admin)).status).toBe(200);
    for (const r of [a, b]) {
      await until(
        async () => errCode((await bearerCheckin(r.url, d.id, session)).body) === 'DEVICE_RETIRED',
        'the retirement reaches every replica',
      );
    }
  });
});
