import pg from 'pg';
import { type Db, dbError, type Queryable, type SqlParam } from './db.js';

/** The server driver: a connection pool; several console replicas may share one database. */
export async function openPostgres(url: string, options: { max?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw dbError(cause, `connection to ${redactUrl(url)}`);
  }
  const run = async <T>(q: pg.Pool | pg.PoolClient, sql: string, params: readonly SqlParam[] = []) => {
    try {
      return (await q.query(sql, [...params])).rows as T[];
    } catch (cause) {
      throw dbError(cause, 'query');
    }
  };
  return {
    driver: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => {
      await run(pool, sql);
    },
    async transaction(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (cause) {
        throw dbError(cause, 'connection');
      }
      try {
        await run(client, 'BEGIN');
        const q: Queryable = {
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => {
            await run(client, sql);
          },
        };
        const out = await fn(q);
        await run(client, 'COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw dbError(err, 'transaction');
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** Never print a database password (house style 14). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
