import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, startTestServer, type ApiResponse, type TestServer } from '../helpers/server.ts';

/**
 * Requests no client should send, refused in the documented envelopes (found by the reliability
 * suite's fuzzing, docs/reliability.md): U+0000 anywhere, broken percent-escapes, over-long ids and URLs.
 */

let t: TestServer;
let serverId: string;

before(async () => {
  t = await startTestServer();
  serverId = (await buyServers(t)).serverIds[0];
});
after(() => t?.close());

/** A raw request with the tenant's token; `target` is sent as written. */
async function raw(method: string, target: string, body?: string): Promise<ApiResponse> {
  const response = await fetch(`${t.url}${target.replace('{project_id}', t.tenant.projectId)}`, {
    method,
    headers: { 'X-Auth-Token': t.tenant.token, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

function assertError(response: ApiResponse, status: number, code: string) {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['error_code', 'error_msg', 'request_id']);
  assert.equal(response.body.error_code, code);
  assert.equal(response.headers.get('x-request-id'), response.body.request_id);
}

test('U+0000 in a path id, a query filter or a body field is refused as invalid, never reaching a query', async () => {
  assertError(await raw('GET', '/v1/{project_id}/cloud-phone/servers/%00'), 400, 'CPS.0003');
  assertError(await raw('GET', '/v1/{project_id}/cloud-phone/phones?phone_name=a%00'), 400, 'CPS.0025');
  assertError(await raw('GET', '/v3/projects?name=%00'), 400, 'IAM.0011');
  const renamed = await call(t, 'PUT', `/v1/{project_id}/cloud-phone/servers/${serverId}`, { body: { server_name: 'a\u0000b' } });
  assertError(renamed, 400, 'CPS.0087');
  // A key holding it, as deep as a body may nest (64 levels); deeper, the body is refused before any walk.
  for (const depth of [62, 50_000]) {
    const nested = `${'['.repeat(depth)}{"k\\u0000":1}${']'.repeat(depth)}`;
    assertError(await raw('POST', '/v1/{project_id}/cloud-phone/phones/batch-restart', `{"phones":${nested}}`), 400, 'CPS.0077');
  }
  const detail = await call(t, 'GET', `/v1/{project_id}/cloud-phone/servers/${serverId}`);
  assert.equal(detail.body.server_name, 'test-server');
});

test('a broken percent-escape in the path is 400 APIGW.0201', async () => {
  for (const id of ['%C0%AF', '%zz', '%ED%A0%80']) assertError(await raw('GET', `/v1/{project_id}/cloud-phone/phones/${id}`), 400, 'APIGW.0201');
});

test('an id far longer than any real one reaches its route: 404 with the not-found code', async () => {
  assertError(await raw('GET', `/v1/{project_id}/cloud-phone/servers/${'a'.repeat(5_000)}`), 404, 'CPS.0015');
});

test('a request head past 16 KB is 494 APIGW.0201 with a request id', async () => {
  const response = await raw('GET', `/v1/{project_id}/cloud-phone/phones?phone_name=${'x'.repeat(20_000)}`);
  assertError(response, 494, 'APIGW.0201');
  assert.match(response.body.request_id, /^[0-9a-f]{32}$/);
});

test('a query value of the wrong shape on the IAM API is IAM.0011', async () => {
  assertError(await raw('GET', '/v3/projects?name=a&name=b'), 400, 'IAM.0011');
});

test('numbers past any range in the query (1e309 is Infinity once parsed) get the parameter\'s code', async () => {
  for (const target of [
    '/v1/{project_id}/cloud-phone/phones?offset=1e309',
    '/v1/{project_id}/cloud-phone/servers?limit=1e309',
    '/v1/{project_id}/cloud-phone/encode-servers?offset=1e309',
  ]) {
    assertError(await raw('GET', target), 400, 'CPS.0002');
  }
  assertError(await raw('GET', '/v1/{project_id}/cloud-phone/images?create_since=1e309'), 400, 'CPS.0174');
  assertError(await raw('GET', `/v1/{project_id}/cloud-phone/images?create_since=${Date.UTC(22986, 10, 11)}`), 400, 'CPS.0174');
  for (const pageNo of ['1e309', '1e20']) {
    const answer = await raw('GET', `/v1/instances/batch-query?page_no=${pageNo}&page_size=10&x-request-id=fuzz`);
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.equal(answer.body.error_code, 'KOOPHONE.API.1000');
  }
});
