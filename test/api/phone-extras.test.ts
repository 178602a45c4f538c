// Phone operations of Huawei's SDK beyond the documents, over HTTP: BatchShowPhoneConnectInfos
// (`POST …/phones/batch-connection`) and ExpandPhoneDataVolumeSize (`POST …/phones/expand-volume`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, phoneDetail, phonesOf, serverDetail, startTestServer, waitForJob, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError, phoneError } from '../helpers/cps.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const CONNECTION = `${PHONES}/batch-connection`;
const EXPAND = `${PHONES}/expand-volume`;

const HEX32 = /^[0-9a-f]{32}$/;
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';

let t: TestServer;
let other: Target;
/** Phone ids by slot (index 0 = mobile-0001) of a server without and one with encoding servers. */
let plain: { serverId: string; phones: string[] };
let encoded: { serverId: string; phones: string[] };
let otherPhone: string;

/** Buys one server and returns its phones in slot order. */
async function buy(target: Target, overrides: Record<string, unknown> = {}) {
  const [serverId] = (await buyServers(target, overrides)).serverIds;
  return { serverId, phones: (await phonesOf(target, serverId)).map((phone) => phone.phone_id as string) };
}

before(async () => {
  t = await startTestServer();
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
  plain = await buy(t);
  encoded = await buy(t, { server_name: 'encoded', phone_model_name: 'rx1.cp.c60.d10.e1v1' });
  otherPhone = (await buy(other)).phones[0];
});
after(() => t.close());

/** No API puts a phone in these states (or not in one step): they are set in the store. */
const setStatus = (id: string, status: number) => t.server.store.db.updateTable('phones').set({ status }).where('id', '=', id).execute();

const volumeSize = async (phoneId: string) => (await phoneDetail(t, phoneId)).volumes[0].volume_size as number;

async function connect(body: unknown, target: Target = t) {
  const response = await call(target, 'POST', CONNECTION, { body });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['connect_infos', 'errors', 'request_id']);
  return response.body as { connect_infos: Array<{ phone_id: string; access_info: Record<string, any> }>; errors: unknown[] };
}

describe('BatchShowPhoneConnectInfos', () => {
  test('each running phone: its server address, the port of the client kind, and a new session', async () => {
    const server = await serverDetail(t, plain.serverId);
    const [first, second] = plain.phones;
    const before = Date.now();
    const app = await connect({ phone_ids: [first, second], client_type: 'ANDROID' });
    assert.deepEqual(app.errors, []);
    assert.deepEqual(app.connect_infos.map((info) => info.phone_id), [first, second]);
    app.connect_infos.forEach(({ access_info: info }, index) => {
      // Slot 1 is on the first address, slot 2 on the second.
      const address = server.addresses[index];
      assert.deepEqual(Object.keys(info).sort(), ['access_ip', 'access_ipv6', 'access_port', 'intranet_ip', 'session_id', 'ticket', 'timestamp']);
      assert.deepEqual([info.access_ip, info.intranet_ip, info.access_ipv6, info.access_port], [address.public_ip, address.server_ip, '', 6900]);
      assert.match(info.session_id, HEX32);
      assert.match(info.ticket, /^[0-9a-f]{64}$/);
      assert.match(info.timestamp, /^\d{13}$/);
      assert.ok(Number(info.timestamp) >= before - 1000 && Number(info.timestamp) <= Date.now() + 1000, info.timestamp);
    });
    assert.notEqual(app.connect_infos[0].access_info.session_id, app.connect_infos[1].access_info.session_id);

    // The same IPs as the phone's access infos in its detail (the second port is public).
    const phone = await phoneDetail(t, first);
    assert.equal(app.connect_infos[0].access_info.intranet_ip, phone.access_infos[0].server_ip);
    assert.equal(app.connect_infos[0].access_info.access_ip, phone.access_infos[1].public_ip);

    for (const clientType of ['H5_PC', 'H5_MOBILE']) {
      const h5 = await connect({ phone_ids: [first], client_type: clientType });
      assert.equal(h5.connect_infos[0].access_info.access_port, 6901, clientType);
      assert.notEqual(h5.connect_infos[0].access_info.session_id, app.connect_infos[0].access_info.session_id);
    }
    for (const clientType of ['WINDOWS', 'IOS', 'iOS']) {
      assert.equal((await connect({ phone_ids: [first], client_type: clientType })).connect_infos[0].access_info.access_port, 6900, clientType);
    }
  });

  test('phones of a server with encoding servers connect through their running encoding server', async () => {
    const encodeServers = (await call(t, 'GET', `/v1/{project_id}/cloud-phone/encode-servers?server_id=${encoded.serverId}`)).body.encode_servers;
    const bySlot = (slot: number) => encodeServers.find((server: { encode_server_name: string }) => server.encode_server_name === `ENCODE_SERVER_${slot}`);
    const [first, second] = encoded.phones;
    for (const [clientType, type] of [['ANDROID', 'cph_app_server'], ['H5_PC', 'cph_h5_server']]) {
      const infos = await connect({ phone_ids: [first, second], client_type: clientType });
      infos.connect_infos.forEach(({ access_info: info }, index) => {
        const port = bySlot(index + 1).access_infos.find((access: { type: string }) => access.type === type);
        assert.deepEqual([info.access_ip, info.intranet_ip, info.access_port], [port.public_ip, port.server_ip, port.access_port], `${clientType} slot ${index + 1}`);
      });
    }
    const db = t.server.store.db;
    try {
      await db.updateTable('encode_servers').set({ status: 2 }).where('id', '=', bySlot(1).encode_server_id).execute();
      await db.updateTable('encode_servers').set({ status: 4 }).where('id', '=', bySlot(2).encode_server_id).execute();
      const refused = await connect({ phone_ids: [first, second, encoded.phones[2]], client_type: 'ANDROID' });
      // Slot 3 is on the first address again, so its encoding server is the first's.
      assert.deepEqual(refused.errors, [phoneError(first, 'CPS.0208'), phoneError(second, 'CPS.0195'), phoneError(encoded.phones[2], 'CPS.0208')]);
      assert.deepEqual(refused.connect_infos, []);
    } finally {
      await db.updateTable('encode_servers').set({ status: 1 }).where('server_id', '=', encoded.serverId).execute();
    }
  });

  test('per-phone errors: malformed, unknown, another project\'s, not running, creating and frozen phones', async () => {
    const [running, stopped, creating, frozen] = plain.phones.slice(2, 6);
    try {
      await Promise.all([setStatus(stopped, 8), setStatus(creating, 1), setStatus(frozen, 6)]);
      const result = await connect({ phone_ids: ['1234567b8bab40ffb711234cb8654321z', UNKNOWN_ID, otherPhone, stopped, creating, frozen, running], client_type: 'ANDROID' });
      assert.deepEqual(result.errors, [
        phoneError('1234567b8bab40ffb711234cb8654321z', 'CPS.0004'),
        phoneError(UNKNOWN_ID, 'CPS.0005'),
        phoneError(otherPhone, 'CPS.0005'),
        phoneError(stopped, 'CPS.0141'),
        phoneError(creating, 'CPS.0213'),
        phoneError(frozen, 'CPS.0053'),
      ]);
      assert.deepEqual(result.connect_infos.map((info) => info.phone_id), [running]);
    } finally {
      await Promise.all([stopped, creating, frozen].map((id) => setStatus(id, 2)));
    }
    assert.deepEqual((await connect({ phone_ids: [otherPhone], client_type: 'ANDROID' }, other)).errors, [], 'its own project connects');
  });

  test('a missing, empty, oversized or malformed request is refused whole', async () => {
    const phoneIds = plain.phones.slice(0, 2);
    const cases: Array<[unknown, string]> = [
      [{ client_type: 'ANDROID' }, 'CPS.0009'],
      [{ phone_ids: [], client_type: 'ANDROID' }, 'CPS.0009'],
      [{ phone_ids: plain.phones.slice(0, 11), client_type: 'ANDROID' }, 'CPS.0190'],
      [{ phone_ids: 'abc', client_type: 'ANDROID' }, 'CPS.0080'],
      [{ phone_ids: [{}], client_type: 'ANDROID' }, 'CPS.0004'],
      [{ phone_ids: phoneIds }, 'CPS.0116'],
      [{ phone_ids: phoneIds, client_type: 'MAC' }, 'CPS.0116'],
      [{ phone_ids: phoneIds, client_type: 'android' }, 'CPS.0116'],
      [[phoneIds], 'CPS.0080'],
    ];
    for (const [body, code] of cases) assertCpsError(await call(t, 'POST', CONNECTION, { body }), 400, code, JSON.stringify(body).slice(0, 80));
    assert.equal((await connect({ phone_ids: plain.phones.slice(0, 10), client_type: 'WINDOWS' })).connect_infos.length, 10);
  });
});

describe('ExpandPhoneDataVolumeSize', () => {
  test('grows the data volume shown by the phone detail; the phone keeps running', async () => {
    const [phoneId, stopped] = plain.phones.slice(6, 8);
    await setStatus(stopped, 8);
    assert.deepEqual([await volumeSize(phoneId), await volumeSize(stopped)], [46, 46]);
    const before = await phoneDetail(t, phoneId);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // update_time has a resolution of one second
    const response = await call(t, 'POST', EXPAND, { body: { phones: [{ phone_id: phoneId, new_size: 100 }, { phone_id: stopped, new_size: 46 }] } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.match(response.body.request_id, HEX32);
    assert.deepEqual(response.body.jobs.map((job: { phone_id: string }) => job.phone_id), [phoneId, stopped]);
    for (const job of response.body.jobs) {
      assert.deepEqual(Object.keys(job).sort(), ['job_id', 'phone_id']);
      assert.equal((await waitForJob(t, job.job_id)).status, 2);
    }
    const after = await phoneDetail(t, phoneId);
    assert.equal(after.volumes[0].volume_size, 100);
    assert.equal(after.status, 2);
    assert.notEqual(after.volumes[0].update_time, before.volumes[0].update_time);
    assert.deepEqual([await volumeSize(stopped), (await phoneDetail(t, stopped)).status], [46, 8]);
    const listed = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
    assert.deepEqual(listed.body.jobs.map((job: { phone_id: string }) => job.phone_id), [phoneId, stopped]);
    await setStatus(stopped, 2);

    const grown = await call(t, 'POST', EXPAND, { body: { phones: [{ phone_id: phoneId, new_size: 32767 }] } });
    assert.equal((await waitForJob(t, grown.body.jobs[0].job_id)).status, 2);
    assert.equal(await volumeSize(phoneId), 32767);
  });

  test('the phone itself sees the grown volume: df /data reports the new size at once', async () => {
    const phoneId = plain.phones[14];
    /** `df /data`'s size column in 1K blocks and its mount point, through RunSyncCommand. */
    const dfData = async () => {
      const response = await call(t, 'POST', `${PHONES}/sync-commands`, { body: { command: 'shell', content: 'df /data', phone_ids: [phoneId] } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const [job] = response.body.jobs;
      assert.equal(job.status, 2, JSON.stringify(job));
      const columns = job.execute_msg.split('\n')[1].split(/\s+/);
      return [Number(columns[1]), columns.at(-1)];
    };
    assert.deepEqual(await dfData(), [46 * 1024 * 1024, '/data']);
    const response = await call(t, 'POST', EXPAND, { body: { phones: [{ phone_id: phoneId, new_size: 100 }] } });
    assert.equal((await waitForJob(t, response.body.jobs[0].job_id)).status, 2);
    assert.deepEqual(await dfData(), [100 * 1024 * 1024, '/data']);
  });

  test('per-phone refusals: malformed, unknown, another project\'s, busy, creating, frozen phones and smaller sizes', async () => {
    const [smaller, busy, creating, frozen, twice] = plain.phones.slice(8, 13);
    try {
      await Promise.all([setStatus(busy, 4), setStatus(creating, 0), setStatus(frozen, 6)]);
      const response = await call(t, 'POST', EXPAND, {
        body: {
          phones: [
            { phone_id: 'x', new_size: 50 },
            { phone_id: UNKNOWN_ID, new_size: 50 },
            { phone_id: otherPhone, new_size: 50 },
            { phone_id: smaller, new_size: 45 },
            { phone_id: busy, new_size: 50 },
            { phone_id: creating, new_size: 50 },
            { phone_id: frozen, new_size: 50 },
            { phone_id: twice, new_size: 80 },
            { phone_id: twice, new_size: 60 },
          ],
        },
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const jobs = response.body.jobs;
      assert.deepEqual(jobs.slice(0, 7), [
        phoneError('x', 'CPS.0004'),
        phoneError(UNKNOWN_ID, 'CPS.0005'),
        phoneError(otherPhone, 'CPS.0005'),
        phoneError(smaller, 'CPS.0077'),
        phoneError(busy, 'CPS.0165'),
        phoneError(creating, 'CPS.0213'),
        phoneError(frozen, 'CPS.0053'),
      ]);
      assert.match(jobs[7].job_id, HEX32);
      assert.deepEqual(jobs[8], phoneError(twice, 'CPS.0077'), 'less than what the same request already asked for');
      assert.equal((await waitForJob(t, jobs[7].job_id)).status, 2);
    } finally {
      await Promise.all([busy, creating, frozen].map((id) => setStatus(id, 2)));
    }
    assert.deepEqual(await Promise.all([smaller, busy, creating, frozen].map(volumeSize)), [46, 46, 46, 46]);
    assert.equal(await volumeSize(twice), 80);
    assert.equal((await phoneDetail(other, otherPhone)).volumes[0].volume_size, 46, 'the other project\'s phone was not touched');
  });

  test('a missing, empty, oversized or malformed list is refused whole and changes nothing', async () => {
    const phoneId = plain.phones[13];
    const cases: Array<[unknown, string]> = [
      [{}, 'CPS.0009'],
      [{ phones: [] }, 'CPS.0009'],
      [{ phones: 'x' }, 'CPS.0077'],
      [{ phones: [{ phone_id: phoneId }] }, 'CPS.0077'],
      [{ phones: [{ phone_id: phoneId, new_size: 0 }] }, 'CPS.0077'],
      [{ phones: [{ phone_id: phoneId, new_size: 32768 }] }, 'CPS.0077'],
      [{ phones: [{ phone_id: phoneId, new_size: 'big' }] }, 'CPS.0077'],
      [{ phones: [{ phone_id: phoneId, new_size: 50.5 }] }, 'CPS.0077'],
      [{ phones: [{ new_size: 50 }] }, 'CPS.0004'],
      [{ phones: Array.from({ length: 101 }, () => ({ phone_id: phoneId, new_size: 50 })) }, 'CPS.0190'],
      [[{ phone_id: phoneId, new_size: 50 }], 'CPS.0077'],
    ];
    for (const [body, code] of cases) assertCpsError(await call(t, 'POST', EXPAND, { body }), 400, code, JSON.stringify(body).slice(0, 80));
    assert.equal(await volumeSize(phoneId), 46);
  });
});
