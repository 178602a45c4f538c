import { sql, type Kysely } from 'kysely';

// Server tags (TMS-style, `cph-server` resources) and custom phone images with the projects they are
// shared with. A server's tags go with it (ON DELETE CASCADE). A deleted custom image keeps its row
// (`deleted_at`), because phones already running it still boot from its base image; it only leaves the
// lists and can no longer be chosen.
const statements = `
    CREATE TABLE server_tags (
      server_id text NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
      project_id text NOT NULL, key text NOT NULL, value text NOT NULL, created_at timestamptz NOT NULL,
      PRIMARY KEY (server_id, key));
    CREATE INDEX server_tags_by_project ON server_tags (project_id, key);

    CREATE TABLE custom_images (
      id text PRIMARY KEY, seq bigserial NOT NULL, project_id text NOT NULL REFERENCES projects(id),
      name text NOT NULL, base_image_id text NOT NULL, source_phone_id text NOT NULL, status integer NOT NULL,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
      deleted_at timestamptz);
    CREATE INDEX custom_images_by_project ON custom_images (project_id, seq DESC);

    CREATE TABLE image_members (
      image_id text NOT NULL REFERENCES custom_images(id) ON DELETE CASCADE,
      member_id text NOT NULL REFERENCES projects(id),
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
      PRIMARY KEY (image_id, member_id));
    CREATE INDEX image_members_by_member ON image_members (member_id);
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement at a time: PGlite's extended protocol takes a single command per query.
  for (const statement of statements.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }
}
