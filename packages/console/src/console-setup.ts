/** Start-up pieces of the console: the data-directory lock, the console key, the metrics page. */
import { join } from 'node:path';
import {
  ClawbackError,
  encodePrivateKeyFile,
  generateKeyPair,
  loadSigner,
  pathExists,
  type Signer,
  signerFromKeyPair,
  withLock,
  writeFileAtomic,
} from '@clawback/core';
import type { ConsoleOptions } from './console.js';
import type { ConsoleContext } from './context.js';
import { ConsoleErrors } from './errors.js';

export async function renderMetrics(ctx: ConsoleContext): Promise<string> {
  const devices = await ctx.db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM devices GROUP BY status',
  );
  const rollouts = await ctx.db.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM rollouts GROUP BY state',
  );
  const pending = await ctx.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM alert_deliveries WHERE status IN ('pending', 'sending')",
  );
  return ctx.metrics.render([
    {
      name: 'clawback_console_devices',
      help: 'Enrolled devices by status.',
      samples: devices.map((r) => ({ labels: { status: r.status }, value: r.n })),
    },
    {
      name: 'clawback_console_rollouts',
      help: 'Rollouts by state.',
      samples: rollouts.map((r) => ({ labels: { state: r.state }, value: r.n })),
    },
    {
      name: 'clawback_console_alert_deliveries_pending',
      help: 'Webhook deliveries not yet done.',
      samples: [{ labels: {}, value: pending[0]?.n ?? 0 }],
    },
  ]);
}

export async function consoleSigner(o: ConsoleOptions): Promise<Signer> {
  if (o.signer) return o.signer;
  if (o.keyRef) return loadSigner(o.keyRef);
  if (!o.dataDir) {
    // No place to keep a key: an ephemeral one (tests, or replicas that must be given --key).
    return signerFromKeyPair(generateKeyPair());
  }
  const path = join(o.dataDir, 'console-key.json');
  if (!(await pathExists(path))) {
    await writeFileAtomic(path, encodePrivateKeyFile(generateKeyPair()), { mode: 0o600 });
  }
  return loadSigner(path);
}

/**
 * Hold `<dataDir>/console.lock` while the embedded database is open: PGlite must never be
 * opened by two processes at once. Resolves once held; call the returned function to release.
 */
export async function holdDataDirLock(dataDir: string): Promise<() => Promise<void>> {
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let acquired: () => void = () => undefined;
  const got = new Promise<void>((r) => {
    acquired = r;
  });
  const run = withLock(
    join(dataDir, 'console.lock'),
    async () => {
      acquired();
      await held;
    },
    { waitMs: 0 },
  );
  try {
    await Promise.race([got, run]);
  } catch (err) {
    throw new ClawbackError(
      ConsoleErrors.CONSOLE_DATA_LOCKED,
      `the console data directory ${dataDir} is in use by another process`,
      {
        cause: err,
        hint: 'Stop the running console first, or use its HTTP API instead.',
      },
    );
  }
  return async () => {
    release();
    await run;
  };
}
