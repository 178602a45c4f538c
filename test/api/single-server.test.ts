// CreateCloudPhoneSingleServer over HTTP (`POST /v2.1/{project_id}/cloud-phone/servers`, Huawei's SDK beyond
// the seeds): servers bought with their own image and no phones, and what the other server and phone
// operations do with them (docs/spec-notes.md has the readings).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, phonesOf, serverDetail, startTestServer, waitForJob, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError, cpsMessage } from '../helpers/cps.ts';
import { accountQuotas, setAccountQuotas, type QuotaResource } from '../../src/core/quotas.ts';

const BUY = '/v2.1/{project_id}/cloud-phone/servers';
const SERVERS = '/v1/{project_id}/cloud-phone/servers';
const PHONES = '/v1/{project_id}/cloud-phone/phones';
const BANDWIDTHS = '/v1/{project_id}/cloud-phone/bandwidths';
const jobsOf = (requestId: string) => `/v1/{project_id}/cloud-phone/jobs?request_id=${requestId}`;

const HEX32 = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUBNET = 'f1cbfc37-eb42-4357-a0ec-9e4f11950908';
const EIP_ID = '1a1f3f1e-5b7c-4d8e-9f00-112233445566';
const UNKNOWN_BANDWIDTH = '70bb40be-f50e-4a14-b116-a5a527fd7432';

/** The request Huawei's Python SDK (3.1.211) sends in issue 14, verbatim. */
const sdkExample = (): Record<string, any> => ({
  server_name: 'sdk-single',
  server_model_name: 'physical.rx1.xlarge',
  count: 1,
  order_param: { charging_mode: 0, period_type: 2, period_num: 1, is_auto_pay: 1 },
  nics: [{ subnet_id: SUBNET }],
  public_ip: { type: '5_bgp', count: 1, band_width: { band_width_size: 300, band_width_charge_mode: 0, band_width_share_type: 0 } },
  keypair_name: 'kp1',
});

/** Only what the SDK's models require: every optional field left to its default. */
const requiredOnly = (): Record<string, any> => ({
  server_name: 'bare-defaults',
  server_model_name: 'physical.rx1.xlarge',
  count: 1,
  order_param: { charging_mode: 0, period_type: 3, period_num: 1 },
  nics: [{ subnet_id: SUBNET }],
  public_ip: { band_width: { band_width_size: 10, band_width_charge_mode: 1, band_width_share_type: 0 } },
  keypair_name: 'kp1',
});

/**
 * The JSON names of Huawei's SDK models (the Python SDK's `attribute_map`, the Go SDK's `json` tags) and which
 * of them are required (Go: neither a pointer nor `omitempty`; Python: set without an `is not None` guard).
 */
const SDK_MODELS = {
  CreateCloudPhoneSingleServerRequestBody: {
    fields: ['server_name', 'server_model_name', 'count', 'order_param', 'nics', 'public_ip', 'availability_zone', 'data_volume', 'keypair_name', 'enterprise_project_id', 'image_id'],
    required: ['server_name', 'server_model_name', 'count', 'order_param', 'nics', 'public_ip', 'keypair_name'],
  },
  CreateCloudPhoneSingleServerRequestBodyOrderParam: {
    fields: ['charging_mode', 'period_type', 'period_num', 'is_auto_pay', 'is_auto_renew'],
    required: ['charging_mode', 'period_type', 'period_num'],
  },
  NicForSingleServer: { fields: ['subnet_id', 'ipv6_enable', 'ipv6_band_width_id'], required: ['subnet_id'] },
  CreateCloudPhoneSingleServerRequestBodyPublicIp: { fields: ['ids', 'type', 'count', 'band_width'], required: ['band_width'] },
  CreateCloudPhoneSingleServerRequestBodyPublicIpBandWidth: {
    fields: ['band_width_id', 'band_width_size', 'band_width_charge_mode', 'band_width_share_type'],
    required: ['band_width_charge_mode', 'band_width_share_type'],
  },
  CreateCloudPhoneSingleServerRequestBodyDataVolume: { fields: ['volume_type', 'size', 'count'], required: ['volume_type', 'size'] },
  CreateCloudPhoneSingleServerResponse: { fields: ['request_id', 'order_id', 'product_id', 'server_ids', 'error_msg', 'error_code'] },
};

let t: TestServer;
let other: Target;
/** A shared bandwidth of the project (bought with a v1 server). */
let sharedBandwidth: string;

before(async () => {
  t = await startTestServer();
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
  const { serverIds } = await buyServers(t, { server_name: 'shared-bw', band_width: { band_width_share_type: 1, band_width_size: 10 } });
  sharedBandwidth = (await serverDetail(t, serverIds[0])).band_widths[0].band_width_id;
});
after(() => t.close());

/** Buys, checks the response is the SDK model's and waits for the one provisioning job of each server. */
async function buyBare(body: Record<string, any>, target: Target = t, options: { sign?: boolean } = {}) {
  const response = await call(target, 'POST', BUY, { body, ...(options.sign && { sign: target.tenant }) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['order_id', 'product_id', 'request_id', 'server_ids']);
  assert.equal(response.body.request_id, response.headers.get('x-request-id'));
  assert.match(response.body.request_id, HEX32);
  assert.match(response.body.order_id, /^CS\w{15}$/);
  assert.match(response.body.product_id, /^OFFI\d{18}$/);
  assert.equal(response.body.server_ids.length, body.count);
  for (const id of response.body.server_ids) assert.match(id, HEX32);

  const jobs = await call(target, 'GET', jobsOf(response.body.request_id));
  assert.equal(jobs.status, 200, JSON.stringify(jobs.body));
  assert.deepEqual(jobs.body.jobs.map((job: { server_id: string }) => job.server_id).sort(), [...response.body.server_ids].sort(), 'one job per server');
  for (const job of jobs.body.jobs) {
    assert.equal(job.phone_id, undefined, 'a server job');
    assert.equal((await waitForJob(target, job.job_id)).status, 2, `provisioning job ${job.job_id}`);
  }
  return response.body as { request_id: string; order_id: string; product_id: string; server_ids: string[] };
}

/** What a purchase writes: the project's servers and bandwidths. */
async function snapshot(target: Target = t) {
  const [servers, bandwidths] = await Promise.all([call(target, 'GET', `${SERVERS}?limit=100`), call(target, 'GET', BANDWIDTHS)]);
  return { servers: servers.body.servers, bandwidths: bandwidths.body.band_widths };
}

async function assertRefused(body: unknown, code: string, target: Target = t) {
  const before = await snapshot(target);
  const response = await call(target, 'POST', BUY, { body });
  assertCpsError(response, 400, code);
  assert.deepEqual(await snapshot(target), before, 'nothing was written');
  assertCpsError(await call(target, 'GET', jobsOf(response.body.request_id)), 400, 'CPS.0050', 'no job was queued');
}

/** A new account with the given limits. */
async function account(name: string, limits: Partial<Record<QuotaResource, number>>): Promise<Target> {
  const tenant = await t.createTenant(name);
  await setAccountQuotas(t.server.store.db, name, limits);
  return { url: t.url, tenant };
}

async function usage(target: Target) {
  const [quotas] = await accountQuotas(t.server.store.db, target.tenant.domainName);
  return { servers: quotas.servers.used, phones: quotas.phones.used };
}

describe('CreateCloudPhoneSingleServer', () => {
  test('the SDK\'s example, signed with AK/SK as the SDK signs: one server without phones, normal once its job ends', async () => {
    const bought = await buyBare(sdkExample(), t, { sign: true });
    const [serverId] = bought.server_ids;
    const detail = await serverDetail(t, serverId);
    assert.equal(detail.server_name, 'sdk-single');
    assert.equal(detail.server_model_name, 'physical.rx1.xlarge');
    assert.equal(detail.phone_model_name, '', 'no phone flavor');
    assert.equal(detail.keypair_name, 'kp1');
    assert.equal(detail.status, 5);
    assert.equal(detail.network_version, 'v2');
    assert.equal(detail.subnet_id, SUBNET);
    assert.match(detail.vpc_id, UUID);
    assert.equal(detail.availability_zone, 'cn-east-3a', "the flavor's first zone");
    assert.equal(detail.enterprise_project_id, '0');
    assert.deepEqual(detail.metadata, { order_id: bought.order_id, product_id: bought.product_id });
    assert.equal(detail.addresses.length, 1, 'its NIC');
    assert.notEqual(detail.addresses[0].public_ip, '', 'with its EIP');
    assert.equal(detail.security_groups.length, 1);
    assert.deepEqual(detail.volumes, [], 'no data disk asked for');
    assert.equal(detail.band_widths.length, 1);
    assert.deepEqual(
      [detail.band_widths[0].band_width_size, detail.band_widths[0].band_width_share_type, detail.band_widths[0].band_width_charge_mode],
      [300, 0, 0],
    );

    // ListCloudPhones has nothing on it; ListCloudPhoneServers shows it with the v2 servers.
    const phones = await call(t, 'GET', `${PHONES}?server_id=${serverId}`);
    assert.equal(phones.status, 200);
    assert.deepEqual([phones.body.phones, phones.body.count], [[], 0]);
    const listed = await call(t, 'GET', `${SERVERS}?network_version=v2&server_id=${serverId}`);
    assert.deepEqual(listed.body.servers.map((server: { server_id: string; phone_model_name: string }) => [server.server_id, server.phone_model_name]), [[serverId, '']]);
  });

  test('the SDK\'s defaults: no EIP and so no bandwidth, no data disk, the default zone', async () => {
    const [serverId] = (await buyBare(requiredOnly())).server_ids;
    const detail = await serverDetail(t, serverId);
    assert.equal(detail.addresses.length, 1);
    assert.equal(detail.addresses[0].public_ip, '', 'public_ip.count is 0 by default');
    assert.notEqual(detail.addresses[0].server_ip, '');
    assert.deepEqual(detail.band_widths, []);
    assert.deepEqual(detail.volumes, []);
    assert.equal(detail.availability_zone, 'cn-east-3a');
    // A type without a count asks for no EIP either.
    const typed = (await buyBare({ ...requiredOnly(), server_name: 'typed', public_ip: { ...requiredOnly().public_ip, type: '5_bgp' } })).server_ids[0];
    assert.equal((await serverDetail(t, typed)).addresses[0].public_ip, '');
  });

  test('every optional field of the SDK\'s models is taken: zone, data disks, enterprise project, image, IPv6, shared bandwidth, auto-renew', async () => {
    const enterpriseProject = '2b6ac0b2-0dbc-4a5c-9d3b-2e3f4a5b6c7d';
    const body = {
      server_name: 'bare-full',
      server_model_name: 'physical.kg1.4xlarge.cp',
      count: 2,
      order_param: { charging_mode: 0, period_type: 2, period_num: 9, is_auto_pay: 0, is_auto_renew: 1 },
      nics: [{ subnet_id: SUBNET, ipv6_enable: true, ipv6_band_width_id: sharedBandwidth }],
      public_ip: { type: '5_sbgp', count: 1, band_width: { band_width_id: sharedBandwidth, band_width_charge_mode: 1, band_width_share_type: 1 } },
      availability_zone: 'cn-east-3b',
      data_volume: { volume_type: 'GPSSD', size: 100, count: 2 },
      keypair_name: 'kp2',
      enterprise_project_id: enterpriseProject,
      image_id: '7c3b1f2e-4d5a-4b6c-8d9e-0f1a2b3c4d5e',
    };
    const bought = await buyBare(body);
    const details = await Promise.all(bought.server_ids.map((id) => serverDetail(t, id)));
    assert.deepEqual(details.map((detail) => detail.server_name).sort(), ['bare-full-0001', 'bare-full-0002']);
    for (const detail of details) {
      assert.equal(detail.server_model_name, 'physical.kg1.4xlarge.cp');
      assert.equal(detail.availability_zone, 'cn-east-3b');
      assert.equal(detail.enterprise_project_id, enterpriseProject);
      assert.equal(detail.keypair_name, 'kp2');
      assert.deepEqual(detail.volumes.map((volume: { volume_type: string; volume_size: number }) => [volume.volume_type, volume.volume_size]), [['GPSSD', 100], ['GPSSD', 100]]);
      assert.deepEqual(detail.band_widths.map((bandwidth: { band_width_id: string }) => bandwidth.band_width_id), [sharedBandwidth], 'the shared bandwidth, not a new one');
      assert.notEqual(detail.addresses[0].public_ip, '');
    }
    assert.equal(details[0].vpc_id, details[1].vpc_id, 'one subnet, one VPC');
    // The subnet's VPC stays the one its servers have.
    const later = (await buyBare({ ...requiredOnly(), server_name: 'same-subnet' })).server_ids[0];
    assert.equal((await serverDetail(t, later)).vpc_id, details[0].vpc_id);
  });

  test('an existing EIP by id: type and count do not apply', async () => {
    const [serverId] = (await buyBare({ ...requiredOnly(), server_name: 'existing-eip', public_ip: { ids: [EIP_ID], type: 'anything', count: 7, band_width: requiredOnly().public_ip.band_width } })).server_ids;
    const detail = await serverDetail(t, serverId);
    assert.notEqual(detail.addresses[0].public_ip, '');
    assert.equal(detail.band_widths.length, 1);
  });

  test('accepted edges: 10 servers, 59 data disks of 32,768 GiB, disks of 1 GiB, a 60-character name, 36-byte image id', async () => {
    const bought = await buyBare({ ...requiredOnly(), server_name: 'n'.repeat(60), count: 10, image_id: 'a'.repeat(36) });
    assert.equal(bought.server_ids.length, 10);
    const big = (await buyBare({ ...requiredOnly(), server_name: 'big-disks', data_volume: { volume_type: 'SSD', size: 32_768, count: 59 } })).server_ids[0];
    const volumes = (await serverDetail(t, big)).volumes;
    assert.equal(volumes.length, 59);
    assert.ok(volumes.every((volume: { volume_size: number; volume_type: string }) => volume.volume_size === 32_768 && volume.volume_type === 'SSD'));
    const small = (await buyBare({ ...requiredOnly(), server_name: 'small-disk', data_volume: { volume_type: 'SSD', size: 1 } })).server_ids[0];
    assert.deepEqual((await serverDetail(t, small)).volumes.map((volume: { volume_size: number }) => volume.volume_size), [1], 'count is 1 by default');
  });

  test('the request and response schemas of /openapi.json are the SDK models: the same JSON names, the same required ones', async () => {
    const document = await (await fetch(`${t.url}/openapi.json`)).json();
    const operation = document.paths['/v2.1/{project_id}/cloud-phone/servers'].post;
    assert.equal(operation.summary, 'CreateCloudPhoneSingleServer');
    const body = operation.requestBody.content['application/json'].schema;
    const schemas = {
      CreateCloudPhoneSingleServerRequestBody: body,
      CreateCloudPhoneSingleServerRequestBodyOrderParam: body.properties.order_param,
      NicForSingleServer: body.properties.nics.items,
      CreateCloudPhoneSingleServerRequestBodyPublicIp: body.properties.public_ip,
      CreateCloudPhoneSingleServerRequestBodyPublicIpBandWidth: body.properties.public_ip.properties.band_width,
      CreateCloudPhoneSingleServerRequestBodyDataVolume: body.properties.data_volume,
    };
    for (const [model, schema] of Object.entries(schemas)) {
      const expected = SDK_MODELS[model as keyof typeof schemas];
      assert.deepEqual(Object.keys(schema.properties).sort(), [...expected.fields].sort(), `${model}: fields`);
      assert.deepEqual([...(schema.required ?? [])].sort(), [...expected.required].sort(), `${model}: required fields`);
    }
    const response = operation.responses['200'].content['application/json'].schema;
    for (const field of Object.keys(response.properties)) assert.ok(SDK_MODELS.CreateCloudPhoneSingleServerResponse.fields.includes(field), field);
  });
});

/** One refused purchase: how the SDK's example is spoiled, and the documented code. */
const refusals: Array<[string, (body: Record<string, any>) => void, string]> = [
  ['server_name of 61 characters', (b) => (b.server_name = 'n'.repeat(61)), 'CPS.0087'],
  ['server_name with a space', (b) => (b.server_name = 'my server'), 'CPS.0087'],
  ['server_name missing', (b) => delete b.server_name, 'CPS.0087'],
  ['server_model_name missing', (b) => delete b.server_model_name, 'CPS.0088'],
  ['server_model_name empty', (b) => (b.server_model_name = ''), 'CPS.0088'],
  ['server_model_name unknown', (b) => (b.server_model_name = 'physical.xx1.xlarge'), 'CPS.0089'],
  ['count 0', (b) => (b.count = 0), 'CPS.0024'],
  ['count 11', (b) => (b.count = 11), 'CPS.0024'],
  ['count missing', (b) => delete b.count, 'CPS.0024'],
  ['order_param missing', (b) => delete b.order_param, 'CPS.0055'],
  ['order_param not an object', (b) => (b.order_param = 'monthly'), 'CPS.0055'],
  ['charging_mode 1', (b) => (b.order_param.charging_mode = 1), 'CPS.0056'],
  ['charging_mode missing', (b) => delete b.order_param.charging_mode, 'CPS.0056'],
  ['period_type 1', (b) => (b.order_param.period_type = 1), 'CPS.0057'],
  ['period_num 10 months', (b) => (b.order_param.period_num = 10), 'CPS.0058'],
  ['period_num 11 years', (b) => Object.assign(b.order_param, { period_type: 3, period_num: 11 }), 'CPS.0058'],
  ['is_auto_renew 2', (b) => (b.order_param.is_auto_renew = 2), 'CPS.0059'],
  ['is_auto_pay 2', (b) => (b.order_param.is_auto_pay = 2), 'CPS.0060'],
  ['nics missing', (b) => delete b.nics, 'CPS.0226'],
  ['nics empty', (b) => (b.nics = []), 'CPS.0226'],
  ['a nic that is not an object', (b) => (b.nics = [SUBNET]), 'CPS.0226'],
  ['subnet_id not a UUID', (b) => (b.nics[0].subnet_id = 'subnet-01'), 'CPS.0224'],
  ['subnet_id missing', (b) => (b.nics = [{}]), 'CPS.0224'],
  ['a second nic with a bad subnet_id', (b) => b.nics.push({ subnet_id: 'subnet-02' }), 'CPS.0224'],
  ['ipv6_enable not a boolean', (b) => (b.nics[0].ipv6_enable = 'yes'), 'CPS.0226'],
  ['ipv6_band_width_id of 65 characters', (b) => (b.nics[0].ipv6_band_width_id = 'b'.repeat(65)), 'CPS.0033'],
  ['public_ip missing', (b) => delete b.public_ip, 'CPS.0238'],
  ['public_ip not an object', (b) => (b.public_ip = '5_bgp'), 'CPS.0238'],
  ['public_ip count 2', (b) => (b.public_ip.count = 2), 'CPS.0238'],
  ['public_ip count -1', (b) => (b.public_ip.count = -1), 'CPS.0238'],
  ['an EIP without its type', (b) => delete b.public_ip.type, 'CPS.0239'],
  ['EIP type unknown', (b) => (b.public_ip.type = '5_xyz'), 'CPS.0239'],
  ['ids with two entries', (b) => (b.public_ip.ids = [EIP_ID, '2b2f3f1e-5b7c-4d8e-9f00-112233445566']), 'CPS.0253'],
  ['ids entry not a UUID', (b) => (b.public_ip.ids = ['eip-01']), 'CPS.0253'],
  ['ids not an array', (b) => (b.public_ip.ids = { id: EIP_ID }), 'CPS.0253'],
  ['an existing EIP for two servers', (b) => Object.assign(b, { count: 2, public_ip: { ids: [EIP_ID], band_width: b.public_ip.band_width } }), 'CPS.0251'],
  ['band_width missing', (b) => delete b.public_ip.band_width, 'CPS.0031'],
  ['band_width not an object', (b) => (b.public_ip.band_width = 300), 'CPS.0031'],
  ['band_width_share_type 2', (b) => (b.public_ip.band_width.band_width_share_type = 2), 'CPS.0034'],
  ['band_width_share_type missing', (b) => delete b.public_ip.band_width.band_width_share_type, 'CPS.0034'],
  ['band_width_charge_mode 2', (b) => (b.public_ip.band_width.band_width_charge_mode = 2), 'CPS.0035'],
  ['band_width_charge_mode missing', (b) => delete b.public_ip.band_width.band_width_charge_mode, 'CPS.0035'],
  ['shared bandwidth without band_width_id', (b) => (b.public_ip.band_width.band_width_share_type = 1), 'CPS.0032'],
  ['shared bandwidth unknown', (b) => Object.assign(b.public_ip.band_width, { band_width_share_type: 1, band_width_id: UNKNOWN_BANDWIDTH }), 'CPS.0033'],
  ['band_width_id of 65 characters', (b) => Object.assign(b.public_ip.band_width, { band_width_share_type: 1, band_width_id: 'b'.repeat(65) }), 'CPS.0033'],
  ['dedicated band_width_size missing', (b) => delete b.public_ip.band_width.band_width_size, 'CPS.0036'],
  ...[0, 301, 2001].map((size): [string, (body: Record<string, any>) => void, string] => [
    `dedicated band_width_size ${size}`,
    (b) => (b.public_ip.band_width.band_width_size = size),
    'CPS.0036',
  ]),
  ['availability_zone unknown', (b) => (b.availability_zone = 'mars-1a'), 'CPS.0211'],
  ['availability_zone of 65 characters', (b) => (b.availability_zone = 'z'.repeat(65)), 'CPS.0211'],
  ['data_volume type SAS', (b) => (b.data_volume = { volume_type: 'SAS', size: 10 }), 'CPS.0116'],
  ['data_volume without type', (b) => (b.data_volume = { size: 10 }), 'CPS.0116'],
  ['data_volume size 0', (b) => (b.data_volume = { volume_type: 'SSD', size: 0 }), 'CPS.0055'],
  ['data_volume size 32,769', (b) => (b.data_volume = { volume_type: 'SSD', size: 32_769 }), 'CPS.0055'],
  ['data_volume without size', (b) => (b.data_volume = { volume_type: 'SSD' }), 'CPS.0055'],
  ['data_volume count 0', (b) => (b.data_volume = { volume_type: 'SSD', size: 10, count: 0 }), 'CPS.0055'],
  ['data_volume count 60', (b) => (b.data_volume = { volume_type: 'SSD', size: 10, count: 60 }), 'CPS.0055'],
  ['data_volume not an object', (b) => (b.data_volume = 'SSD'), 'CPS.0055'],
  ['keypair_name missing', (b) => delete b.keypair_name, 'CPS.0068'],
  ['keypair_name empty', (b) => (b.keypair_name = ''), 'CPS.0068'],
  ['keypair_name of 65 characters', (b) => (b.keypair_name = 'k'.repeat(65)), 'CPS.0067'],
  ['enterprise_project_id not an id', (b) => (b.enterprise_project_id = 'my-project'), 'CPS.0316'],
  ['image_id empty', (b) => (b.image_id = ''), 'CPS.0029'],
  ['image_id of 37 bytes', (b) => (b.image_id = 'a'.repeat(37)), 'CPS.0030'],
  ['image_id with a slash', (b) => (b.image_id = 'images/1'), 'CPS.0030'],
];

describe('CreateCloudPhoneSingleServer refusals', () => {
  test('every documented error: its code and verbatim message, and nothing written', async (t) => {
    for (const [name, spoil, code] of refusals) {
      await t.test(`${name} → ${code}`, async () => {
        const body = sdkExample();
        spoil(body);
        await assertRefused(body, code);
      });
    }
  });

  test('a body that is not JSON is refused with the CPS envelope and writes nothing', async () => {
    const before = await snapshot();
    const response = await fetch(`${t.url}${BUY.replace('{project_id}', t.tenant.projectId)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Auth-Token': t.tenant.token },
      body: '{"server_name": "broken",',
    });
    const body = await response.json();
    assert.equal(response.status, 400);
    assert.deepEqual(body, { request_id: response.headers.get('x-request-id'), error_code: 'CPS.0055', error_msg: cpsMessage('CPS.0055') });
    assert.deepEqual(await snapshot(), before);
  });

  test('another project\'s shared bandwidth, or a dedicated one of the project, is CPS.0033', async () => {
    const dedicated = (await snapshot()).bandwidths.find((bandwidth: { band_width_share_type: number }) => bandwidth.band_width_share_type === 0).band_width_id;
    const naming = (id: string) => {
      const body = sdkExample();
      Object.assign(body.public_ip.band_width, { band_width_share_type: 1, band_width_id: id });
      return body;
    };
    await assertRefused(naming(dedicated), 'CPS.0033');
    await assertRefused(naming(sharedBandwidth), 'CPS.0033', other);
  });

  test('quotas: servers count, phones do not; past the server quota is CPS.0065 and writes nothing', async () => {
    const target = await account('bare-quota', { servers: 2, phones: 0 });
    await buyBare({ ...sdkExample(), count: 2 }, target);
    assert.deepEqual(await usage(target), { servers: 2, phones: 0 });
    await assertRefused(sdkExample(), 'CPS.0065', target);
    assert.deepEqual(await usage(target), { servers: 2, phones: 0 });
  });
});

describe('a server without phones, later', () => {
  let bare: string;
  before(async () => {
    bare = (await buyBare({ ...sdkExample(), server_name: 'later' })).server_ids[0];
  });

  test('another project sees no such server: detail 404 CPS.0015, restart, key pair and delete refused, its jobs unknown', async () => {
    const bought = await buyBare({ ...sdkExample(), server_name: 'theirs-not' });
    assertCpsError(await call(other, 'GET', `${SERVERS}/${bought.server_ids[0]}`), 404, 'CPS.0015');
    assertCpsError(await call(other, 'GET', jobsOf(bought.request_id)), 400, 'CPS.0050');
    const restart = await call(other, 'POST', `${SERVERS}/batch-restart`, { body: { server_ids: [bare] } });
    assert.deepEqual(restart.body.jobs, [{ server_id: bare, error_code: 'CPS.0015', error_msg: cpsMessage('CPS.0015') }]);
    const keypair = await call(other, 'PUT', `${SERVERS}/open-access`, { body: { servers: [{ server_id: bare, keypair_name: 'theirs' }] } });
    assert.deepEqual(keypair.body.jobs, [{ server_id: bare, error_code: 'CPS.0015', error_msg: cpsMessage('CPS.0015') }]);
    assertCpsError(await call(other, 'DELETE', '/v2/{project_id}/cloud-phone/servers', { body: { server_ids: [bare] } }), 400, 'CPS.0015');
    assertCpsError(await call(other, 'POST', `/v2/{project_id}/cloud-phone/servers/${bare}/change`, { body: changeBody() }), 404, 'CPS.0015');
    assert.equal((await serverDetail(t, bare)).status, 5, 'untouched');
  });

  test('phone operations by server find no phones: commands queue nothing, no shared storage (files or apps), no encoding servers', async () => {
    const command = await call(t, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content: 'id', server_ids: [bare] } });
    assert.equal(command.status, 200, JSON.stringify(command.body));
    assert.deepEqual(command.body.jobs, []);
    const share = await call(t, 'POST', `${PHONES}/share-files`, { body: { bucket_name: 'bucket-a', object_path: 'share/files.tar', server_ids: [bare] } });
    assert.deepEqual(share.body.jobs, [{ server_id: bare, error_code: 'CPS.0137', error_msg: cpsMessage('CPS.0137') }]);
    const app = { package_name: 'com.opencph.hello', pre_install_app: 1, bucket_name: 'bucket-a', object_path: 'apps/hello.tar', server_ids: [bare] };
    const apps = await call(t, 'POST', `${PHONES}/share-apps`, { body: app });
    assert.deepEqual(apps.body.jobs, [{ server_id: bare, error_code: 'CPS.0147', error_msg: cpsMessage('CPS.0147') }]);
    const encoders = await call(t, 'GET', `/v1/{project_id}/cloud-phone/encode-servers?server_id=${bare}`);
    assert.equal(encoders.status, 200, JSON.stringify(encoders.body));
    assert.deepEqual(encoders.body.encode_servers, []);
  });

  test('RestartCloudPhoneServer power-cycles it back to normal; UpdateKeypair and UpdateServerName change it', async () => {
    const restart = await call(t, 'POST', `${SERVERS}/batch-restart`, { body: { server_ids: [bare] } });
    assert.equal(restart.status, 200, JSON.stringify(restart.body));
    assert.equal((await waitForJob(t, restart.body.jobs[0].job_id)).status, 2);
    assert.equal((await serverDetail(t, bare)).status, 5);

    const keypair = await call(t, 'PUT', `${SERVERS}/open-access`, { body: { servers: [{ server_id: bare, keypair_name: 'kp-new' }] } });
    assert.equal((await waitForJob(t, keypair.body.jobs[0].job_id)).status, 2);
    assert.equal((await call(t, 'PUT', `${SERVERS}/${bare}`, { body: { server_name: 'renamed-bare' } })).status, 200);
    const detail = await serverDetail(t, bare);
    assert.deepEqual([detail.keypair_name, detail.server_name, detail.phone_model_name], ['kp-new', 'renamed-bare', '']);
  });

  test('while it is being created: restart CPS.0158, key pair CPS.0098, server change CPS.0099', async () => {
    // No API holds a server without phones in creation (there is no phone to hang): its status is set in the store.
    await t.server.store.db.updateTable('servers').set({ status: 1 }).where('id', '=', bare).execute();
    try {
      const restart = await call(t, 'POST', `${SERVERS}/batch-restart`, { body: { server_ids: [bare] } });
      assert.deepEqual(restart.body.jobs, [{ server_id: bare, error_code: 'CPS.0158', error_msg: cpsMessage('CPS.0158') }]);
      const keypair = await call(t, 'PUT', `${SERVERS}/open-access`, { body: { servers: [{ server_id: bare, keypair_name: 'kp-x' }] } });
      assert.deepEqual(keypair.body.jobs, [{ server_id: bare, error_code: 'CPS.0098', error_msg: cpsMessage('CPS.0098') }]);
      assertCpsError(await call(t, 'POST', `/v2/{project_id}/cloud-phone/servers/${bare}/change`, { body: changeBody() }), 400, 'CPS.0099');
      assert.deepEqual(await phonesOf(t, bare), []);
    } finally {
      await t.server.store.db.updateTable('servers').set({ status: 5 }).where('id', '=', bare).execute();
    }
  });

  test('ChangeCloudPhoneServerModel: a server without phones has none whose flavor could change (CPS.0245)', async () => {
    const special = (await buyBare({ ...sdkExample(), server_name: 'bare-special', server_model_name: 'physical.rx1.xlarge.special' })).server_ids[0];
    const { request_id: _first, ...before } = await serverDetail(t, special);
    const response = await call(t, 'POST', `${SERVERS}/change-server-model`, {
      body: { server_id: special, server_model_name: 'physical.rx1.xlarge', phone_model_name: 'rx1.cp.c105.d6.e5v5' },
    });
    assertCpsError(response, 400, 'CPS.0245');
    const { request_id: _second, ...after } = await serverDetail(t, special);
    assert.deepEqual(after, before, 'unchanged');
    assert.deepEqual(await phonesOf(t, special), []);
  });

  test('ChangeCloudPhoneServer gives it phones: the quota counts them, and a full phone quota refuses with CPS.0196', async () => {
    const target = await account('bare-change', { phones: 20 });
    const [first, second] = (await buyBare({ ...sdkExample(), count: 2, public_ip: { type: '5_bgp', count: 1, band_width: sdkExample().public_ip.band_width } }, target)).server_ids;
    const changed = await call(target, 'POST', `/v2/{project_id}/cloud-phone/servers/${first}/change`, { body: changeBody() });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await waitForJob(target, changed.body.job_id)).status, 2);
    const detail = await serverDetail(target, first);
    assert.deepEqual([detail.status, detail.phone_model_name, detail.server_model_name], [5, 'kg1.cp.c20.d64SSD.e1v1', 'physical.kg1.4xlarge.cp']);
    const phones = await phonesOf(target, first);
    assert.equal(phones.length, 20);
    assert.ok(phones.every((phone) => phone.status === 2));
    assert.deepEqual(await usage(target), { servers: 2, phones: 20 });

    assertCpsError(await call(target, 'POST', `/v2/{project_id}/cloud-phone/servers/${second}/change`, { body: changeBody() }), 400, 'CPS.0196');
    assert.deepEqual(await phonesOf(target, second), []);
    assert.equal((await serverDetail(target, second)).phone_model_name, '');
  });

  test('DeleteCloudPhoneServer removes it and relieves the account of one server', async () => {
    const target = await account('bare-delete', { servers: 1 });
    const [serverId] = (await buyBare(sdkExample(), target)).server_ids;
    const deleted = await call(target, 'DELETE', '/v2/{project_id}/cloud-phone/servers', { body: { server_ids: [serverId] } });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal((await waitForJob(target, deleted.body.job_id)).status, 2);
    assertCpsError(await call(target, 'GET', `${SERVERS}/${serverId}`), 404, 'CPS.0015');
    assert.deepEqual(await usage(target), { servers: 0, phones: 0 });
    assert.equal((await call(target, 'GET', BANDWIDTHS)).body.band_widths.length, 0, 'its dedicated bandwidth went with it');
    await buyBare(sdkExample(), target);
  });
});

/** The seed 003 ChangeCloudPhoneServer example's set-up. */
function changeBody() {
  return {
    phone_model_name: 'kg1.cp.c20.d64SSD.e1v1',
    image_id: '20060220200717f201120a2300000e91',
    tenant_vpc_id: 'fca063f6-b942-42a8-9004-e5545f58d6a2',
    nics: [{ subnet_id: SUBNET }],
    public_ip: { eip: { type: '5_bgp' } },
    band_width: { band_width_share_type: 0, band_width_size: 300, band_width_charge_mode: 1 },
  };
}
