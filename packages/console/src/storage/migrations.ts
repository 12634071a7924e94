import { ClawbackError } from '@clawback/core';
import { ConsoleErrors } from '../errors.js';
import type { Db } from './db.js';

/**
 * Versioned, append-only migrations. Never edit a released step: add a new one. They run at
 * start inside one transaction holding an advisory lock, so several replicas starting at once
 * apply each step exactly once and the losers simply find the work done.
 */
const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE devices (
  id text PRIMARY KEY,
  keyid text NOT NULL,
  public_key text NOT NULL,
  status text NOT NULL,
  hardware_id text NOT NULL,
  agent text NOT NULL,
  channel text NOT NULL,
  updater_version text NOT NULL,
  tags jsonb NOT NULL,
  enrolled_at timestamptz NOT NULL,
  enrolled_via text NOT NULL,
  last_seen timestamptz,
  installed_version text,
  installed_digest text,
  state text,
  policy_hash text,
  audit_head jsonb,
  last_report_id text,
  last_outcome text,
  health jsonb
);
CREATE TABLE enrollment_tokens (
  hash text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  max_uses integer,
  uses integer NOT NULL DEFAULT 0,
  revoked boolean NOT NULL DEFAULT false
);
CREATE TABLE api_tokens (
  hash text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  role text NOT NULL,
  created_at timestamptz NOT NULL,
  revoked boolean NOT NULL DEFAULT false
);
CREATE TABLE tuf_trust (
  id integer PRIMARY KEY CHECK (id = 1),
  root jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE releases (
  id text PRIMARY KEY,
  agent text NOT NULL,
  version text NOT NULL,
  target_path text NOT NULL UNIQUE,
  digest text NOT NULL,
  length double precision NOT NULL,
  channel text NOT NULL,
  hardware_ids jsonb NOT NULL,
  min_updater_version text,
  custom jsonb NOT NULL,
  targets_version integer NOT NULL,
  change_record jsonb,
  change_summary jsonb,
  change_problem text,
  registered_at timestamptz NOT NULL,
  registered_by text NOT NULL
);
CREATE TABLE rollouts (
  id text PRIMARY KEY,
  ord serial NOT NULL,
  release_id text NOT NULL REFERENCES releases(id),
  name text NOT NULL,
  selector jsonb NOT NULL,
  stages jsonb NOT NULL,
  report_deadline_secs integer NOT NULL,
  state text NOT NULL,
  current_stage integer NOT NULL,
  stage_started_at timestamptz,
  halt_reason text,
  approval jsonb,
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE rollout_devices (
  rollout_id text NOT NULL REFERENCES rollouts(id),
  device_id text NOT NULL REFERENCES devices(id),
  stage integer NOT NULL,
  cohort text NOT NULL,
  status text NOT NULL,
  offered_at timestamptz,
  deadline_at timestamptz,
  resolved_at timestamptz,
  report_id text,
  reason_code text,
  acknowledged boolean NOT NULL DEFAULT false,
  PRIMARY KEY (rollout_id, device_id)
);
CREATE INDEX rollout_devices_device ON rollout_devices (device_id);
CREATE INDEX rollout_devices_deadline ON rollout_devices (status, deadline_at);
CREATE TABLE reports (
  id text PRIMARY KEY,
  device_id text NOT NULL REFERENCES devices(id),
  rollout_id text REFERENCES rollouts(id),
  outcome text NOT NULL,
  stage text NOT NULL,
  reason_code text,
  reason text,
  to_version text,
  payload jsonb NOT NULL,
  payload_sha256 text NOT NULL,
  envelope jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL
);
CREATE INDEX reports_received ON reports (received_at);
CREATE TABLE webhooks (
  id text PRIMARY KEY,
  url text NOT NULL,
  format text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE alerts (
  id text PRIMARY KEY,
  kind text NOT NULL,
  rollout_id text,
  device_id text,
  summary text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE alert_deliveries (
  alert_id text NOT NULL REFERENCES alerts(id),
  webhook_id text NOT NULL REFERENCES webhooks(id),
  status text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error text,
  delivered_at timestamptz,
  PRIMARY KEY (alert_id, webhook_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_at);
CREATE TABLE audit_log (
  seq integer PRIMARY KEY,
  hash text NOT NULL,
  line text NOT NULL
);
CREATE TABLE state_version (
  id integer PRIMARY KEY CHECK (id = 1),
  version integer NOT NULL
);
INSERT INTO state_version (id, version) VALUES (1, 0);
`,
  },
  {
    version: 2,
    name: 'device sessions, auth nonces, retired devices',
    sql: `
CREATE TABLE device_sessions (
  hash text PRIMARY KEY,
  device_id text NOT NULL REFERENCES devices(id),
  keyid text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX device_sessions_device ON device_sessions (device_id);
CREATE INDEX device_sessions_expiry ON device_sessions (expires_at);
CREATE TABLE device_auth_nonces (
  device_id text NOT NULL,
  nonce text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (device_id, nonce)
);
CREATE INDEX device_auth_nonces_expiry ON device_auth_nonces (expires_at);
ALTER TABLE devices ADD COLUMN retired_at timestamptz;
ALTER TABLE devices ADD COLUMN retired_reason text;
`,
  },
];

/** Arbitrary constant naming the migration lock (pg_advisory_xact_lock key). */
const MIGRATION_LOCK = 0x636c6177;

export async function migrate(db: Db): Promise<{ applied: number[]; current: number }> {
  try {
    return await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      await tx.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)',
      );
      const done = new Set(
        (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) =>
          Number(r.version),
        ),
      );
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await tx.exec(m.sql);
        await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          new Date(),
        ]);
        applied.push(m.version);
      }
      const known = Math.max(...MIGRATIONS.map((m) => m.version));
      const newest = Math.max(0, ...done);
      if (newest > known) {
        throw new ClawbackError(
          ConsoleErrors.CONSOLE_MIGRATION_FAILED,
          `the database schema is version ${newest}, newer than this console knows (${known})`,
          { hint: 'Upgrade this console replica to the version the others run.' },
        );
      }
      return { applied, current: Math.max(newest, known) };
    });
  } catch (cause) {
    if (cause instanceof ClawbackError && cause.code === ConsoleErrors.CONSOLE_MIGRATION_FAILED) throw cause;
    throw new ClawbackError(
      ConsoleErrors.CONSOLE_MIGRATION_FAILED,
      `migrations failed: ${(cause as Error).message}`,
      {
        cause,
        hint: 'Nothing was changed (migrations run in one transaction). Check database permissions.',
      },
    );
  }
}
