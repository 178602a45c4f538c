import { sql, type Kysely } from 'kysely';

// Key pairs of Huawei's key pair service (src/core/keypairs.ts, docs/kps-notes.md). A key belongs to an IAM
// user (`scope` 'user') or to the whole account ('domain'), not to a project. A name is unique among the
// keys one user sees: the user's own and the account's; the indexes hold the part a single row can check.
// `adb_public_key` is the same key in adb's `adb_keys` form, null for keys that cannot be adb keys.
const statements = `
    CREATE TABLE keypairs (
      id bigserial PRIMARY KEY, domain_id text NOT NULL REFERENCES domains(id), user_id text NOT NULL,
      name text NOT NULL, scope text NOT NULL, type text NOT NULL, public_key text NOT NULL,
      adb_public_key text, fingerprint text NOT NULL, algorithm text NOT NULL, description text NOT NULL,
      private_key text, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
      UNIQUE (domain_id, user_id, name));
    CREATE UNIQUE INDEX keypairs_account_names ON keypairs (domain_id, name) WHERE scope = 'domain';
    CREATE INDEX keypairs_by_name ON keypairs (domain_id, name);
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement at a time: PGlite's extended protocol takes a single command per query.
  for (const statement of statements.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE keypairs`.execute(db);
}
