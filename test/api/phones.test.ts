import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, phoneStatus, purchaseBody, serverDetail, setPhoneStatus, startTestServer, waitForJobs, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError, phoneError } from '../helpers/cps.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const RESTART = `${PHONES}/batch-restart`;
/** A flavor with 105 phones per server: two servers exceed the default page of 200. */
const FLAVOR_105 = 'rx1.cp.c105.d6.e5v5';
const AOSP_7 = '88b8449b896f3a4f0ad57222dd919899';
const AOSP_11 = '23051820230601c84d0007e19b3f5a27';
/** A cloud-game image: it does not run on cloud-phone flavors. */
const GAME_IMAGE = '20032420200401a60b0003a99684b8ea';
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const HEX32 = /^[0-9a-f]{32}$/;
const WIRE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const PHONE_STATUSES = [0, 1, 2, 3, 4, 6, 7, 8, -5, -6, -7, -8, -9];

type Bought = Awaited<ReturnType<typeof buyServers>>;

/** The Luhn check that a real IMEI's 15th digit satisfies. */
function luhnValid(digits: string): boolean {
  const sum = [...digits].reverse().reduce((total, char, index) => {
    const digit = Number(char) * (index % 2 === 1 ? 2 : 1);
    return total + (digit > 9 ? digit - 9 : digit);
  }, 0);
  return sum % 10 === 0;
}

const list = (target: Target, query = '') => call(target, 'GET', `${PHONES}?${query}`);
const detail = (target: Target, phoneId: string) => call(target, 'GET', `${PHONES}/${phoneId}`);
const restart = (target: Target, body: unknown) => call(target, 'POST', RESTART, { body });

let t: TestServer;
let other: Target;
let first: Bought;
let second: Bought;
let otherPhones: string[];

before(async () => {
  t = await startTestServer();
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
  first = await buyServers(t, { phone_model_name: FLAVOR_105 });
  second = await buyServers(t, { phone_model_name: FLAVOR_105 });
  otherPhones = (await buyServers(other)).phoneIds;
});
after(() => t.close());

describe('ListCloudPhones', () => {
  test('each phone carries the fields of the 2025 page, with a valid IMEI and its server’s zone and order', async () => {
    const server = await serverDetail(t, first.serverIds[0]);
    const response = await list(t, `server_id=${first.serverIds[0]}`);
    assert.equal(response.status, 200);
    assert.match(response.body.request_id, HEX32);
    assert.equal(response.body.count, 105);
    const phone = response.body.phones[0];
    assert.deepEqual(Object.keys(phone).sort(), [
      'availability_zone', 'create_time', 'has_encrypt', 'image_id', 'image_version', 'imei', 'metadata', 'phone_id',
      'phone_model_name', 'phone_name', 'server_id', 'status', 'traffic_type', 'type', 'update_time', 'vnc_enable', 'volume_mode',
    ]);
    assert.match(phone.phone_id, HEX32);
    assert.match(phone.phone_name, /^mobile-\d{4}$/);
    assert.deepEqual(
      { ...phone, phone_id: 0, phone_name: 0, imei: 0, create_time: 0, update_time: 0 },
      {
        phone_id: 0, phone_name: 0, imei: 0, create_time: 0, update_time: 0,
        server_id: first.serverIds[0],
        phone_model_name: FLAVOR_105,
        image_id: AOSP_7,
        image_version: 'AOSP 7.0',
        vnc_enable: 'true',
        status: 2,
        type: 0,
        traffic_type: 'direct',
        volume_mode: 0,
        has_encrypt: false,
        availability_zone: server.availability_zone,
        metadata: server.metadata,
      },
    );
    assert.match(phone.create_time, WIRE_TIME);
    assert.match(phone.update_time, WIRE_TIME);
    const imeis = response.body.phones.map((p: { imei: string }) => p.imei);
    for (const imei of imeis) assert.ok(/^\d{15}$/.test(imei) && luhnValid(imei), `IMEI ${imei}`);
    assert.equal(new Set(imeis).size, imeis.length);
  });

  test('200 phones per page by default, newest server first, count is the total; the next page has the rest', async () => {
    const page1 = await list(t);
    assert.equal(page1.body.count, 210);
    assert.equal(page1.body.phones.length, 200);
    assert.ok(page1.body.phones.slice(0, 105).every((p: { server_id: string }) => p.server_id === second.serverIds[0]));
    assert.ok(page1.body.phones.slice(105).every((p: { server_id: string }) => p.server_id === first.serverIds[0]));
    const page2 = await list(t, 'offset=200');
    assert.equal(page2.body.count, 210);
    assert.equal(page2.body.phones.length, 10);
    const seen = [...page1.body.phones, ...page2.body.phones].map((p: { phone_id: string }) => p.phone_id);
    assert.deepEqual(new Set(seen), new Set([...first.phoneIds, ...second.phoneIds]));
    assert.equal(seen.length, 210);
  });

  test('limit 1–200; an offset past the end is an empty page with the count; bad values are CPS.0002', async () => {
    assert.equal((await list(t, 'limit=200')).body.phones.length, 200);
    const fourth = (await list(t, 'limit=4')).body.phones[3];
    const page = await list(t, 'offset=3&limit=1');
    assert.deepEqual({ count: page.body.count, phones: page.body.phones }, { count: 210, phones: [fourth] });
    for (const offset of [210, 5000]) {
      const response = await list(t, `offset=${offset}`);
      assert.equal(response.status, 200);
      assert.deepEqual({ count: response.body.count, phones: response.body.phones }, { count: 210, phones: [] });
    }
    for (const query of ['limit=201', 'limit=0', 'limit=-1', 'limit=abc', 'offset=-1', 'offset=1.5', 'offset=abc']) {
      assertCpsError(await list(t, query), 400, 'CPS.0002');
    }
  });

  test('phone_name matches a substring, literally', async () => {
    const response = await list(t, 'phone_name=obile-010');
    assert.equal(response.body.count, 12);
    assert.deepEqual(
      response.body.phones.map((p: { phone_name: string }) => p.phone_name).sort(),
      ['0100', '0101', '0102', '0103', '0104', '0105'].flatMap((n) => [`mobile-${n}`, `mobile-${n}`]),
    );
    assert.equal((await list(t, 'phone_name=mobile-0001')).body.count, 2);
    assert.equal((await list(t, 'phone_name=mobile_0001')).body.count, 0);
    assert.equal((await list(t, 'phone_name=%25')).body.count, 0);
  });

  test('server_id selects the phones of one server and combines with the other filters', async () => {
    const response = await list(t, `server_id=${second.serverIds[0]}`);
    assert.equal(response.body.count, 105);
    assert.deepEqual(new Set(response.body.phones.map((p: { phone_id: string }) => p.phone_id)), new Set(second.phoneIds));
    const both = await list(t, `server_id=${second.serverIds[0]}&phone_name=mobile-010&status=2&type=0`);
    assert.equal(both.body.count, 6);
    assert.ok(both.body.phones.every((p: { server_id: string }) => p.server_id === second.serverIds[0]));
    assert.equal((await list(t, `server_id=${UNKNOWN_ID}`)).body.count, 0);
  });

  test('status accepts every documented value, 0 included; others are CPS.0010', async () => {
    for (const status of PHONE_STATUSES) {
      const response = await list(t, `status=${status}`);
      assert.equal(response.status, 200, `status=${status}`);
      assert.equal(response.body.count, status === 2 ? 210 : 0, `status=${status}`);
    }
    for (const status of ['5', '99', '-1', 'running']) assertCpsError(await list(t, `status=${status}`), 400, 'CPS.0010');
  });

  test('type 0 and 1 are accepted; other values are CPS.0116', async () => {
    assert.equal((await list(t, 'type=0')).body.count, 210);
    assert.equal((await list(t, 'type=1')).body.count, 0);
    assertCpsError(await list(t, 'type=2'), 400, 'CPS.0116');
  });

  test('another tenant sees only its own phones', async () => {
    const theirs = await list(other);
    assert.equal(theirs.body.count, 15);
    assert.deepEqual(new Set(theirs.body.phones.map((p: { phone_id: string }) => p.phone_id)), new Set(otherPhones));
    const ours = await list(other, `server_id=${first.serverIds[0]}`);
    assert.deepEqual({ count: ours.body.count, phones: ours.body.phones }, { count: 0, phones: [] });
  });

  test('a page asked for again is answered from memory, and shows every change at once', async () => {
    const query = `server_id=${second.serverIds[0]}&limit=3`;
    const page = await list(t, query);
    const again = await list(t, query);
    assert.notEqual(again.body.request_id, page.body.request_id, 'each answer has its own request id');
    assert.equal(again.body.request_id, again.headers.get('x-request-id'));
    assert.match(again.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual({ ...again.body, request_id: '' }, { ...page.body, request_id: '' });
    assert.equal(Number(again.headers.get('content-length')), Buffer.byteLength(JSON.stringify(again.body)));
    // HEAD: the same headers, no body.
    const head = await fetch(`${t.url}${PHONES.replace('{project_id}', t.tenant.projectId)}?${query}`, { method: 'HEAD', headers: { 'X-Auth-Token': t.tenant.token } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), again.headers.get('content-length'));
    assert.match(head.headers.get('x-request-id') ?? '', HEX32);
    assert.equal(await head.text(), '');
    const [renamed, restarted, stored] = page.body.phones.map((p: { phone_id: string }) => p.phone_id);
    const entry = async (phoneId: string) => (await list(t, query)).body.phones.find((p: { phone_id: string }) => p.phone_id === phoneId);

    assert.equal((await call(t, 'PUT', `${PHONES}/${renamed}`, { body: { phone_name: 'renamed-in-list' } })).status, 200);
    assert.equal((await entry(renamed)).phone_name, 'renamed-in-list', 'a rename');
    const stopped = await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [restarted] } });
    await waitForJobs(t, stopped.body.jobs);
    assert.equal((await entry(restarted)).status, 8, 'a stop job ending');
    await waitForJobs(t, (await restart(t, { phones: [{ phone_id: restarted }] })).body.jobs);
    assert.equal((await entry(restarted)).status, 2, 'a restart job ending');
    await setPhoneStatus(t, stored, 8);
    assert.equal((await entry(stored)).status, 8, 'a write to the store outside the API');
    await setPhoneStatus(t, stored, 2);
    const third = { url: t.url, tenant: await t.createTenant('tenant-c') };
    assert.equal((await list(third)).body.count, 0);
    const bought = await buyServers(third);
    assert.equal((await list(third)).body.count, bought.phoneIds.length, 'a purchase (one transaction)');
  });
});

describe('ShowCloudPhoneDetail', () => {
  test('all documented fields, equal to the list entry; property is a JSON string', async () => {
    const listed = (await list(t, `server_id=${first.serverIds[0]}&phone_name=mobile-0007`)).body.phones[0];
    const response = await detail(t, listed.phone_id);
    assert.equal(response.status, 200);
    const { request_id, property, access_infos, volumes, ...shared } = response.body;
    assert.deepEqual(Object.keys(response.body).sort(), [
      'access_infos', 'availability_zone', 'create_time', 'image_id', 'metadata', 'phone_id', 'phone_model_name',
      'phone_name', 'property', 'request_id', 'server_id', 'status', 'update_time', 'vnc_enable', 'volumes',
    ]);
    // The data disk of the flavor (rx1.cp.c105.d6.e5v5: 6 GB), with a UUID that stays the same.
    assert.equal(volumes.length, 1);
    assert.match(volumes[0].volume_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(volumes[0].volume_size, 6);
    assert.equal(volumes[0].volume_type, 'SSD');
    assert.deepEqual((await detail(t, listed.phone_id)).body.volumes, volumes);
    assert.equal(request_id, response.headers.get('x-request-id'));
    assert.deepEqual(shared, Object.fromEntries(Object.keys(shared).map((key) => [key, listed[key]])));
    assert.equal(typeof property, 'string');
    assert.deepEqual(JSON.parse(property), {});
    assert.equal(access_infos.length, 2);
  });

  test('one access entry per bought port; deprecated fields equal the new ones; no public IP on a private port', async () => {
    const server = await serverDetail(t, first.serverIds[0]);
    const ports = purchaseBody().ports;
    const accessPorts: number[] = [];
    for (const phoneId of first.phoneIds.slice(0, 2)) {
      const infos = (await detail(t, phoneId)).body.access_infos;
      assert.deepEqual(
        infos.map((info: { type: string; listen_port: number }) => [info.type, info.listen_port]),
        ports.map((port) => [port.name, port.listen_port]),
      );
      for (const info of infos) {
        assert.deepEqual([info.device_ip, info.intranet_ip, info.access_ip], [info.phone_ip, info.server_ip, info.public_ip]);
        assert.match(info.phone_ip, /^\d+\.\d+\.\d+\.\d+$/);
        const address = server.addresses.find((a: { server_ip: string }) => a.server_ip === info.server_ip);
        assert.ok(address, `server_ip ${info.server_ip} is one of the server's addresses`);
        const internet = ports.find((port) => port.name === info.type)!.internet_accessible === 'true';
        assert.equal(info.public_ip, internet ? address.public_ip : '');
        assert.ok(Number.isInteger(info.access_port) && info.access_port > 0 && info.access_port < 65536);
        accessPorts.push(info.access_port);
      }
    }
    assert.equal(new Set(accessPorts).size, 4, 'access ports of a server never collide');
  });

  test('an unknown phone and another tenant’s phone get the same 404 CPS.0005', async () => {
    const unknown = await detail(t, UNKNOWN_ID);
    const foreign = await detail(t, otherPhones[0]);
    assertCpsError(unknown, 404, 'CPS.0005');
    assertCpsError(foreign, 404, 'CPS.0005');
    assert.equal((await detail(other, otherPhones[0])).status, 200);
  });
});

describe('RestartCloudPhone', () => {
  test('one job per phone; the jobs are listed under the request id; the phones run again after', async () => {
    const phoneIds = first.phoneIds.slice(0, 3);
    const response = await restart(t, { phones: phoneIds.map((phone_id) => ({ phone_id })) });
    assert.equal(response.status, 200);
    assert.equal(response.body.request_id, response.headers.get('x-request-id'));
    assert.deepEqual(response.body.jobs.map((job: { phone_id: string }) => job.phone_id), phoneIds);
    for (const job of response.body.jobs) assert.deepEqual(Object.keys(job).sort(), ['job_id', 'phone_id']);
    const jobIds = response.body.jobs.map((job: { job_id: string }) => job.job_id);
    assert.equal(new Set(jobIds).size, 3);
    assert.ok(jobIds.every((id: string) => HEX32.test(id)));
    assert.deepEqual((await waitForJobs(t, response.body.jobs)).map((job) => job.status), [2, 2, 2]);
    const listed = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
    assert.deepEqual(
      listed.body.jobs.map((job: { job_id: string; phone_id: string }) => [job.job_id, job.phone_id]).sort(),
      response.body.jobs.map((job: { job_id: string; phone_id: string }) => [job.job_id, job.phone_id]).sort(),
    );
    for (const phoneId of phoneIds) assert.equal(await phoneStatus(t, phoneId), 2);
  });

  test('a mixed batch answers 200 with a result per item and restarts only the valid phones', async () => {
    const [valid, withBadProperty] = first.phoneIds.slice(10, 12);
    const response = await restart(t, {
      phones: [
        { phone_id: valid },
        { phone_id: 'not-a-phone-id' },
        { phone_id: UNKNOWN_ID },
        { phone_id: otherPhones[0] },
        { phone_id: valid },
        { phone_id: withBadProperty, property: 'not json' },
        { phone_id: withBadProperty, property: '["a list"]' },
      ],
    });
    assert.equal(response.status, 200);
    const [accepted, ...refused] = response.body.jobs;
    assert.deepEqual(Object.keys(accepted).sort(), ['job_id', 'phone_id']);
    assert.equal(accepted.phone_id, valid);
    assert.deepEqual(refused, [
      phoneError('not-a-phone-id', 'CPS.0004'),
      phoneError(UNKNOWN_ID, 'CPS.0005'),
      phoneError(otherPhones[0], 'CPS.0005'),
      phoneError(valid, 'CPS.0165'),
      phoneError(withBadProperty, 'CPS.0078'),
      phoneError(withBadProperty, 'CPS.0078'),
    ]);
    await waitForJobs(t, [accepted]);
    const jobs = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
    assert.deepEqual(jobs.body.jobs.map((job: { phone_id: string }) => job.phone_id), [valid]);
    assert.equal(await phoneStatus(other, otherPhones[0]), 2);
  });

  test('whole-request errors: empty, missing or non-array phones, more than 100, unknown image', async () => {
    const phone = { phone_id: first.phoneIds[20] };
    const cases: Array<[unknown, string]> = [
      [{ phones: [] }, 'CPS.0009'],
      [{}, 'CPS.0009'],
      [{ phones: 'x' }, 'CPS.0077'],
      [{ phones: phone }, 'CPS.0077'],
      [{ phones: Array.from({ length: 101 }, () => phone) }, 'CPS.0190'],
      [{ phones: [phone], image_id: UNKNOWN_ID }, 'CPS.0166'],
    ];
    for (const [body, code] of cases) {
      const response = await restart(t, body);
      assertCpsError(response, 400, code);
      assertCpsError(await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`), 400, 'CPS.0050');
    }
    const hundred = await restart(t, { phones: Array.from({ length: 100 }, () => phone) });
    assert.equal(hundred.status, 200);
    await waitForJobs(t, hundred.body.jobs);
  });

  test('a property is merged into the phone’s attributes and an image_id replaces its image', async () => {
    const [phoneId, neighbour] = first.phoneIds.slice(30, 32);
    const once = await restart(t, { phones: [{ phone_id: phoneId, property: '{"sys.prop.writephonenum":"13666666666","sys.prop.writeimsi":"460021624617113"}' }] });
    await waitForJobs(t, once.body.jobs);
    const twice = await restart(t, {
      phones: [{ phone_id: phoneId, property: '{"sys.prop.writeimsi":"460021624617999","sys.prop.writewifissid":"test_wifi"}' }],
      image_id: AOSP_11,
    });
    await waitForJobs(t, twice.body.jobs);
    const after = (await detail(t, phoneId)).body;
    assert.deepEqual(JSON.parse(after.property), {
      'sys.prop.writephonenum': '13666666666',
      'sys.prop.writeimsi': '460021624617999',
      'sys.prop.writewifissid': 'test_wifi',
    });
    assert.equal(after.image_id, AOSP_11);
    assert.equal(after.status, 2);
    const listed = (await list(t, `server_id=${first.serverIds[0]}`)).body.phones;
    assert.equal(listed.find((p: { phone_id: string }) => p.phone_id === phoneId).image_version, 'AOSP 11');
    assert.equal(listed.find((p: { phone_id: string }) => p.phone_id === neighbour).image_id, AOSP_7);
    assert.equal((await detail(t, neighbour)).body.property, '{}');
  });

  test('an image that does not fit the phone’s flavor is refused per phone (CPS.0255)', async () => {
    const phoneId = first.phoneIds[40];
    const response = await restart(t, { phones: [{ phone_id: phoneId }], image_id: GAME_IMAGE });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs, [phoneError(phoneId, 'CPS.0255')]);
    assert.equal((await detail(t, phoneId)).body.image_id, AOSP_7);
  });

  test('stopped and failed phones are started; frozen and busy ones are refused', async () => {
    // No API freezes a phone, and none leaves one stopped, restart-failed or resetting at once: the states are set in the store.
    const [stopped, restartFailed, frozen, resetting] = second.phoneIds.slice(50, 54);
    await Promise.all([setPhoneStatus(t, stopped, 8), setPhoneStatus(t, restartFailed, -6), setPhoneStatus(t, frozen, 6), setPhoneStatus(t, resetting, 3)]);
    const response = await restart(t, { phones: [stopped, restartFailed, frozen, resetting].map((phone_id) => ({ phone_id })) });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs.slice(2), [phoneError(frozen, 'CPS.0053'), phoneError(resetting, 'CPS.0165')]);
    await waitForJobs(t, response.body.jobs.slice(0, 2));
    assert.deepEqual(
      await Promise.all([stopped, restartFailed, frozen, resetting].map((id) => phoneStatus(t, id))),
      [2, 2, 6, 3],
    );
  });
});

describe('RestartCloudPhone on a server with realistic durations', () => {
  let slow: TestServer;
  let serverId: string;
  let phoneIds: string[];
  let provisioningJobs: Array<{ job_id: string }>;

  before(async () => {
    slow = await startTestServer({ env: { OPENCPH_SIM_TIME_SCALE: '0.05' } });
    const bought = await call(slow, 'POST', PHONES, { body: purchaseBody() });
    serverId = bought.body.server_ids[0];
    phoneIds = (await list(slow, `server_id=${serverId}`)).body.phones.map((p: { phone_id: string }) => p.phone_id);
    provisioningJobs = (await call(slow, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${bought.body.request_id}`)).body.jobs;
  });
  after(() => slow.close());

  test('a phone still being created is refused with CPS.0213', async () => {
    assert.equal(await phoneStatus(slow, phoneIds[0]), 1);
    const response = await restart(slow, { phones: [{ phone_id: phoneIds[0] }] });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs, [phoneError(phoneIds[0], 'CPS.0213')]);
  });

  test('a restarting phone shows status 4 until its job ends, then 2', async () => {
    await waitForJobs(slow, provisioningJobs);
    const response = await restart(slow, { phones: [{ phone_id: phoneIds[0] }] });
    assert.equal(await phoneStatus(slow, phoneIds[0]), 4);
    const restarting = await list(slow, 'status=4');
    assert.deepEqual(restarting.body.phones.map((p: { phone_id: string }) => p.phone_id), [phoneIds[0]]);
    assert.equal((await waitForJobs(slow, response.body.jobs))[0].status, 2);
    assert.equal(await phoneStatus(slow, phoneIds[0]), 2);
  });

  test('a refused request changes nothing: no phone restarts, no job is recorded', async () => {
    const phones = phoneIds.map((phone_id) => ({ phone_id }));
    const tooMany = await restart(slow, { phones: [...phones, ...Array.from({ length: 101 - phones.length }, () => phones[0])] });
    assertCpsError(tooMany, 400, 'CPS.0190');
    const badImage = await restart(slow, { phones, image_id: UNKNOWN_ID });
    assertCpsError(badImage, 400, 'CPS.0166');
    assert.equal((await list(slow, `server_id=${serverId}&status=2`)).body.count, phoneIds.length);
    for (const refused of [tooMany, badImage]) {
      assertCpsError(await call(slow, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${refused.body.request_id}`), 400, 'CPS.0050');
    }
  });
});
