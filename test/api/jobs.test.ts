import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, startTestServer, waitForJob, type ApiResponse, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError } from '../helpers/cps.ts';

const JOBS = '/v1/{project_id}/cloud-phone/jobs';
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const HEX32 = /^[0-9a-f]{32}$/;
const WIRE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const JOB_FIELDS = ['begin_time', 'end_time', 'error_code', 'error_msg', 'execute_msg', 'job_id', 'status'];

type JobWire = { job_id: string; phone_id?: string; server_id?: string; node_id?: string; status: number };

const showJob = (target: Target, jobId: string) => call(target, 'GET', `${JOBS}/${jobId}`);
const listJobs = (target: Target, query: string) => call(target, 'GET', `${JOBS}?${query}`);
const jobIds = (response: ApiResponse) => response.body.jobs.map((job: JobWire) => job.job_id);

/** Restarts phones; returns the request id and the job ids, in the order of the phones. */
async function restart(target: Target, phoneIds: string[]) {
  const response = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-restart', {
    body: { phones: phoneIds.map((phone_id) => ({ phone_id })) },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return { requestId: response.body.request_id as string, jobIds: response.body.jobs.map((job: JobWire) => job.job_id) as string[] };
}

// Realistic durations, scaled down: a restart job runs for about 0.75 s, long enough to see it running.
let t: TestServer;
let other: Target;
let purchase: Awaited<ReturnType<typeof buyServers>>;
let otherPurchase: Awaited<ReturnType<typeof buyServers>>;

before(async () => {
  t = await startTestServer({ env: { OPENCPH_SIM_TIME_SCALE: '0.05' } });
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
  [purchase, otherPurchase] = await Promise.all([buyServers(t, { count: 2 }), buyServers(other)]);
});
after(() => t.close());

test('ShowJob reports a job running, then succeeded, with its times', async () => {
  const { requestId, jobIds: [jobId] } = await restart(t, [purchase.phoneIds[0]]);
  const running = await showJob(t, jobId);
  assert.equal(running.status, 200);
  assert.deepEqual(Object.keys(running.body).sort(), [...JOB_FIELDS, 'request_id'].sort());
  assert.ok([running.headers.get('x-request-id'), requestId].includes(running.body.request_id), 'this query’s or the originating request id');
  assert.match(running.body.begin_time, WIRE_TIME);
  assert.deepEqual(
    { ...running.body, request_id: 0, begin_time: 0 },
    { request_id: 0, begin_time: 0, job_id: jobId, status: 1, end_time: null, error_code: null, error_msg: null, execute_msg: null },
  );

  await waitForJob(t, jobId);
  const done = await showJob(t, jobId);
  assert.match(done.body.end_time, WIRE_TIME);
  assert.ok(Date.parse(done.body.end_time) >= Date.parse(done.body.begin_time));
  assert.deepEqual(
    { ...done.body, request_id: 0, end_time: 0 },
    { ...running.body, request_id: 0, end_time: 0, status: 2 },
  );
});

test('an unknown job and another tenant’s job get the same 404 CPS.0011', async () => {
  const [otherJob] = jobIds(await listJobs(other, `request_id=${otherPurchase.requestId}`));
  assertCpsError(await showJob(t, UNKNOWN_ID), 404, 'CPS.0011');
  assertCpsError(await showJob(t, otherJob), 404, 'CPS.0011');
  assertCpsError(await showJob(t, 'not-a-job-id'), 404, 'CPS.0011');
  assert.equal((await showJob(other, otherJob)).status, 200);
});

test('ListJobs by request_id: a purchase’s server jobs carry server_id and node_id', async () => {
  const response = await listJobs(t, `request_id=${purchase.requestId}`);
  assert.equal(response.status, 200);
  assert.equal(response.body.request_id, response.headers.get('x-request-id'));
  assert.deepEqual(new Set(response.body.jobs.map((job: JobWire) => job.server_id)), new Set(purchase.serverIds));
  for (const job of response.body.jobs) {
    assert.deepEqual(Object.keys(job).sort(), [...JOB_FIELDS, 'node_id', 'server_id'].sort());
    assert.equal(job.node_id, job.server_id);
    assert.equal(job.status, 2);
    assert.match(job.job_id, HEX32);
    assert.match(job.begin_time, WIRE_TIME);
    assert.match(job.end_time, WIRE_TIME);
  }
});

test('ListJobs by request_id: phone jobs carry phone_id', async () => {
  const phoneIds = [purchase.phoneIds[1], purchase.phoneIds[20]];
  const restarted = await restart(t, phoneIds);
  const response = await listJobs(t, `request_id=${restarted.requestId}`);
  assert.deepEqual(
    response.body.jobs.map((job: JobWire) => [job.job_id, job.phone_id]).sort(),
    restarted.jobIds.map((jobId, index) => [jobId, phoneIds[index]]).sort(),
  );
  for (const job of response.body.jobs) {
    assert.equal(job.status, 1);
    assert.equal(job.end_time, null);
  }
  await Promise.all(restarted.jobIds.map((jobId) => waitForJob(t, jobId)));
});

test('ListJobs by request_ids lists the jobs of every request; request_ids wins over request_id', async () => {
  const restarted = await restart(t, [purchase.phoneIds[2]]);
  const purchaseJobs = jobIds(await listJobs(t, `request_id=${purchase.requestId}`));
  const both = await listJobs(t, `request_ids=${purchase.requestId},${restarted.requestId}`);
  assert.equal(both.status, 200);
  assert.deepEqual(new Set(jobIds(both)), new Set([...purchaseJobs, ...restarted.jobIds]));
  assert.equal(both.body.jobs.length, purchaseJobs.length + 1);
  const winner = await listJobs(t, `request_id=${purchase.requestId}&request_ids=${restarted.requestId}`);
  assert.deepEqual(jobIds(winner), restarted.jobIds);
  await waitForJob(t, restarted.jobIds[0]);
});

test('ListJobs refuses a missing, malformed or excessive request id list', async () => {
  const twentyOne = Array.from({ length: 21 }, (_, i) => i.toString(16).padStart(32, '0'));
  assertCpsError(await listJobs(t, `request_ids=${twentyOne.join(',')}`), 400, 'CPS.0161');
  assertCpsError(await listJobs(t, `request_ids=${twentyOne.slice(1).join(',')}`), 400, 'CPS.0050');
  for (const query of ['request_id=not-a-request-id', `request_ids=${purchase.requestId},xyz`, `request_id=${purchase.requestId.toUpperCase()}`]) {
    assertCpsError(await listJobs(t, query), 400, 'CPS.0264');
  }
  for (const query of ['', 'request_id=', 'request_ids=', 'limit=10']) assertCpsError(await listJobs(t, query), 400, 'CPS.0049');
});

test('ListJobs: an unknown request or another tenant’s request is CPS.0050, on any page', async () => {
  for (const requestId of [UNKNOWN_ID, otherPurchase.requestId]) {
    assertCpsError(await listJobs(t, `request_id=${requestId}`), 400, 'CPS.0050');
    assertCpsError(await listJobs(t, `request_id=${requestId}&offset=1`), 400, 'CPS.0050');
    assertCpsError(await listJobs(t, `request_ids=${requestId}`), 400, 'CPS.0050');
  }
});

test('ListJobs pages with offset and limit (1–100)', async () => {
  const restarted = await restart(t, purchase.phoneIds.slice(3, 8));
  const all = jobIds(await listJobs(t, `request_id=${restarted.requestId}`));
  assert.deepEqual(new Set(all), new Set(restarted.jobIds));
  const pages = await Promise.all(['limit=2', 'offset=2&limit=2', 'offset=4&limit=2'].map((q) => listJobs(t, `request_id=${restarted.requestId}&${q}`)));
  assert.deepEqual(pages.map((page) => jobIds(page).length), [2, 2, 1]);
  assert.deepEqual(pages.flatMap(jobIds), all);
  const past = await listJobs(t, `request_id=${restarted.requestId}&offset=5`);
  assert.equal(past.status, 200);
  assert.deepEqual(past.body.jobs, []);
  assert.deepEqual(jobIds(await listJobs(t, `request_id=${restarted.requestId}&limit=100`)), all);
  for (const query of ['limit=101', 'limit=0', 'offset=-1', 'offset=x']) {
    assertCpsError(await listJobs(t, `request_id=${restarted.requestId}&${query}`), 400, 'CPS.0002');
  }
  await Promise.all(restarted.jobIds.map((jobId) => waitForJob(t, jobId)));
});
