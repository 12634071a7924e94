// The updater's console client (packages/updater/src/console-client.ts) against a real console:
// it opens a device session once, keeps it in the device root (0600) across runs, re-opens it
// once when the console says it is no longer valid, re-signs a fresh nonce when a session
// request is retried, and falls back to signed check-ins on a console that predates sessions.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, type Signer, signerFromKeyPair } from '@clawback/core';
import { requestJson } from '@clawback/testing';
import { ConsoleClient } from '@clawback/updater';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, startConsole, type TestConsole } from './harness.js';

/** A loopback proxy in front of the console that can answer some requests itself. */
async function proxy(
  target: string,
  intercept: (method: string, path: string, body: string) => { status: number; body: string } | undefined,
): Promise<{ url: string; seen: { path: string; body: string; authorization: string }[]; server: Server }> {
  const seen: { path: string; body: string; authorization: string }[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    seen.push({ path, body, authorization: String(req.headers.authorization ?? '') });
    const own = intercept(req.method ?? 'GET', path, body);
    if (own) {
      res.writeHead(own.status, { 'content-type': 'application/json' });
      res.end(own.body);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host') headers[k] = v;
    const up = await fetch(`${target}${path}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body ? { body } : {}),
    });
    const text = await up.text();
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
    });
    res.writeHead(up.status, out);
    res.end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe('updater console client: device sessions', () => {
  let c: TestConsole;
  let dir: string;
  let token: string;
  const servers: Server[] = [];
  beforeAll(async () => {
    // Real device processes sign with the wall clock; the console follows it.
    c = await startConsole('pglite', { realClock: true });
    dir = await mkdtemp(join(tmpdir(), 'clawback-session-client-'));
    token = (
      (await requestJson(c.url, 'POST', '/api/v1/enrollment-tokens', { name: 'cl' }, c.tokens.admin))
        .body as {
        token: string;
      }
    ).token;
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await c?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const device = async (id: string) => {
    const signer: Signer = signerFromKeyPair(generateKeyPair());
    const client = (baseUrl: string, sessionFile?: string) =>
      new ConsoleClient({
        baseUrl,
        deviceId: id,
        signer,
        retries: 2,
        ...(sessionFile ? { sessionFile } : {}),
      });
    await client(c.url).enroll({
      hardwareId: 'rpi4',
      agent: 'com.openclaw.sensor_parser',
      channel: 'stable',
      updaterVersion: '0.1.0',
      tags: [],
      enrollmentToken: token,
    });
    return { signer, client };
  };
  const sessionsOf = async (id: string) => count(c.server, `device_sessions WHERE device_id = '${id}'`);

  it('opens one session, keeps it on disk (0600) and reuses it from a new client', async () => {
    const { client } = await device('cl-a');
    const file = join(dir, 'cl-a-session.json');
    const first = await client(c.url, file).desired(null);
    expect(first).toMatchObject({ changed: true, desired: null });
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    const stored = JSON.parse(await readFile(file, 'utf8')) as { token: string; deviceId: string };
    expect(stored).toMatchObject({ deviceId: 'cl-a' });
    expect(stored.token).toMatch(/^cbd_/);
    // A later run (a new process in real life) reuses the stored session: no new one is opened.
    expect(await client(c.url, file).desired(first.etag)).toMatchObject({ changed: false });
    expect(await sessionsOf('cl-a')).toBe(1);
  });

  it('re-authenticates once when the console no longer knows the session', async () => {
    const { client } = await device('cl-b');
    const file = join(dir, 'cl-b-session.json');
    await client(c.url, file).desired(null);
    // The console forgets it (as after a revocation or a database restore).
    await c.server.db.query("DELETE FROM device_sessions WHERE device_id = 'cl-b'");
    c.server.ctx.cache.sessions.clear();
    const p = await proxy(c.url, () => undefined);
    servers.push(p.server);
    expect(await client(p.url, file).desired(null)).toMatchObject({ changed: true });
    const paths = p.seen.map((s) => s.path);
    expect(paths).toEqual([
      '/api/v1/devices/cl-b/desired',
      '/api/v1/devices/cl-b/session',
      '/api/v1/devices/cl-b/desired',
    ]);
    expect(p.seen[0]?.authorization).toMatch(/^Bearer cbd_/);
    expect(await sessionsOf('cl-b')).toBe(1);
  });

  it('re-signs a fresh nonce when a session request is retried', async () => {
    const { client } = await device('cl-c');
    let failed = false;
    const p = await proxy(c.url, (method, path) => {
      if (method === 'POST' && path.endsWith('/session') && !failed) {
        failed = true;
        return { status: 503, body: '{"error":{"code":"CONSOLE_DB_FAILED"}}' };
      }
      return undefined;
    });
    servers.push(p.server);
    expect(await client(p.url).desired(null)).toMatchObject({ changed: true });
    const sessionPosts = p.seen.filter((s) => s.path.endsWith('/session'));
    expect(sessionPosts).toHaveLength(2);
    expect(sessionPosts[0]?.body).not.toBe(sessionPosts[1]?.body);
    expect(sessionPosts[0]?.authorization).not.toBe(sessionPosts[1]?.authorization);
  });

  it('signs every check-in on a console without sessions', async () => {
    const { client } = await device('cl-d');
    const p = await proxy(c.url, (method, path) =>
      method === 'POST' && path.endsWith('/session')
        ? { status: 404, body: '{"error":{"code":"NOT_FOUND","message":"no such endpoint"}}' }
        : undefined,
    );
    servers.push(p.server);
    const cl = client(p.url);
    const first = await cl.desired(null);
    expect(first).toMatchObject({ changed: true });
    expect(await cl.desired(first.etag)).toMatchObject({ changed: false });
    const checkins = p.seen.filter((s) => s.path.endsWith('/desired'));
    expect(checkins.map((s) => s.authorization.split(' ')[0])).toEqual([
      'Clawback-Device',
      'Clawback-Device',
    ]);
    expect(p.seen.filter((s) => s.path.endsWith('/session'))).toHaveLength(1);
  });

  it('reports a retired device as refused with the console code', async () => {
    const { client } = await device('cl-e');
    const file = join(dir, 'cl-e-session.json');
    await client(c.url, file).desired(null);
    await requestJson(c.url, 'POST', '/api/v1/devices/cl-e/retire', {}, c.tokens.admin);
    await expect(client(c.url, file).desired(null)).rejects.toMatchObject({
      code: 'CONSOLE_REFUSED',
      details: { consoleCode: 'DEVICE_RETIRED' },
    });
  });
});
