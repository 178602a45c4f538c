// Flavor and server changes over HTTP: ChangeCloudPhoneServerModel (spec §3.12) and the v2
// ChangeCloudPhoneServer (seed 003, spec §3.39), including the way Terraform drives a server: buy it, poll
// it until it is normal, act, poll the request's jobs until none runs.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, phoneDetail, phonesOf, purchaseBody, serverDetail, startTestServer, waitForJob, type Target, type Tenant, type TestServer } from '../helpers/server.ts';
import { ADMIN_ENV, addFault, admin } from '../helpers/admin.ts';
import { assertCpsError, cpsMessage } from '../helpers/cps.ts';

const SERVERS = '/v1/{project_id}/cloud-phone/servers';
const PHONES = '/v1/{project_id}/cloud-phone/phones';
const CHANGE_MODEL = `${SERVERS}/change-server-model`;
const change = (serverId: string) => `/v2/{project_id}/cloud-phone/servers/${serverId}/change`;

const HEX32 = /^[0-9a-f]{32}$/;
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const VPC = 'fca063f6-b942-42a8-9004-e5545f58d6a2';
const SUBNET = 'f1cbfc37-eb42-4357-a0ec-9e4f11950908';
/** The §3.4 purchase example's image (AOSP 7.0, cloud_phone), which runs on every rx1 cloud-phone flavor. */
const RX1_IMAGE = '88b8449b896f3a4f0ad57222dd919899';

/** A server on the special flavor: 105 phones of rx1.cp.sp.c105.d8.e5v5 (the §3.12 example's target). */
const SPECIAL = { server_model_name: 'physical.rx1.xlarge.special', phone_model_name: 'rx1.cp.sp.c105.d8.e5v5' };
/** Where a special server may go: the same generation, 105 phones again. */
const TO_REGULAR = { server_model_name: 'physical.rx1.xlarge', phone_model_name: 'rx1.cp.c105.d6.e5v5' };

/** The seed 003 example request, verbatim. */
const CHANGE_EXAMPLE = {
  phone_model_name: 'kg1.cp.c20.d64SSD.e1v1',
  image_id: '20060220200717f201120a2300000e91',
  keypair_name: 'keypair',
  property: '{"sys.prop.writephonenum":"13666666666","sys.prop.writeimsi":"460021624617113","sys.prop.writewifissid":"test_wifi"}',
  ports: [
    { name: 'myServer1', listen_port: 20000, internet_accessible: 'false' },
    { name: 'myServer2', listen_port: 20001, internet_accessible: 'true' },
  ],
  extend_param: { enterprise_project_id: '0' },
  tenant_vpc_id: VPC,
  nics: [{ subnet_id: SUBNET }],
  public_ip: { eip: { type: '5_bgp' } },
  band_width: { band_width_share_type: 0, band_width_size: 300, band_width_charge_mode: 1 },
};

let t: TestServer;
let other: Tenant;
const asOther = (): Target => ({ url: t.url, tenant: other });

before(async () => {
  t = await startTestServer({ env: { ...ADMIN_ENV, OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  other = await t.createTenant('tenant-b');
});
// A test that fails half-way leaves no rule behind for the next one.
afterEach(() => admin(t, 'DELETE', '/admin/faults'));
after(() => t.close());

/** What a refused request must leave unchanged: the project's servers, phones and bandwidths. */
async function snapshot(target: Target = t) {
  const [servers, phones, bandwidths] = await Promise.all([
    call(target, 'GET', SERVERS),
    call(target, 'GET', PHONES),
    call(target, 'GET', '/v1/{project_id}/cloud-phone/bandwidths'),
  ]);
  return { servers: servers.body.servers, phones: phones.body.phones, count: phones.body.count, bandwidths: bandwidths.body.band_widths };
}

/** Polls the server detail until `done` holds, as Terraform's state refresh does. */
async function pollServer(serverId: string, done: (status: number) => boolean, target: Target = t, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const detail = await serverDetail(target, serverId);
    if (done(detail.status)) return detail;
    if (Date.now() > deadline) throw new Error(`server ${serverId} still at ${detail.status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls `GET …/jobs?request_id=` until no job of the request is running; the jobs. */
async function pollRequest(requestId: string, timeoutMs = 20_000): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${requestId}`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    if (response.body.jobs.every((job: { status: number }) => job.status !== 1)) return response.body.jobs;
    if (Date.now() > deadline) throw new Error(`request ${requestId} still has running jobs`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function shell(phoneId: string, content: string) {
  const response = await call(t, 'POST', `${PHONES}/sync-commands`, { body: { command: 'shell', content, phone_ids: [phoneId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.jobs[0] as { status: number; execute_msg: string | null };
}

/** Holds every phone creation on the server until the returned release is called; then they fail. */
async function holdCreation(serverId: string) {
  const rule = await addFault(t, { operation: 'create', server_id: serverId, mode: 'hang', times: 0 });
  return async () => assert.equal((await admin(t, 'DELETE', `/admin/faults/${rule.id}`)).status, 204);
}

describe('ChangeCloudPhoneServerModel', () => {
  let special: string;
  before(async () => {
    special = (await buyServers(t, { server_name: 'special', ...SPECIAL })).serverIds[0];
  });

  test('Terraform-style: buy a special server, wait for 5, change its flavor, wait for its jobs; the phones are rebuilt with their data gone', async () => {
    const bought = await call(t, 'POST', PHONES, { body: purchaseBody({ server_name: 'tf-special', ...SPECIAL }) });
    assert.equal(bought.status, 200, JSON.stringify(bought.body));
    const [serverId] = bought.body.server_ids;
    await pollServer(serverId, (status) => status === 5);
    const before = await phonesOf(t, serverId);
    assert.equal(before.length, 105);
    assert.equal((await shell(before[0].phone_id, 'echo kept > /data/local/tmp/note; cat /data/local/tmp/note')).execute_msg?.trim(), 'kept');

    const response = await call(t, 'POST', CHANGE_MODEL, { body: { server_id: serverId, ...TO_REGULAR, extend_param: { is_auto_pay: 1 } } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(Object.keys(response.body).sort(), ['order_id', 'product_id', 'request_id']);
    assert.equal(response.body.request_id, response.headers.get('x-request-id'));
    assert.match(response.body.request_id, HEX32);
    assert.match(response.body.order_id, /^CS\d{10}[A-Z0-9]{5}$/);
    assert.match(response.body.product_id, /^OFFI\d{18}$/);

    const jobs = await pollRequest(response.body.request_id);
    assert.equal(jobs.length, 1);
    assert.deepEqual([jobs[0].server_id, jobs[0].status, jobs[0].error_code], [serverId, 2, null]);
    const detail = await pollServer(serverId, (status) => status === 5);
    assert.deepEqual([detail.server_model_name, detail.phone_model_name, detail.server_name], [TO_REGULAR.server_model_name, TO_REGULAR.phone_model_name, 'tf-special']);
    assert.deepEqual(detail.metadata, { order_id: bought.body.order_id, product_id: bought.body.product_id }, 'the server keeps its purchase');
    assert.equal(detail.volumes[0].volume_size, 6 * 105, 'the phone disk follows the new flavor');

    const after = await phonesOf(t, serverId);
    assert.deepEqual(after.map((p) => [p.phone_id, p.phone_name]), before.map((p) => [p.phone_id, p.phone_name]), 'the phones keep their ids and names');
    for (const phone of after) assert.deepEqual([phone.phone_model_name, phone.status], [TO_REGULAR.phone_model_name, 2]);
    const note = await shell(before[0].phone_id, 'cat /data/local/tmp/note');
    assert.equal(note.status, -1, 'the data on the old flavor is gone');

    assertCpsError(await call(t, 'POST', CHANGE_MODEL, { body: { server_id: serverId, ...SPECIAL } }), 400, 'CPS.0245', 'a regular flavor cannot change again');
  });

  test('the documented example on a server already on that flavor answers CPS.0250 and changes nothing', async () => {
    const before = await snapshot();
    const example = { server_id: special, server_model_name: 'physical.rx1.xlarge.special', phone_model_name: 'rx1.cp.sp.c105.d8.e5v5', extend_param: { is_auto_pay: 1 } };
    assertCpsError(await call(t, 'POST', CHANGE_MODEL, { body: example }), 400, 'CPS.0250');
    assert.deepEqual(await snapshot(), before);
  });

  test('every refused request gets its documented code and changes nothing', async () => {
    const regular = (await buyServers(t, { server_name: 'regular' })).serverIds[0];
    const foreign = (await buyServers(asOther(), { server_name: 'theirs', ...SPECIAL })).serverIds[0];
    const body = (overrides: Record<string, unknown>) => ({ server_id: special, ...TO_REGULAR, ...overrides });
    const cases: Array<[unknown, string]> = [
      [body({ server_id: 'not-an-id' }), 'CPS.0097'],
      [body({ server_id: UNKNOWN_ID.toUpperCase() }), 'CPS.0097'],
      [{ ...TO_REGULAR }, 'CPS.0097'],
      [body({ server_id: UNKNOWN_ID }), 'CPS.0159'],
      [body({ server_id: foreign }), 'CPS.0159'],
      [body({ server_id: regular }), 'CPS.0245'],
      [body({ server_model_name: 'physical.rx9.xlarge' }), 'CPS.0246'],
      [body({ server_model_name: '' }), 'CPS.0088'],
      [{ server_id: special, phone_model_name: TO_REGULAR.phone_model_name }, 'CPS.0088'],
      [body({ server_model_name: 'physical.kg1.4xlarge.cp', phone_model_name: 'kg1.cp.c100.d10SSD.e1v1' }), 'CPS.0247'],
      [body({ phone_model_name: 'rx1.cp.sp.c105.d8.e5v5' }), 'CPS.0157'],
      [body({ phone_model_name: 'rx1.cp.c60.d10.e1v1' }), 'CPS.0157'],
      [body({ phone_model_name: 'rx1.cp.c60.d10.e1v1.offline' }), 'CPS.0257'],
      [body({ phone_model_name: 'rx1.cp.c999.d1.e1v1' }), 'CPS.0028'],
      [body({ phone_model_name: '' }), 'CPS.0027'],
      [body({ extend_param: { is_auto_pay: 2 } }), 'CPS.0060'],
      [body({ extend_param: 'auto' }), 'CPS.0055'],
    ];
    const before = await snapshot();
    const theirs = await snapshot(asOther());
    for (const [request, code] of cases) assertCpsError(await call(t, 'POST', CHANGE_MODEL, { body: request }), 400, code, JSON.stringify(request));
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(await snapshot(asOther()), theirs, 'another project\'s server was not touched');
  });

  test('while the phones are rebuilt the server is creating and cannot change again; a phone that fails leaves it abnormal', async () => {
    const serverId = (await buyServers(t, { server_name: 'fragile', ...SPECIAL })).serverIds[0];
    const release = await holdCreation(serverId);
    const response = await call(t, 'POST', CHANGE_MODEL, { body: { server_id: serverId, ...TO_REGULAR } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const [job] = (await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`)).body.jobs;
    await pollServer(serverId, (status) => status === 1);
    assert.equal((await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${job.job_id}`)).body.status, 1);
    assert.ok((await phonesOf(t, serverId)).every((phone) => phone.status === 1), 'every phone is being created');
    assertCpsError(await call(t, 'POST', CHANGE_MODEL, { body: { server_id: serverId, ...TO_REGULAR } }), 400, 'CPS.0245');

    await release();
    const done = await waitForJob(t, job.job_id);
    assert.deepEqual([done.status, done.error_code, done.error_msg], [-1, 'CPS.0092', cpsMessage('CPS.0092')]);
    assert.equal((await serverDetail(t, serverId)).status, 2);
    assert.ok((await phonesOf(t, serverId)).some((phone) => phone.status === -8));
  });
});

describe('ChangeCloudPhoneServer (v2)', () => {
  test('Terraform-style: buy, wait for 5, change with the documented request, wait for the jobs; same id and name, new phones', async () => {
    const bought = await call(t, 'POST', '/v2/{project_id}/cloud-phone/servers', {
      body: purchaseBody({
        server_name: 'tf-server',
        tenant_vpc_id: VPC,
        nics: [{ subnet_id: SUBNET }],
        public_ip: { eip: { type: '5_bgp' } },
        band_width: { band_width_share_type: 0, band_width_size: 10, band_width_charge_mode: 1 },
      }),
    });
    assert.equal(bought.status, 200, JSON.stringify(bought.body));
    const [serverId] = bought.body.server_ids;
    const original = await pollServer(serverId, (status) => status === 5);
    const oldPhones = await phonesOf(t, serverId);
    const oldBandwidths = original.band_widths.map((b: { band_width_id: string }) => b.band_width_id);

    const response = await call(t, 'POST', change(serverId), { body: CHANGE_EXAMPLE });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(Object.keys(response.body).sort(), ['job_id', 'request_id', 'server_id']);
    assert.equal(response.body.server_id, serverId);
    assert.equal(response.body.request_id, response.headers.get('x-request-id'));
    assert.match(response.body.job_id, HEX32);

    const jobs = await pollRequest(response.body.request_id);
    assert.deepEqual(jobs.map((job) => [job.job_id, job.server_id, job.status]), [[response.body.job_id, serverId, 2]]);
    const detail = await pollServer(serverId, (status) => status === 5);
    assert.deepEqual(
      [detail.server_id, detail.server_name, detail.server_model_name, detail.phone_model_name, detail.keypair_name, detail.network_version, detail.vpc_id, detail.subnet_id],
      [serverId, 'tf-server', 'physical.kg1.4xlarge.cp', 'kg1.cp.c20.d64SSD.e1v1', 'keypair', 'v2', VPC, SUBNET],
    );
    assert.deepEqual(detail.metadata, original.metadata, 'billing is unchanged');
    assert.equal(detail.availability_zone, original.availability_zone, 'a blank zone keeps the server where it was');
    assert.deepEqual(detail.band_widths.map((b: { band_width_size: number; band_width_share_type: number }) => [b.band_width_size, b.band_width_share_type]), [[300, 0], [300, 0]]);
    const listed = (await call(t, 'GET', '/v1/{project_id}/cloud-phone/bandwidths')).body.band_widths.map((b: { band_width_id: string }) => b.band_width_id);
    assert.ok(oldBandwidths.every((id: string) => !listed.includes(id)), 'the old dedicated bandwidths are gone');

    const newPhones = await phonesOf(t, serverId);
    assert.equal(newPhones.length, 20);
    assert.deepEqual(newPhones.map((p) => p.phone_name), Array.from({ length: 20 }, (_, i) => `mobile-${String(i + 1).padStart(4, '0')}`));
    for (const phone of newPhones) {
      assert.ok(!oldPhones.some((old) => old.phone_id === phone.phone_id), 'new phone ids');
      assert.deepEqual([phone.status, phone.image_id, phone.phone_model_name], [2, CHANGE_EXAMPLE.image_id, CHANGE_EXAMPLE.phone_model_name]);
    }
    const phone = await phoneDetail(t, newPhones[0].phone_id);
    assert.equal(JSON.parse(phone.property)['sys.prop.writephonenum'], '13666666666', 'the request\'s attributes are on the new phones');
    assertCpsError(await call(t, 'GET', `${SERVERS}/${UNKNOWN_ID}`), 404, 'CPS.0015');
    assert.equal((await call(t, 'GET', `${PHONES}/${oldPhones[0].phone_id}`)).status, 404, 'the old phones are gone');
  });

  test('a zone, a shared bandwidth, no EIP and volumes are taken as given', async () => {
    const [serverId] = (await buyServers(t, { server_name: 'zoned' })).serverIds;
    const sharer = (await buyServers(t, { server_name: 'sharer', band_width: { band_width_share_type: 1, band_width_size: 50 } })).serverIds[0];
    const sharedId = (await serverDetail(t, sharer)).band_widths[0].band_width_id;
    const { keypair_name: _keypair, ...withoutKeypair } = CHANGE_EXAMPLE;
    const response = await call(t, 'POST', change(serverId), {
      body: {
        ...withoutKeypair,
        phone_model_name: 'rx1.cp.c15.d46.e1v1',
        image_id: RX1_IMAGE,
        availability_zone: 'br-iaas-odin1a',
        public_ip: { count: 0 },
        phone_count_per_ip: 5,
        phone_data_volume: { volume_type: 'GPSSD', size: 64 },
        server_share_data_volume: { volume_type: 'SSD', size: 100 },
        band_width: { band_width_share_type: 1, band_width_id: sharedId, band_width_charge_mode: 0 },
      },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal((await waitForJob(t, response.body.job_id)).status, 2);
    const detail = await serverDetail(t, serverId);
    assert.equal(detail.availability_zone, 'br-iaas-odin1a');
    assert.equal(detail.keypair_name, 'mykeypair', 'without a key pair the old one stays');
    assert.deepEqual(detail.band_widths.map((b: { band_width_id: string }) => b.band_width_id), [sharedId]);
    assert.ok(detail.addresses.every((a: { public_ip: string }) => a.public_ip === ''), 'no EIP');
    assert.deepEqual(detail.volumes.map((v: { volume_type: string; volume_size: number }) => [v.volume_type, v.volume_size]), [['GPSSD', 64 * 15], ['SSD', 100]]);
  });

  test('an unknown server, another project\'s and a malformed id are 404 CPS.0015', async () => {
    const foreign = (await buyServers(asOther(), { server_name: 'theirs' })).serverIds[0];
    const before = await snapshot();
    const theirs = await snapshot(asOther());
    for (const id of [UNKNOWN_ID, foreign, 'not-an-id']) assertCpsError(await call(t, 'POST', change(id), { body: CHANGE_EXAMPLE }), 404, 'CPS.0015', id);
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(await snapshot(asOther()), theirs);
  });

  test('every invalid body gets its documented code and changes nothing', async () => {
    const [serverId] = (await buyServers(t, { server_name: 'target' })).serverIds;
    const without = (field: string) => Object.fromEntries(Object.entries(CHANGE_EXAMPLE).filter(([key]) => key !== field));
    const cases: Array<[Record<string, unknown>, string, string?]> = [
      [without('phone_model_name'), 'CPS.0027'],
      [{ ...CHANGE_EXAMPLE, phone_model_name: 'kg9.cp.c1.d1.e1v1' }, 'CPS.0028'],
      [{ ...CHANGE_EXAMPLE, phone_model_name: 'rx1.cp.c60.d10.e1v1.offline', image_id: RX1_IMAGE }, 'CPS.0257'],
      [without('image_id'), 'CPS.0029'],
      [{ ...CHANGE_EXAMPLE, image_id: UNKNOWN_ID }, 'CPS.0030'],
      [{ ...CHANGE_EXAMPLE, image_id: RX1_IMAGE }, 'CPS.0255'],
      [{ ...CHANGE_EXAMPLE, keypair_name: '' }, 'CPS.0068'],
      [{ ...CHANGE_EXAMPLE, ports: [{ name: 'adb', listen_port: 20000, internet_accessible: 'true' }] }, 'CPS.0038'],
      [without('tenant_vpc_id'), 'CPS.0223'],
      [{ ...CHANGE_EXAMPLE, tenant_vpc_id: 'vpc-1' }, 'CPS.0223'],
      [without('nics'), 'CPS.0226'],
      [{ ...CHANGE_EXAMPLE, nics: [] }, 'CPS.0226'],
      [{ ...CHANGE_EXAMPLE, nics: [{ subnet_id: SUBNET, ipv6_enable: 'maybe' }] }, 'CPS.0226'],
      [{ ...CHANGE_EXAMPLE, nics: [{ subnet_id: 'subnet-1' }] }, 'CPS.0224'],
      [without('public_ip'), 'CPS.0238'],
      [{ ...CHANGE_EXAMPLE, public_ip: {} }, 'CPS.0238'],
      [{ ...CHANGE_EXAMPLE, public_ip: { eip: { type: '5_bgp' }, count: 2 } }, 'CPS.0238'],
      [{ ...CHANGE_EXAMPLE, public_ip: { eip: { type: '5_bgp' }, count: -1 } }, 'CPS.0238'],
      [{ ...CHANGE_EXAMPLE, public_ip: { eip: { type: '9_gold' } } }, 'CPS.0239'],
      [{ ...CHANGE_EXAMPLE, public_ip: { ids: ['not-a-uuid'] } }, 'CPS.0253'],
      [without('band_width'), 'CPS.0031'],
      [{ ...CHANGE_EXAMPLE, band_width: { band_width_share_type: 2, band_width_charge_mode: 0 } }, 'CPS.0034'],
      [{ ...CHANGE_EXAMPLE, band_width: { band_width_share_type: 0, band_width_size: 300 } }, 'CPS.0035'],
      [{ ...CHANGE_EXAMPLE, band_width: { band_width_share_type: 0, band_width_charge_mode: 0 } }, 'CPS.0036'],
      [{ ...CHANGE_EXAMPLE, band_width: { band_width_share_type: 1, band_width_charge_mode: 0 } }, 'CPS.0032'],
      [{ ...CHANGE_EXAMPLE, band_width: { band_width_share_type: 1, band_width_charge_mode: 0, band_width_id: '70bb40be-f50e-4a14-b116-a5a527fd7432' } }, 'CPS.0033'],
      [{ ...CHANGE_EXAMPLE, availability_zone: 'mars-1a' }, 'CPS.0211'],
      [{ ...CHANGE_EXAMPLE, extend_param: { enterprise_project_id: 'finance' } }, 'CPS.0316'],
      [{ ...CHANGE_EXAMPLE, extend_param: 'default' }, 'CPS.0055'],
      [{ ...CHANGE_EXAMPLE, phone_count_per_ip: 0 }, 'CPS.0190'],
      [{ ...CHANGE_EXAMPLE, phone_count_per_ip: 21 }, 'CPS.0190'],
      [{ ...CHANGE_EXAMPLE, phone_data_volume: { volume_type: 'HDD', size: 64 } }, 'CPS.0116'],
      [{ ...CHANGE_EXAMPLE, server_share_data_volume: { volume_type: 'SSD', size: 5 } }, 'CPS.0055'],
      [{ ...CHANGE_EXAMPLE, property: '' }, 'CPS.0078'],
      [{ ...CHANGE_EXAMPLE, property: 'not json' }, 'CPS.0078'],
      [{ ...CHANGE_EXAMPLE, property: '{"sys.prop.write_imsi":"imsi"}' }, 'CPS.0164', 'sys.prop.write_imsi'],
    ];
    const before = await snapshot();
    for (const [body, code, attribute] of cases) assertCpsError(await call(t, 'POST', change(serverId), { body }), 400, code, JSON.stringify(body).slice(0, 160), attribute);
    const notJson = await call(t, 'POST', change(serverId), { body: undefined, headers: { 'Content-Type': 'application/json' } });
    assertCpsError(notJson, 400, 'CPS.0055', 'no body');
    assert.deepEqual(await snapshot(), before);
  });

  test('a server that is not normal answers CPS.0099; a phone that fails to come up leaves the server abnormal', async () => {
    const [serverId] = (await buyServers(t, { server_name: 'busy' })).serverIds;
    const release = await holdCreation(serverId);
    const response = await call(t, 'POST', change(serverId), { body: CHANGE_EXAMPLE });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    await pollServer(serverId, (status) => status === 1);
    assert.equal((await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${response.body.job_id}`)).body.status, 1, 'the job runs while phones are created');
    assertCpsError(await call(t, 'POST', change(serverId), { body: CHANGE_EXAMPLE }), 400, 'CPS.0099');

    await release();
    const done = await waitForJob(t, response.body.job_id);
    assert.deepEqual([done.status, done.error_code], [-1, 'CPS.0092']);
    assert.equal((await serverDetail(t, serverId)).status, 2);
    assert.ok((await phonesOf(t, serverId)).some((phone) => phone.status === -8));
    assertCpsError(await call(t, 'POST', change(serverId), { body: CHANGE_EXAMPLE }), 400, 'CPS.0099', 'an abnormal server is not changed either');
  });
});

