import { sql, type Kysely } from 'kysely';

// Every statement that writes phones, servers or custom images notifies the channel `opencph_changes` when
// its transaction commits (one notification per transaction), so that processes sharing a PostgreSQL
// database drop the read models they keep in memory (src/store/changes.ts).
const TABLES = ['phones', 'servers', 'custom_images'];

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(`CREATE FUNCTION opencph_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('opencph_changes', ''); RETURN NULL; END $$`)
    .execute(db);
  for (const table of TABLES) {
    await sql
      .raw(`CREATE TRIGGER ${table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION opencph_notify_change()`)
      .execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`DROP FUNCTION opencph_notify_change() CASCADE`).execute(db);
}
