/**
 * `clawback-console` commands. `serve` runs the console; the store commands (`token create`,
 * `enroll-token create`, `audit export`, `migrate`) work on the data directory or DATABASE_URL
 * directly (the embedded database refuses while a console runs on it); the rest are thin
 * clients of the HTTP API (`--url`, token from CLAWBACK_CONSOLE_TOKEN).
 */
import { type CommandSpec, loadPublicKey, type Program } from '@clawback/core';
import { changeRecordVerifier } from './change-records.js';
import { apiCommands } from './cli-api.js';
import { opsCommands } from './cli-ops.js';
import { dataDirOf, STORE_OPTIONS } from './cli-shared.js';
import { storeCommands } from './cli-store.js';
import { openConsole } from './console.js';
import { redactUrl } from './storage/postgres.js';

export const CONSOLE_VERSION = '0.1.0';

const serve: CommandSpec = {
  name: 'serve',
  summary: 'run the console (API, device protocol, dashboard, alerts)',
  description:
    'Storage: the embedded database in --data, or the PostgreSQL server in DATABASE_URL (several replicas may share it; give them the same --key). Migrations run at start. CLAWBACK_CONSOLE_ADMIN_TOKEN, when set, is installed as the admin token "bootstrap-admin". Stops cleanly on SIGINT/SIGTERM.',
  options: {
    ...STORE_OPTIONS,
    port: { type: 'string', valueName: 'N', description: 'TCP port (0 = any free port)', default: '8700' },
    host: { type: 'string', valueName: 'ADDR', description: 'address to bind', default: '127.0.0.1' },
    key: {
      type: 'string',
      valueName: 'REF',
      description: 'console signing key (path or env:VAR); default <data>/console-key.json',
    },
    'change-record-key': {
      type: 'string',
      multiple: true,
      valueName: 'REF',
      description:
        'public key trusted to sign change records (`clawback approve`); without one no release can be rolled out',
    },
    'poll-after': {
      type: 'string',
      valueName: 'SECS',
      description: 'check-in interval told to devices',
      default: '300',
    },
    'device-session-ttl': {
      type: 'string',
      valueName: 'SECS',
      description: 'lifetime of a device session token (docs/protocol.md "Device sessions")',
      default: '3600',
    },
  },
  exitCodes: [{ code: 4, meaning: 'the database or port could not be opened' }],
  examples: [
    'clawback-console serve --data /var/lib/clawback-console --change-record-key release.pub',
    'DATABASE_URL=postgres://console@db/clawback clawback-console serve --host 0.0.0.0 --key env:CONSOLE_KEY',
  ],
  async run(ctx) {
    const port = ctx.integer('port', { min: 0, max: 65535 }) ?? 8700;
    const databaseUrl = ctx.env.DATABASE_URL;
    const keys = await Promise.all(ctx.strings('change-record-key').map((r) => loadPublicKey(r)));
    const key = ctx.string('key');
    const console = await openConsole({
      ...(databaseUrl ? { databaseUrl } : { dataDir: dataDirOf(ctx) }),
      ...(key ? { keyRef: key } : {}),
      verifyChangeRecord: changeRecordVerifier(keys),
      pollAfterSecs: ctx.integer('poll-after', { min: 1, max: 86400 }) ?? 300,
      deviceSessionTtlSecs: ctx.integer('device-session-ttl', { min: 60, max: 7 * 86400 }) ?? 3600,
      ...(ctx.env.CLAWBACK_CONSOLE_ADMIN_TOKEN ? { adminToken: ctx.env.CLAWBACK_CONSOLE_ADMIN_TOKEN } : {}),
      log: (line) => ctx.progress(line),
    });
    const { url } = await console.listen(port, ctx.string('host') ?? '127.0.0.1');
    ctx.progress(
      `clawback-console listening on ${url} (storage: ${databaseUrl ? redactUrl(databaseUrl) : dataDirOf(ctx)}; ${keys.length} change-record key(s))`,
    );
    ctx.result({ url, storage: databaseUrl ? 'postgres' : 'embedded' }, `listening on ${url}`);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    ctx.progress('stopping');
    await console.close();
    return 0;
  },
};

export const consoleProgram: Program = {
  name: 'clawback-console',
  version: CONSOLE_VERSION,
  summary: 'the Clawback console: devices, staged rollouts, signed reports, alerts, dashboard',
  commands: [serve, ...storeCommands, ...apiCommands, ...opsCommands],
};
