// Starts a real console (HTTP on 127.0.0.1, port 0) on either storage driver, with a
// controllable clock, API tokens for each role, a pinned TUF root and a trusted change-record key.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConsoleServer, changeRecordVerifier, createApiToken, openConsole } from '@clawback/console';
import { generateKeyPair, type Signer, signerFromKeyPair } from '@clawback/core';
import pg from 'pg';

export type Driver = 'pglite' | 'postgres';
export const DRIVERS: Driver[] = ['pglite', 'postgres'];

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The PostgreSQL URL written by .ci/services.sh. Missing means the server was not set up: the
 * Postgres suites fail loudly rather than skip (CI must exercise both drivers).
 */
export function postgresUrl(): string {
  const fromEnv = process.env.CLAWBACK_TEST_DATABASE_URL;
  if (fromEnv) return fromEnv;
  const file = join(repoRoot, '.ci', 'postgres.env');
  if (existsSync(file)) {
    const m = /^CLAWBACK_TEST_DATABASE_URL=(.+)$/m.exec(readFileSync(file, 'utf8'));
    if (m?.[1]) return m[1].trim();
  }
  throw new Error(
    'PostgreSQL for tests is not configured: run `bash .ci/services.sh` (writes .ci/postgres.env)',
  );
}

/** A fresh schema in the test database, so suites never see each other's rows. */
export async function freshSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = postgresUrl();
  const schema = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export class Clock {
  t: number;
  constructor(start = Date.now()) {
    this.t = start;
  }
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestConsole {
  server: ConsoleServer;
  url: string;
  clock: Clock;
  tokens: { admin: string; rm: string; viewer: string };
  /** Trusted to sign change records. */
  releaseSigner: Signer;
  close(): Promise<void>;
}

export async function startConsole(
  driver: Driver,
  o: { alertIntervalMs?: number; pollAfterSecs?: number; dataDir?: string; realClock?: boolean } = {},
): Promise<TestConsole> {
  const clock = new Clock();
  // Real device processes sign with the wall clock: follow it instead of a frozen test clock.
  if (o.realClock) clock.now = () => new Date();
  const releaseSigner = signerFromKeyPair(generateKeyPair());
  const tmp =
    driver === 'pglite' && !o.dataDir ? await mkdtemp(join(tmpdir(), 'clawback-console-')) : undefined;
  const schema = driver === 'postgres' ? await freshSchema() : undefined;
  const server = await openConsole({
    ...(schema ? { databaseUrl: schema.url } : { dataDir: o.dataDir ?? (tmp as string) }),
    now: clock.now,
    verifyChangeRecord: changeRecordVerifier([releaseSigner.publicKey]),
    sweepIntervalMs: 0,
    alertIntervalMs: o.alertIntervalMs ?? 0,
    syncIntervalMs: 0,
    pollAfterSecs: o.pollAfterSecs ?? 300,
  });
  const mk = async (name: string, role: string) =>
    (await createApiToken(server.db, { name, role, now: clock.now(), actor: 'test' })).token;
  const tokens = {
    admin: await mk('admin', 'admin'),
    rm: await mk('rm', 'release-manager'),
    viewer: await mk('viewer', 'viewer'),
  };
  const { url } = await server.listen(0, '127.0.0.1');
  return {
    server,
    url,
    clock,
    tokens,
    releaseSigner,
    async close() {
      await server.close();
      if (tmp) await rm(tmp, { recursive: true, force: true });
      if (schema) await schema.drop();
    },
  };
}

export async function count(server: ConsoleServer, table: string): Promise<number> {
  const rows = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]?.n ?? 0;
}
