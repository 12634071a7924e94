/**
 * One storage interface, two drivers: PGlite (embedded PostgreSQL in a data directory, the
 * default) and a PostgreSQL server through `pg` (DATABASE_URL). Both run the same SQL, so the
 * schema, migrations and queries exist once.
 */
import { ClawbackError } from '@clawback/core';
import { ConsoleErrors } from '../errors.js';

export type SqlParam = string | number | boolean | Date | null;

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  /** Run a multi-statement script without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly driver: 'pglite' | 'postgres';
  /** Run `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function dbError(cause: unknown, what: string): ClawbackError {
  if (cause instanceof ClawbackError) return cause;
  return new ClawbackError(
    ConsoleErrors.CONSOLE_DB_FAILED,
    `database ${what} failed: ${(cause as Error).message}`,
    {
      cause,
      hint: 'Check that the database is reachable (DATABASE_URL) or that the data directory is writable.',
    },
  );
}
