import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DRIVERS } from '../../src/devices/registry.ts';
import { ConfigError } from '../../src/config.ts';
import { RECORDED_OUTPUT, recordingDriver, type RecordedCall } from '../fixtures/recording-driver.ts';
import { buyServers, call, phoneDetail, startTestServer, waitForJob, type TestServer } from '../helpers/server.ts';
import { itemError } from '../helpers/cps.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
/** Phones of this flavor run on the recorder; it has shared storage (max_share_disk_size_g 50), which sim servers of it get (share.test.ts). */
const RECORDED = 'rx1.cp.c60.d10.e1v1';

let t: TestServer;
const calls: RecordedCall[] = [];
let sim: { serverIds: string[]; phoneIds: string[] };
let recorded: { serverIds: string[]; phoneIds: string[] };

/** Runs a batch phone action on the phones; each job must succeed. */
async function batch(action: 'batch-restart' | 'batch-reset', phoneIds: string[]) {
  const response = await call(t, 'POST', `${PHONES}/${action}`, { body: { phones: phoneIds.map((phone_id) => ({ phone_id })) } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  for (const entry of response.body.jobs) assert.equal((await waitForJob(t, entry.job_id)).status, 2, `${action} of ${entry.phone_id}`);
}

/** RunSyncCommand on the phones: each one's output. */
async function shell(phoneIds: string[], content: string): Promise<string[]> {
  const response = await call(t, 'POST', `${PHONES}/sync-commands`, { body: { command: 'shell', content, phone_ids: phoneIds } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return phoneIds.map((id) => response.body.jobs.find((job: { phone_id: string }) => job.phone_id === id).execute_msg);
}

describe('each phone is run by the driver its flavor is mapped to', () => {
  before(async () => {
    t = await startTestServer({
      env: { OPENCPH_DRIVER_BY_FLAVOR: `${RECORDED}=recorder`, OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' },
      drivers: { ...DRIVERS, recorder: recordingDriver(calls) },
    });
    sim = await buyServers(t);
    recorded = await buyServers(t, { phone_model_name: RECORDED });
  });
  after(() => t.close());

  test('phones of the mapped flavor are created by the recorder, the others by the sim', async () => {
    const created = calls.filter((entry) => entry.operation === 'create').map((entry) => entry.phoneId);
    assert.deepEqual(created.sort(), [...recorded.phoneIds].sort());
    assert.equal(recorded.phoneIds.length, 60);
    assert.ok(calls.every((entry) => recorded.phoneIds.includes(entry.phoneId)), 'the recorder saw only its phones');
    // Both kinds of phone look the same through the API, running, with no word of their driver.
    for (const phoneId of [sim.phoneIds[0], recorded.phoneIds[0]]) {
      const phone = await phoneDetail(t, phoneId);
      assert.equal(phone.status, 2);
      assert.ok(!JSON.stringify(phone).includes('recorder') && !('driver' in phone), JSON.stringify(phone));
    }
  });

  test('restart, reset and shell reach each phone\'s own driver; the sim phone behaves as before', async () => {
    const [simPhone] = sim.phoneIds;
    const [recordedPhone] = recorded.phoneIds;
    calls.length = 0;
    await batch('batch-restart', [simPhone, recordedPhone]);
    assert.deepEqual(await shell([simPhone, recordedPhone], 'settings get global boot_count'), ['2\n', RECORDED_OUTPUT]);
    await batch('batch-reset', [simPhone, recordedPhone]);
    // A reset phone counts its boots from the reset again.
    assert.deepEqual(await shell([simPhone, recordedPhone], 'settings get global boot_count; getprop ro.product.model'), ['1\nSTF-AL00\n', RECORDED_OUTPUT]);
    assert.deepEqual(calls, [
      { operation: 'restart', phoneId: recordedPhone },
      { operation: 'shell', phoneId: recordedPhone, command: 'settings get global boot_count' },
      { operation: 'reset', phoneId: recordedPhone },
      { operation: 'shell', phoneId: recordedPhone, command: 'settings get global boot_count; getprop ro.product.model' },
    ]);
  });

  test('shared storage: the recorder declines it, so its servers are refused with CPS.0137 and CPS.0147', async () => {
    const [recordedServer] = recorded.serverIds;
    const files = await call(t, 'POST', `${PHONES}/share-files`, { body: { bucket_name: 'bucket-a', object_path: 'share/files.tar', server_ids: [recordedServer] } });
    assert.equal(files.status, 200, JSON.stringify(files.body));
    assert.deepEqual(files.body.jobs, [itemError('server_id', recordedServer, 'CPS.0137')]);
    const apps = await call(t, 'POST', `${PHONES}/share-apps`, {
      body: { package_name: 'com.example.hello', bucket_name: 'bucket-a', object_path: 'share/files.tar', server_ids: [recordedServer] },
    });
    assert.equal(apps.status, 200, JSON.stringify(apps.body));
    assert.deepEqual(apps.body.jobs, [itemError('server_id', recordedServer, 'CPS.0147')]);
  });
});

describe('configuration', () => {
  for (const [env, message] of [
    [{ OPENCPH_DRIVER: 'nope' }, /no device driver is named "nope"/],
    [{ OPENCPH_DRIVER_BY_FLAVOR: `${RECORDED}=nope` }, /no device driver is named "nope"/],
    [{ OPENCPH_DRIVER_BY_FLAVOR: 'rx9.unknown=sim' }, /the catalogue has no flavor named rx9\.unknown/],
  ] as const) {
    test(`${JSON.stringify(env)} stops the start`, async () => {
      await assert.rejects(startTestServer({ env }), (error: Error) => error instanceof ConfigError && message.test(error.message));
    });
  }
});
