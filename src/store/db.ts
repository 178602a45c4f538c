import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type Transaction } from 'kysely';
import pg from 'pg';
import * as initial from './migrations/001-initial.ts';
import * as phoneData from './migrations/002-phone-data.ts';
import * as encodeServers from './migrations/003-encode-servers.ts';
import * as tagsImages from './migrations/004-tags-images.ts';
import * as koophone from './migrations/005-koophone.ts';
import * as koophoneUsage from './migrations/006-koophone-usage.ts';
import * as changeNotifications from './migrations/007-change-notifications.ts';
import * as jobQueueOrder from './migrations/008-job-queue-order.ts';
import * as phoneCounts from './migrations/009-phone-counts.ts';
import * as jobRetention from './migrations/010-job-retention.ts';
import * as objectAccounts from './migrations/011-object-accounts.ts';
import * as quotas from './migrations/012-quotas.ts';
import * as tokensBeforePreparing from './migrations/013-tokens-before-preparing.ts';
import * as imageMemberStatus from './migrations/014-image-member-status.ts';
import * as phoneDrivers from './migrations/015-phone-drivers.ts';
import * as keypairs from './migrations/016-keypairs.ts';
import { listenForChanges, StoreChanges, trackingPool } from './changes.ts';
import { fairPool } from './turns.ts';
import { pgliteDialect } from './pglite-dialect.ts';
import { pgliteWasmModule } from './pglite-wasm.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface StoreOptions {
  /** PostgreSQL connection string; absent → embedded PGlite. */
  databaseUrl?: string;
  /** Where PGlite keeps its files (`<data dir>/pglite`); ignored for PostgreSQL. */
  dataDir?: string;
  /** A PGlite data-dir snapshot to start from (tests load a migrated template instead of running initdb). */
  pgliteSnapshot?: Blob;
  /** How often PGlite, which has no autovacuum, checks which tables need one (default 30 s). */
  pgliteMaintenanceIntervalMs?: number;
}

export interface Store {
  db: Db;
  engine: 'pglite' | 'postgres';
  /** Moves when phones, servers or custom images may have changed (read models kept in memory check it). */
  changes: StoreChanges;
  /**
   * Call after writing many rows at once: the tables those writes changed enough are vacuumed and analyzed
   * shortly after (once per burst of calls), so the planner knows their new sizes at once rather than when
   * autovacuum (PostgreSQL only) gets to it, and counts can be answered from an index alone (index-only scans
   * need the pages marked all-visible, which only a vacuum does; before it, the first scan of new rows also
   * writes their hint bits).
   */
  noteBulkWrite(): void;
  close(): Promise<void>;
}

/** Connections to a PostgreSQL server, handed out by fair turns (src/store/turns.ts). */
const POOL_SIZE = 10;
const PGLITE_SHARED_BUFFERS = '32MB';
const PGLITE_MAINTENANCE_INTERVAL_MS = 30 * 1000;
/** Long enough for PostgreSQL's other sessions to have published what they wrote (they do within a second). */
const BULK_WRITE_MAINTENANCE_DELAY_MS = 2000;

const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-phone-data': phoneData,
  '003-encode-servers': encodeServers,
  '004-tags-images': tagsImages,
  '005-koophone': koophone,
  '006-koophone-usage': koophoneUsage,
  '007-change-notifications': changeNotifications,
  '008-job-queue-order': jobQueueOrder,
  '009-phone-counts': phoneCounts,
  '010-job-retention': jobRetention,
  '011-object-accounts': objectAccounts,
  '012-quotas': quotas,
  '013-tokens-before-preparing': tokensBeforePreparing,
  '014-image-member-status': imageMemberStatus,
  '015-phone-drivers': phoneDrivers,
  '016-keypairs': keypairs,
};

export async function openStore(options: StoreOptions): Promise<Store> {
  let db: Db;
  let engine: Store['engine'];
  const changes = new StoreChanges();
  if (options.databaseUrl) {
    engine = 'postgres';
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: POOL_SIZE });
    // An idle connection the server closed (restart, failover) is dropped and replaced by the pool;
    // without a listener its 'error' event would end the process.
    pool.on('error', () => {});
    // A connection closed while checked out (a query or transaction in flight) also emits 'error', and the
    // pool listens only to idle ones: the query in flight fails with the error, the process must not.
    pool.on('connect', (client) => client.on('error', () => {}));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: trackingPool(fairPool<pg.PoolClient>(pool, POOL_SIZE), changes) as never }) });
  } else {
    engine = 'pglite';
    let dataDir: string | undefined;
    if (!options.pgliteSnapshot) {
      if (!options.dataDir) throw new Error('openStore: dataDir or pgliteSnapshot is required for PGlite');
      dataDir = join(options.dataDir, 'pglite');
      mkdirSync(dataDir, { recursive: true });
    }
    const lite = await PGlite.create({
      dataDir,
      pgliteWasmModule: await pgliteWasmModule,
      loadDataDir: options.pgliteSnapshot,
      relaxedDurability: false,
      // PostgreSQL's default 128 MB buffer pool is set up on every start (~0.4 s of a cold start); the
      // files it caches are in the operating system's page cache anyway.
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
    });
    db = new Kysely<Database>({ dialect: pgliteDialect(lite, changes) });
  }
  await migrate(db);
  let pending: NodeJS.Timeout | undefined;
  let maintaining: Promise<unknown> = Promise.resolve();
  const maintain = () => {
    maintaining = maintaining.then(() => vacuumChangedTables(db)).catch(() => {});
  };
  const noteBulkWrite = () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      maintain();
    }, BULK_WRITE_MAINTENANCE_DELAY_MS);
    pending.unref();
  };
  let stopBackgroundWork: () => Promise<void>;
  if (options.databaseUrl) {
    // Other processes may write the same database; PGlite's files are only ever open in one process.
    const listener = listenForChanges(options.databaseUrl, changes);
    stopBackgroundWork = () => listener.close();
  } else {
    // PGlite has no autovacuum: dead rows (every job closing and phone status change leaves some) are
    // reclaimed as autovacuum would, checked periodically.
    const vacuuming = setInterval(maintain, options.pgliteMaintenanceIntervalMs ?? PGLITE_MAINTENANCE_INTERVAL_MS).unref();
    stopBackgroundWork = async () => clearInterval(vacuuming);
  }
  return {
    db,
    engine,
    changes,
    noteBulkWrite,
    async close() {
      clearTimeout(pending);
      await stopBackgroundWork();
      await maintaining;
      await db.destroy();
    },
  };
}

/**
 * `VACUUM (ANALYZE)` on those of OpenCPH's tables (never PostgreSQL's own catalogs) that autovacuum's default
 * thresholds say need it: dead rows or rows inserted since the last vacuum, or rows changed since the last
 * analysis, past a fixed number plus a fraction of the live rows. A vacuum reads every index of its table,
 * so a table that did not change much is left alone: vacuuming the jobs table after every purchase made
 * each purchase cost more as job history grew (docs/reliability.md, R5). Tables never counted yet (a
 * store written by a process that ended without saving its statistics) are included.
 */
async function vacuumChangedTables(db: Db): Promise<void> {
  // This session's own counts are published at the end of a transaction at most once a second; ask for
  // them now, so that the next statement sees what PGlite's single session wrote in the last second.
  await sql`SELECT pg_stat_force_next_flush()`.execute(db);
  const tables = await sql<{ name: string }>`
    SELECT quote_ident(relname) AS name FROM pg_stat_user_tables
    WHERE schemaname = 'public' AND (
      (last_vacuum IS NULL AND last_autovacuum IS NULL)
      OR n_dead_tup > 50 + 0.2 * n_live_tup
      OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup
      OR n_mod_since_analyze > 50 + 0.1 * n_live_tup)`.execute(db);
  if (tables.rows.length > 0) await sql.raw(`VACUUM (ANALYZE) ${tables.rows.map((t) => t.name).join(', ')}`).execute(db);
}

/** PostgreSQL's codes for a transaction aborted as a deadlock's victim or by a serialization failure. */
const RETRYABLE_CODES = new Set(['40P01', '40001']);
const TRANSACTION_ATTEMPTS = 3;

/** What each open transaction asked to run once it has committed (see afterCommit). */
const committedCallbacks = new Map<Db, Array<() => void>>();

/** Runs `work` in a transaction, then what it asked to run after its commit (afterCommit). */
export async function transaction<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  const callbacks: Array<() => void> = [];
  let open: Db | undefined;
  try {
    const result = await db.transaction().execute((trx) => {
      committedCallbacks.set((open = trx), callbacks);
      return work(trx);
    });
    for (const callback of callbacks) callback();
    return result;
  } finally {
    if (open) committedCallbacks.delete(open);
  }
}

/**
 * `transaction`, run again (three times in all) if PostgreSQL aborted it as the victim of a deadlock: two
 * transactions locking some of the same phones in different orders (a batch request and the engine closing
 * jobs), one of which PostgreSQL cancels, to be run again.
 */
export async function inTransaction<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction(db, work);
    } catch (error) {
      if (attempt >= TRANSACTION_ATTEMPTS || !RETRYABLE_CODES.has((error as { code?: string }).code ?? '')) throw error;
    }
  }
}

/**
 * Runs `callback` once what `db` wrote is visible to every connection: when its transaction (begun by
 * `transaction` or `inTransaction`) commits, never if it rolls back; at once outside a transaction.
 */
export function afterCommit(db: Db, callback: () => void): void {
  if (!db.isTransaction) return callback();
  const callbacks = committedCallbacks.get(db);
  if (!callbacks) throw new Error('afterCommit: the transaction was not begun by transaction() or inTransaction()');
  callbacks.push(callback);
}

export async function migrate(db: Db): Promise<void> {
  if (await isMigrated(db)) return;
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${String(error)}`);
  }
}

/** One query instead of the migrator's lock and table checks, for the usual start on an up-to-date store. */
async function isMigrated(db: Db): Promise<boolean> {
  try {
    const applied = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
    const names = new Set(applied.rows.map((row) => row.name));
    return Object.keys(migrations).every((name) => names.has(name));
  } catch {
    return false; // no migration table yet: a new store
  }
}
