import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { buyServers, call, pgliteTemplate, startTestServer, type TestServer } from '../helpers/server.ts';
import { openStore } from '../../src/store/db.ts';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

test('the server keeps serving after PostgreSQL drops its connections (restart, failover), and hears other processes again', { skip: !process.env.OPENCPH_TEST_PG_URL && 'PostgreSQL only' }, async () => {
  assert.equal((await call(t, 'GET', '/v1/{project_id}/cloud-phone/phones')).status, 200);
  const admin = await import('pg').then(({ default: pg }) => new pg.Client({ connectionString: process.env.OPENCPH_TEST_PG_URL }));
  await admin.connect();
  const database = (await sql<{ db: string }>`SELECT current_database() AS db`.execute(t.server.store.db)).rows[0].db;
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
  await admin.end();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const response = await call(t, 'GET', '/v1/{project_id}/cloud-phone/phones');
  assert.equal(response.status, 200, JSON.stringify(response.body));
  // The connection hearing other processes' changes was dropped too: nothing is served from memory until it is back.
  const deadline = Date.now() + 5000;
  while (!t.server.store.changes.complete) {
    assert.ok(Date.now() < deadline, 'the change listener did not reconnect within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

test('PGlite, which has no autovacuum, has its tables vacuumed and analyzed periodically', { skip: !!process.env.OPENCPH_TEST_PG_URL && 'PGlite only' }, async () => {
  const store = await openStore({ pgliteSnapshot: await pgliteTemplate(), pgliteVacuumIntervalMs: 100 });
  try {
    const counts = () => sql<{ vacuums: number }>`SELECT vacuum_count::int AS vacuums FROM pg_stat_user_tables WHERE relname = 'phones'`.execute(store.db);
    const deadline = Date.now() + 10_000;
    while ((await counts()).rows[0].vacuums < 2) {
      assert.ok(Date.now() < deadline, 'the phones table was not vacuumed twice within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await store.close();
  }
});

test('a purchase has the tables vacuumed and analyzed within seconds, on either store (plans know the new sizes; counts can read an index alone)', async () => {
  const maintenance = async () =>
    (
      await sql<{ analyses: number; vacuums: number }>`
        SELECT analyze_count::int AS analyses, vacuum_count::int AS vacuums FROM pg_stat_user_tables WHERE relname = 'phones'`.execute(t.server.store.db)
    ).rows[0];
  const before = await maintenance();
  await buyServers(t);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await maintenance();
    if (now.analyses > before.analyses && now.vacuums > before.vacuums) break;
    assert.ok(Date.now() < deadline, `the phones table was not vacuumed and analyzed within 10 s of the purchase: ${JSON.stringify({ before, now })}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});
