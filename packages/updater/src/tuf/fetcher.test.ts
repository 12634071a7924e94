import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GotFetcher } from './fetcher.js';
import { DownloadHTTPError, DownloadLengthMismatchError } from './tuf-js-errors.js';

describe('GotFetcher', () => {
  let server: Server;
  let base: string;
  const hits = new Map<string, number>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const n = (hits.get(req.url ?? '') ?? 0) + 1;
      hits.set(req.url ?? '', n);
      if (req.url === '/flaky' && n < 3) return void res.writeHead(503).end();
      if (req.url === '/flaky' || req.url === '/ok') return void res.writeHead(200).end('hello');
      if (req.url === '/cut') {
        // First attempt: the headers and a few bytes, then the connection drops.
        res.writeHead(200, { 'content-length': '10' });
        if (n === 1) return void res.write('abc', () => res.destroy());
        return void res.end('abcdefghij');
      }
      if (req.url === '/big')
        return void res.writeHead(200, { 'content-length': '100' }).end('x'.repeat(100));
      if (req.url === '/endless') {
        res.writeHead(200);
        const timer = setInterval(() => res.write('y'.repeat(1024)), 1);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  );

  const fetcher = new GotFetcher({ retries: 3, backoffLimitMs: 20 });

  it('retries transient failures with got’s retry and returns the body', async () => {
    expect((await fetcher.downloadBytes(`${base}/flaky`, 100)).toString()).toBe('hello');
    expect(hits.get('/flaky')).toBe(3);
  });

  it('a retry after a dropped body starts over: the bytes of the failed attempt are not kept', async () => {
    expect((await fetcher.downloadBytes(`${base}/cut`, 100)).toString()).toBe('abcdefghij');
    expect(await fetcher.downloadFile(`${base}/cut`, 100, (f) => readFile(f, 'utf8'))).toBe('abcdefghij');
    expect(hits.get('/cut')).toBe(3);
  });

  it('maps HTTP errors to the tuf-js class that ends a root walk on 404', async () => {
    const err = await fetcher.downloadBytes(`${base}/missing`, 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadHTTPError);
    expect((err as DownloadHTTPError).statusCode).toBe(404);
  });

  it('stops at the length the metadata allows, by header or by stream', async () => {
    await expect(fetcher.downloadBytes(`${base}/big`, 10)).rejects.toBeInstanceOf(
      DownloadLengthMismatchError,
    );
    await expect(fetcher.downloadBytes(`${base}/endless`, 10_000)).rejects.toBeInstanceOf(
      DownloadLengthMismatchError,
    );
    expect((await fetcher.downloadBytes(`${base}/ok`, 5)).toString()).toBe('hello');
  });
});
