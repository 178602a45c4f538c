import { sql, type Kysely } from 'kysely';

// Per-account quotas (src/core/quotas.ts). One row per account (domain): the limits an operator set for it
// (null: the OPENCPH_QUOTA_* default) and what it holds, kept up to date by the transactions that add or
// remove servers, phones and instances, so that a purchase reads one row instead of counting the account's
// phones. Queued and running jobs are counted instead (they change with every job the engine closes), along
// an index that holds the unfinished jobs only.
const statements = `
    CREATE TABLE account_quotas (
      domain_id text PRIMARY KEY REFERENCES domains(id),
      max_servers integer, max_phones integer, max_instances integer, max_jobs integer, max_object_bytes bigint,
      servers integer NOT NULL DEFAULT 0, phones integer NOT NULL DEFAULT 0, instances integer NOT NULL DEFAULT 0,
      object_bytes bigint NOT NULL DEFAULT 0);
    INSERT INTO account_quotas (domain_id, servers, phones, instances)
      SELECT d.id,
        (SELECT count(*) FROM servers s JOIN projects p ON p.id = s.project_id WHERE p.domain_id = d.id),
        (SELECT count(*) FROM phones f JOIN projects p ON p.id = f.project_id WHERE p.domain_id = d.id),
        (SELECT count(*) FROM instances i WHERE i.domain_id = d.id)
      FROM domains d;
    CREATE INDEX jobs_unfinished_by_project ON jobs (project_id) WHERE state <> 'done';
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement at a time: PGlite's extended protocol takes a single command per query.
  for (const statement of statements.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX jobs_unfinished_by_project`.execute(db);
  await sql`DROP TABLE account_quotas`.execute(db);
}
