/**
 * `openConsole`: storage (PGlite in a data directory, or PostgreSQL from a URL), migrations,
 * the console key, the HTTP server, and the background work (deadline sweeper, alert delivery,
 * cache refresh, last-seen flush). Everything with a clock takes `now`.
 */

import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ClawbackError, type Signer } from '@clawback/core';
import { deliverDueAlerts } from './alerts.js';
import { notFound, registerApi } from './api.js';
import { ensureApiToken } from './auth.js';
import { type ChangeRecordVerifier, noChangeRecordKeys } from './change-records.js';
import { consoleSigner, holdDataDirLock, renderMetrics } from './console-setup.js';
import type { ConsoleContext } from './context.js';
import { registerDashboard } from './dashboard-routes.js';
import { DeviceCache } from './device-cache.js';
import { ConsoleErrors } from './errors.js';
import { errorReply, type Reply, type Request, Router, send } from './http/server.js';
import { Metrics } from './metrics.js';
import { sweepDeadlines } from './rollout-eval.js';
import { pruneDeviceAuth } from './session-store.js';
import { DEFAULT_DEVICE_SESSION_TTL_SECS } from './sessions.js';
import type { Db } from './storage/db.js';
import { migrate } from './storage/migrations.js';
import { openPglite } from './storage/pglite.js';
import { openPostgres } from './storage/postgres.js';

/** Shared by every request without a query string (most of them: check-ins); never mutated. */
const NO_QUERY: URLSearchParams = new URLSearchParams();

export interface ConsoleOptions {
  /** Data directory for the embedded database and the console key. Omit with databaseUrl. */
  dataDir?: string;
  /** PostgreSQL URL: use a server instead of the embedded database. */
  databaseUrl?: string;
  /** Signs webhook bodies and audit exports; default: `<dataDir>/console-key.json`, created once. */
  signer?: Signer;
  /** Key reference (path or env:VAR) for the signer, used when `signer` is not given. */
  keyRef?: string;
  now?: () => Date;
  verifyChangeRecord?: ChangeRecordVerifier;
  pollAfterSecs?: number;
  /** Lifetime of a device session token in seconds (default 3600). */
  deviceSessionTtlSecs?: number;
  /** Background intervals in ms; 0 disables (tests drive `sweep()` and `deliverAlerts()`). */
  sweepIntervalMs?: number;
  alertIntervalMs?: number;
  /** How often the replica checks the shared state version and flushes last-seen times. */
  syncIntervalMs?: number;
  /** Installed at start as an admin token named "bootstrap-admin" (e.g. from CLAWBACK_CONSOLE_ADMIN_TOKEN). */
  adminToken?: string;
  /** Log lines (never secrets) go here; default: nowhere. */
  log?: (line: string) => void;
}

export class ConsoleServer {
  readonly ctx: ConsoleContext;
  readonly router: Router;
  private server: Server | undefined;
  private timers: NodeJS.Timeout[] = [];
  private delivering: Promise<unknown> = Promise.resolve();
  private readonly log: (line: string) => void;

  constructor(ctx: ConsoleContext, log: (line: string) => void) {
    this.ctx = ctx;
    this.log = log;
    this.router = new Router();
    registerApi(this.router, ctx);
    registerDashboard(this.router, ctx);
    this.router.add({
      method: 'GET',
      pattern: '/metrics',
      name: 'metrics',
      handler: async () => ({
        status: 200,
        headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
        body: await renderMetrics(ctx),
      }),
    });
  }

  get db(): Db {
    return this.ctx.db;
  }

  /** Handle one request (exported for in-process use by tests and the bench). */
  readonly handle = async (
    raw: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ) => {
    const method = raw.method ?? 'GET';
    const url = raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const match = this.router.match(method, path);
    let routeName = 'unmatched';
    let reply: Reply;
    try {
      if (match === undefined) throw notFound(path);
      if (match === 'wrong-method') {
        throw new ClawbackError(
          ConsoleErrors.CONSOLE_METHOD_NOT_ALLOWED,
          `${method} is not allowed on ${path}`,
          {
            hint: 'See docs/console.md for the API.',
          },
        );
      }
      routeName = match.route.name;
      const req: Request = {
        method,
        path,
        query: q === -1 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)),
        params: match.params,
        headers: raw.headers,
        raw,
      };
      reply = await match.route.handler(req);
    } catch (err) {
      reply = errorReply(err);
      if (reply.status >= 500) this.log(`error on ${method} ${path}: ${(err as Error).message}`);
      // A refused body may still be streaming in; stop reading it.
      if (!raw.readableEnded) reply.headers = { ...(reply.headers ?? {}), connection: 'close' };
    }
    this.ctx.metrics.inc('clawback_console_http_requests_total', {
      route: routeName,
      status: String(reply.status),
    });
    send(res, reply, method === 'HEAD');
  };

  async listen(port = 0, host = '127.0.0.1'): Promise<{ url: string; port: number }> {
    const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      void this.handle(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    return { url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`, port: addr.port };
  }

  startBackground(o: { sweepIntervalMs: number; alertIntervalMs: number; syncIntervalMs: number }): void {
    const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
      if (ms <= 0) return;
      let running = false;
      const t = setInterval(() => {
        if (running) return;
        running = true;
        fn()
          .catch((err: unknown) => this.log(`${what} failed: ${(err as Error).message}`))
          .finally(() => {
            running = false;
          });
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(o.syncIntervalMs, 'state sync', async () => {
      await this.ctx.cache.flushLastSeen(this.ctx.db);
      await this.ctx.cache.refresh(this.ctx.db);
    });
    every(o.sweepIntervalMs, 'deadline sweep', () => this.sweep());
    // Expired sessions and auth nonces are useless rows; drop them now and then.
    every(o.sweepIntervalMs * 60, 'session prune', () => pruneDeviceAuth(this.ctx));
    every(o.alertIntervalMs, 'alert delivery', () => this.deliverAlerts());
  }

  sweep(): ReturnType<typeof sweepDeadlines> {
    return sweepDeadlines(this.ctx);
  }

  /** Deliver due alerts; concurrent calls share one run. */
  deliverAlerts(): Promise<number> {
    const run = this.delivering.then(() => deliverDueAlerts(this.ctx));
    this.delivering = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.server) {
      const s = this.server;
      this.server = undefined;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    await this.delivering.catch(() => undefined);
    await this.ctx.cache.flushLastSeen(this.ctx.db).catch(() => undefined);
    await this.ctx.db.close();
  }
}

export async function openConsole(o: ConsoleOptions): Promise<ConsoleServer> {
  const log = o.log ?? (() => undefined);
  let unlock: (() => Promise<void>) | undefined;
  if (!o.databaseUrl && o.dataDir !== undefined) {
    await mkdir(o.dataDir, { recursive: true });
    unlock = await holdDataDirLock(o.dataDir);
  }
  let db: Db;
  try {
    db = o.databaseUrl
      ? await openPostgres(o.databaseUrl)
      : await openPglite(o.dataDir === undefined ? undefined : join(o.dataDir, 'db'));
  } catch (err) {
    await unlock?.();
    throw err;
  }
  if (unlock) {
    const closeDb = db.close.bind(db);
    const release = unlock;
    db = {
      ...db,
      driver: db.driver,
      query: db.query,
      exec: db.exec,
      transaction: db.transaction,
      close: async () => {
        await closeDb();
        await release();
      },
    };
  }
  try {
    const m = await migrate(db);
    if (m.applied.length > 0) log(`database migrated to version ${m.current}`);
    const now = o.now ?? (() => new Date());
    const signer = await consoleSigner(o);
    let server: ConsoleServer | undefined;
    const ctx: ConsoleContext = {
      db,
      now,
      signer,
      metrics: new Metrics(),
      cache: new DeviceCache(),
      verifyChangeRecord: o.verifyChangeRecord ?? noChangeRecordKeys(),
      pollAfterSecs: o.pollAfterSecs ?? 300,
      deviceSessionTtlSecs: o.deviceSessionTtlSecs ?? DEFAULT_DEVICE_SESSION_TTL_SECS,
      onAlertsRaised: () => {
        if ((o.alertIntervalMs ?? 1000) > 0) void server?.deliverAlerts().catch(() => undefined);
      },
    };
    await ctx.cache.refresh(db);
    if (o.adminToken) await ensureApiToken(db, o.adminToken, 'bootstrap-admin', 'admin', now());
    server = new ConsoleServer(ctx, log);
    server.startBackground({
      sweepIntervalMs: o.sweepIntervalMs ?? 5000,
      alertIntervalMs: o.alertIntervalMs ?? 1000,
      syncIntervalMs: o.syncIntervalMs ?? 1000,
    });
    return server;
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}
