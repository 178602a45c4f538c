import DataLoader from 'dataloader';
import type { Db } from '../store/db.ts';
import type { Phone } from '../store/schema.ts';

export type PhoneLoader = DataLoader<string, Phone | undefined>;

/**
 * Reads phone rows for job handlers: the reads asked for in one tick (the jobs of a claimed batch all
 * start together) are made by one query. Nothing is cached: every read sees the store as it is.
 */
export function phoneLoader(db: Db): PhoneLoader {
  return new DataLoader(
    async (ids) => {
      const rows = await db.selectFrom('phones').selectAll().where('id', 'in', [...ids]).execute();
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id));
    },
    { cache: false, maxBatchSize: 1000 },
  );
}
