import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, startTestServer, type TestServer } from '../helpers/server.ts';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

test('buy a server, see its phones come up, restart one and follow the job', async () => {
  const { phoneIds } = await buyServers(t);
  assert.equal(phoneIds.length, 15);
  const restart = await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-restart', { body: { phones: [{ phone_id: phoneIds[0] }] } });
  assert.equal(restart.status, 200, JSON.stringify(restart.body));
  assert.ok(restart.body.jobs[0].job_id);
});
