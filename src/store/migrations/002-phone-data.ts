import { sql, type Kysely } from 'kysely';

// The objects that data exports (BatchExportCloudPhoneData) write, registered to the project that wrote
// them: only a registered object is restored, and only by its project; an export never overwrites an
// object registered to another project, nor one it did not write (CPS.0172 "object_path is unregistered").
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE phone_data_objects (
      bucket text NOT NULL, object_key text NOT NULL, project_id text NOT NULL REFERENCES projects(id),
      created_at timestamptz NOT NULL, PRIMARY KEY (bucket, object_key))`.execute(db);
}
