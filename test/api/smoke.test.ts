import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, phoneStatus, startTestServer, waitForJob, type TestServer } from '../helpers/server.ts';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

test('buy a server, see its phones come up, restart one and follow the job', async () => {
  const { phoneIds } = await buyServers(t);
  assert.equal(phoneIds.length, 15);
  for (const phoneId of phoneIds) assert.equal(await phoneStatus(t, phoneId), 2, 'every phone runs');
  const restart = await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-restart', { body: { phones: [{ phone_id: phoneIds[0] }] } });
  assert.equal(restart.status, 200, JSON.stringify(restart.body));
  const jobId = restart.body.jobs[0].job_id;
  assert.equal((await waitForJob(t, jobId)).status, 2);
  const listed = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${restart.body.request_id}`);
  assert.deepEqual(listed.body.jobs.map((job: { job_id: string; phone_id: string; status: number }) => [job.job_id, job.phone_id, job.status]), [[jobId, phoneIds[0], 2]]);
  assert.equal(await phoneStatus(t, phoneIds[0]), 2, 'the phone runs again');
  const sync = await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones/sync-commands', {
    body: { command: 'shell', content: 'settings get global boot_count', phone_ids: [phoneIds[0]] },
  });
  assert.equal(sync.body.jobs[0].execute_msg, '2\n', 'the phone booted again');
});
