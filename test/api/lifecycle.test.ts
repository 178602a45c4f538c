import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, phoneDetail, phoneStatus, purchaseBody, setPhoneStatus, startTestServer, waitForJob, waitForJobs, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError, phoneError } from '../helpers/cps.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const AOSP_7 = '88b8449b896f3a4f0ad57222dd919899';
const AOSP_11 = '23051820230601c84d0007e19b3f5a27';
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const FILE = '/data/local/tmp/kept.txt';

const reset = (target: Target, body: unknown) => call(target, 'POST', `${PHONES}/batch-reset`, { body });
const restart = (target: Target, body: unknown) => call(target, 'POST', `${PHONES}/batch-restart`, { body });
const stop = (target: Target, body: unknown) => call(target, 'POST', `${PHONES}/batch-stop`, { body });
const updateProperty = (target: Target, body: unknown) => call(target, 'POST', `${PHONES}/batch-update-property`, { body });
const rename = (target: Target, phoneId: string, body: unknown) => call(target, 'PUT', `${PHONES}/${phoneId}`, { body });
const jobsOf = (target: Target, requestId: string) => call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${requestId}`);

/** Runs a shell command on a phone through the commands API; the finished job. */
async function shell(target: Target, phoneId: string, content: string) {
  const response = await call(target, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content, phone_ids: [phoneId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return waitForJob(target, response.body.jobs[0].job_id);
}

let t: TestServer;
let other: Target;
let phones: string[];
let otherPhones: string[];

/** A refused request left the phones in their statuses and recorded no job. */
async function assertUnchanged(ids: string[], statuses: number[], requestId: string) {
  assert.deepEqual(await Promise.all(ids.map((id) => phoneStatus(t, id))), statuses);
  assertCpsError(await jobsOf(t, requestId), 400, 'CPS.0050');
}

before(async () => {
  t = await startTestServer();
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
  phones = (await buyServers(t)).phoneIds;
  otherPhones = (await buyServers(other)).phoneIds;
});
after(() => t.close());

describe('ResetCloudPhone', () => {
  test('wipes the phone’s data, applies the new image and attributes, and the phone runs again', async () => {
    const [phoneId, neighbour] = phones.slice(0, 2);
    for (const id of [phoneId, neighbour]) assert.equal((await shell(t, id, `echo hello > ${FILE}`)).status, 2);
    const property = '{"sys.prop.writephonenum":"13666666666","sys.prop.writeimsi": "460021624617113","sys.prop.wifid":"test_wifi"}';
    const response = await reset(t, { phones: [{ phone_id: phoneId, property }], image_id: AOSP_11 });
    assert.equal(response.status, 200);
    assert.equal(response.body.request_id, response.headers.get('x-request-id'));
    assert.deepEqual(Object.keys(response.body.jobs[0]).sort(), ['job_id', 'phone_id']);
    const [job] = await waitForJobs(t, response.body.jobs);
    assert.equal(job.status, 2, JSON.stringify(job));
    const after = await phoneDetail(t, phoneId);
    assert.deepEqual([after.status, after.image_id], [2, AOSP_11]);
    assert.deepEqual(JSON.parse(after.property), JSON.parse(property));
    assert.notEqual((await shell(t, phoneId, `cat ${FILE}`)).status, 2, 'the file written before the reset is gone');
    const kept = await shell(t, neighbour, `cat ${FILE}`);
    assert.deepEqual([kept.status, kept.execute_msg.trim()], [2, 'hello']);
    assert.equal((await phoneDetail(t, neighbour)).image_id, AOSP_7);
  });

  test('per-item refusals by state, id and attributes; only the allowed phones reset', async () => {
    const [stopped, failed, abnormal, creating, frozen, restarting, stopFailed, badValue] = phones.slice(2, 10);
    const statuses: Array<[string, number]> = [[stopped, 8], [failed, -5], [abnormal, -7], [creating, 1], [frozen, 6], [restarting, 4], [stopFailed, -9]];
    await Promise.all(statuses.map(([id, status]) => setPhoneStatus(t, id, status)));
    const response = await reset(t, {
      phones: [
        ...[stopped, failed, abnormal, creating, frozen, restarting, stopFailed].map((phone_id) => ({ phone_id })),
        { phone_id: 'not-a-phone-id' },
        { phone_id: UNKNOWN_ID },
        { phone_id: otherPhones[0] },
        { phone_id: badValue, property: '{"sys.prop.write_imsi":"46002x"}' },
        { phone_id: badValue, property: '{"a":["b"]}' },
        { phone_id: stopped },
      ],
    });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs.slice(3), [
      phoneError(creating, 'CPS.0213'),
      phoneError(frozen, 'CPS.0053'),
      phoneError(restarting, 'CPS.0165'),
      phoneError(stopFailed, 'CPS.0165'),
      phoneError('not-a-phone-id', 'CPS.0004'),
      phoneError(UNKNOWN_ID, 'CPS.0005'),
      phoneError(otherPhones[0], 'CPS.0005'),
      phoneError(badValue, 'CPS.0164', 'sys.prop.write_imsi'),
      phoneError(badValue, 'CPS.0078'),
      phoneError(stopped, 'CPS.0165'),
    ]);
    await waitForJobs(t, response.body.jobs.slice(0, 3));
    assert.deepEqual(
      await Promise.all([stopped, failed, abnormal, creating, frozen, restarting, stopFailed, badValue].map((id) => phoneStatus(t, id))),
      [2, 2, 2, 1, 6, 4, -9, 2],
    );
    const jobs = (await jobsOf(t, response.body.request_id)).body.jobs.map((job: { phone_id: string }) => job.phone_id);
    assert.deepEqual(jobs.sort(), [stopped, failed, abnormal].sort());
    assert.equal(await phoneStatus(other, otherPhones[0]), 2);
    await Promise.all([creating, frozen, restarting, stopFailed].map((id) => setPhoneStatus(t, id, 2)));
  });

  test('whole-request errors change nothing', async () => {
    const phone = { phone_id: phones[10] };
    const cases: Array<[unknown, string]> = [
      [{}, 'CPS.0009'],
      [{ phones: [] }, 'CPS.0009'],
      [{ phones: 'x' }, 'CPS.0077'],
      [{ phones: Array.from({ length: 101 }, () => phone) }, 'CPS.0190'],
      [{ phones: [phone], image_id: UNKNOWN_ID }, 'CPS.0166'],
    ];
    for (const [body, code] of cases) {
      const response = await reset(t, body);
      assertCpsError(response, 400, code);
      await assertUnchanged([phone.phone_id], [2], response.body.request_id);
    }
  });
});

describe('PowerOffCloudPhone', () => {
  test('a running phone stops (8), keeps its data and starts again with RestartCloudPhone', async () => {
    const phoneId = phones[11];
    await shell(t, phoneId, `echo kept > ${FILE}`);
    const response = await stop(t, { phone_ids: [phoneId] });
    assert.equal(response.status, 200);
    assert.deepEqual(Object.keys(response.body.jobs[0]).sort(), ['job_id', 'phone_id']);
    assert.equal((await waitForJobs(t, response.body.jobs))[0].status, 2);
    assert.equal(await phoneStatus(t, phoneId), 8);
    const again = await stop(t, { phone_ids: [phoneId] });
    assert.deepEqual(again.body.jobs, [phoneError(phoneId, 'CPS.0141')]);
    const started = await restart(t, { phones: [{ phone_id: phoneId }] });
    assert.equal((await waitForJobs(t, started.body.jobs))[0].status, 2);
    assert.equal(await phoneStatus(t, phoneId), 2);
    assert.equal((await shell(t, phoneId, `cat ${FILE}`)).execute_msg.trim(), 'kept');
  });

  test('per-item refusals: a failed stop is retried, other states and ids are refused', async () => {
    const [stopFailed, creating, frozen, resetting, abnormal] = phones.slice(12, 15).concat(phones.slice(0, 2));
    await Promise.all([setPhoneStatus(t, stopFailed, -9), setPhoneStatus(t, creating, 0), setPhoneStatus(t, frozen, 6), setPhoneStatus(t, resetting, 3), setPhoneStatus(t, abnormal, -7)]);
    const response = await stop(t, { phone_ids: [stopFailed, creating, frozen, resetting, abnormal, 'x', UNKNOWN_ID, otherPhones[1]] });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs.slice(1), [
      phoneError(creating, 'CPS.0213'),
      phoneError(frozen, 'CPS.0053'),
      phoneError(resetting, 'CPS.0141'),
      phoneError(abnormal, 'CPS.0141'),
      phoneError('x', 'CPS.0004'),
      phoneError(UNKNOWN_ID, 'CPS.0005'),
      phoneError(otherPhones[1], 'CPS.0005'),
    ]);
    await waitForJobs(t, response.body.jobs.slice(0, 1));
    assert.deepEqual(await Promise.all([stopFailed, creating, frozen, resetting, abnormal].map((id) => phoneStatus(t, id))), [8, 0, 6, 3, -7]);
    assert.equal(await phoneStatus(other, otherPhones[1]), 2);
    await Promise.all([stopFailed, creating, frozen, resetting, abnormal].map((id) => setPhoneStatus(t, id, 2)));
  });

  test('body errors: phone_ids missing or empty (CPS.0009), not a list of strings (CPS.0080), over 100 (CPS.0190)', async () => {
    const phoneId = phones[5];
    const cases: Array<[unknown, string]> = [
      [{}, 'CPS.0009'],
      [{ phone_ids: [] }, 'CPS.0009'],
      [{ phone_ids: phoneId }, 'CPS.0080'],
      [{ phone_ids: [{ phone_id: phoneId }] }, 'CPS.0080'],
      [{ phones: [{ phone_id: phoneId }] }, 'CPS.0009'],
      [{ phone_ids: Array.from({ length: 101 }, () => phoneId) }, 'CPS.0190'],
    ];
    for (const [body, code] of cases) {
      const response = await stop(t, body);
      assertCpsError(response, 400, code);
      await assertUnchanged([phoneId], [2], response.body.request_id);
    }
  });
});

describe('UpdatePhoneName', () => {
  test('renames the phone and answers only the request id', async () => {
    const phoneId = phones[6];
    const response = await rename(t, phoneId, { phone_name: 'new_Name-60' });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { request_id: response.headers.get('x-request-id') });
    assert.equal((await phoneDetail(t, phoneId)).phone_name, 'new_Name-60');
    assert.equal((await rename(t, phoneId, { phone_name: 'x'.repeat(60) })).status, 200);
    assert.equal((await phoneDetail(t, phoneId)).phone_name, 'x'.repeat(60));
  });

  test('invalid names are CPS.0025 and change nothing', async () => {
    const phoneId = phones[7];
    const before = (await phoneDetail(t, phoneId)).phone_name;
    for (const body of [{}, { phone_name: '' }, { phone_name: 'x'.repeat(61) }, { phone_name: 'a b' }, { phone_name: 'é' }, { phone_name: 'a.b' }, { phone_name: ['a'] }]) {
      assertCpsError(await rename(t, phoneId, body), 400, 'CPS.0025');
    }
    assert.equal((await phoneDetail(t, phoneId)).phone_name, before);
  });

  test('an unknown phone and another tenant’s phone get the same 404 CPS.0005', async () => {
    const before = (await phoneDetail(other, otherPhones[2])).phone_name;
    assertCpsError(await rename(t, UNKNOWN_ID, { phone_name: 'n' }), 404, 'CPS.0005');
    assertCpsError(await rename(t, otherPhones[2], { phone_name: 'n' }), 404, 'CPS.0005');
    assertCpsError(await rename(t, 'not-an-id', { phone_name: 'n' }), 404, 'CPS.0005');
    assert.equal((await phoneDetail(other, otherPhones[2])).phone_name, before);
  });
});

describe('UpdateCloudPhoneProperty', () => {
  test('attributes are merged as sent (aliases and unlisted names included); the status does not change', async () => {
    const [running, stopped] = phones.slice(8, 10);
    await setPhoneStatus(t, stopped, 8);
    const first = await updateProperty(t, {
      phones: [
        { phone_id: running, property: '{"sys.prop.writephonenum":"13666666666","sys.prop.writeimsi":"460021624617113","sys.prop.writewifissid":"test_wifi"}' },
        { phone_id: stopped, property: '{"com.cph.mainkeys":1,"com.cph.cg.app_port":"10500","vendor.custom":"x"}' },
      ],
    });
    assert.equal(first.status, 200);
    assert.deepEqual((await waitForJobs(t, first.body.jobs)).map((job) => job.status), [2, 2]);
    const second = await updateProperty(t, { phones: [{ phone_id: running, property: '{"sys.prop.writeimsi":"460021624617999","com.cph.cg.heartbeat_url":"https://example.com:8443/hb?x=1"}' }] });
    await waitForJobs(t, second.body.jobs);
    const after = await phoneDetail(t, running);
    assert.equal(after.status, 2);
    assert.deepEqual(JSON.parse(after.property), {
      'sys.prop.writephonenum': '13666666666',
      'sys.prop.writeimsi': '460021624617999',
      'sys.prop.writewifissid': 'test_wifi',
      'com.cph.cg.heartbeat_url': 'https://example.com:8443/hb?x=1',
    });
    const stoppedAfter = await phoneDetail(t, stopped);
    assert.equal(stoppedAfter.status, 8);
    assert.deepEqual(JSON.parse(stoppedAfter.property), { 'com.cph.mainkeys': 1, 'com.cph.cg.app_port': '10500', 'vendor.custom': 'x' });
    await setPhoneStatus(t, stopped, 2);
  });

  test('values outside the attribute list’s rules are CPS.0164 naming the attribute; nothing is recorded', async () => {
    const phoneId = phones[10];
    const invalid: Array<[string, unknown]> = [
      ['com.cph.mainkeys', 2],
      ['ro.horizontal.screen', 'yes'],
      ['com.cph.bandwidth_limit', '0'],
      ['com.cph.bandwidth_limit', '100000000'],
      ['persist.sys.locale', ''],
      ['sys.prop.write_phonenum', '+8613666666666'],
      ['sys.prop.writewifissid', 'my wifi'],
      ['sys.prop.wifid', 'x'.repeat(65)],
      ['gsm.sim.operator.iso-country', 'c1'],
      ['gsm.operator.alpha', 'a;b'],
      ['com.cph.cg.sign_check_url', 'ftp://example.com'],
      ['com.cph.cg.event_notify_url', `https://${'a'.repeat(250)}`],
      ['com.cph.cg.h5_port', '9999'],
      ['com.cph.cg.app_port', '11001'],
      ['com.cph.cg.heartbeat_interval', '12345678901'],
    ];
    const response = await updateProperty(t, { phones: invalid.map(([name, value]) => ({ phone_id: phoneId, property: JSON.stringify({ [name]: value }) })) });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs, invalid.map(([name]) => phoneError(phoneId, 'CPS.0164', name)));
    const valid = await updateProperty(t, {
      phones: [{ phone_id: phoneId, property: JSON.stringify({ 'com.cph.bandwidth_limit': '-1', 'gsm.operator.numeric': '46000', 'gsm.sim.operator.alpha': 'China Mobile (CMCC)', 'persist.sys.locale': 'zh-CN' }) }],
    });
    assert.equal((await waitForJobs(t, valid.body.jobs))[0].status, 2);
    assert.equal(JSON.parse((await phoneDetail(t, phoneId)).property)['persist.sys.locale'], 'zh-CN');
  });

  test('the download rate cannot be limited on the qemu flavor (CPS.0163)', async () => {
    const phoneId = phones[11];
    await t.server.store.db.updateTable('phones').set({ phone_model_name: 'rx1.cp.c60.d32.e1v1.qemu' }).where('id', '=', phoneId).execute();
    const response = await updateProperty(t, { phones: [{ phone_id: phoneId, property: '{"com.cph.bandwidth_limit":"1000"}' }] });
    assert.deepEqual(response.body.jobs, [phoneError(phoneId, 'CPS.0163', 'com.cph.bandwidth_limit')]);
    await t.server.store.db.updateTable('phones').set({ phone_model_name: 'rx1.cp.c15.d46.e1v1' }).where('id', '=', phoneId).execute();
  });

  test('per-item refusals: busy, frozen and creating phones, bad JSON, unknown ids', async () => {
    const [resetting, frozen, creating, running] = phones.slice(12, 15).concat(phones.slice(3, 4));
    await Promise.all([setPhoneStatus(t, resetting, 3), setPhoneStatus(t, frozen, 6), setPhoneStatus(t, creating, 1)]);
    const property = '{"com.cph.mainkeys":"1"}';
    const response = await updateProperty(t, {
      phones: [
        ...[resetting, frozen, creating].map((phone_id) => ({ phone_id, property })),
        { phone_id: running, property: 'not json' },
        { phone_id: running, property: '[]' },
        { phone_id: UNKNOWN_ID, property },
        { phone_id: otherPhones[0], property },
      ],
    });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs, [
      phoneError(resetting, 'CPS.0022'),
      phoneError(frozen, 'CPS.0053'),
      phoneError(creating, 'CPS.0213'),
      phoneError(running, 'CPS.0078'),
      phoneError(running, 'CPS.0078'),
      phoneError(UNKNOWN_ID, 'CPS.0005'),
      phoneError(otherPhones[0], 'CPS.0005'),
    ]);
    assertCpsError(await jobsOf(t, response.body.request_id), 400, 'CPS.0050');
    assert.equal((await phoneDetail(other, otherPhones[0])).property, '{}');
    await Promise.all([resetting, frozen, creating].map((id) => setPhoneStatus(t, id, 2)));
  });

  test('body errors: phones missing or empty (CPS.0009), not a list (CPS.0077), an item without property (CPS.0078)', async () => {
    const phoneId = phones[4];
    const cases: Array<[unknown, string]> = [
      [{}, 'CPS.0009'],
      [{ phones: [] }, 'CPS.0009'],
      [{ phones: 'x' }, 'CPS.0077'],
      [{ phones: [{ phone_id: phoneId }] }, 'CPS.0078'],
      [{ phones: [{ phone_id: phoneId, property: { a: '1' } }] }, 'CPS.0078'],
      [{ phones: Array.from({ length: 101 }, () => ({ phone_id: phoneId, property: '{}' })) }, 'CPS.0190'],
    ];
    for (const [body, code] of cases) {
      const response = await updateProperty(t, body);
      assertCpsError(response, 400, code);
      await assertUnchanged([phoneId], [2], response.body.request_id);
    }
  });
});

describe('lifecycle on a server with realistic durations', () => {
  let slow: TestServer;
  let phoneIds: string[];

  before(async () => {
    slow = await startTestServer({ env: { OPENCPH_SIM_TIME_SCALE: '0.05' } });
    const bought = await call(slow, 'POST', PHONES, { body: purchaseBody() });
    await waitForJobs(slow, (await jobsOf(slow, bought.body.request_id)).body.jobs);
    phoneIds = (await call(slow, 'GET', `${PHONES}?server_id=${bought.body.server_ids[0]}`)).body.phones.map((p: { phone_id: string }) => p.phone_id);
  });
  after(() => slow.close());

  test('a resetting phone shows 3 until its job ends, then 2', async () => {
    const response = await reset(slow, { phones: [{ phone_id: phoneIds[0] }] });
    assert.equal(await phoneStatus(slow, phoneIds[0]), 3);
    const again = await reset(slow, { phones: [{ phone_id: phoneIds[0] }] });
    assert.deepEqual(again.body.jobs, [phoneError(phoneIds[0], 'CPS.0165')]);
    assert.equal((await waitForJobs(slow, response.body.jobs))[0].status, 2);
    assert.equal(await phoneStatus(slow, phoneIds[0]), 2);
  });

  test('a stopping phone shows 7 until its job ends, then 8; starting it shows 4, then 2', async () => {
    const stopping = await stop(slow, { phone_ids: [phoneIds[1]] });
    assert.equal(await phoneStatus(slow, phoneIds[1]), 7);
    assert.deepEqual((await call(slow, 'GET', `${PHONES}?status=7`)).body.phones.map((p: { phone_id: string }) => p.phone_id), [phoneIds[1]]);
    await waitForJobs(slow, stopping.body.jobs);
    assert.equal(await phoneStatus(slow, phoneIds[1]), 8);
    const starting = await restart(slow, { phones: [{ phone_id: phoneIds[1] }] });
    assert.equal(await phoneStatus(slow, phoneIds[1]), 4);
    await waitForJobs(slow, starting.body.jobs);
    assert.equal(await phoneStatus(slow, phoneIds[1]), 2);
  });
});
