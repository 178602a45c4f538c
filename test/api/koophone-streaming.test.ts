import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startTestServer, type Tenant, type TestServer } from '../helpers/server.ts';
import { assertKpError, createInstances, instanceRows } from '../helpers/koophone.ts';
import { StreamClient, dataState, deviceToken, readyInstance, waitDataState } from '../helpers/koophone-stream.ts';
import { ADMIN_ENV, addFault, admin } from '../helpers/admin.ts';

const HEX32 = /^[0-9a-f]{32}$/;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COMBINATIONS = ['MOBILE_NETWORK', 'WIFI', 'WIRED'].flatMap((network_type) => ['H264', 'H265'].map((encoding_type) => ({ network_type, encoding_type })));

/** The server's clock runs ahead by `offset` ms when a test moves time on. */
let offset = 0;
let t: TestServer;
let other: { url: string; tenant: Tenant };

before(async () => {
  t = await startTestServer({ clock: { now: () => new Date(Date.now() + offset) }, env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0', ...ADMIN_ENV } });
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
});
// A test that fails half-way leaves no fault rule behind for the next one.
afterEach(() => admin(t, 'DELETE', '/admin/faults'));
after(() => t.close());

/** A SetVideoConfig body: every combination with `spec` for each definition, then `change` applied. */
function videoBody(instanceIds: string[], spec = { code_rate: 6000, fps: 30 }, change: (settings: any[]) => any[] = (s) => s) {
  const group = { definition_540P: spec, definition_720P: spec, definition_1080P: spec };
  return { instance_ids: instanceIds, instance_settings: change(COMBINATIONS.map((combination) => ({ ...combination, video_spec_groups: [group] }))) };
}

const stop = (instanceId: string, headers: Record<string, string> = { 'x-request-id': 'stop-1' }) =>
  call(t, 'POST', '/v1/instances/streaming/stop', { body: { instance_id: instanceId }, headers });
const release = (instanceId: string, headers: Record<string, string> = { 'x-request-id': 'release-1' }) =>
  call(t, 'POST', '/v1/instances/session/release', { body: { instance_id: instanceId }, headers });

/**
 * The median gap between the first `count` frames. The median, because the simulator renders a screenshot
 * in the server's own thread, which holds back the frames due meanwhile.
 */
async function frameGap(client: StreamClient, count: number): Promise<number> {
  const frames = await client.waitFrames(count);
  const gaps = frames.slice(1).map((frame, i) => frame.at - frames[i].at).sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)];
}

describe('SetVideoConfig', () => {
  let id: string;
  before(async () => {
    [id] = await createInstances(t, { instanceNamePrefix: 'video' });
  });

  test('takes all six combinations for the listed instances', async () => {
    const response = await call(t, 'PUT', '/v1/instances/video-setting', { body: videoBody([id, id], { code_rate: 8000, fps: 60 }) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body, { error_code: '0', error_msg: 'ok' });
  });

  test('a missing combination is 1005; a repeated one and every bad field are 1000', async () => {
    const cases: Array<[any, number, string]> = [
      [videoBody([id], undefined, (s) => s.slice(1)), 400, 'KOOPHONE.API.1005'],
      [videoBody([id], undefined, () => []), 400, 'KOOPHONE.API.1005'],
      [videoBody([id], undefined, (s) => [...s.slice(1), s[1]]), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], undefined, (s) => [...s, s[0]]), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], undefined, (s) => [{ ...s[0], network_type: 'LTE' }, ...s.slice(1)]), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], undefined, (s) => [{ ...s[0], encoding_type: 'VP9' }, ...s.slice(1)]), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], { code_rate: 50, fps: 30 }), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], { code_rate: 10100, fps: 30 }), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], { code_rate: 150, fps: 30 }), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], { code_rate: 100, fps: 25 }), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], undefined, (s) => [{ ...s[0], video_spec_groups: [] }, ...s.slice(1)]), 400, 'KOOPHONE.API.1000'],
      [videoBody([id], undefined, (s) => [{ ...s[0], video_spec_groups: [{ definition_540P: { code_rate: 100, fps: 30 }, definition_720P: { code_rate: 100, fps: 30 } }] }, ...s.slice(1)]), 400, 'KOOPHONE.API.1000'],
      [{ instance_ids: [id] }, 400, 'KOOPHONE.API.1000'],
      [videoBody([]), 400, 'KOOPHONE.API.1000'],
      [videoBody(['x'.repeat(33)]), 400, 'KOOPHONE.API.1000'],
      [videoBody(Array.from({ length: 101 }, (_, i) => `i${i}`)), 400, 'KOOPHONE.API.1000'],
      [videoBody([id, 'Unknown1']), 401, 'KOOPHONE.API.1001'],
    ];
    for (const [body, status, code] of cases) assertKpError(await call(t, 'PUT', '/v1/instances/video-setting', { body }), status, code);
  });

  test("another tenant's instance is 1001", async () => {
    assertKpError(await call(other, 'PUT', '/v1/instances/video-setting', { body: videoBody([id]) }), 401, 'KOOPHONE.API.1001');
  });
});

describe('GetDeviceToken', () => {
  test('returns a token for the prepared instance, its device and OpenCPH’s signalling URL', async () => {
    const id = await readyInstance(t, 'user-token');
    const { body } = await deviceToken(t, id);
    assert.equal(body.error_msg, 'ok');
    const data = body.data;
    assert.match(data.device_token, HEX32);
    assert.match(data.streamingId, HEX32);
    assert.equal(data.resource.kp_id, id);
    // The device is the phone the instance runs on.
    assert.equal(data.resource.device_id, (await instanceRows(t, [id])).get(id).phone_id);
    const port = new URL(t.url).port;
    assert.deepEqual(data.resource.rtc.ice_signaling, { signaling_url: `ws://127.0.0.1:${port}/koophone/signaling`, expired_time: '3600', ice_servers: [] });
    assert.deepEqual(data.resource.sdk, {
      internal: { address: null, aport: null, atype: null, address_ipv6: null },
      external: { address: '127.0.0.1', aport: null, atype: null, address_ipv6: null },
    });
    // Each call issues a new token.
    assert.notEqual((await deviceToken(t, id)).token, data.device_token);
  });

  test('unknown or another tenant’s instance is 1001; a too long id is 1000', async () => {
    const [mine] = await createInstances(t, { instanceNamePrefix: 'tokenerr' });
    assertKpError(await call(t, 'POST', '/v1/instances/Unknown1/auth'), 401, 'KOOPHONE.API.1001');
    assertKpError(await call(other, 'POST', `/v1/instances/${mine}/auth`), 401, 'KOOPHONE.API.1001');
    assertKpError(await call(t, 'POST', `/v1/instances/${'x'.repeat(33)}/auth`), 400, 'KOOPHONE.API.1000');
  });

  test('a token needs no preparation (the documents set none): the stream refuses it until the instance is prepared', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'tokenstate' });
    const assigned = await call(t, 'POST', '/v1/instances/assign', { body: { user_instances: [{ user_id: 'user-state', instance_id: id }] } });
    assert.equal(assigned.body.error_code, '0', JSON.stringify(assigned.body));
    const early = await deviceToken(t, id);
    assert.equal(early.deviceId, (await instanceRows(t, [id])).get(id).phone_id);
    const refused = await StreamClient.refusal(early.url);
    assert.deepEqual([refused.status, refused.body.error_code], [401, 'KOOPHONE.API.6001']);
    assert.match(refused.body.error_msg, /not ready for streaming/);
    // Prepared, the instance streams with the token it already had.
    const prepared = await call(t, 'POST', '/v1/instances/prepare', { body: { user_id: 'user-state', instance_ids: [id] } });
    assert.deepEqual(prepared.body.data.status_list, [{ instance_id: id, status: 0 }]);
    const client = await StreamClient.open(early.url);
    await client.waitFrames(1);
    client.close();
    await waitDataState(t, id, 2);
  });

  test('restoring, backing up or unassigned, an instance still gets a token; frozen, it is 2004', async () => {
    const id = await readyInstance(t, 'user-frozen', 'tokenfrozen');
    const db = t.server.store.db;
    for (const change of [{ data_state: 1 }, { data_state: 4 }, { data_state: 5 }, { assigned_user: null }]) {
      await db.updateTable('instances').set(change).where('id', '=', id).execute();
      assert.equal((await call(t, 'POST', `/v1/instances/${id}/auth`)).body.error_code, '0', JSON.stringify(change));
      await db.updateTable('instances').set({ data_state: 2, assigned_user: 'user-frozen' }).where('id', '=', id).execute();
    }
    await db.updateTable('instances').set({ frozen: true }).where('id', '=', id).execute();
    assertKpError(await call(t, 'POST', `/v1/instances/${id}/auth`), 200, 'KOOPHONE.API.2004');
    await db.updateTable('instances').set({ frozen: false }).where('id', '=', id).execute();
  });
});

describe('signalling', () => {
  test('streams a hello, then PNG frames of the screen at the configured rate; the instance is streaming meanwhile', async () => {
    const id = await readyInstance(t, 'user-frames');
    const config = (fps: number) => call(t, 'PUT', '/v1/instances/video-setting', { body: videoBody([id], { code_rate: 4000, fps }) });
    assert.equal((await config(60)).body.error_code, '0');
    // A refused change changes nothing.
    assertKpError(await call(t, 'PUT', '/v1/instances/video-setting', { body: videoBody([id], { code_rate: 100, fps: 30 }, (s) => s.slice(1)) }), 400, 'KOOPHONE.API.1005');
    const { url, deviceId } = await deviceToken(t, id);
    const fast = await StreamClient.open(url);
    const gap60 = await frameGap(fast, 10);
    const [hello] = fast.received;
    assert.equal(hello.json.type, 'hello');
    assert.deepEqual(
      [hello.json.instance_id, hello.json.device_id, hello.json.format, hello.json.network_type, hello.json.encoding_type, hello.json.definition, hello.json.fps, hello.json.frame_rate, hello.json.code_rate],
      [id, deviceId, 'image/png', 'WIFI', 'H264', '720P', 60, 20, 4000],
    );
    for (const { frame } of fast.frames.slice(0, 3)) {
      assert.deepEqual(frame!.subarray(0, 8), PNG_SIGNATURE);
      assert.equal(frame!.subarray(12, 16).toString(), 'IHDR');
      assert.deepEqual([frame!.readUInt32BE(16), frame!.readUInt32BE(20)], [hello.json.width, hello.json.height]);
    }
    assert.ok(hello.json.width > 0 && hello.json.height > hello.json.width);
    assert.equal(await dataState(t, id), 3);
    assert.equal((await instanceRows(t, [id])).get(id).login_status, 1);
    fast.close();
    await waitDataState(t, id, 2);
    assert.equal((await instanceRows(t, [id])).get(id).login_status, 0);

    // 30 fps streams at 10 frames a second, 60 fps at 20.
    assert.equal((await config(30)).body.error_code, '0');
    const slow = await StreamClient.open(url);
    const gap30 = await frameGap(slow, 8);
    assert.equal(slow.received[0].json.frame_rate, 10);
    slow.close();
    // Frames never come faster than the rate (a loaded machine only makes them slower, so no upper bound).
    assert.ok(gap60 > 25, `60 fps: ${gap60} ms between frames`);
    assert.ok(gap30 > 65, `30 fps: ${gap30} ms between frames`);
    await waitDataState(t, id, 2);
  });

  test('a setting changed while streaming applies to the open stream', async () => {
    const id = await readyInstance(t, 'user-live');
    const client = await StreamClient.open((await deviceToken(t, id)).url);
    await client.waitFrames(1);
    assert.equal((await call(t, 'PUT', '/v1/instances/video-setting', { body: videoBody([id], { code_rate: 2000, fps: 60 }) })).body.error_code, '0');
    const deadline = Date.now() + 5000;
    while (!client.received.some((message) => message.json?.type === 'config')) {
      assert.ok(Date.now() < deadline, 'no config message');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const update = client.received.find((message) => message.json?.type === 'config')!.json;
    assert.deepEqual([update.fps, update.frame_rate, update.code_rate], [60, 20, 2000]);
    client.close();
    await waitDataState(t, id, 2);
  });

  test('refuses bad credentials with HTTP 401, bad parameters with 400, and plain HTTP with 426', async () => {
    const id = await readyInstance(t, 'user-refuse');
    const { url, deviceId, token } = await deviceToken(t, id);
    const base = url.slice(0, url.indexOf('?'));
    for (const wrong of [`${base}?device_id=${deviceId}&device_token=${'0'.repeat(32)}`, `${base}?device_id=${'0'.repeat(32)}&device_token=${token}`]) {
      const refused = await StreamClient.refusal(wrong);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error_code, 'KOOPHONE.API.6001');
    }
    assert.equal((await StreamClient.refusal(`${base}?device_id=${deviceId}`)).body.error_code, 'KOOPHONE.API.1000');
    assert.equal((await StreamClient.refusal(`${url}&definition=4K`)).status, 400);
    const plain = await fetch(url.replace(/^ws/, 'http'));
    assert.equal(plain.status, 426);
    assert.equal(await dataState(t, id), 2);
  });
});

describe('screen capture', () => {
  const fault = async (rule: Record<string, unknown>) => (await addFault(t, rule)).id;
  const unfault = (id: string) => admin(t, 'DELETE', `/admin/faults/${id}`);

  test('frames follow the screen; a stuck screenshot repeats the last frame, a failing one closes the stream with 1011', async () => {
    const id = await readyInstance(t, 'user-capture');
    const phoneId = (await instanceRows(t, [id])).get(id).phone_id;
    const client = await StreamClient.open((await deviceToken(t, id)).url);
    const [home] = await client.waitFrames(1);
    const started = await call(t, 'POST', '/v1/instances/sync-command', { body: { command: 'am start -n com.android.settings/.Settings', instance_ids: [id] } });
    assert.equal(started.body.data.cmd_results[0].status, 2, JSON.stringify(started.body));
    const count = client.frames.length;
    const [app] = (await client.waitFrames(count + 3)).slice(-1);
    assert.notDeepEqual(app.frame, home.frame, 'the app in front shows in the frames');

    // Stuck: the frames keep coming, the same picture; the stream still ends at once when asked.
    const stuck = await fault({ operation: 'screenshot', phone_id: phoneId, mode: 'hang' });
    try {
      await call(t, 'POST', '/v1/instances/sync-command', { body: { command: 'input keyevent KEYCODE_HOME; am force-stop com.android.settings', instance_ids: [id] } });
      const seen = client.frames.length;
      for (const { frame } of (await client.waitFrames(seen + 4)).slice(seen)) assert.deepEqual(frame, app.frame);
      client.close();
      assert.equal((await client.closed).code, 1000);
      await waitDataState(t, id, 2);
    } finally {
      await unfault(stuck);
    }

    // Failing: the stream closes with 1011 before any frame, and the instance is back to "data loaded".
    await fault({ operation: 'screenshot', phone_id: phoneId, mode: 'fail' });
    const failing = await StreamClient.open((await deviceToken(t, id)).url);
    assert.deepEqual(await failing.closed, { code: 1011, reason: 'the phone screen cannot be captured' });
    assert.equal(failing.frames.length, 0);
    await waitDataState(t, id, 2);
  });
});

describe('StopInstancesStreaming and ReleaseInstancesSession', () => {
  test('x-request-id is required (0002), and must be valid (0003); ids are checked (1000, 1001)', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'stopargs' });
    for (const operation of [stop, release]) {
      assertKpError(await operation(id, {}), 200, 'KOOPHONE.API.0002');
      assertKpError(await operation(id, { 'x-request-id': '' }), 400, 'KOOPHONE.API.0003');
      assertKpError(await operation(id, { 'x-request-id': 'x'.repeat(129) }), 400, 'KOOPHONE.API.0003');
      assertKpError(await operation('Unknown1'), 401, 'KOOPHONE.API.1001');
      assertKpError(await operation('x'.repeat(33)), 400, 'KOOPHONE.API.1000');
    }
    assertKpError(await call(other, 'POST', '/v1/instances/streaming/stop', { body: { instance_id: id }, headers: { 'x-request-id': 'r' } }), 401, 'KOOPHONE.API.1001');
    // The request id may also come in the query.
    const byQuery = await call(t, 'POST', '/v1/instances/session/release?x-request-id=q-1', { body: { instance_id: id } });
    assert.deepEqual(byQuery.body, { error_code: '0', error_msg: 'OK' });
  });

  test('token lifecycle: streaming → stopped (resumable) → released (refused)', async () => {
    const id = await readyInstance(t, 'user-life');
    const { url } = await deviceToken(t, id);
    // Stopping an instance that does not stream changes nothing.
    assert.deepEqual((await stop(id)).body, { error_code: '0', error_msg: 'OK' });
    assert.equal(await dataState(t, id), 2);

    const first = await StreamClient.open(url);
    await first.waitFrames(2);
    assert.equal(await dataState(t, id), 3);
    assert.deepEqual((await stop(id)).body, { error_code: '0', error_msg: 'OK' });
    assert.deepEqual(await first.closed, { code: 4001, reason: 'streaming stopped' });
    assert.equal(await dataState(t, id), 2);
    assert.equal((await instanceRows(t, [id])).get(id).login_status, 0);

    // The session lingers after a stop: the same token resumes streaming.
    const resumed = await StreamClient.open(url);
    await resumed.waitFrames(1);
    assert.equal(await dataState(t, id), 3);
    assert.deepEqual((await release(id)).body, { error_code: '0', error_msg: 'OK' });
    assert.deepEqual(await resumed.closed, { code: 4002, reason: 'session released' });
    assert.equal(await dataState(t, id), 2);

    const refused = await StreamClient.refusal(url);
    assert.equal(refused.status, 401);
    // Releasing again is harmless.
    assert.deepEqual((await release(id)).body, { error_code: '0', error_msg: 'OK' });
  });

  test('a stopped session resumes with its token for 5 minutes, and not after', async () => {
    const id = await readyInstance(t, 'user-linger');
    const { url } = await deviceToken(t, id);
    const streamAndStop = async () => {
      const client = await StreamClient.open(url);
      await client.waitFrames(1);
      assert.deepEqual((await stop(id)).body, { error_code: '0', error_msg: 'OK' });
      assert.deepEqual(await client.closed, { code: 4001, reason: 'streaming stopped' });
    };
    await streamAndStop();
    // 299 s after the stop the token still resumes the stream; stopped again, 301 s later it is refused.
    const before = offset;
    try {
      offset += 299_000;
      await streamAndStop();
      offset += 301_000;
      assert.equal((await StreamClient.refusal(url)).status, 401);
      assert.equal(await dataState(t, id), 2);
    } finally {
      offset = before;
    }
  });

  test('a new token replaces the previous one: its stream ends and it is refused', async () => {
    const id = await readyInstance(t, 'user-replace');
    const old = await deviceToken(t, id);
    const client = await StreamClient.open(old.url);
    await client.waitFrames(1);
    const fresh = await deviceToken(t, id);
    assert.equal((await client.closed).code, 4003);
    assert.equal((await StreamClient.refusal(old.url)).status, 401);
    const again = await StreamClient.open(fresh.url);
    await again.waitFrames(1);
    again.close();
    await waitDataState(t, id, 2);
  });

  test('streams end when the instance stops being the same: unassigned, its data gone', async () => {
    const id = await readyInstance(t, 'user-gone');
    const client = await StreamClient.open((await deviceToken(t, id)).url);
    await client.waitFrames(1);
    const unassigned = await call(t, 'POST', '/v1/instances/unassign', { body: { user_instances: [{ user_id: 'user-gone', instance_id: id }] } });
    assert.equal(unassigned.body.error_code, '0', JSON.stringify(unassigned.body));
    assert.equal((await client.closed).code, 4005);
  });
});

describe('device token expiry', () => {
  test('a token is refused once expired_time has passed', async () => {
    const id = await readyInstance(t, 'user-expiry');
    const { url } = await deviceToken(t, id);
    offset = 3601 * 1000;
    try {
      const refused = await StreamClient.refusal(url);
      assert.equal(refused.status, 401);
      assert.match(refused.body.error_msg, /expired/);
    } finally {
      offset = 0;
    }
  });
});
