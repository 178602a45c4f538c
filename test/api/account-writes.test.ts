// Requests that change something take turns per account (OPENCPH_ACCOUNT_WRITES_AT_ONCE): one tenant's
// burst waits its turn instead of holding every store connection, and past the waiting line it is refused
// with the gateway's throttling answer, while other tenants are served at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_ENV, addFault, admin } from '../helpers/admin.ts';
import { buyServers, call, startTestServer, waitForJob, type Target, type TestServer } from '../helpers/server.ts';
import { ACCOUNT_WRITES_WAITING } from '../../src/core/rate-limit.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';

let t: TestServer;
let other: Target;
let phones: string[];

before(async () => {
  t = await startTestServer({ env: { ...ADMIN_ENV, OPENCPH_ACCOUNT_WRITES_AT_ONCE: '1', OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  other = { url: t.url, tenant: await t.createTenant('other') };
  phones = (await buyServers(t)).phoneIds;
  await buyServers(other);
});
after(() => t.close());

test('writes of one account wait their turn; past the waiting line they are 429 APIGW.0308; reads and other accounts go on', async () => {
  const rule = await addFault(t, { operation: 'shell', phone_id: phones[0], mode: 'hang' });
  // A synchronous command that hangs holds the account's one turn (for up to its 2 s).
  const holding = call(t, 'POST', `${PHONES}/sync-commands`, { body: { command: 'shell', content: 'id', phone_ids: [phones[0]] } });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const waiting = Array.from({ length: ACCOUNT_WRITES_WAITING }, (_, i) =>
    call(t, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: phones[1 + (i % 14)] }] } }),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const refused = await call(t, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: phones[1] }] } });
  assert.equal(refused.status, 429, JSON.stringify(refused.body));
  assert.deepEqual([refused.body.error_code, refused.body.error_msg], ['APIGW.0308', 'The throttling threshold has been reached']);
  // Reads and another account's writes do not wait.
  assert.equal((await call(t, 'GET', `${PHONES}?limit=1`)).status, 200);
  const otherPhone = (await call(other, 'GET', `${PHONES}?limit=1`)).body.phones[0].phone_id;
  const otherRestart = await call(other, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: otherPhone }] } });
  assert.equal(otherRestart.status, 200);
  assert.equal((await waitForJob(other, otherRestart.body.jobs[0].job_id)).status, 2);

  // Released, or timed out after its 2 s: either way it fails and hands the turn on.
  await admin(t, 'DELETE', `/admin/faults/${rule.id}`);
  assert.equal((await holding).body.jobs[0].status, -1);
  for (const answer of await Promise.all(waiting)) assert.equal(answer.status, 200, JSON.stringify(answer.body));
});
