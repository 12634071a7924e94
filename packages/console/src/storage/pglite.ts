import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { type Db, dbError, type Queryable, type SqlParam } from './db.js';

/**
 * The embedded driver. PGlite serialises every query on its one connection, so a transaction
 * here is also exclusive: no other query interleaves with it.
 */
export async function openPglite(dataDir: string | undefined): Promise<Db> {
  let pg: PGlite;
  try {
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
    pg = await PGlite.create(dataDir === undefined ? undefined : dataDir);
  } catch (cause) {
    throw dbError(cause, `open of embedded database ${dataDir ?? '(memory)'}`);
  }
  const exec = async (q: Pick<PGlite, 'exec'>, sql: string) => {
    try {
      await q.exec(sql);
    } catch (cause) {
      throw dbError(cause, 'script');
    }
  };
  const run = async <T>(q: Pick<PGlite, 'query'>, sql: string, params: readonly SqlParam[] = []) => {
    try {
      return (await q.query<T>(sql, [...params])).rows;
    } catch (cause) {
      throw dbError(cause, 'query');
    }
  };
  return {
    driver: 'pglite',
    query: (sql, params) => run(pg, sql, params),
    exec: (sql) => exec(pg, sql),
    async transaction(fn) {
      try {
        return await pg.transaction(async (tx) => {
          const q: Queryable = { query: (sql, params) => run(tx, sql, params), exec: (sql) => exec(tx, sql) };
          return fn(q);
        });
      } catch (cause) {
        throw dbError(cause, 'transaction');
      }
    },
    async close() {
      await pg.close();
    },
  };
}
