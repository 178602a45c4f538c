import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inTransaction, type Db } from '../../src/store/db.ts';

/** A store whose transactions fail with the given PostgreSQL codes, one per attempt, then succeed. */
function failingWith(codes: string[]) {
  let attempts = 0;
  const db = {
    transaction: () => ({
      execute: async (work: (trx: unknown) => Promise<unknown>) => {
        const code = codes[attempts++];
        if (code) throw Object.assign(new Error(code), { code });
        return work('trx');
      },
    }),
  } as unknown as Db;
  return { db, attempts: () => attempts };
}

test('a transaction aborted as a deadlock victim or by a serialization failure runs again, three times in all', async () => {
  const twice = failingWith(['40P01', '40001']);
  assert.equal(await inTransaction(twice.db, async () => 'done'), 'done');
  assert.equal(twice.attempts(), 3);

  const always = failingWith(['40P01', '40P01', '40P01', '40P01']);
  await assert.rejects(inTransaction(always.db, async () => 'done'), /40P01/);
  assert.equal(always.attempts(), 3);
});

test('other failures are not retried', async () => {
  const unique = failingWith(['23505']);
  await assert.rejects(inTransaction(unique.db, async () => 'done'), /23505/);
  assert.equal(unique.attempts(), 1);
});
