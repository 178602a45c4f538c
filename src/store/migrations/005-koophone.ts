import { sql, type Kysely } from 'kysely';

// KooPhone instances: a tenant-facing view of cloud phones. `phone_id` is empty while the instance's
// data lives only in the object store (after a backup released its phone; a prepare binds one again).
const statements = `
    CREATE TABLE instances (
      id text PRIMARY KEY, seq bigserial NOT NULL, project_id text NOT NULL REFERENCES projects(id),
      domain_id text NOT NULL REFERENCES domains(id),
      phone_id text UNIQUE REFERENCES phones(id) ON DELETE SET NULL,
      name text NOT NULL, sku_id text NOT NULL, region_id text NOT NULL, os text NOT NULL,
      network text NOT NULL, band_size double precision NOT NULL, billing_mode text NOT NULL,
      order_id text NOT NULL, frozen boolean NOT NULL, assigned_user text,
      data_state integer NOT NULL, prepare_status integer, backup_status integer, backup_time timestamptz,
      restore_status integer, restore_time timestamptz, backup_key text, video_config jsonb,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
    CREATE INDEX instances_by_project ON instances (project_id, seq DESC);
    CREATE INDEX instances_by_name ON instances (project_id, name);

    -- A KooPhone task is the request_id of its jobs; this row says which project issued it and why.
    CREATE TABLE koophone_tasks (
      id text PRIMARY KEY, project_id text NOT NULL REFERENCES projects(id), kind text NOT NULL,
      created_at timestamptz NOT NULL);
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement at a time: PGlite's extended protocol takes a single command per query.
  for (const statement of statements.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }
}
