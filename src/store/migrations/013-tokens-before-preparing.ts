import { sql, type Kysely } from 'kysely';

// GetDeviceToken has no precondition but the purchase (spec koophone-api.md §2.7): a token may be issued for
// an instance no user is assigned to, or one without a phone (its data in a backup). Its session then holds
// no user or phone, and the stream refuses it until the instance is ready (docs/streaming.md).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE instance_sessions ALTER COLUMN user_id DROP NOT NULL`.execute(db);
  await sql`ALTER TABLE instance_sessions ALTER COLUMN phone_id DROP NOT NULL`.execute(db);
}
