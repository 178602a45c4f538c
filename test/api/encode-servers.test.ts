// Encoding servers over HTTP: ListEncodeServers and RestartEncodeServer (spec §3.32, §3.33, §4.4).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, purchaseBody, serverDetail, startTestServer, waitForJob, type ApiResponse, type Target, type Tenant, type TestServer } from '../helpers/server.ts';
import { assertCpsError, itemError } from '../helpers/cps.ts';

const ENCODE_SERVERS = '/v1/{project_id}/cloud-phone/encode-servers';
const RESTART = `${ENCODE_SERVERS}/batch-restart`;
const SERVERS = '/v1/{project_id}/cloud-phone/servers';
/** The only flavor with an `encode_server_spec`; its server flavor has two addresses. */
const ENCODE_FLAVOR = { phone_model_name: 'rx1.cp.c60.d10.e1v1', server_model_name: 'physical.rx1.xlarge' };

const HEX32 = /^[0-9a-f]{32}$/;
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';

type EncodeServer = {
  encode_server_name: string;
  encode_server_id: string;
  encode_server_ip: string;
  server_id: string;
  keypair_name: string;
  type: number;
  status: number;
  access_infos: Array<Record<string, unknown>>;
};

let t: TestServer;
let other: Tenant;
const asOther = (): Target => ({ url: t.url, tenant: other });
/** A server of the encoding flavor, one without encoding servers, and another project's encoding server. */
let encoded: string;
let plain: string;
let foreign: EncodeServer;

before(async () => {
  t = await startTestServer();
  other = await t.createTenant('tenant-b');
  encoded = (await buyServers(t, { ...ENCODE_FLAVOR, server_name: 'encoded' })).serverIds[0];
  plain = (await buyServers(t, { server_name: 'plain' })).serverIds[0];
  await buyServers(asOther(), ENCODE_FLAVOR);
  foreign = (await list('', asOther()))[0];
});
after(() => t.close());

async function list(query = '', target: Target = t): Promise<EncodeServer[]> {
  const response = await call(target, 'GET', `${ENCODE_SERVERS}${query}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['encode_servers', 'request_id']);
  return response.body.encode_servers;
}

const byName = (servers: EncodeServer[]) => servers.map((server) => server.encode_server_name);
const ofServer = async (serverId: string) => list(`?server_id=${serverId}`);

const encodeServerError = (id: string, code: string) => itemError('encode_server_id', id, code);

const setEncodeStatus = (id: string, status: number) => t.server.store.db.updateTable('encode_servers').set({ status }).where('id', '=', id).execute();
const setServerStatus = (id: string, status: number) => t.server.store.db.updateTable('servers').set({ status }).where('id', '=', id).execute();

/** The jobs a request created, as ListJobs shows them. */
async function jobsOf(requestId: string) {
  const response = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${requestId}`);
  return response.status === 200 ? (response.body.jobs as Array<Record<string, unknown>>) : [];
}

test('list: one encoding server per address of a server whose flavor has them, in the documented shape', async () => {
  const detail = await serverDetail(t, encoded);
  const servers = await ofServer(encoded);
  assert.deepEqual(byName(servers), ['ENCODE_SERVER_2', 'ENCODE_SERVER_1'], 'newest first');
  assert.equal(detail.addresses.length, 2);
  for (const server of servers) {
    const address = detail.addresses[Number(server.encode_server_name.slice(-1)) - 1];
    assert.deepEqual(Object.keys(server).sort(), ['access_infos', 'encode_server_id', 'encode_server_ip', 'encode_server_name', 'keypair_name', 'server_id', 'status', 'type']);
    assert.match(server.encode_server_id, HEX32);
    assert.match(server.encode_server_ip, /^10\.\d+\.\d+\.\d+$/);
    assert.equal(server.server_id, encoded);
    assert.equal(server.keypair_name, 'mykeypair');
    assert.equal(server.type, 1);
    assert.equal(server.status, 1);
    assert.deepEqual(server.access_infos, ['cph_app_server', 'cph_h5_server'].map((type, index) => ({
      listen_port: 6900 + index,
      access_ip: address.public_ip,
      intranet_ip: address.server_ip,
      public_ip: address.public_ip,
      server_ip: address.server_ip,
      access_port: 6900 + index,
      type,
    })));
  }
  assert.notEqual(servers[0].encode_server_id, servers[1].encode_server_id);
});

test('list: a flavor without encode_server_spec has none; another project\'s are not listed', async () => {
  assert.deepEqual(await ofServer(plain), []);
  const all = await list();
  assert.deepEqual(all.map((server) => server.server_id), [encoded, encoded]);
  assert.ok(!all.some((server) => server.encode_server_id === foreign.encode_server_id));
  assert.deepEqual((await list('', asOther())).map((server) => server.encode_server_id).includes(all[0].encode_server_id), false);
});

test('list: the key pair shown is the server\'s, also after UpdateKeypair', async () => {
  const response = await call(t, 'PUT', `${SERVERS}/open-access`, { body: { servers: [{ server_id: encoded, keypair_name: 'rotated-key' }] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal((await waitForJob(t, response.body.jobs[0].job_id)).status, 2);
  assert.deepEqual((await ofServer(encoded)).map((server) => server.keypair_name), ['rotated-key', 'rotated-key']);
});

test('list: type, status and server_id filters, offset and limit', async () => {
  assert.equal((await list('?type=1')).length, 2);
  assert.deepEqual(await list('?type=0'), []);
  assert.equal((await list('?status=1')).length, 2);
  for (const status of [0, 2, 3, 4, 5, 100, 1014]) assert.deepEqual(await list(`?status=${status}`), [], `status=${status}`);
  assert.equal((await list(`?server_id=${encoded}&type=1&status=1`)).length, 2);
  assert.deepEqual(byName(await list('?limit=1')), ['ENCODE_SERVER_2']);
  assert.deepEqual(byName(await list('?offset=1&limit=1')), ['ENCODE_SERVER_1']);
  assert.deepEqual(await list('?offset=2'), []);
  assert.equal((await list('?offset=0&limit=100')).length, 2);
});

test('list: invalid offset, limit, type and status are refused with their codes', async () => {
  for (const query of ['offset=-1', 'offset=x', 'limit=0', 'limit=101', 'limit=x']) assertCpsError(await call(t, 'GET', `${ENCODE_SERVERS}?${query}`), 400, 'CPS.0002', query);
  for (const query of ['type=2', 'type=-1', 'type=x']) assertCpsError(await call(t, 'GET', `${ENCODE_SERVERS}?${query}`), 400, 'CPS.0116', query);
  for (const query of ['status=6', 'status=99', 'status=-1', 'status=x']) assertCpsError(await call(t, 'GET', `${ENCODE_SERVERS}?${query}`), 400, 'CPS.0010', query);
});

test('list: a server_id that is unknown, malformed or another project\'s is refused with CPS.0123', async () => {
  for (const serverId of [UNKNOWN_ID, 'not-a-server', foreign.server_id]) {
    assertCpsError(await call(t, 'GET', `${ENCODE_SERVERS}?server_id=${serverId}`), 400, 'CPS.0123', serverId);
  }
});

test('restart: one job per encoding server; restarting (3) while the job is pending, then running (1)', async () => {
  const servers = await ofServer(encoded);
  const ids = servers.map((server) => server.encode_server_id);
  const { engine } = t.server.services;
  await engine.stop();
  let response: ApiResponse;
  try {
    response = await call(t, 'POST', RESTART, { body: { encode_server_ids: ids } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.match(response.body.request_id, HEX32);
    assert.deepEqual(response.body.jobs.map((job: { encode_server_id: string }) => job.encode_server_id), ids);
    for (const job of response.body.jobs) {
      assert.deepEqual(Object.keys(job).sort(), ['encode_server_id', 'job_id']);
      assert.equal((await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${job.job_id}`)).body.status, 1);
    }
    assert.deepEqual((await ofServer(encoded)).map((server) => server.status), [3, 3]);
    assert.deepEqual(byName(await list('?status=3')), ['ENCODE_SERVER_2', 'ENCODE_SERVER_1']);
    assert.deepEqual(await list('?status=1'), []);
    // A restarting encoding server is not running: a second restart is refused.
    const again = await call(t, 'POST', RESTART, { body: { encode_server_ids: [ids[0]] } });
    assert.deepEqual(again.body.jobs, [encodeServerError(ids[0], 'CPS.0208')]);
  } finally {
    await engine.start();
  }
  for (const job of response.body.jobs) assert.equal((await waitForJob(t, job.job_id)).status, 2);
  assert.deepEqual((await ofServer(encoded)).map((server) => server.status), [1, 1]);
  assert.deepEqual((await jobsOf(response.body.request_id)).map((job) => job.server_id), [encoded, encoded]);
});

test('restart: malformed, unknown, another project\'s and repeated ids are refused per item beside an accepted one', async () => {
  const [first] = await ofServer(encoded);
  const response = await call(t, 'POST', RESTART, {
    body: { encode_server_ids: ['not-an-id', UNKNOWN_ID, foreign.encode_server_id, first.encode_server_id, first.encode_server_id] },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const [malformed, unknown, others, accepted, repeated] = response.body.jobs;
  assert.deepEqual(malformed, encodeServerError('not-an-id', 'CPS.0121'));
  assert.deepEqual(unknown, encodeServerError(UNKNOWN_ID, 'CPS.0123'));
  assert.deepEqual(others, encodeServerError(foreign.encode_server_id, 'CPS.0123'));
  assert.match(accepted.job_id, HEX32);
  assert.deepEqual(repeated, encodeServerError(first.encode_server_id, 'CPS.0208'));
  assert.equal((await waitForJob(t, accepted.job_id)).status, 2);
  assert.deepEqual((await jobsOf(response.body.request_id)).map((job) => job.job_id), [accepted.job_id], 'refused items make no job');
  assert.equal((await list('', asOther()))[0].status, 1, 'the other project\'s encoding server was not touched');
});

test('restart: frozen (4) and not running encoding servers are refused with CPS.0195 and CPS.0208', async () => {
  const [second, first] = await ofServer(encoded);
  const restart = async () => (await call(t, 'POST', RESTART, { body: { encode_server_ids: [first.encode_server_id, second.encode_server_id] } })).body.jobs;
  try {
    await setEncodeStatus(first.encode_server_id, 4);
    await setEncodeStatus(second.encode_server_id, 2);
    assert.deepEqual(await restart(), [encodeServerError(first.encode_server_id, 'CPS.0195'), encodeServerError(second.encode_server_id, 'CPS.0208')]);
    assert.deepEqual(byName(await list('?status=4')), ['ENCODE_SERVER_1']);
    assert.deepEqual(byName(await list('?status=2')), ['ENCODE_SERVER_2']);
    await setEncodeStatus(first.encode_server_id, 1);
    await setEncodeStatus(second.encode_server_id, 1);
    // They follow their server: a frozen server's are frozen, an abnormal server's abnormal.
    await setServerStatus(encoded, 8);
    assert.deepEqual((await ofServer(encoded)).map((server) => server.status), [4, 4]);
    assert.deepEqual((await restart()).map((job: { error_code: string }) => job.error_code), ['CPS.0195', 'CPS.0195']);
    await setServerStatus(encoded, 2);
    assert.deepEqual((await ofServer(encoded)).map((server) => server.status), [2, 2]);
    assert.deepEqual((await restart()).map((job: { error_code: string }) => job.error_code), ['CPS.0208', 'CPS.0208']);
  } finally {
    await setEncodeStatus(first.encode_server_id, 1);
    await setEncodeStatus(second.encode_server_id, 1);
    await setServerStatus(encoded, 5);
  }
  assert.deepEqual((await ofServer(encoded)).map((server) => server.status), [1, 1]);
});

test('restart: a missing, empty, oversized or malformed list is refused whole with CPS.0122 or CPS.0121', async () => {
  const before = await list();
  for (const body of [{}, { encode_server_ids: [] }, { encode_server_ids: 'abc' }, { encode_server_ids: Array.from({ length: 101 }, () => UNKNOWN_ID) }, [1]]) {
    assertCpsError(await call(t, 'POST', RESTART, { body }), 400, 'CPS.0122', JSON.stringify(body).slice(0, 60));
  }
  const notJson = await fetch(`${t.url}${RESTART.replace('{project_id}', t.tenant.projectId)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Auth-Token': t.tenant.token },
    body: '{"encode_server_ids": [',
  });
  assert.equal(notJson.status, 400);
  assert.equal((await notJson.json()).error_code, 'CPS.0122');
  assertCpsError(await call(t, 'POST', RESTART, { body: { encode_server_ids: [{ id: UNKNOWN_ID }] } }), 400, 'CPS.0121');
  assert.deepEqual(await list(), before);
});

test('a bought server\'s encoding servers are creating (0) until it is normal, then running (1); they go with the server', async () => {
  const { engine } = t.server.services;
  await engine.stop();
  let bought: ApiResponse;
  let created: EncodeServer[];
  try {
    bought = await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones', { body: purchaseBody({ ...ENCODE_FLAVOR, server_name: 'fresh' }) });
    assert.equal(bought.status, 200, JSON.stringify(bought.body));
    created = await ofServer(bought.body.server_ids[0]);
    assert.deepEqual(created.map((server) => server.status), [0, 0]);
    for (const status of [0, 100, 1014]) assert.deepEqual(byName(await list(`?status=${status}`)), ['ENCODE_SERVER_2', 'ENCODE_SERVER_1'], `status=${status}`);
    const refused = await call(t, 'POST', RESTART, { body: { encode_server_ids: [created[0].encode_server_id] } });
    assert.deepEqual(refused.body.jobs, [encodeServerError(created[0].encode_server_id, 'CPS.0124')]);
  } finally {
    await engine.start();
  }
  const serverId = bought.body.server_ids[0];
  for (const job of await jobsOf(bought.body.request_id)) assert.equal((await waitForJob(t, job.job_id as string)).status, 2);
  assert.deepEqual((await ofServer(serverId)).map((server) => server.status), [1, 1]);

  const deleted = await call(t, 'DELETE', '/v2/{project_id}/cloud-phone/servers', { body: { server_ids: [serverId] } });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  assert.deepEqual((await list()).map((server) => server.server_id), [encoded, encoded]);
  assertCpsError(await call(t, 'GET', `${ENCODE_SERVERS}?server_id=${serverId}`), 400, 'CPS.0123');
  const gone = await call(t, 'POST', RESTART, { body: { encode_server_ids: [created[0].encode_server_id] } });
  assert.deepEqual(gone.body.jobs, [encodeServerError(created[0].encode_server_id, 'CPS.0123')]);
});
