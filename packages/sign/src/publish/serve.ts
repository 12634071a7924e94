/**
 * Serving a repository over plain HTTP for a lab, a demo or an air-gapped site: `metadata/`
 * and `targets/` exactly as they are on disk, GET and HEAD, one byte range per request (the
 * updater resumes downloads with `Range: bytes=N-`). Nothing outside the repository is ever
 * served; production fleets use any static host or `repo publish`.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, resolve, sep } from 'node:path';
import { ClawbackError } from '@clawback/core';
import { PublishErrors } from './github.js';

export interface RepositoryServer {
  /** Base URL: devices use `${url}/metadata` and `${url}/targets`. */
  url: string;
  close(): Promise<void>;
}

export interface ServeRepositoryOptions {
  port?: number;
  host?: string;
  /** One line per request (method, path, status), e.g. for a log. */
  onRequest?: (line: string) => void;
}

const SERVED = new Set(['metadata', 'targets']);

async function fileFor(root: string, urlPath: string): Promise<{ path: string; size: number } | null> {
  let rel: string;
  try {
    rel = decodeURIComponent(new URL(urlPath, 'http://repo').pathname);
  } catch {
    return null;
  }
  const path = normalize(join(root, rel));
  const top = path.slice(root.length + 1).split(sep)[0] ?? '';
  if (!path.startsWith(root + sep) || !SERVED.has(top)) return null;
  // A symlink must not lead out of the repository either.
  const real = await realpath(path).catch(() => null);
  if (!real?.startsWith(root + sep)) return null;
  const st = await stat(real).catch(() => null);
  return st?.isFile() ? { path: real, size: st.size } : null;
}

/** `bytes=A-B`, `bytes=A-` or `bytes=-N` against a size; null when unsatisfiable. */
function parseRange(header: string, size: number): { start: number; end: number } | null | 'ignore' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'ignore'; // several ranges or garbage: send it all
  if (m[1] === '') {
    const n = Number(m[2]);
    return n > 0 ? { start: Math.max(0, size - n), end: size - 1 } : null;
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start < size && start <= end ? { start, end } : null;
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<number> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return 405;
  }
  const file = await fileFor(root, req.url ?? '/');
  if (!file) {
    res.writeHead(404).end();
    return 404;
  }
  const range = typeof req.headers.range === 'string' ? parseRange(req.headers.range, file.size) : 'ignore';
  if (range === null) {
    res.writeHead(416, { 'content-range': `bytes */${file.size}` }).end();
    return 416;
  }
  const { start, end } = range === 'ignore' ? { start: 0, end: file.size - 1 } : range;
  const status = range === 'ignore' ? 200 : 206;
  res.writeHead(status, {
    'accept-ranges': 'bytes',
    'content-length': String(Math.max(0, end - start + 1)),
    'content-type': file.path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${file.size}` } : {}),
  });
  if (req.method === 'HEAD' || file.size === 0) res.end();
  else createReadStream(file.path, { start, end }).pipe(res);
  return status;
}

export async function serveRepository(
  repo: string,
  o: ServeRepositoryOptions = {},
): Promise<RepositoryServer> {
  const root = await realpath(resolve(repo)).catch(() => null);
  if (!root || !(await stat(join(root, 'metadata')).catch(() => null))?.isDirectory()) {
    throw new ClawbackError(
      PublishErrors.SERVE_NOT_A_REPOSITORY,
      `${repo} is not a repository (no metadata/)`,
      {
        hint: 'Serve the directory `clawback repo init --out` created.',
      },
    );
  }
  const server = createServer((req, res) => {
    handle(root, req, res).then(
      (status) => o.onRequest?.(`${req.method} ${req.url} ${status}`),
      () => res.destroy(),
    );
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((done, fail) => {
    server.once('error', (err) =>
      fail(
        new ClawbackError(
          PublishErrors.SERVE_LISTEN_FAILED,
          `cannot listen on ${host}:${o.port ?? 0}: ${err.message}`,
          {
            hint: 'Pick another --port, or stop what listens there.',
          },
        ),
      ),
    );
    server.listen(o.port ?? 0, host, done);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
