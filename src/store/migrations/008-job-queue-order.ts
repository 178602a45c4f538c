import { sql, type Kysely } from 'kysely';

// The engine's claim (src/jobs/engine.ts) walks the queue oldest first in one index, and looks up what else
// each job's lock key has pending in another: a claim reads the few jobs it takes, however long the queue.
// One index of pending jobs by lock key replaces the separate queued and running ones, so that the lookup
// has a single index to use: with two, stale statistics (PGlite has no autovacuum to refresh them) once led
// the planner to scan a whole index for every queued job.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX jobs_queued`.execute(db);
  await sql`DROP INDEX jobs_running`.execute(db);
  await sql`CREATE INDEX jobs_pending ON jobs (lock_key, seq) WHERE state <> 'done'`.execute(db);
  await sql`CREATE INDEX jobs_queue_order ON jobs (seq) WHERE state = 'queued'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX jobs_queue_order`.execute(db);
  await sql`DROP INDEX jobs_pending`.execute(db);
  await sql`CREATE INDEX jobs_queued ON jobs (lock_key, seq) WHERE state = 'queued'`.execute(db);
  await sql`CREATE INDEX jobs_running ON jobs (lock_key) WHERE state = 'running'`.execute(db);
}
