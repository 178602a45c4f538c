import type { PGlite } from '@electric-sql/pglite';
import { PostgresDialect } from 'kysely';
import pg from 'pg';
import { trackingPool, type StoreChanges } from './changes.ts';
import { PGliteStream } from './pglite-stream.ts';
import { FairTurns } from './turns.ts';

/**
 * Lets Kysely's PostgresDialect drive an embedded PGlite database, through the same node-postgres client as
 * a PostgreSQL server (src/store/pglite-stream.ts).
 *
 * PGlite is a single session, so the "pool" hands out one connection at a time: a transaction
 * holds it until it commits, and every other query waits its turn, taken fairly between owners
 * (src/store/turns.ts).
 */
export function pgliteDialect(lite: PGlite, changes: StoreChanges): PostgresDialect {
  const turns = new FairTurns(1);
  let client: Promise<pg.Client> | undefined;
  const connectClient = async () => {
    // PGlite's one session is already open: the names sent at start-up are not used.
    const connecting = new pg.Client({ stream: () => new PGliteStream(lite) as never, user: 'postgres', database: 'postgres' });
    // A failure of PGlite itself fails the query in progress; without a listener it would also end the process.
    connecting.on('error', () => {});
    await connecting.connect();
    return connecting;
  };
  const pool = {
    async connect() {
      await turns.acquire();
      const release = () => turns.release();
      // PGlite runs a query synchronously and settles it in microtasks: handed over that way, the queries of
      // every waiting request would run back to back without the event loop ever polling, and under load the
      // server would accept no new connection until the queue emptied. Each turn waits for the loop once.
      await new Promise((resolve) => setImmediate(resolve));
      let connected: pg.Client;
      try {
        connected = await (client ??= connectClient());
      } catch (error) {
        release();
        throw error;
      }
      return { query: (sql: string, parameters: unknown[]) => connected.query(sql, parameters), release };
    },
    async end() {
      await turns.acquire();
      await (await client)?.end();
      await lite.close();
    },
  };
  return new PostgresDialect({ pool: trackingPool(pool, changes) as never });
}
