// TUF test helpers: a real key ceremony (keys generated and written by core, `repo.yaml` in the
// keys-template format) and a static file server on 127.0.0.1 that can be told to misbehave
// (serve other bytes for a path, fail a path) so attack tests use real, really signed files.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, resolve, sep } from 'node:path';
import { encodePrivateKeyFile, encodePublicKeyFile, generateKeyPair, type KeyPair } from '@clawback/core';

export interface TufCeremonyOptions {
  /** Root threshold and key count (default 2 of 3). */
  rootThreshold?: number;
  rootKeys?: number;
  /** Expiry per role, e.g. { timestamp: '1 day' }. */
  expires?: Partial<Record<'root' | 'targets' | 'snapshot' | 'timestamp', string>>;
  refreshBefore?: Partial<Record<'root' | 'targets' | 'snapshot' | 'timestamp', string>>;
}

export interface TufCeremony {
  keysDir: string;
  keys: Record<string, KeyPair>;
}

/** Write `<dir>/<name>.pub` and `<dir>/<name>.key` for a fresh key. */
export async function writeKeyFiles(dir: string, name: string): Promise<KeyPair> {
  const pair = generateKeyPair();
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.pub`), encodePublicKeyFile(pair.publicKey));
  await writeFile(join(dir, `${name}.key`), encodePrivateKeyFile(pair), { mode: 0o600 });
  return pair;
}

/**
 * A keys directory as the ceremony in keys-template/README.md produces it: root-1..n,
 * release (targets), online (snapshot + timestamp), and repo.yaml.
 */
export async function tufCeremony(keysDir: string, options: TufCeremonyOptions = {}): Promise<TufCeremony> {
  const n = options.rootKeys ?? 3;
  const keys: Record<string, KeyPair> = {};
  const rootNames = Array.from({ length: n }, (_, i) => `root-${i + 1}`);
  for (const name of [...rootNames, 'release', 'online']) keys[name] = await writeKeyFiles(keysDir, name);
  const e = {
    root: '365 days',
    targets: '90 days',
    snapshot: '14 days',
    timestamp: '1 day',
    ...options.expires,
  };
  const r = {
    root: '30 days',
    targets: '14 days',
    snapshot: '7 days',
    timestamp: '12 hours',
    ...options.refreshBefore,
  };
  const yaml = [
    'roles:',
    '  root:',
    `    threshold: ${options.rootThreshold ?? 2}`,
    `    keys: [${rootNames.join(', ')}]`,
    `    expires: ${e.root}`,
    `    refreshBefore: ${r.root}`,
    ...(['targets', 'snapshot', 'timestamp'] as const).flatMap((role) => [
      `  ${role}:`,
      '    threshold: 1',
      `    keys: [${role === 'targets' ? 'release' : 'online'}]`,
      `    expires: ${e[role]}`,
      `    refreshBefore: ${r[role]}`,
    ]),
    '',
  ].join('\n');
  await writeFile(join(keysDir, 'repo.yaml'), yaml);
  return { keysDir, keys };
}

export interface StaticServer {
  url: string;
  /** Paths requested, in order (URL paths, decoded). */
  requests: string[];
  /** Serve these bytes instead of the file at a URL path (e.g. '/metadata/timestamp.json'). */
  override(path: string, body: Uint8Array | string | { status: number }): void;
  clearOverrides(): void;
  close(): Promise<void>;
}

/** Serve `root` read-only on 127.0.0.1 (port 0). Unknown paths get 404. */
export async function serveDirectory(root: string): Promise<StaticServer> {
  const base = resolve(root);
  const overrides = new Map<string, Uint8Array | string | { status: number }>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const o = overrides.get(path);
    if (o !== undefined) {
      if (typeof o === 'object' && 'status' in o) {
        res.writeHead(o.status).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(o);
      }
      return;
    }
    const file = normalize(join(base, path));
    if (!file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    override: (path, body) => overrides.set(path, body),
    clearOverrides: () => overrides.clear(),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
