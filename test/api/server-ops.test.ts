// Server operations and bandwidths over HTTP: UpdateServerName, RestartCloudPhoneServer, UpdateKeypair,
// ShowBandwidthDetail and UpdateBandwidth (spec §3.6, §3.13, §3.31, §3.14, §3.15).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, phoneDetail, phoneStatus, purchaseBody, serverDetail, startTestServer, waitForJob, type Target, type Tenant, type TestServer } from '../helpers/server.ts';
import { assertCpsError, cpsMessage, itemError } from '../helpers/cps.ts';

const SERVERS = '/v1/{project_id}/cloud-phone/servers';
const RESTART = `${SERVERS}/batch-restart`;
const OPEN_ACCESS = `${SERVERS}/open-access`;
const BANDWIDTHS = '/v1/{project_id}/cloud-phone/bandwidths';

const HEX32 = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WIRE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const UNKNOWN_BANDWIDTH = '70bb40be-f50e-4a14-b116-a5a527fd7432';

let t: TestServer;
let other: Tenant;
const asOther = (): Target => ({ url: t.url, tenant: other });
/** A server with a dedicated bandwidth, and one with a shared bandwidth of 100 Mbit/s. */
let dedicated: { serverId: string; phoneIds: string[] };
let shared: { serverId: string; phoneIds: string[] };

before(async () => {
  t = await startTestServer();
  other = await t.createTenant('tenant-b');
  const first = await buyServers(t);
  dedicated = { serverId: first.serverIds[0], phoneIds: first.phoneIds };
  const second = await buyServers(t, { server_name: 'shared-server', band_width: { band_width_share_type: 1, band_width_size: 100 } });
  shared = { serverId: second.serverIds[0], phoneIds: second.phoneIds };
});
after(() => t.close());

async function bandwidths(query = '', target: Target = t) {
  const response = await call(target, 'GET', `${BANDWIDTHS}${query}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.band_widths as Array<Record<string, any>>;
}

/** What a refused request must leave unchanged: the project's servers, phones and bandwidths. */
async function snapshot(target: Target = t) {
  const [servers, phones] = await Promise.all([call(target, 'GET', SERVERS), call(target, 'GET', '/v1/{project_id}/cloud-phone/phones')]);
  return { servers: servers.body.servers, phones: phones.body.phones, bandwidths: await bandwidths('', target) };
}

const phoneStatuses = (phoneIds: string[], target: Target = t) => Promise.all(phoneIds.map((id) => phoneStatus(target, id)));

// UpdateServerName (§3.13)

test('rename: the new name shows in the detail and list; the answer is only the request id', async () => {
  const response = await call(t, 'PUT', `${SERVERS}/${dedicated.serverId}`, { body: { server_name: 'new_Name-1' } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body), ['request_id']);
  assert.match(response.body.request_id, HEX32);
  assert.equal((await serverDetail(t, dedicated.serverId)).server_name, 'new_Name-1');
  const listed = await call(t, 'GET', `${SERVERS}?server_id=${dedicated.serverId}`);
  assert.equal(listed.body.servers[0].server_name, 'new_Name-1');
});

test('rename: an invalid name is refused with CPS.0087 and changes nothing', async () => {
  const before = await snapshot();
  for (const body of [{ server_name: '' }, { server_name: 'a'.repeat(61) }, { server_name: 'has space' }, { server_name: 'dot.ted' }, {}]) {
    assertCpsError(await call(t, 'PUT', `${SERVERS}/${dedicated.serverId}`, { body }), 400, 'CPS.0087', JSON.stringify(body));
  }
  assert.deepEqual(await snapshot(), before);
});

test('rename: an unknown server and another project\'s server both answer 404 CPS.0015', async () => {
  const before = await snapshot();
  assertCpsError(await call(t, 'PUT', `${SERVERS}/${UNKNOWN_ID}`, { body: { server_name: 'x' } }), 404, 'CPS.0015');
  assertCpsError(await call(asOther(), 'PUT', `${SERVERS}/${dedicated.serverId}`, { body: { server_name: 'x' } }), 404, 'CPS.0015');
  assert.deepEqual(await snapshot(), before);
});

// RestartCloudPhoneServer (§3.6)

test('restart: one job per server; the server and its phones come back to normal and running', async () => {
  const response = await call(t, 'POST', RESTART, { body: { server_ids: [dedicated.serverId, shared.serverId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.match(response.body.request_id, HEX32);
  assert.deepEqual(response.body.jobs.map((job: { server_id: string }) => job.server_id), [dedicated.serverId, shared.serverId]);
  for (const job of response.body.jobs) {
    assert.deepEqual(Object.keys(job).sort(), ['job_id', 'server_id']);
    const done = await waitForJob(t, job.job_id);
    assert.equal(done.status, 2, JSON.stringify(done));
  }
  const listed = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
  assert.deepEqual(listed.body.jobs.map((job: { server_id: string }) => job.server_id).sort(), [dedicated.serverId, shared.serverId].sort());
  for (const serverId of [dedicated.serverId, shared.serverId]) assert.equal((await serverDetail(t, serverId)).status, 5);
  assert.deepEqual(await phoneStatuses([...dedicated.phoneIds, ...shared.phoneIds]), [...dedicated.phoneIds, ...shared.phoneIds].map(() => 2));
});

test('restart: unknown, malformed and other projects\' ids are refused per item, beside an accepted server', async () => {
  const foreign = await buyServers(asOther());
  const response = await call(t, 'POST', RESTART, { body: { server_ids: [UNKNOWN_ID, 'not-an-id', foreign.serverIds[0], dedicated.serverId, dedicated.serverId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const [unknown, malformed, other, accepted, repeated] = response.body.jobs;
  assert.deepEqual(unknown, itemError('server_id', UNKNOWN_ID, 'CPS.0015'));
  assert.deepEqual(malformed, itemError('server_id', 'not-an-id', 'CPS.0097'));
  assert.deepEqual(other, itemError('server_id', foreign.serverIds[0], 'CPS.0015'));
  assert.match(accepted.job_id, HEX32);
  assert.deepEqual(repeated, itemError('server_id', dedicated.serverId, 'CPS.0158'));
  assert.equal((await waitForJob(t, accepted.job_id)).status, 2);
  assert.equal((await serverDetail(asOther(), foreign.serverIds[0])).status, 5, 'the other project\'s server was not touched');
});

test('restart: a batch where every server is refused writes nothing', async () => {
  const before = await snapshot();
  const response = await call(t, 'POST', RESTART, { body: { server_ids: [UNKNOWN_ID] } });
  assert.equal(response.status, 200);
  assert.equal(response.body.jobs[0].error_code, 'CPS.0015');
  const jobs = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
  assert.equal(jobs.body.error_code, 'CPS.0050', 'no job was recorded');
  assert.deepEqual(await snapshot(), before);
});

test('restart: empty, missing, too long or malformed server_ids are refused and change nothing', async () => {
  const before = await snapshot();
  const cases: Array<[unknown, string]> = [
    [{ server_ids: [] }, 'CPS.0095'],
    [{}, 'CPS.0095'],
    [{ server_ids: Array.from({ length: 101 }, () => dedicated.serverId) }, 'CPS.0096'],
    [{ server_ids: dedicated.serverId }, 'CPS.0094'],
    [{ server_ids: [{}] }, 'CPS.0094'],
  ];
  for (const [body, code] of cases) assertCpsError(await call(t, 'POST', RESTART, { body }), 400, code, JSON.stringify(body).slice(0, 80));
  assert.deepEqual(await snapshot(), before);
});

test('restart: exactly 100 servers is within the limit', async () => {
  const response = await call(t, 'POST', RESTART, { body: { server_ids: Array.from({ length: 100 }, () => UNKNOWN_ID) } });
  assert.equal(response.status, 200, JSON.stringify(response.body).slice(0, 200));
  assert.equal(response.body.jobs.length, 100);
});

test('restart on a slow server: 11 (being stopped) and phones at 4 at once, then 13 (starting), other server operations refused meanwhile, then 5 and 2', async () => {
  const slow = await startTestServer({ env: { OPENCPH_SIM_TIME_SCALE: '0.05' } });
  try {
    const bought = await call(slow, 'POST', '/v1/{project_id}/cloud-phone/phones', { body: purchaseBody() });
    const creating = bought.body.server_ids[0];
    const early = await call(slow, 'POST', RESTART, { body: { server_ids: [creating] } });
    assert.equal(early.body.jobs[0].error_code, 'CPS.0158', 'a server still being created cannot restart');
    const purchaseJobs = await call(slow, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${bought.body.request_id}`);
    for (const job of purchaseJobs.body.jobs) await waitForJob(slow, job.job_id, 60_000);
    const phones = (await call(slow, 'GET', `/v1/{project_id}/cloud-phone/phones?server_id=${creating}`)).body.phones.map((p: { phone_id: string }) => p.phone_id);

    const response = await call(slow, 'POST', RESTART, { body: { server_ids: [creating] } });
    const jobId = response.body.jobs[0].job_id;
    assert.match(jobId, HEX32);
    assert.equal((await serverDetail(slow, creating)).status, 11);
    assert.deepEqual(await phoneStatuses(phones, slow), phones.map(() => 4));
    const again = await call(slow, 'POST', RESTART, { body: { server_ids: [creating] } });
    assert.equal(again.body.jobs[0].error_code, 'CPS.0158', 'a restarting server cannot restart again');
    const phoneRestart = await call(slow, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-restart', { body: { phones: [{ phone_id: phones[0] }] } });
    assert.ok(phoneRestart.body.jobs[0].error_code, 'a restarting phone is not restarted on its own meanwhile');
    const keypair = await call(slow, 'PUT', OPEN_ACCESS, { body: { servers: [{ server_id: creating, keypair_name: 'later' }] } });
    assert.equal(keypair.body.jobs[0].error_code, 'CPS.0098', 'a restarting server is not ready for a key pair change');
    for (let status = 11; status !== 13; status = (await serverDetail(slow, creating)).status) {
      assert.ok([11, 10].includes(status), `${status} on the way from being stopped to starting`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(await phoneStatuses(phones, slow), phones.map(() => 4), 'the phones restart until they run');

    assert.equal((await waitForJob(slow, jobId, 60_000)).status, 2);
    assert.equal((await serverDetail(slow, creating)).status, 5);
    assert.deepEqual(await phoneStatuses(phones, slow), phones.map(() => 2));
  } finally {
    await slow.close();
  }
});

// UpdatePhoneName (§3.23): names are unique within a server

test('phone rename: a name another phone of the server has is refused with CPS.0026; its own name and a name used on another server are fine', async () => {
  const [first, second] = dedicated.phoneIds;
  const rename = (phoneId: string, name: string, target: Target = t) => call(target, 'PUT', `/v1/{project_id}/cloud-phone/phones/${phoneId}`, { body: { phone_name: name } });
  const nameOf = async (phoneId: string) => (await phoneDetail(t, phoneId)).phone_name as string;
  const taken = 'only-on-one-server';
  assert.equal((await rename(second, taken)).status, 200);
  const before = await snapshot();
  assertCpsError(await rename(first, taken), 400, 'CPS.0026');
  assert.deepEqual(await snapshot(), before);
  assert.equal((await rename(first, await nameOf(first))).status, 200, 'a phone may keep its name');
  assert.equal((await rename(shared.phoneIds[0], taken)).status, 200, 'another server may use the name');
  assert.equal(await nameOf(shared.phoneIds[0]), taken);
  assertCpsError(await rename(first, taken, asOther()), 404, 'CPS.0005', 'another project\'s phone is not found, whatever the name');
});

// UpdateKeypair (§3.31)

test('key pair: one job per server; the server APIs show the new key pair', async () => {
  const response = await call(t, 'PUT', OPEN_ACCESS, {
    body: { servers: [{ keypair_name: 'mykeypair', server_id: dedicated.serverId }, { keypair_name: 'KeyPair-2', server_id: shared.serverId }] },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(response.body.jobs.map((job: { server_id: string }) => job.server_id), [dedicated.serverId, shared.serverId]);
  for (const job of response.body.jobs) assert.equal((await waitForJob(t, job.job_id)).status, 2);
  assert.equal((await serverDetail(t, dedicated.serverId)).keypair_name, 'mykeypair');
  assert.equal((await serverDetail(t, shared.serverId)).keypair_name, 'KeyPair-2');
  const listed = await call(t, 'GET', `${SERVERS}?server_id=${shared.serverId}`);
  assert.equal(listed.body.servers[0].keypair_name, 'KeyPair-2');
});

test('key pair: refused items get their code beside accepted ones; a fully refused request writes nothing', async () => {
  const foreign = await buyServers(asOther(), { keypair_name: 'theirs' });
  const before = await snapshot();
  const refused = await call(t, 'PUT', OPEN_ACCESS, {
    body: {
      servers: [
        { server_id: 'bad', keypair_name: 'k' },
        { server_id: dedicated.serverId, keypair_name: '' },
        { server_id: dedicated.serverId, keypair_name: 'no spaces allowed' },
        { server_id: UNKNOWN_ID, keypair_name: 'k' },
        { server_id: foreign.serverIds[0], keypair_name: 'k' },
      ],
    },
  });
  assert.equal(refused.status, 200, JSON.stringify(refused.body));
  assert.deepEqual(refused.body.jobs.map((job: { error_code: string }) => job.error_code), ['CPS.0097', 'CPS.0068', 'CPS.0067', 'CPS.0015', 'CPS.0015']);
  for (const job of refused.body.jobs) assert.equal(job.error_msg, cpsMessage(job.error_code));
  assert.deepEqual(await snapshot(), before);
  assert.equal((await serverDetail(asOther(), foreign.serverIds[0])).keypair_name, 'theirs');
});

test('key pair: empty, missing, too long or malformed lists are refused and change nothing', async () => {
  const before = await snapshot();
  const item = { server_id: dedicated.serverId, keypair_name: 'k' };
  const cases: Array<[unknown, string]> = [
    [{ servers: [] }, 'CPS.0095'],
    [{}, 'CPS.0095'],
    [{ servers: Array.from({ length: 101 }, () => item) }, 'CPS.0096'],
    [{ servers: 'x' }, 'CPS.0094'],
    [{ servers: [{ keypair_name: 'k' }] }, 'CPS.0097'],
    [{ servers: [{ server_id: dedicated.serverId }] }, 'CPS.0068'],
    [{ servers: [{ server_id: dedicated.serverId, keypair_name: 'k'.repeat(65) }] }, 'CPS.0067'],
  ];
  for (const [body, code] of cases) assertCpsError(await call(t, 'PUT', OPEN_ACCESS, { body }), 400, code, JSON.stringify(body).slice(0, 80));
  assert.deepEqual(await snapshot(), before);
});

// ShowBandwidthDetail (§3.14)

test('bandwidths: every field as documented; dedicated and shared bandwidths of the purchases are listed', async () => {
  const rows = await bandwidths();
  for (const row of rows) {
    assert.deepEqual(Object.keys(row).sort(), [
      'band_width_charge_mode', 'band_width_id', 'band_width_name', 'band_width_share_type', 'band_width_size', 'create_time', 'update_time',
    ]);
    assert.match(row.band_width_id, UUID);
    assert.ok(row.band_width_name.length <= 64);
    assert.match(row.create_time, WIRE_TIME);
    assert.match(row.update_time, WIRE_TIME);
    assert.ok([0, 1].includes(row.band_width_charge_mode));
  }
  const detailIds = async (serverId: string) => (await serverDetail(t, serverId)).band_widths.map((b: { band_width_id: string }) => b.band_width_id);
  const [sharedId] = await detailIds(shared.serverId);
  assert.deepEqual(rows.find((row) => row.band_width_id === sharedId), (await serverDetail(t, shared.serverId)).band_widths[0]);
  assert.equal(rows.find((row) => row.band_width_id === sharedId)!.band_width_share_type, 1);
  for (const id of await detailIds(dedicated.serverId)) assert.equal(rows.find((row) => row.band_width_id === id)?.band_width_share_type, 0);
});

test('bandwidths: offset and limit page the list; bad values answer CPS.0002', async () => {
  const all = await bandwidths();
  assert.ok(all.length >= 2);
  assert.deepEqual(await bandwidths('?limit=1'), all.slice(0, 1));
  assert.deepEqual(await bandwidths('?offset=1&limit=100'), all.slice(1));
  assert.deepEqual(await bandwidths(`?offset=${all.length}`), []);
  for (const query of ['?limit=0', '?limit=101', '?offset=-1', '?limit=x']) {
    assertCpsError(await call(t, 'GET', `${BANDWIDTHS}${query}`), 400, 'CPS.0002', query);
  }
});

test('bandwidths: another project sees only its own', async () => {
  const foreign = await buyServers(asOther());
  const foreignIds: string[] = (await serverDetail(asOther(), foreign.serverIds[0])).band_widths.map((b: { band_width_id: string }) => b.band_width_id);
  assert.ok(foreignIds.length > 0);
  const mine = new Set((await bandwidths()).map((row) => row.band_width_id));
  const theirs = new Set((await bandwidths('', asOther())).map((row) => row.band_width_id));
  for (const id of foreignIds) assert.ok(theirs.has(id) && !mine.has(id), id);
  assert.deepEqual([...theirs].filter((id) => mine.has(id)), []);
});

// UpdateBandwidth (§3.15)

async function sharedBandwidthId() {
  return (await serverDetail(t, shared.serverId)).band_widths[0].band_width_id as string;
}

test('update bandwidth: a shared bandwidth takes any size on the documented steps', async () => {
  const id = await sharedBandwidthId();
  for (const size of [1, 300, 350, 1000, 1500, 2000, 350]) {
    const response = await call(t, 'PUT', `${BANDWIDTHS}/${id}`, { body: { band_width_size: size } });
    assert.equal(response.status, 200, `${size}: ${JSON.stringify(response.body)}`);
    assert.deepEqual(Object.keys(response.body), ['request_id']);
    assert.equal((await bandwidths()).find((row) => row.band_width_id === id)!.band_width_size, size);
  }
  assert.equal((await serverDetail(t, shared.serverId)).band_widths[0].band_width_size, 350, 'the server detail shows the new size');
});

test('update bandwidth: sizes off the steps or out of range answer CPS.0036 and change nothing', async () => {
  const id = await sharedBandwidthId();
  const before = await snapshot();
  for (const body of [{ band_width_size: 0 }, { band_width_size: 301 }, { band_width_size: 1050 }, { band_width_size: 2500 }, { band_width_size: 1.5 }, { band_width_size: 'big' }, {}]) {
    assertCpsError(await call(t, 'PUT', `${BANDWIDTHS}/${id}`, { body }), 400, 'CPS.0036', JSON.stringify(body));
  }
  assert.deepEqual(await snapshot(), before);
});

test('update bandwidth: a dedicated bandwidth answers CPS.0160', async () => {
  const before = await snapshot();
  const [id] = (await serverDetail(t, dedicated.serverId)).band_widths.map((b: { band_width_id: string }) => b.band_width_id);
  assertCpsError(await call(t, 'PUT', `${BANDWIDTHS}/${id}`, { body: { band_width_size: 100 } }), 400, 'CPS.0160');
  assert.deepEqual(await snapshot(), before);
});

test('update bandwidth: unknown and another project\'s bandwidths both answer 404 CPS.0115', async () => {
  const id = await sharedBandwidthId();
  const before = await snapshot();
  assertCpsError(await call(t, 'PUT', `${BANDWIDTHS}/${UNKNOWN_BANDWIDTH}`, { body: { band_width_size: 100 } }), 404, 'CPS.0115');
  assertCpsError(await call(asOther(), 'PUT', `${BANDWIDTHS}/${id}`, { body: { band_width_size: 100 } }), 404, 'CPS.0115');
  assert.deepEqual(await snapshot(), before);
});
