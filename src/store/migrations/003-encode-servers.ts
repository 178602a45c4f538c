import { sql, type Kysely } from 'kysely';

// Encoding servers of the servers whose phone flavor has them (one per server address, slot = the
// address's position), and the size a phone's data volume was expanded to (null: its flavor's disk).
// An encoding server's status column holds only what no other record decides: 1 running, or a status set
// by an operator (2 abnormal, 4 frozen, 5 stopped); creating and restarting follow its server and its jobs.
const statements = `
    CREATE TABLE encode_servers (
      id text PRIMARY KEY, seq bigserial NOT NULL, project_id text NOT NULL REFERENCES projects(id),
      server_id text NOT NULL REFERENCES servers(id) ON DELETE CASCADE, slot integer NOT NULL,
      name text NOT NULL, type integer NOT NULL, ip text NOT NULL, status integer NOT NULL,
      UNIQUE (server_id, slot));
    CREATE INDEX encode_servers_by_project ON encode_servers (project_id, seq DESC);

    ALTER TABLE phones ADD COLUMN data_volume_size integer;
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement at a time: PGlite's extended protocol takes a single command per query.
  for (const statement of statements.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }
}
