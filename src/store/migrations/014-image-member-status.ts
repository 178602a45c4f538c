import { sql, type Kysely } from 'kysely';

// A project an image is shared with answers the share (UpdateImageMember): `pending` until it accepts or
// rejects it, and only an accepted image may be used (src/core/images.ts). Shares made before this step
// existed were usable at once, so they start accepted; new ones are written `pending` by AddImageMember.
const statements = `
    ALTER TABLE image_members ADD COLUMN status text NOT NULL DEFAULT 'accepted'
      CHECK (status IN ('pending', 'accepted', 'rejected'));
    ALTER TABLE image_members ALTER COLUMN status DROP DEFAULT;
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement at a time: PGlite's extended protocol takes a single command per query.
  for (const statement of statements.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE image_members DROP COLUMN status`.execute(db);
}
