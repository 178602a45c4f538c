import { sql, type Kysely } from 'kysely';

// KooPhone streaming sessions and the preparation queue. A session is the device token GetDeviceToken
// issued for an instance (one per instance: a new token replaces the previous one); `connection_id` names
// the open stream holding the instance in "streaming", kept alive by renewing `connection_lease`.
// A queued preparation is an instance waiting for a free phone to restore its data onto, in `seq` order.
const statements = `
    CREATE TABLE instance_sessions (
      instance_id text PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
      project_id text NOT NULL, user_id text NOT NULL, phone_id text NOT NULL,
      device_token text NOT NULL UNIQUE, streaming_id text NOT NULL,
      expires_at timestamptz NOT NULL, stopped_at timestamptz,
      connection_id text, connection_lease timestamptz,
      created_at timestamptz NOT NULL);
    CREATE INDEX instance_sessions_streaming ON instance_sessions (connection_lease) WHERE connection_id IS NOT NULL;

    CREATE TABLE instance_prepares (
      instance_id text PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
      seq bigserial NOT NULL, project_id text NOT NULL, created_at timestamptz NOT NULL);
    CREATE INDEX instance_prepares_by_project ON instance_prepares (project_id, seq);
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement at a time: PGlite's extended protocol takes a single command per query.
  for (const statement of statements.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }
}
