// Documented limits, time windows and crash rules, each pinned at its edge: the value that is accepted
// and the one past it that is refused, with the injected clock where time matters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, setPhoneStatus, startTestServer, waitForJob, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError, phoneError } from '../helpers/cps.ts';
import { PHONE_STATUS } from '../../src/core/model.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const COMMANDS = `${PHONES}/commands`;
const SYNC = `${PHONES}/sync-commands`;

/**
 * The server's clock runs ahead of the real one by `offset` ms when a test moves time on; while `frozenAt`
 * is set it stands still there, so a slow machine cannot move a window on behind the test's back.
 */
let offset = 0;
let frozenAt: number | undefined;
let t: TestServer;
/** 15 phones of one server (rx1.cp.c15: 15 phones a server). */
let phones: string[];

before(async () => {
  t = await startTestServer({ clock: { now: () => new Date((frozenAt ?? Date.now()) + offset) } });
  phones = (await buyServers(t)).phoneIds;
  assert.equal(phones.length, 15);
});
after(() => t.close());

const sync = (target: Target, content: string, phoneIds: string[]) => call(target, 'POST', SYNC, { body: { command: 'shell', content, phone_ids: phoneIds } });

/** Output of a synchronous shell command on one phone, which must succeed. */
async function sh(target: Target, phoneId: string, content: string): Promise<string> {
  const [job] = (await sync(target, content, [phoneId])).body.jobs;
  assert.equal(job.status, 2, JSON.stringify(job));
  return job.execute_msg;
}

/** A tenant of its own with a server of 15 phones: its sync-command calls are its own. */
async function tenantWithPhones(name: string): Promise<{ target: Target; phones: string[] }> {
  const target = { url: t.url, tenant: await t.createTenant(name) };
  return { target, phones: (await buyServers(target)).phoneIds };
}

describe('RunSyncCommand', () => {
  test('takes exactly 15 phones a call and answers each; 16 are refused with CPS.0190', async () => {
    const { target, phones: mine } = await tenantWithPhones('sync-fifteen');
    const response = await sync(target, 'getprop ro.serialno', mine);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.jobs.map((job: { phone_id: string }) => job.phone_id), mine);
    assert.ok(response.body.jobs.every((job: { status: number }) => job.status === 2), JSON.stringify(response.body.jobs));
    assertCpsError(await sync(target, 'id', [...mine, mine[0]]), 400, 'CPS.0190');
  });

  test('6 calls a minute per user: the window frees itself after 60 s, and other users are not affected', async () => {
    const first = await tenantWithPhones('rate-first');
    const second = await tenantWithPhones('rate-second');
    frozenAt = Date.now();
    try {
      const codes = async (target: Target, phoneId: string, count: number) => {
        const seen: string[] = [];
        for (let i = 0; i < count; i++) {
          const response = await sync(target, 'id', [phoneId]);
          seen.push(response.status === 200 ? 'ok' : response.body.error_code);
        }
        return seen;
      };
      assert.deepEqual(await codes(first.target, first.phones[0], 7), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'CPS.0042']);
      assertCpsError(await sync(first.target, 'id', [first.phones[0]]), 400, 'CPS.0042');
      // Another user has a window of its own.
      assert.deepEqual(await codes(second.target, second.phones[0], 1), ['ok']);
      // Just short of a minute after the first calls the window is still full; a minute after them it is free.
      offset += 59_000;
      assertCpsError(await sync(first.target, 'id', [first.phones[0]]), 400, 'CPS.0042');
      offset += 1_500;
      assert.deepEqual(await codes(first.target, first.phones[0], 7), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'CPS.0042']);
    } finally {
      frozenAt = undefined;
    }
  });
});

describe('commands on a frozen phone', () => {
  test('are refused for that phone with CPS.0053, on the async and the sync endpoint; the others run', async () => {
    const { target, phones: mine } = await tenantWithPhones('frozen-commands');
    const [frozen, running] = mine;
    await setPhoneStatus(t, frozen, PHONE_STATUS.frozen);
    const queued = await call(target, 'POST', COMMANDS, { body: { command: 'shell', content: 'touch /data/local/tmp/ran', phone_ids: [frozen, running] } });
    assert.equal(queued.status, 200, JSON.stringify(queued.body));
    assert.deepEqual(queued.body.jobs[0], phoneError(frozen, 'CPS.0053'));
    assert.equal((await waitForJob(target, queued.body.jobs[1].job_id)).status, 2);
    const now = await sync(target, 'id', [frozen, running]);
    assert.equal(now.status, 200, JSON.stringify(now.body));
    assert.deepEqual(now.body.jobs[0], { ...phoneError(frozen, 'CPS.0053'), status: -1, execute_msg: '' });
    assert.equal(now.body.jobs[1].status, 2);
    // Nothing ran on the frozen phone.
    await setPhoneStatus(t, frozen, PHONE_STATUS.running);
    assert.equal(await sh(target, frozen, 'ls /data/local/tmp'), '');
  });
});

describe('ListCloudPhones', () => {
  test('a server_id of 32 characters is a filter; 33 are refused with CPS.0016', async () => {
    const listed = await call(t, 'GET', `${PHONES}?server_id=${'0'.repeat(32)}`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual([listed.body.count, listed.body.phones], [0, []]);
    assertCpsError(await call(t, 'GET', `${PHONES}?server_id=${'0'.repeat(33)}`), 400, 'CPS.0016');
  });
});

describe('BatchExportCloudPhoneData', () => {
  test('takes exactly 100 storage_infos; 101 are refused with CPS.0170', async () => {
    const item = (i: number) => ({ phone_id: phones[i % phones.length], include_files: ['/data/local/tmp'], bucket_name: 'limits', object_path: `export-${i}.tar` });
    const accepted = await call(t, 'POST', `${PHONES}/batch-storage`, { body: { storage_infos: Array.from({ length: 100 }, (_, i) => item(i)) } });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.equal(accepted.body.jobs.length, 100);
    for (const job of await Promise.all(accepted.body.jobs.map((entry: { job_id: string }) => waitForJob(t, entry.job_id, 60_000)))) {
      assert.equal(job.status, 2, JSON.stringify(job));
    }
    assertCpsError(await call(t, 'POST', `${PHONES}/batch-storage`, { body: { storage_infos: Array.from({ length: 101 }, (_, i) => item(i)) } }), 400, 'CPS.0170');
  });
});

describe('a command job found abandoned after a crash', () => {
  test('is not run again: it ends failed with CPS.0054, while a restart in the same state runs again', async () => {
    const { target, phones: mine } = await tenantWithPhones('crash-rules');
    const [commandPhone, restartPhone] = mine;
    const { engine, store } = { engine: t.server.services.engine, store: t.server.store };
    // Jobs queued while no worker runs, then marked as taken by a worker that died: their leases ran out.
    await engine.stop();
    let jobIds: string[];
    try {
      const command = await call(target, 'POST', COMMANDS, { body: { command: 'shell', content: 'touch /data/local/tmp/ran', phone_ids: [commandPhone] } });
      const restart = await call(target, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: restartPhone }] } });
      jobIds = [command.body.jobs[0].job_id, restart.body.jobs[0].job_id];
      assert.ok(jobIds.every(Boolean), JSON.stringify([command.body, restart.body]));
      await store.db
        .updateTable('jobs')
        .set({ state: 'running', lease_owner: 'a-worker-that-died', lease_until: new Date(Date.now() + offset - 1000), attempts: 0 })
        .where('id', 'in', jobIds)
        .execute();
    } finally {
      await engine.start();
    }
    const [command, restart] = await Promise.all(jobIds.map((id) => waitForJob(target, id)));
    assert.deepEqual([command.status, command.error_code, command.error_msg], [-1, 'CPS.0054', 'Handle job timeout.']);
    assert.equal(restart.status, 2, JSON.stringify(restart));
    assert.equal(await sh(target, commandPhone, 'ls /data/local/tmp'), '', 'the command did not run');
    assert.equal(await sh(target, restartPhone, 'settings get global boot_count'), '2\n', 'the restart ran once, after the crash');
  });
});
