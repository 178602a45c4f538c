import { sql, type Kysely } from 'kysely';

// Each phone records the device driver that runs it (src/devices/registry.ts), chosen when it is bought, so
// simulated and real phones live side by side in one deployment and one project. Phones bought before this
// step were all simulated.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE phones ADD COLUMN driver text NOT NULL DEFAULT 'sim'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE phones DROP COLUMN driver`.execute(db);
}
