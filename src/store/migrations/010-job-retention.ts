import { sql, type Kysely } from 'kysely';

// Finished jobs are deleted once they are older than the retention period (src/core/jobs.ts, JobHistory),
// and KooPhone tasks with them: both deletions walk these indexes from the oldest, reading only what they
// delete however long the history is.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX jobs_ended ON jobs (end_time) WHERE state = 'done'`.execute(db);
  await sql`CREATE INDEX koophone_tasks_by_age ON koophone_tasks (created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX koophone_tasks_by_age`.execute(db);
  await sql`DROP INDEX jobs_ended`.execute(db);
}
