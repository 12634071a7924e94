/** Commands that work on the console's store directly (no running console needed). */
import { basename, resolve } from 'node:path';
import {
  ClawbackError,
  type CommandContext,
  type CommandSpec,
  type DsseEnvelope,
  loadSigner,
} from '@clawback/core';
import { exportAuditLog, writeExport } from './audit.js';
import {
  createApiToken,
  createEnrollmentToken,
  ROLES,
  revokeApiToken,
  revokeEnrollmentTokens,
} from './auth.js';
import { callApi } from './cli-api.js';
import { dataDirOf, STORE_OPTIONS } from './cli-shared.js';
import { openConsole } from './console.js';
import { ConsoleErrors } from './errors.js';

async function withStore<T>(
  ctx: CommandContext,
  fn: (c: Awaited<ReturnType<typeof openConsole>>) => Promise<T>,
): Promise<T> {
  const databaseUrl = ctx.env.DATABASE_URL;
  const c = await openConsole({
    ...(databaseUrl ? { databaseUrl } : { dataDir: dataDirOf(ctx) }),
    ...(ctx.string('key') ? { keyRef: ctx.string('key') as string } : {}),
    sweepIntervalMs: 0,
    alertIntervalMs: 0,
    syncIntervalMs: 0,
  });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

const migrateCmd: CommandSpec = {
  name: 'migrate',
  summary: 'apply database migrations and exit (serve also does this at start)',
  options: STORE_OPTIONS,
  async run(ctx) {
    await withStore(ctx, async () => undefined);
    ctx.result({ ok: true }, 'database schema is current');
    return 0;
  },
};

const tokenCreate: CommandSpec = {
  name: 'token create',
  summary: 'create an API token (printed once; only its hash is stored)',
  options: {
    ...STORE_OPTIONS,
    name: { type: 'string', valueName: 'NAME', description: 'who or what holds the token (unique)' },
    role: { type: 'string', valueName: 'ROLE', description: `one of ${ROLES.join(', ')}` },
  },
  exitCodes: [{ code: 5, meaning: 'the embedded database is in use by a running console (use the API)' }],
  examples: ['clawback-console token create --name alice --role release-manager --json'],
  async run(ctx) {
    const name = ctx.requireString('name');
    const role = ctx.requireString('role');
    const out = await withStore(ctx, (c) =>
      createApiToken(c.db, { name, role, now: ctx.now(), actor: 'cli' }),
    );
    ctx.result(out, `${out.token}\n(role ${out.role}; store it now, it is not shown again)`);
    return 0;
  },
};

/**
 * `--url`: work through a running console's API (token from CLAWBACK_CONSOLE_TOKEN) instead of
 * opening the store, which the embedded database only allows while no console runs on it.
 */
const VIA_API = {
  url: {
    type: 'string',
    valueName: 'URL',
    description:
      "use the running console's API at URL instead of the store (token from CLAWBACK_CONSOLE_TOKEN)",
  },
} as const;

const tokenRevoke: CommandSpec = {
  name: 'token revoke',
  summary: 'revoke an API token by name (the store, or the API with --url)',
  options: {
    ...STORE_OPTIONS,
    ...VIA_API,
    name: { type: 'string', valueName: 'NAME', description: 'token name' },
  },
  exitCodes: [{ code: 3, meaning: 'no active token has that name' }],
  examples: [
    'clawback-console token revoke --data console-data --name ci-release',
    'CLAWBACK_CONSOLE_TOKEN=… clawback-console token revoke --url https://console.example --name ci-release',
  ],
  async run(ctx) {
    const name = ctx.requireString('name');
    if (ctx.string('url')) {
      const v = await callApi(ctx, 'POST', `/api/v1/tokens/${encodeURIComponent(name)}/revoke`);
      ctx.result(v as { revoked: string }, `revoked ${name}`);
      return 0;
    }
    const done = await withStore(ctx, (c) => revokeApiToken(c.db, name, ctx.now(), 'cli'));
    if (!done) {
      throw new ClawbackError(ConsoleErrors.CONSOLE_NOT_FOUND, `no active token named ${name}`, {
        hint: 'Check the name.',
      });
    }
    ctx.result({ revoked: name }, `revoked ${name}`);
    return 0;
  },
};

const enrollToken: CommandSpec = {
  name: 'enroll-token create',
  summary: 'create a device enrollment token (printed once)',
  options: {
    ...STORE_OPTIONS,
    name: { type: 'string', valueName: 'NAME', description: 'label, e.g. the site or batch' },
    'max-uses': { type: 'string', valueName: 'N', description: 'how many devices may use it' },
    'expires-in': { type: 'string', valueName: 'SECS', description: 'lifetime in seconds' },
  },
  async run(ctx) {
    const name = ctx.requireString('name');
    const maxUses = ctx.integer('max-uses', { min: 1 });
    const ttl = ctx.integer('expires-in', { min: 60 });
    const out = await withStore(ctx, (c) =>
      createEnrollmentToken(c.db, {
        name,
        maxUses: maxUses ?? null,
        expiresInSecs: ttl ?? null,
        now: ctx.now(),
        actor: 'cli',
      }),
    );
    ctx.result(out, out.token);
    return 0;
  },
};

const enrollTokenRevoke: CommandSpec = {
  name: 'enroll-token revoke',
  summary: 'revoke the enrollment token(s) with a name; enrolled devices stay enrolled',
  options: {
    ...STORE_OPTIONS,
    ...VIA_API,
    name: { type: 'string', valueName: 'NAME', description: 'enrollment token name' },
  },
  exitCodes: [{ code: 3, meaning: 'no active enrollment token has that name' }],
  examples: ['clawback-console enroll-token revoke --url http://127.0.0.1:8700 --name batch-2026-q3'],
  async run(ctx) {
    const name = ctx.requireString('name');
    let n: number;
    if (ctx.string('url')) {
      n = (
        (await callApi(ctx, 'POST', `/api/v1/enrollment-tokens/${encodeURIComponent(name)}/revoke`)) as {
          tokens: number;
        }
      ).tokens;
    } else {
      n = await withStore(ctx, (c) => revokeEnrollmentTokens(c.db, name, ctx.now(), 'cli'));
      if (n === 0) {
        throw new ClawbackError(ConsoleErrors.CONSOLE_NOT_FOUND, `no active enrollment token named ${name}`, {
          hint: 'Check the name (`clawback-console enroll-token list`).',
        });
      }
    }
    ctx.result({ revoked: name, tokens: n }, `revoked ${n} enrollment token(s) named ${name}`);
    return 0;
  },
};

const auditExport: CommandSpec = {
  name: 'audit export',
  summary: "write the console's hash-chained audit log as JSON lines plus a signed checkpoint",
  description:
    'Verify the result offline with `clawback audit verify FILE --trusted-key <console public key>`. With --url the running console exports and signs it (no need to stop it).',
  options: {
    ...STORE_OPTIONS,
    ...VIA_API,
    out: {
      type: 'string',
      valueName: 'FILE',
      description: 'output file (FILE.checkpoint is written beside it)',
    },
    key: {
      type: 'string',
      valueName: 'REF',
      description: 'console signing key (default <data>/console-key.json)',
    },
  },
  async run(ctx) {
    const out = resolve(ctx.io.cwd, ctx.requireString('out'));
    if (ctx.string('url')) {
      if (ctx.string('key')) {
        throw new ClawbackError('USAGE', '--key cannot be used with --url', {
          hint: 'Through the API the console signs the checkpoint with its own key.',
        });
      }
      const v = (await callApi(
        ctx,
        'GET',
        `/api/v1/audit/export?log=${encodeURIComponent(basename(out))}`,
      )) as {
        text: string;
        checkpoint: DsseEnvelope | null;
        entries: number;
        head: { seq: number; hash: string } | null;
      };
      await writeExport(out, v.text, v.checkpoint);
      ctx.result({ out, entries: v.entries, head: v.head }, `wrote ${v.entries} entries to ${out}`);
      return 0;
    }
    const res = await withStore(ctx, async (c) => {
      const key = ctx.string('key');
      const signer = key ? await loadSigner(key) : c.ctx.signer;
      return exportAuditLog(c.db, out, signer, ctx.now());
    });
    ctx.result({ out, ...res }, `wrote ${res.entries} entries to ${out}`);
    return 0;
  },
};

export const storeCommands: CommandSpec[] = [
  migrateCmd,
  tokenCreate,
  tokenRevoke,
  enrollToken,
  enrollTokenRevoke,
  auditExport,
];
