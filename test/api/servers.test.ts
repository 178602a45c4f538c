// Cloud phone servers over HTTP: both purchase APIs, list, detail and delete (spec §3.1, §3.2, §3.4, §3.5).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, phonesOf, purchaseBody, serverDetail, startTestServer, waitForJob, type Target, type Tenant, type TestServer } from '../helpers/server.ts';
import { assertCpsError, cpsMessage } from '../helpers/cps.ts';

const BUY_V1 = '/v1/{project_id}/cloud-phone/phones';
/** POST buys (v2), DELETE deletes. */
const V2_SERVERS = '/v2/{project_id}/cloud-phone/servers';
const SERVERS = '/v1/{project_id}/cloud-phone/servers';
const PHONES = '/v1/{project_id}/cloud-phone/phones';

const HEX32 = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WIRE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const UNKNOWN_SERVER_ID = '0123456789abcdef0123456789abcdef';
const EIP_ID = '1a1f3f1e-5b7c-4d8e-9f00-112233445566';

/** The fields of a `server` in ListCloudPhoneServers (§3.1); the detail adds the last three and `request_id`. */
const SERVER_FIELDS = [
  'server_name', 'availability_zone', 'server_id', 'server_model_name', 'phone_model_name', 'keypair_name', 'status',
  'vpc_id', 'resource_project_id', 'cidr', 'vpc_cidr', 'subnet_id', 'subnet_cidr', 'metadata', 'addresses',
  'network_version', 'enterprise_project_id', 'create_time', 'update_time',
];
const DETAIL_FIELDS = [...SERVER_FIELDS, 'request_id', 'band_widths', 'volumes', 'security_groups'];

/** The §3.4 example request (the helper's body), on a phone flavor of 15 phones per server (the example's has 60). */
const v1Example = () => purchaseBody({ server_name: 'myPhoneServer', count: 3 });

/** The §3.5 example request, verbatim, `"ids": ""` beside `eip` included. */
const v2Example = (): Record<string, any> => ({
  server_name: 'cph-kertus-1110',
  server_model_name: 'physical.kg1.4xlarge.cp',
  phone_model_name: 'kg1.cp.c20.d64SSD.e1v1',
  image_id: '20060220200717f201120a2300000e91',
  count: 1,
  keypair_name: 'keypair',
  ports: [
    { name: 'myServer1', listen_port: 20000, internet_accessible: 'false' },
    { name: 'myServer2', listen_port: 20001, internet_accessible: 'true' },
  ],
  extend_param: { charging_mode: 0, period_type: 2, period_num: 1, is_auto_pay: 0 },
  tenant_vpc_id: 'fca063f6-b942-42a8-9004-e5545f58d6a2',
  nics: [{ subnet_id: 'f1cbfc37-eb42-4357-a0ec-9e4f11950908' }],
  public_ip: { ids: '', eip: { type: '5_bgp' } },
  band_width: { band_width_share_type: 0, band_width_size: 300, band_width_charge_mode: 0 },
});

let t: TestServer;
let other: Tenant;
/** The same server, seen by another tenant. */
const asOther = (): Target => ({ url: t.url, tenant: other });

before(async () => {
  t = await startTestServer();
  other = await t.createTenant('tenant-b');
});
after(() => t.close());

/** Buys through v1 or v2, checks the response shape and waits until every server's provisioning job is done. */
async function buy(api: 'v1' | 'v2', body: Record<string, unknown>, target: Target = t) {
  const response = await call(target, 'POST', api === 'v1' ? BUY_V1 : V2_SERVERS, { body });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['order_id', 'product_id', 'request_id', 'server_ids']);
  assert.match(response.body.request_id, HEX32);
  assert.equal(response.headers.get('x-request-id'), response.body.request_id);
  assert.ok(response.body.order_id.length > 0 && response.body.order_id.length <= 64);
  assert.ok(response.body.product_id.length > 0 && response.body.product_id.length <= 64);
  assert.equal(response.body.server_ids.length, body.count);
  for (const id of response.body.server_ids) assert.match(id, HEX32);

  const jobs = await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
  assert.equal(jobs.status, 200, JSON.stringify(jobs.body));
  assert.deepEqual(jobs.body.jobs.map((job: { server_id: string }) => job.server_id).sort(), [...response.body.server_ids].sort(), 'one job per server');
  for (const job of jobs.body.jobs) assert.equal((await waitForJob(target, job.job_id)).status, 2, `provisioning job ${job.job_id}`);
  return response.body as { request_id: string; order_id: string; product_id: string; server_ids: string[] };
}

async function listServers(query = '', target: Target = t) {
  const response = await call(target, 'GET', `${SERVERS}${query}`);
  assert.equal(response.status, 200, `${query}: ${JSON.stringify(response.body)}`);
  assert.deepEqual(Object.keys(response.body).sort(), ['request_id', 'servers']);
  return response.body.servers as any[];
}

async function phoneCapacity(phoneModelName: string): Promise<number> {
  const response = await call(t, 'GET', '/v1/{project_id}/cloud-phone/phone-models');
  return response.body.phone_models.find((m: { phone_model_name: string }) => m.phone_model_name === phoneModelName).phone_capacity;
}

/** What a purchase writes: the project's servers and its phones. */
async function snapshot() {
  const phones = await call(t, 'GET', `${PHONES}?limit=1`);
  return { servers: await listServers(), phoneCount: phones.body.count };
}

/** A refused purchase: the documented error in the CPS envelope, and nothing written. */
async function assertRefused(api: 'v1' | 'v2', body: unknown, code: string) {
  const before = await snapshot();
  const response = await call(t, 'POST', api === 'v1' ? BUY_V1 : V2_SERVERS, { body });
  assertCpsError(response, 400, code);
  assert.deepEqual(await snapshot(), before, 'nothing was written');
  const jobs = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
  assert.equal(jobs.body.error_code, 'CPS.0050', 'no job was created');
}

const names = (servers: any[]) => servers.map((server) => server.server_name);
const ids = (servers: any[]) => servers.map((server) => server.server_id);

test('v1: the documented example buys three servers named -0001 to -0003, each with its phones running', async () => {
  const body = v1Example();
  const bought = await buy('v1', body);
  assert.equal(new Set(bought.server_ids).size, 3);
  const capacity = await phoneCapacity(body.phone_model_name);
  const servers = await Promise.all(bought.server_ids.map((id) => serverDetail(t, id)));
  assert.deepEqual(servers.map((s) => s.server_name).sort(), ['myPhoneServer-0001', 'myPhoneServer-0002', 'myPhoneServer-0003']);
  for (const server of servers) {
    assert.equal(server.status, 5, server.server_name);
    assert.equal(server.network_version, 'v1');
    assert.equal(server.server_model_name, body.server_model_name);
    assert.equal(server.phone_model_name, body.phone_model_name);
    assert.equal(server.keypair_name, body.keypair_name);
    assert.deepEqual(server.metadata, { order_id: bought.order_id, product_id: bought.product_id });
    const phones = await phonesOf(t, server.server_id);
    assert.equal(phones.length, capacity, `${server.server_name} has phone_capacity phones`);
    assert.ok(phones.every((phone) => phone.status === 2 && phone.image_id === body.image_id && phone.phone_model_name === body.phone_model_name));
  }
  const bandwidths = servers.flatMap((server) => server.band_widths);
  assert.ok(bandwidths.every((bandwidth) => bandwidth.band_width_share_type === 0 && bandwidth.band_width_size === 300), 'dedicated, 300 Mbit/s by default');
  assert.equal(new Set(bandwidths.map((bandwidth) => bandwidth.band_width_id)).size, bandwidths.length, 'no two servers share a dedicated bandwidth');
});

test('v2: the documented example, and one with an existing EIP and a chosen zone', async () => {
  const body = v2Example();
  const [id] = (await buy('v2', body)).server_ids;
  const server = await serverDetail(t, id);
  assert.equal(server.server_name, 'cph-kertus-1110', 'a single server keeps its name');
  assert.equal(server.status, 5);
  assert.equal(server.network_version, 'v2');
  assert.equal(server.vpc_id, body.tenant_vpc_id);
  assert.equal(server.subnet_id, body.nics[0].subnet_id);
  assert.equal((await phonesOf(t, id)).length, await phoneCapacity(body.phone_model_name));

  const withEip = await buy('v2', { ...v2Example(), server_name: 'cph-eip', public_ip: { ids: [EIP_ID] }, availability_zone: 'cn-east-3b' });
  const eipServer = await serverDetail(t, withEip.server_ids[0]);
  assert.equal(eipServer.status, 5);
  assert.equal(eipServer.availability_zone, 'cn-east-3b');
});

test('accepted boundaries: 60-character name with count 2, v2 dedicated sizes 350 and 1,500, v1 shared 5 and 2,000', async () => {
  const long = 'n'.repeat(60);
  const twins = await buy('v1', purchaseBody({ server_name: long, count: 2 }));
  const twinNames = await Promise.all(twins.server_ids.map(async (id) => (await serverDetail(t, id)).server_name));
  assert.deepEqual(twinNames.sort(), [`${long}-0001`, `${long}-0002`]);

  for (const size of [350, 1500]) {
    const [id] = (await buy('v2', { ...v2Example(), server_name: `size-${size}`, band_width: { band_width_share_type: 0, band_width_size: size, band_width_charge_mode: 1 } })).server_ids;
    assert.ok((await serverDetail(t, id)).band_widths.every((bandwidth: { band_width_size: number }) => bandwidth.band_width_size === size));
  }
  for (const size of [5, 2000]) {
    const [id] = (await buy('v1', purchaseBody({ server_name: `shared-${size}`, band_width: { band_width_share_type: 1, band_width_size: size } }))).server_ids;
    const [bandwidth] = (await serverDetail(t, id)).band_widths;
    assert.equal(bandwidth.band_width_share_type, 1);
    assert.equal(bandwidth.band_width_size, size);
  }
});

test('a shared bandwidth of the project can be reused; a dedicated one or another project\'s cannot (CPS.0033)', async () => {
  const sharedBody = (name: string, count = 1) => purchaseBody({ server_name: name, count, band_width: { band_width_share_type: 1, band_width_size: 10 } });
  const bandwidthOf = async (serverId: string, target: Target = t) => (await serverDetail(target, serverId)).band_widths[0].band_width_id as string;
  const reuse = (bandwidthId: string) => ({ ...v2Example(), server_name: 'bw-reuser', band_width: { band_width_share_type: 1, band_width_id: bandwidthId, band_width_charge_mode: 0 } });

  const owners = await Promise.all((await buy('v1', sharedBody('bw-owner', 2))).server_ids.map((id) => serverDetail(t, id)));
  assert.deepEqual(owners.map((owner) => owner.band_widths.length), [1, 1]);
  const shared: string = owners[0].band_widths[0].band_width_id;
  assert.equal(owners[1].band_widths[0].band_width_id, shared, 'one new shared bandwidth for the whole purchase');
  const [reuser] = (await buy('v2', reuse(shared))).server_ids;
  assert.deepEqual((await serverDetail(t, reuser)).band_widths.map((bandwidth: { band_width_id: string }) => bandwidth.band_width_id), [shared]);

  const dedicated = await bandwidthOf((await buy('v1', purchaseBody({ server_name: 'bw-dedicated' }))).server_ids[0]);
  const foreign = await bandwidthOf((await buy('v1', sharedBody('bw-foreign'), asOther())).server_ids[0], asOther());
  for (const bandwidthId of [dedicated, foreign, 'a4b1ccaa-70d4-4f0c-9a3b-6d1f1b2a3c4d']) {
    await assertRefused('v2', reuse(bandwidthId), 'CPS.0033');
    await assertRefused('v1', purchaseBody({ band_width: { band_width_id: bandwidthId } }), 'CPS.0033');
  }
});

test('list: server_name is a substring match, server_id exact, network_version case-insensitive', async () => {
  const alpha = await buy('v1', purchaseBody({ server_name: 'lst-alpha', count: 2 }));
  const [beta] = (await buy('v2', { ...v2Example(), server_name: 'lst-beta' })).server_ids;

  assert.deepEqual(names(await listServers('?server_name=lst-')).sort(), ['lst-alpha-0001', 'lst-alpha-0002', 'lst-beta']);
  assert.deepEqual(names(await listServers('?server_name=pha-000')).sort(), ['lst-alpha-0001', 'lst-alpha-0002']);
  assert.deepEqual(await listServers('?server_name=lst_alpha'), [], '_ is a literal character, not a wildcard');
  assert.deepEqual(await listServers('?server_name=lst%25'), [], '% is a literal character, not a wildcard');

  assert.deepEqual(ids(await listServers(`?server_id=${alpha.server_ids[1]}`)), [alpha.server_ids[1]]);
  assert.deepEqual(await listServers(`?server_id=${UNKNOWN_SERVER_ID}`), []);

  for (const version of ['v2', 'V2']) {
    const servers = await listServers(`?network_version=${version}`);
    assert.ok(servers.every((server) => server.network_version === 'v2'), version);
    assert.ok(ids(servers).includes(beta) && !ids(servers).includes(alpha.server_ids[0]), version);
  }
  for (const version of ['v1', 'V1']) {
    const servers = await listServers(`?network_version=${version}`);
    assert.ok(servers.every((server) => server.network_version === 'v1'), version);
    assert.ok(ids(servers).includes(alpha.server_ids[0]) && !ids(servers).includes(beta), version);
  }
  assert.deepEqual(names(await listServers('?server_name=lst-&network_version=V2')), ['lst-beta']);

  const theirView = ids(await listServers('', asOther()));
  assert.ok(![beta, ...alpha.server_ids].some((id) => theirView.includes(id)), 'another project sees none of them');
  assert.deepEqual(await listServers(`?server_id=${beta}`, asOther()), []);
});

test('list: newest first, offset and limit page through it, each server with every documented field', async () => {
  await buy('v1', purchaseBody({ server_name: 'page-older', count: 3 }));
  const [newest] = (await buy('v1', purchaseBody({ server_name: 'page-newest' }))).server_ids;
  const all = await listServers();
  assert.ok(all.length >= 4 && all.length < 100, 'the whole list fits in one default page');
  assert.equal(all[0].server_id, newest);
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].create_time >= all[i].create_time, 'descending creation time');
  for (const server of all) assert.deepEqual(Object.keys(server).sort(), [...SERVER_FIELDS].sort(), server.server_name);

  assert.deepEqual(await listServers('?offset=0&limit=100'), all);
  assert.deepEqual(await listServers('?offset=2&limit=3'), all.slice(2, 5));
  assert.deepEqual(await listServers('?limit=1'), all.slice(0, 1));
  assert.deepEqual(await listServers(`?offset=${all.length - 1}`), all.slice(-1));
  assert.deepEqual(await listServers(`?offset=${all.length}`), []);
  const named = await listServers('?server_name=page-');
  assert.equal(named.length, 4);
  assert.deepEqual(await listServers('?server_name=page-&offset=1&limit=2'), named.slice(1, 3));
});

test('list: invalid paging, server_id or network_version is refused with its code', async () => {
  const cases: Array<[string, string]> = [
    ['limit=0', 'CPS.0002'],
    ['limit=101', 'CPS.0002'],
    ['limit=abc', 'CPS.0002'],
    ['offset=-1', 'CPS.0002'],
    ['offset=abc', 'CPS.0002'],
    ['server_id=not-a-server-id', 'CPS.0097'],
    ['network_version=v3', 'CPS.0240'],
    ['network_version=', 'CPS.0240'],
  ];
  for (const [query, code] of cases) assertCpsError(await call(t, 'GET', `${SERVERS}?${query}`), 400, code, query);
});

test('detail: every documented field, in its documented form, for a v1 and a v2 server', async () => {
  const v1 = await buy('v1', purchaseBody({ server_name: 'detail-v1', subnet_cidr: '10.20.30.0/24' }));
  const v2Body = v2Example();
  const v2 = await buy('v2', { ...v2Body, server_name: 'detail-v2' });
  // Both bodies ask for dedicated bandwidth of 300 Mbit/s: v1 by default, billed by traffic; v2 explicitly, billed by bandwidth.
  const cases = [
    { bought: v1, network: 'v1', body: purchaseBody(), chargeMode: 1 },
    { bought: v2, network: 'v2', body: v2Body, chargeMode: 0 },
  ];
  for (const { bought, network, body, chargeMode } of cases) {
    const server = await serverDetail(t, bought.server_ids[0]);
    const context = `${network} server`;
    assert.deepEqual(Object.keys(server).sort(), [...DETAIL_FIELDS].sort(), context);
    assert.match(server.request_id, HEX32);
    assert.equal(server.server_id, bought.server_ids[0]);
    assert.equal(server.server_name, `detail-${network}`);
    assert.equal(server.server_model_name, body.server_model_name, context);
    assert.equal(server.phone_model_name, body.phone_model_name, context);
    assert.equal(server.keypair_name, body.keypair_name, context);
    assert.equal(server.status, 5, context);
    assert.equal(server.network_version, network);
    assert.equal(server.resource_project_id, t.tenant.projectId, context);
    assert.equal(server.enterprise_project_id, '0', context);
    assert.deepEqual(server.metadata, { order_id: bought.order_id, product_id: bought.product_id }, context);
    assert.match(server.availability_zone, /\S/, context);
    assert.match(server.vpc_id, UUID, context);
    assert.match(server.subnet_id, UUID, context);
    for (const key of ['vpc_cidr', 'subnet_cidr']) assert.match(server[key], /^\d+\.\d+\.\d+\.\d+\/\d+$/, `${context} ${key}`);
    assert.equal(server.cidr, server.vpc_cidr, `${context}: cidr is the deprecated vpc_cidr`);
    for (const key of ['create_time', 'update_time']) assert.match(server[key], WIRE_TIME, `${context} ${key}`);
    assert.ok(server.create_time <= server.update_time, context);

    assert.ok(server.addresses.length >= 1, context);
    for (const address of server.addresses) {
      assert.deepEqual(Object.keys(address).sort(), ['access_ip', 'intranet_ip', 'public_ip', 'server_ip'], context);
      assert.match(address.server_ip, /^\d+\.\d+\.\d+\.\d+$/, context);
      assert.match(address.public_ip, /^\d+\.\d+\.\d+\.\d+$/, context);
      assert.equal(address.intranet_ip, address.server_ip, `${context}: intranet_ip is the deprecated server_ip`);
      assert.equal(address.access_ip, address.public_ip, `${context}: access_ip is the deprecated public_ip`);
    }

    assert.equal(server.band_widths.length, server.addresses.length, `${context}: a dedicated bandwidth per public IP`);
    for (const bandwidth of server.band_widths) {
      assert.deepEqual(Object.keys(bandwidth).sort(), ['band_width_charge_mode', 'band_width_id', 'band_width_name', 'band_width_share_type', 'band_width_size', 'create_time', 'update_time'], context);
      assert.match(bandwidth.band_width_id, UUID, context);
      assert.match(bandwidth.band_width_name, /\S/, context);
      assert.equal(bandwidth.band_width_share_type, 0, context);
      assert.equal(bandwidth.band_width_size, 300, context);
      assert.equal(bandwidth.band_width_charge_mode, chargeMode, context);
      for (const key of ['create_time', 'update_time']) assert.match(bandwidth[key], WIRE_TIME, `${context} band width ${key}`);
    }

    assert.ok(Array.isArray(server.volumes), context);
    for (const volume of server.volumes) {
      assert.deepEqual(Object.keys(volume).sort(), ['create_time', 'update_time', 'volume_id', 'volume_name', 'volume_size', 'volume_type'], context);
      assert.match(volume.volume_id, UUID, context);
      assert.ok(Number.isInteger(volume.volume_size) && volume.volume_size > 0, context);
      for (const key of ['create_time', 'update_time']) assert.match(volume[key], WIRE_TIME, `${context} volume ${key}`);
    }

    const [listed] = await listServers(`?server_id=${server.server_id}`);
    assert.deepEqual(listed, Object.fromEntries(SERVER_FIELDS.map((key) => [key, server[key]])), `${context}: list and detail agree`);
  }

  const v1Server = await serverDetail(t, v1.server_ids[0]);
  assert.deepEqual(v1Server.security_groups, [], 'a v1 server has no security group');
  assert.equal(v1Server.subnet_cidr, '10.20.30.0/24', 'the requested subnet_cidr');
  const v2Server = await serverDetail(t, v2.server_ids[0]);
  assert.equal(v2Server.security_groups.length, 1);
  assert.match(v2Server.security_groups[0], UUID);
  assert.equal(v2Server.vpc_id, v2Body.tenant_vpc_id);
  assert.equal(v2Server.subnet_id, v2Body.nics[0].subnet_id);
});

test('detail: an unknown server and another project\'s server give the same 404 CPS.0015', async () => {
  const [theirs] = (await buy('v1', purchaseBody({ server_name: 'theirs' }), asOther())).server_ids;
  const unknown = await call(t, 'GET', `${SERVERS}/${UNKNOWN_SERVER_ID}`);
  const foreign = await call(t, 'GET', `${SERVERS}/${theirs}`);
  assertCpsError(unknown, 404, 'CPS.0015');
  assertCpsError(foreign, 404, 'CPS.0015');
  const { request_id: _unknownRequest, ...unknownRest } = unknown.body;
  const { request_id: _foreignRequest, ...foreignRest } = foreign.body;
  assert.deepEqual(foreignRest, unknownRest);
  assert.equal((await serverDetail(asOther(), theirs)).server_name, 'theirs', 'its owner still sees it');
});

test('delete: the job completes and the servers and their phones are gone', async () => {
  const bought = await buy('v1', purchaseBody({ server_name: 'doomed', count: 2 }));
  const [keptId] = (await buy('v1', purchaseBody({ server_name: 'kept' }))).server_ids;
  const doomedPhones = (await Promise.all(bought.server_ids.map((id) => phonesOf(t, id)))).flat();
  assert.equal(doomedPhones.length, 2 * (await phoneCapacity(purchaseBody().phone_model_name)));
  const keptPhones = await phonesOf(t, keptId);

  const response = await call(t, 'DELETE', V2_SERVERS, { body: { server_ids: bought.server_ids } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['job_id', 'request_id']);
  assert.match(response.body.job_id, HEX32);
  assert.equal((await waitForJob(t, response.body.job_id)).status, 2);

  for (const id of bought.server_ids) {
    assertCpsError(await call(t, 'GET', `${SERVERS}/${id}`), 404, 'CPS.0015');
    assert.deepEqual(await phonesOf(t, id), []);
  }
  assert.deepEqual(await listServers('?server_name=doomed'), []);
  for (const phone of doomedPhones) assert.equal((await call(t, 'GET', `${PHONES}/${phone.phone_id}`)).status, 404);
  assert.equal((await serverDetail(t, keptId)).status, 5, 'other servers stay');
  assert.deepEqual(await phonesOf(t, keptId), keptPhones);
});

test('delete: unknown or another project\'s server ids are refused with CPS.0015 and nothing is deleted', async () => {
  const [mine] = (await buy('v1', purchaseBody({ server_name: 'survivor' }))).server_ids;
  const [theirs] = (await buy('v1', purchaseBody({ server_name: 'their-survivor' }), asOther())).server_ids;
  const deleteServers = (body: unknown, target: Target = t) => call(target, 'DELETE', V2_SERVERS, { body });

  for (const serverIds of [[UNKNOWN_SERVER_ID], [mine, UNKNOWN_SERVER_ID], [mine, theirs]]) {
    assertCpsError(await deleteServers({ server_ids: serverIds }), 400, 'CPS.0015', serverIds.join());
  }
  assertCpsError(await deleteServers({ server_ids: [mine] }, asOther()), 400, 'CPS.0015', 'another project deletes mine');
  assertCpsError(await deleteServers({ server_ids: [] }), 400, 'CPS.0095', 'empty server_ids');
  assertCpsError(await deleteServers({}), 400, 'CPS.0095', 'no server_ids');

  assert.equal((await serverDetail(t, mine)).status, 5);
  assert.ok((await phonesOf(t, mine)).every((phone) => phone.status === 2));
  assert.equal((await serverDetail(asOther(), theirs)).status, 5);
  assert.ok((await phonesOf(asOther(), theirs)).length > 0);
});

/** One refused purchase: which API, how the valid body is spoiled, and the documented code. */
interface Refusal {
  name: string;
  api: 'v1' | 'v2';
  spoil: (body: Record<string, any>) => void;
  code: string;
}

const ports = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `p${i}`, listen_port: 20000 + i, internet_accessible: 'true' }));

const refusals: Refusal[] = [
  { name: 'server_name of 61 characters', api: 'v1', spoil: (b) => (b.server_name = 'n'.repeat(61)), code: 'CPS.0087' },
  { name: 'server_name with a space', api: 'v1', spoil: (b) => (b.server_name = 'my server'), code: 'CPS.0087' },
  { name: 'server_name with a dot', api: 'v2', spoil: (b) => (b.server_name = 'my.server'), code: 'CPS.0087' },
  { name: 'server_name missing', api: 'v1', spoil: (b) => delete b.server_name, code: 'CPS.0087' },
  { name: 'server_model_name missing', api: 'v1', spoil: (b) => delete b.server_model_name, code: 'CPS.0088' },
  { name: 'server_model_name empty', api: 'v2', spoil: (b) => (b.server_model_name = ''), code: 'CPS.0088' },
  { name: 'server_model_name unknown', api: 'v1', spoil: (b) => (b.server_model_name = 'physical.xx1.xlarge'), code: 'CPS.0089' },
  {
    name: 'v1 purchase of a v2-only server flavor',
    api: 'v1',
    spoil: (b) => Object.assign(b, { server_model_name: 'physical.kg1.4xlarge.cp', phone_model_name: 'kg1.cp.c20.d64SSD.e1v1', image_id: '20060220200717f201120a2300000e91' }),
    code: 'CPS.0256',
  },
  { name: 'phone_model_name missing', api: 'v1', spoil: (b) => delete b.phone_model_name, code: 'CPS.0027' },
  { name: 'phone_model_name empty', api: 'v2', spoil: (b) => (b.phone_model_name = ''), code: 'CPS.0027' },
  { name: 'phone_model_name unknown', api: 'v1', spoil: (b) => (b.phone_model_name = 'rx1.cp.c99.d1.e1v1'), code: 'CPS.0028' },
  { name: 'phone flavor of another server flavor', api: 'v1', spoil: (b) => (b.phone_model_name = 'rx1.cg.c15.d30.e1v1'), code: 'CPS.0157' },
  { name: 'offline phone flavor', api: 'v1', spoil: (b) => (b.phone_model_name = 'rx1.cp.c60.d10.e1v1.offline'), code: 'CPS.0257' },
  { name: 'image_id missing', api: 'v1', spoil: (b) => delete b.image_id, code: 'CPS.0029' },
  { name: 'image_id empty', api: 'v2', spoil: (b) => (b.image_id = ''), code: 'CPS.0029' },
  { name: 'image_id unknown', api: 'v1', spoil: (b) => (b.image_id = 'ffffffffffffffffffffffffffffffff'), code: 'CPS.0030' },
  { name: 'image that does not run on the phone flavor', api: 'v1', spoil: (b) => (b.image_id = 'be4d231e44d2a4ccf612660a473fe1e3'), code: 'CPS.0255' },
  { name: 'count 0', api: 'v1', spoil: (b) => (b.count = 0), code: 'CPS.0024' },
  { name: 'count 11', api: 'v2', spoil: (b) => (b.count = 11), code: 'CPS.0024' },
  { name: 'count "abc"', api: 'v1', spoil: (b) => (b.count = 'abc'), code: 'CPS.0024' },
  { name: 'count 1.5', api: 'v1', spoil: (b) => (b.count = 1.5), code: 'CPS.0024' },
  { name: 'count missing', api: 'v1', spoil: (b) => delete b.count, code: 'CPS.0024' },
  { name: 'keypair_name empty', api: 'v1', spoil: (b) => (b.keypair_name = ''), code: 'CPS.0068' },
  { name: 'band_width missing', api: 'v1', spoil: (b) => delete b.band_width, code: 'CPS.0031' },
  { name: 'band_width missing (v2)', api: 'v2', spoil: (b) => delete b.band_width, code: 'CPS.0031' },
  { name: 'band_width not an object', api: 'v1', spoil: (b) => (b.band_width = 'dedicated'), code: 'CPS.0031' },
  { name: 'band_width_share_type 2', api: 'v1', spoil: (b) => (b.band_width = { band_width_share_type: 2 }), code: 'CPS.0034' },
  { name: 'band_width_share_type 2 (v2)', api: 'v2', spoil: (b) => (b.band_width.band_width_share_type = 2), code: 'CPS.0034' },
  { name: 'v1 band_width without id or share type', api: 'v1', spoil: (b) => (b.band_width = {}), code: 'CPS.0034' },
  { name: 'v1 shared band_width without size', api: 'v1', spoil: (b) => (b.band_width = { band_width_share_type: 1 }), code: 'CPS.0036' },
  { name: 'v1 shared band_width_size 4', api: 'v1', spoil: (b) => (b.band_width = { band_width_share_type: 1, band_width_size: 4 }), code: 'CPS.0036' },
  { name: 'v1 shared band_width_size 2001', api: 'v1', spoil: (b) => (b.band_width = { band_width_share_type: 1, band_width_size: 2001 }), code: 'CPS.0036' },
  { name: 'v2 shared band_width without band_width_id', api: 'v2', spoil: (b) => (b.band_width = { band_width_share_type: 1, band_width_charge_mode: 0 }), code: 'CPS.0032' },
  { name: 'v2 band_width_charge_mode 2', api: 'v2', spoil: (b) => (b.band_width.band_width_charge_mode = 2), code: 'CPS.0035' },
  { name: 'v2 band_width_charge_mode missing', api: 'v2', spoil: (b) => delete b.band_width.band_width_charge_mode, code: 'CPS.0035' },
  { name: 'v2 dedicated band_width_size missing', api: 'v2', spoil: (b) => delete b.band_width.band_width_size, code: 'CPS.0036' },
  ...[0, 301, 325, 1200, 2001].map((size): Refusal => ({
    name: `v2 dedicated band_width_size ${size}`,
    api: 'v2',
    spoil: (b) => (b.band_width.band_width_size = size),
    code: 'CPS.0036',
  })),
  { name: 'extend_param missing', api: 'v1', spoil: (b) => delete b.extend_param, code: 'CPS.0055' },
  { name: 'extend_param not an object', api: 'v2', spoil: (b) => (b.extend_param = 'monthly'), code: 'CPS.0055' },
  { name: 'charging_mode 1', api: 'v1', spoil: (b) => (b.extend_param.charging_mode = 1), code: 'CPS.0056' },
  { name: 'charging_mode missing', api: 'v2', spoil: (b) => delete b.extend_param.charging_mode, code: 'CPS.0056' },
  { name: 'period_type 1', api: 'v1', spoil: (b) => (b.extend_param.period_type = 1), code: 'CPS.0057' },
  { name: 'period_num 10 months', api: 'v1', spoil: (b) => Object.assign(b.extend_param, { period_type: 2, period_num: 10 }), code: 'CPS.0058' },
  { name: 'period_num 11 years', api: 'v2', spoil: (b) => Object.assign(b.extend_param, { period_type: 3, period_num: 11 }), code: 'CPS.0058' },
  { name: 'period_num 0', api: 'v1', spoil: (b) => (b.extend_param.period_num = 0), code: 'CPS.0058' },
  { name: 'is_auto_renew 2', api: 'v1', spoil: (b) => (b.extend_param.is_auto_renew = 2), code: 'CPS.0059' },
  { name: 'is_auto_pay 2', api: 'v2', spoil: (b) => (b.extend_param.is_auto_pay = 2), code: 'CPS.0060' },
  { name: 'enterprise_project_id not an id', api: 'v1', spoil: (b) => (b.extend_param.enterprise_project_id = 'my-project'), code: 'CPS.0316' },
  { name: 'port named adb', api: 'v1', spoil: (b) => (b.ports[0].name = 'adb'), code: 'CPS.0038' },
  { name: 'port named vnc', api: 'v2', spoil: (b) => (b.ports[1].name = 'vnc'), code: 'CPS.0038' },
  { name: 'port name of 17 characters', api: 'v1', spoil: (b) => (b.ports[0].name = 'p'.repeat(17)), code: 'CPS.0038' },
  { name: 'port name missing', api: 'v1', spoil: (b) => delete b.ports[0].name, code: 'CPS.0038' },
  { name: 'two ports with one name', api: 'v1', spoil: (b) => (b.ports[1].name = b.ports[0].name), code: 'CPS.0039' },
  { name: 'listen_port 9999', api: 'v1', spoil: (b) => (b.ports[0].listen_port = 9999), code: 'CPS.0040' },
  { name: 'listen_port 50001', api: 'v2', spoil: (b) => (b.ports[0].listen_port = 50001), code: 'CPS.0040' },
  { name: 'two ports on one listen_port', api: 'v1', spoil: (b) => (b.ports[1].listen_port = b.ports[0].listen_port), code: 'CPS.0041' },
  { name: 'internet_accessible empty', api: 'v1', spoil: (b) => (b.ports[0].internet_accessible = ''), code: 'CPS.0093' },
  { name: 'internet_accessible missing', api: 'v2', spoil: (b) => delete b.ports[0].internet_accessible, code: 'CPS.0093' },
  { name: 'more ports than allowed', api: 'v1', spoil: (b) => (b.ports = ports(9)), code: 'CPS.0145' },
  { name: 'ports not an array', api: 'v1', spoil: (b) => (b.ports = 'myServer1'), code: 'CPS.0037' },
  { name: 'a port that is not an object', api: 'v1', spoil: (b) => (b.ports = ['myServer1']), code: 'CPS.0037' },
  { name: 'subnet_cidr not a CIDR', api: 'v1', spoil: (b) => (b.subnet_cidr = '192.168.0.0'), code: 'CPS.0191' },
  { name: 'subnet_cidr not private', api: 'v1', spoil: (b) => (b.subnet_cidr = '8.8.8.0/24'), code: 'CPS.0191' },
  { name: 'tenant_vpc_id not a UUID', api: 'v2', spoil: (b) => (b.tenant_vpc_id = 'vpc-01'), code: 'CPS.0223' },
  { name: 'tenant_vpc_id missing', api: 'v2', spoil: (b) => delete b.tenant_vpc_id, code: 'CPS.0223' },
  { name: 'nics empty', api: 'v2', spoil: (b) => (b.nics = []), code: 'CPS.0226' },
  { name: 'nics missing', api: 'v2', spoil: (b) => delete b.nics, code: 'CPS.0226' },
  { name: 'nics entry not an object', api: 'v2', spoil: (b) => (b.nics = ['f1cbfc37-eb42-4357-a0ec-9e4f11950908']), code: 'CPS.0226' },
  { name: 'subnet_id not a UUID', api: 'v2', spoil: (b) => (b.nics[0].subnet_id = 'subnet-01'), code: 'CPS.0224' },
  { name: 'subnet_id missing', api: 'v2', spoil: (b) => (b.nics = [{}]), code: 'CPS.0224' },
  { name: 'public_ip missing', api: 'v2', spoil: (b) => delete b.public_ip, code: 'CPS.0238' },
  { name: 'public_ip with neither eip nor ids', api: 'v2', spoil: (b) => (b.public_ip = { ids: '' }), code: 'CPS.0238' },
  { name: 'public_ip with both eip and ids', api: 'v2', spoil: (b) => (b.public_ip.ids = [EIP_ID]), code: 'CPS.0238' },
  { name: 'eip type unknown', api: 'v2', spoil: (b) => (b.public_ip.eip.type = '5_xyz'), code: 'CPS.0239' },
  { name: 'eip without type', api: 'v2', spoil: (b) => (b.public_ip.eip = {}), code: 'CPS.0239' },
  { name: 'ids with two entries', api: 'v2', spoil: (b) => (b.public_ip = { ids: [EIP_ID, '2b2f3f1e-5b7c-4d8e-9f00-112233445566'] }), code: 'CPS.0253' },
  { name: 'ids entry not a UUID', api: 'v2', spoil: (b) => (b.public_ip = { ids: ['eip-01'] }), code: 'CPS.0253' },
  { name: 'ids entry not a string', api: 'v2', spoil: (b) => (b.public_ip = { ids: [42] }), code: 'CPS.0253' },
  { name: 'ids an object', api: 'v2', spoil: (b) => (b.public_ip = { ids: { id: EIP_ID } }), code: 'CPS.0253' },
  { name: 'ids for two servers', api: 'v2', spoil: (b) => Object.assign(b, { count: 2, public_ip: { ids: [EIP_ID] } }), code: 'CPS.0251' },
  {
    name: 'ids for a phone flavor with two EIPs',
    api: 'v2',
    spoil: (b) => Object.assign(b, { phone_model_name: 'kg1.cp.c150.d10GPSSD.e2v2.br150', public_ip: { ids: [EIP_ID] } }),
    code: 'CPS.0252',
  },
  { name: 'availability_zone unknown', api: 'v2', spoil: (b) => (b.availability_zone = 'mars-1a'), code: 'CPS.0211' },
];

test('every documented purchase error: its code and verbatim message, and nothing written', async (t) => {
  for (const refusal of refusals) {
    await t.test(`${refusal.api}: ${refusal.name} → ${refusal.code}`, async () => {
      const body = refusal.api === 'v1' ? purchaseBody() : v2Example();
      refusal.spoil(body);
      await assertRefused(refusal.api, body, refusal.code);
    });
  }
});

test('a body that is not JSON is refused with the CPS envelope and writes nothing', async () => {
  const before = await snapshot();
  for (const path of [BUY_V1, V2_SERVERS]) {
    const response = await fetch(`${t.url}${path.replace('{project_id}', t.tenant.projectId)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Auth-Token': t.tenant.token },
      body: '{"server_name": "broken",',
    });
    const body = await response.json();
    assert.equal(response.status, 400, path);
    assert.deepEqual(Object.keys(body).sort(), ['error_code', 'error_msg', 'request_id'], path);
    assert.equal(body.error_msg, cpsMessage(body.error_code), `${path}: a documented code with its message`);
    assert.equal(response.headers.get('x-request-id'), body.request_id, path);
  }
  assert.deepEqual(await snapshot(), before);
});
