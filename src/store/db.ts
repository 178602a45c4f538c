import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type Migration } from 'kysely';
import pg from 'pg';
import * as initial from './migrations/001-initial.ts';
import * as phoneData from './migrations/002-phone-data.ts';
import * as encodeServers from './migrations/003-encode-servers.ts';
import * as tagsImages from './migrations/004-tags-images.ts';
import * as koophone from './migrations/005-koophone.ts';
import * as koophoneUsage from './migrations/006-koophone-usage.ts';
import { pgliteDialect } from './pglite-dialect.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface StoreOptions {
  /** PostgreSQL connection string; absent → embedded PGlite. */
  databaseUrl?: string;
  /** Where PGlite keeps its files (`<data dir>/pglite`); ignored for PostgreSQL. */
  dataDir?: string;
  /** A PGlite data-dir snapshot to start from (tests load a migrated template instead of running initdb). */
  pgliteSnapshot?: Blob;
}

export interface Store {
  db: Db;
  engine: 'pglite' | 'postgres';
  /**
   * Call after writing many rows at once. PostgreSQL's autovacuum keeps planner statistics current by
   * itself; PGlite has no autovacuum, so it re-analyzes shortly after (once per burst of calls).
   */
  noteBulkWrite(): void;
  close(): Promise<void>;
}

const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-phone-data': phoneData,
  '003-encode-servers': encodeServers,
  '004-tags-images': tagsImages,
  '005-koophone': koophone,
  '006-koophone-usage': koophoneUsage,
};

export async function openStore(options: StoreOptions): Promise<Store> {
  let db: Db;
  let engine: Store['engine'];
  if (options.databaseUrl) {
    engine = 'postgres';
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 });
    // An idle connection the server closed (restart, failover) is dropped and replaced by the pool;
    // without a listener its 'error' event would end the process.
    pool.on('error', () => {});
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    engine = 'pglite';
    let dataDir: string | undefined;
    if (!options.pgliteSnapshot) {
      if (!options.dataDir) throw new Error('openStore: dataDir or pgliteSnapshot is required for PGlite');
      dataDir = join(options.dataDir, 'pglite');
      mkdirSync(dataDir, { recursive: true });
    }
    const lite = await PGlite.create({ dataDir, loadDataDir: options.pgliteSnapshot, relaxedDurability: false });
    db = new Kysely<Database>({ dialect: pgliteDialect(lite) });
  }
  await migrate(db);
  if (engine === 'postgres') return { db, engine, noteBulkWrite: () => {}, close: () => db.destroy() };
  await sql`ANALYZE`.execute(db);
  let pending: NodeJS.Timeout | undefined;
  let analyzing: Promise<unknown> = Promise.resolve();
  return {
    db,
    engine,
    noteBulkWrite() {
      if (pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        analyzing = sql`ANALYZE`.execute(db).catch(() => {});
      }, 1000);
      pending.unref();
    },
    async close() {
      clearTimeout(pending);
      await analyzing;
      await db.destroy();
    },
  };
}

export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${String(error)}`);
  }
}
