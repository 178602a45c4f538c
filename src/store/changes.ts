import pg from 'pg';

/** Tables whose rows the cached read models are made of (the phone list joins servers and custom images). */
const TRACKED_TABLES = /\b(phones|servers|custom_images)\b/i;
const READ_ONLY = /^\s*select\b/i;
const TRANSACTION_END = /^\s*(commit|rollback)\b/i;
/** Channel of the statement triggers of migration 007, heard by every process sharing a PostgreSQL database. */
const CHANGES_CHANNEL = 'opencph_changes';

/**
 * A counter that moves whenever phones, servers or custom images may have changed: after every write to them
 * this process makes (and again when its transaction ends), and when another process sharing the PostgreSQL
 * database commits one. A read model kept in memory stays valid while the counter stands still.
 */
export class StoreChanges {
  generation = 0;
  /** False while another process's writes could go unheard (the PostgreSQL listener is reconnecting). */
  complete = true;

  bump(): void {
    this.generation++;
  }
}

interface QueryClient {
  query(sql: string, parameters: unknown[]): Promise<unknown>;
  release(): void;
}

/** The `pool` Kysely's PostgresDialect takes, its clients reporting their writes to `changes`. */
export function trackingPool<C extends QueryClient>(pool: { connect(): Promise<C>; end(): Promise<void> }, changes: StoreChanges) {
  const wrapped = new WeakMap<C, QueryClient>();
  const track = (client: C): QueryClient => {
    let wroteInTransaction = false;
    return {
      async query(sql, parameters) {
        const writes = !READ_ONLY.test(sql) && TRACKED_TABLES.test(sql);
        const ends = TRANSACTION_END.test(sql);
        try {
          return await client.query(sql, parameters);
        } finally {
          // Bumped once the statement is done (visible, outside a transaction) and once more at the end of
          // its transaction, when its rows become visible to the other connections.
          if (writes) wroteInTransaction = true;
          if (writes || (ends && wroteInTransaction)) changes.bump();
          if (ends) wroteInTransaction = false;
        }
      },
      release: () => client.release(),
    };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let tracked = wrapped.get(client);
      if (!tracked) wrapped.set(client, (tracked = track(client)));
      return tracked;
    },
    end: () => pool.end(),
  };
}

/**
 * Hears the commits of other processes sharing a PostgreSQL database. While its connection is down,
 * `changes.complete` is false (nothing may be served from memory); it reconnects every second.
 */
export function listenForChanges(databaseUrl: string, changes: StoreChanges): { close(): Promise<void> } {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const lost = (failed: pg.Client) => {
    if (failed !== client) return; // already replaced
    client = undefined;
    changes.complete = false;
    changes.bump();
    failed.removeAllListeners();
    failed.on('error', () => {}); // a late error of a dropped client must not end the process
    failed.end().catch(() => {});
    if (!closed) retry = setTimeout(connect, 1000).unref();
  };
  const connect = async () => {
    const next = new pg.Client({ connectionString: databaseUrl });
    client = next;
    next.on('error', () => lost(next));
    next.on('end', () => lost(next));
    next.on('notification', () => changes.bump());
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGES_CHANNEL}`);
      // Whatever was committed while no one listened is unknown: start from a new generation.
      changes.bump();
      changes.complete = true;
    } catch {
      lost(next);
    }
  };
  changes.complete = false;
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const last = client;
      client = undefined;
      last?.removeAllListeners();
      last?.on('error', () => {});
      await last?.end().catch(() => {});
    },
  };
}
