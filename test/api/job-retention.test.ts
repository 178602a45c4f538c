import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { buyServers, call, getToken, startTestServer, waitForJobs, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError } from '../helpers/cps.ts';
import { assertKpError, createInstances, waitTask } from '../helpers/koophone.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { JobHistory } from '../../src/core/jobs.ts';

const JOBS = '/v1/{project_id}/cloud-phone/jobs';
const HOUR_MS = 3_600_000;

// The server's clock runs `offset` ahead of the real one: moving it on ages the job history.
let offset = 0;
let t: TestServer;
let other: Target;
before(async () => {
  t = await startTestServer({ clock: { now: () => new Date(Date.now() + offset) }, env: { OPENCPH_JOB_RETENTION_HOURS: '24' } });
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
});
after(() => t.close());

/** Tokens last 24 hours: after the clock moved on, the tenants sign in again. */
async function signInAgain() {
  for (const target of [t, other]) target.tenant.token = await getToken(t.url, target.tenant.domainName, target.tenant.userName, target.tenant.password, target.tenant.projectName);
}

async function restart(target: Target, phoneIds: string[]) {
  const response = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-restart', { body: { phones: phoneIds.map((phone_id) => ({ phone_id })) } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  await waitForJobs(target, response.body.jobs);
  const jobIds: string[] = response.body.jobs.map((job: { job_id: string }) => job.job_id);
  return { requestId: response.body.request_id as string, jobIds };
}

test('finished jobs and KooPhone tasks past the retention period are gone, as unknown ids are; newer and unfinished ones stay', async () => {
  const purchase = await buyServers(t);
  const oldRestart = await restart(t, purchase.phoneIds);
  const otherRestart = await restart(other, (await buyServers(other)).phoneIds);
  const [instance] = await createInstances(t);
  const command = await call(t, 'POST', '/v1/instances/async-command', { body: { command: 'ls', instance_ids: [instance] } });
  assert.equal(command.status, 200, JSON.stringify(command.body));
  const oldTask: string = command.body.data.task_id;
  await waitTask(t, oldTask);
  // A job still running, begun long ago (its lease is another live process's): never deleted, however old.
  const db = t.server.store.db;
  const longAgo = new Date(Date.now() - 100 * HOUR_MS);
  await db
    .insertInto('jobs')
    .values({ id: 'f'.repeat(32), project_id: t.tenant.projectId, request_id: 'e'.repeat(32), type: 'phone.restart', phone_id: purchase.phoneIds[0], server_id: purchase.serverIds[0], lock_key: 'elsewhere', params: '{}', state: 'running', status: 1, lease_owner: 'another-process', lease_until: new Date(Date.now() + 1000 * HOUR_MS), begin_time: longAgo })
    .execute();

  // 23 hours on: nothing is old enough yet.
  offset = 23 * HOUR_MS;
  assert.deepEqual(await t.server.services.jobHistory.prune(), { jobs: 0, tasks: 0 });

  // 25 hours on: everything above has ended more than 24 hours ago; the restart run now is new.
  offset = 25 * HOUR_MS;
  await signInAgain();
  const newRestart = await restart(t, purchase.phoneIds);
  const jobsBefore = (await db.selectFrom('jobs').select(db.fn.countAll<string>().as('count')).executeTakeFirstOrThrow()).count;
  const pruned = await t.server.services.jobHistory.prune();
  assert.equal(pruned.tasks, 1);
  const jobsAfter = (await db.selectFrom('jobs').select(db.fn.countAll<string>().as('count')).executeTakeFirstOrThrow()).count;
  assert.equal(Number(jobsBefore) - Number(jobsAfter), pruned.jobs);

  for (const jobId of oldRestart.jobIds) assertCpsError(await call(t, 'GET', `${JOBS}/${jobId}`), 404, 'CPS.0011');
  for (const requestId of [purchase.requestId, oldRestart.requestId]) assertCpsError(await call(t, 'GET', `${JOBS}?request_id=${requestId}`), 400, 'CPS.0050');
  assertCpsError(await call(other, 'GET', `${JOBS}/${otherRestart.jobIds[0]}`), 404, 'CPS.0011');
  assertKpError(await call(t, 'GET', `/v1/instances/tasks/${oldTask}`), 400, 'KOOPHONE.API.1323');

  const kept = await call(t, 'GET', `${JOBS}?request_id=${newRestart.requestId}`);
  assert.equal(kept.status, 200, JSON.stringify(kept.body));
  assert.deepEqual(kept.body.jobs.map((job: { job_id: string }) => job.job_id), newRestart.jobIds);
  const running = await db.selectFrom('jobs').select('state').where('id', '=', 'f'.repeat(32)).executeTakeFirst();
  assert.equal(running?.state, 'running');
  // What is left is what the retention keeps: nothing finished before the cutoff.
  const cutoff = new Date(Date.now() + offset - 24 * HOUR_MS);
  const stale = await sql<{ count: number }>`SELECT count(*)::int AS count FROM jobs WHERE state = 'done' AND end_time < ${cutoff}`.execute(db);
  assert.equal(stale.rows[0].count, 0);
  await db.deleteFrom('jobs').where('id', '=', 'f'.repeat(32)).execute();
});

test('a retention of 0 hours keeps every finished job, however old', async () => {
  const { db } = t.server.store;
  await restart(t, (await buyServers(t)).phoneIds);
  const count = async () => Number((await db.selectFrom('jobs').select(db.fn.countAll<string>().as('count')).executeTakeFirstOrThrow()).count);
  const before = await count();
  const forever = new JobHistory(db, { now: () => new Date(Date.now() + 1000 * 24 * HOUR_MS) }, 0, () => {}, t.server.app.log);
  assert.deepEqual(await forever.prune(), { jobs: 0, tasks: 0 });
  assert.equal(await count(), before);
});

test('pruning runs as soon as it is started (the server starts it with itself; then every 10 minutes), and asks the store for maintenance after deleting', async () => {
  const { db } = t.server.store;
  const { jobIds } = await restart(t, (await buyServers(t)).phoneIds);
  let maintenanceAsked = 0;
  const later = new JobHistory(db, { now: () => new Date(Date.now() + offset + 48 * HOUR_MS) }, 24, () => maintenanceAsked++, t.server.app.log);
  later.start();
  await later.stop();
  const left = await db.selectFrom('jobs').select('id').where('id', 'in', jobIds).execute();
  assert.deepEqual(left, []);
  assert.equal(maintenanceAsked, 1);
});

test('OPENCPH_JOB_RETENTION_HOURS: 168 by default, 0 or more up to ten years, anything else refused at start', () => {
  assert.equal(loadConfig({}).jobRetentionHours, 168);
  assert.equal(loadConfig({ OPENCPH_JOB_RETENTION_HOURS: '0' }).jobRetentionHours, 0);
  assert.equal(loadConfig({ OPENCPH_JOB_RETENTION_HOURS: '0.5' }).jobRetentionHours, 0.5);
  for (const value of ['-1', 'week', '', '87601']) {
    assert.throws(() => loadConfig({ OPENCPH_JOB_RETENTION_HOURS: value }), (error: Error) => error instanceof ConfigError && /OPENCPH_JOB_RETENTION_HOURS/.test(error.message), value);
  }
});
