import { sql, type Kysely } from 'kysely';

// Each account (domain) has its own buckets, so data exports are registered per account: two accounts may
// each export to their own `mybucket/a.tar`, and neither can claim a path of the other's first.
// Registrations made before keep their project's account.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE phone_data_objects ADD COLUMN domain_id text REFERENCES domains(id)`.execute(db);
  await sql`UPDATE phone_data_objects o SET domain_id = p.domain_id FROM projects p WHERE p.id = o.project_id`.execute(db);
  await sql`ALTER TABLE phone_data_objects ALTER COLUMN domain_id SET NOT NULL`.execute(db);
  await sql`ALTER TABLE phone_data_objects DROP CONSTRAINT phone_data_objects_pkey`.execute(db);
  await sql`ALTER TABLE phone_data_objects ADD PRIMARY KEY (domain_id, bucket, object_key)`.execute(db);
}
