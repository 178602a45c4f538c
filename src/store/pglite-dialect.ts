import { PGlite } from '@electric-sql/pglite';
import { PostgresDialect } from 'kysely';
import { trackingPool, type StoreChanges } from './changes.ts';

/**
 * Lets Kysely's PostgresDialect drive an embedded PGlite database.
 *
 * PGlite is a single session, so the "pool" hands out one connection at a time: a transaction
 * holds it until it commits, and every other query waits its turn.
 */
export function pgliteDialect(db: PGlite, changes: StoreChanges): PostgresDialect {
  let queue: Promise<void> = Promise.resolve();
  const connection = {
    async query(sql: string, parameters: readonly unknown[]) {
      const result = await db.query<Record<string, unknown>>(sql, parameters as unknown[]);
      return {
        command: sql.trimStart().slice(0, 6).toUpperCase(),
        rowCount: result.affectedRows ?? result.rows.length,
        rows: result.rows,
      };
    },
  };
  const pool = {
    async connect() {
      let release!: () => void;
      const previous = queue;
      queue = new Promise<void>((resolve) => (release = resolve));
      await previous;
      // PGlite runs a query synchronously and settles it in microtasks: handed over that way, the queries of
      // every waiting request would run back to back without the event loop ever polling, and under load the
      // server would accept no new connection until the queue emptied. Each turn waits for the loop once.
      await new Promise((resolve) => setImmediate(resolve));
      return { ...connection, release };
    },
    async end() {
      await queue;
      await db.close();
    },
  };
  return new PostgresDialect({ pool: trackingPool(pool, changes) as never });
}
