import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

test('/openapi.json describes every route from the same schemas, without the internal error keywords', async () => {
  const response = await fetch(`${t.url}/openapi.json`);
  assert.equal(response.status, 200);
  const document = await response.json();
  assert.match(document.openapi, /^3\./);
  const operations = Object.values(document.paths as Record<string, Record<string, { summary?: string }>>).flatMap((p) => Object.values(p).map((o) => o.summary));
  for (const name of [
    'KeystoneCreateUserTokenByPassword', 'KeystoneListProjects', 'ListCloudPhoneServerModels', 'ListCloudPhoneModels', 'ListCloudPhoneImages',
    'CreateCloudPhoneServer', 'CreateNet2CloudPhoneServer', 'ListCloudPhoneServers', 'ShowCloudPhoneServerDetail', 'DeleteCloudPhoneServer',
    'ListCloudPhones', 'ShowCloudPhoneDetail', 'RestartCloudPhone', 'ShowJob', 'ListJobs',
  ]) assert.ok(operations.includes(name), `${name} is documented`);
  const purchase = document.paths['/v1/{project_id}/cloud-phone/phones'].post.requestBody.content['application/json'].schema;
  assert.equal(purchase.properties.server_name.maxLength, 60);
  assert.ok(!JSON.stringify(document).includes('x-code'));
});

test('/docs serves the browsable API reference', async () => {
  const response = await fetch(`${t.url}/docs`, { redirect: 'follow' });
  assert.equal(response.status, 200);
  assert.match(await response.text(), /swagger/i);
});
