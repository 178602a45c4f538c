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

test('a connection PostgreSQL drops in the middle of a transaction fails that transaction, not the process', { skip: !process.env.OPENCPH_TEST_PG_URL && 'PostgreSQL only' }, async () => {
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', record);
  try {
    const database = (await sql<{ db: string }>`SELECT current_database() AS db`.execute(t.server.store.db)).rows[0].db;
    const ended = t.server.store.db.transaction().execute(async (trx) => {
      const { pid } = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx)).rows[0];
      // The connection is checked out, between two statements, when the server drops it.
      const admin = await import('pg').then(({ default: pg }) => new pg.Client({ connectionString: process.env.OPENCPH_TEST_PG_URL }));
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1) FROM pg_stat_activity WHERE datname = $2', [pid, database]);
      await admin.end();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sql`SELECT 1`.execute(trx);
    });
    await assert.rejects(ended);
    assert.deepEqual(uncaught, []);
    assert.equal((await call(t, 'GET', '/v1/{project_id}/cloud-phone/phones')).status, 200);
  } finally {
    process.off('uncaughtException', record);
  }
});

test('PGlite, which has no autovacuum, has the tables whose rows changed vacuumed and analyzed, and the others left alone', { skip: !!process.env.OPENCPH_TEST_PG_URL && 'PGlite only' }, async () => {
  const store = await openStore({ pgliteSnapshot: await pgliteTemplate(), pgliteMaintenanceIntervalMs: 100 });
  try {
    const counts = async () =>
      Object.fromEntries(
        (await sql<{ name: string; vacuums: number; analyses: number }>`SELECT relname AS name, vacuum_count::int AS vacuums, analyze_count::int AS analyses FROM pg_stat_user_tables`.execute(store.db)).rows.map((row) => [row.name, row]),
      );
    const waitFor = async (what: string, done: (now: Awaited<ReturnType<typeof counts>>) => boolean) => {
      const deadline = Date.now() + 10_000;
      for (let now = await counts(); !done(now); now = await counts()) {
        assert.ok(Date.now() < deadline, `${what} within 10 s: ${JSON.stringify(now)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // Counts a previous process did not save: each table is vacuumed once, which catches its statistics up.
    await waitFor('every table vacuumed once', (now) => Object.values(now).every((table) => table.vacuums >= 1));
    const before = await counts();
    await sql`INSERT INTO settings (key, value) SELECT 'key-' || n, 'value' FROM generate_series(1, 2000) AS n`.execute(store.db);
    await waitFor('the settings table vacuumed and analyzed again', (now) => now.settings.vacuums > before.settings.vacuums && now.settings.analyses > before.settings.analyses);
    // Several checks have run by now; tables nobody wrote were not read again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await counts();
    for (const table of ['jobs', 'phones', 'servers']) assert.equal(after[table].vacuums, before[table].vacuums, `${table} was vacuumed with nothing changed`);
  } finally {
    await store.close();
  }
});

test('a purchase has the phones table vacuumed and analyzed within seconds, on either store (plans know the new sizes; counts can read an index alone)', async () => {
  const maintenance = async () =>
    (
      await sql<{ analyses: number; vacuums: number }>`
        SELECT analyze_count::int AS analyses, vacuum_count::int AS vacuums FROM pg_stat_user_tables WHERE relname = 'phones'`.execute(t.server.store.db)
    ).rows[0];
  const before = await maintenance();
  await buyServers(t, { count: 5 });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await maintenance();
    if (now.analyses > before.analyses && now.vacuums > before.vacuums) break;
    assert.ok(Date.now() < deadline, `the phones table was not vacuumed and analyzed within 10 s of the purchase: ${JSON.stringify({ before, now })}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});
