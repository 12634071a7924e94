import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishErrors } from './github.js';
import { type RepositoryServer, serveRepository } from './serve.js';

let dir: string;
let server: RepositoryServer;

/** A raw request (fetch would normalise `..` away before it reaches the server). */
function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((done, fail) => {
    const u = new URL(server.url);
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-serve-'));
  await mkdir(join(dir, 'repo', 'metadata'), { recursive: true });
  await mkdir(join(dir, 'repo', 'targets'), { recursive: true });
  await mkdir(join(dir, 'repo', 'audit'), { recursive: true });
  await writeFile(join(dir, 'repo', 'metadata', 'timestamp.json'), '{"signed":{}}');
  await writeFile(join(dir, 'repo', 'targets', 'abc.bundle.clawback'), '0123456789');
  await writeFile(join(dir, 'repo', 'audit', 'audit.log'), 'private');
  await writeFile(join(dir, 'secret.key'), 'do not serve');
  await symlink(join(dir, 'secret.key'), join(dir, 'repo', 'targets', 'leak'));
  server = await serveRepository(join(dir, 'repo'));
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('serveRepository', () => {
  it('serves metadata and targets as they are on disk', async () => {
    const r = await get('/metadata/timestamp.json');
    expect(r).toMatchObject({ status: 200, body: '{"signed":{}}' });
    expect(r.headers['content-type']).toBe('application/json');
    expect((await get('/targets/abc.bundle.clawback')).body).toBe('0123456789');
    const head = await get('/targets/abc.bundle.clawback', {}, 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('10');
  });

  it('answers byte ranges so a device can resume a download', async () => {
    const r = await get('/targets/abc.bundle.clawback', { range: 'bytes=4-' });
    expect(r).toMatchObject({ status: 206, body: '456789' });
    expect(r.headers['content-range']).toBe('bytes 4-9/10');
    expect((await get('/targets/abc.bundle.clawback', { range: 'bytes=2-3' })).body).toBe('23');
    expect((await get('/targets/abc.bundle.clawback', { range: 'bytes=-3' })).body).toBe('789');
    const past = await get('/targets/abc.bundle.clawback', { range: 'bytes=10-' });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe('bytes */10');
    expect(await get('/targets/abc.bundle.clawback', { range: 'bytes=0-1,4-5' })).toMatchObject({
      status: 200,
      body: '0123456789',
    });
  });

  it('never serves anything outside metadata/ and targets/', async () => {
    for (const path of [
      '/audit/audit.log',
      '/metadata/../../secret.key',
      '/metadata/%2e%2e/%2e%2e/secret.key',
      '/targets/leak',
      '/',
      '/metadata/',
      '/metadata/missing.json',
    ])
      expect((await get(path)).status, path).toBe(404);
    expect((await get('/metadata/timestamp.json', {}, 'POST')).status).toBe(405);
  });

  it('refuses a directory that is not a repository', async () => {
    await expect(serveRepository(join(dir, 'nope'))).rejects.toMatchObject({
      code: PublishErrors.SERVE_NOT_A_REPOSITORY,
    });
  });
});
