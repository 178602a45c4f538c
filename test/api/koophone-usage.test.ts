import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { call, startTestServer, waitForJob, type Tenant, type TestServer } from '../helpers/server.ts';
import { assertKpError, createInstances, instanceRows, waitTask } from '../helpers/koophone.ts';
import { StreamClient, dataState, deviceToken, readyInstance, waitDataState } from '../helpers/koophone-stream.ts';
import { ADMIN_ENV, addFault, admin, setDurations } from '../helpers/admin.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const HEX32 = /^[0-9a-f]{32}$/;
const LIST_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
type Target = { url: string; tenant: Tenant };

let t: TestServer;
let other: Target;

before(async () => {
  t = await startTestServer({ env: { ...ADMIN_ENV, OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
});
// A test that fails half-way leaves no fault rule behind for the next one.
afterEach(() => admin(t, 'DELETE', '/admin/faults'));
after(() => t.close());

const prepare = (target: Target, userId: unknown, instanceIds: string[]) => call(target, 'POST', '/v1/instances/prepare', { body: { user_id: userId, instance_ids: instanceIds } });
const progress = (target: Target, userId: string, instanceId: string) => call(target, 'POST', '/v1/instances/prepare-progress', { body: { user_id: userId, instance_id: instanceId } });
const backup = (target: Target, instanceIds: string[]) => call(target, 'POST', '/v1/instances/backup', { body: { instance_ids: instanceIds } });

/** Runs a shell command on an instance (KooPhone SyncCommand); its output. */
async function shell(target: Target, instanceId: string, command: string): Promise<string> {
  const response = await call(target, 'POST', '/v1/instances/sync-command', { body: { command, instance_ids: [instanceId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const [result] = response.body.data.cmd_results;
  assert.equal(result.status, 2, JSON.stringify(result));
  return result.execute_msg;
}

/** Output of a shell command on a CPH phone (a phone no instance holds any more). */
async function phoneShell(target: Target, phoneId: string, content: string): Promise<string> {
  const response = await call(target, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content, phone_ids: [phoneId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return (await waitForJob(target, response.body.jobs[0].job_id)).execute_msg ?? '';
}

const rowOf = async (target: Target, id: string) => (await instanceRows(target, [id])).get(id);

/** Member paths of an instance's backup in the object store. */
async function backupMembers(instanceId: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'opencph-test-backup-'));
  try {
    const file = join(dir, 'backup.tar');
    await t.server.services.commandDeps.objects.internal.download('opencph-koophone', `backups/${t.tenant.projectId}/${instanceId}.tar`, file);
    const paths: string[] = [];
    await tar.t({ file, strict: true, onReadEntry: (entry) => paths.push(entry.path) });
    return paths;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls ShowProgress until `status`; every status seen on the way. */
async function waitProgress(target: Target, userId: string, instanceId: string, status: number, timeoutMs = 10_000): Promise<number[]> {
  const seen: number[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await progress(target, userId, instanceId);
    assert.equal(response.body.error_code, '0', JSON.stringify(response.body));
    const current = response.body.data.status;
    if (seen.at(-1) !== current) seen.push(current);
    if (current === status) return seen;
    if (Date.now() > deadline) throw new Error(`progress of ${instanceId} went ${seen.join(' → ')}, not to ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function backedUp(target: Target, instanceIds: string[]) {
  const response = await backup(target, instanceIds);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const jobs = await waitTask(target, response.body.data.task_id);
  assert.deepEqual(jobs.map((job) => job.status), instanceIds.map(() => 2), JSON.stringify(jobs));
}

describe('BatchPrepareInstances', () => {
  test('reports each instance once: ready (0) for a fresh one, to be assigned (2) for another user', async () => {
    const [mine, unassigned, theirs, numeric] = await createInstances(t, { count: 4, instanceNamePrefix: 'prep' });
    const assign = await call(t, 'POST', '/v1/instances/assign', {
      body: { user_instances: [{ user_id: 'u1', instance_id: mine }, { user_id: 'u2', instance_id: theirs }, { user_id: '1008600000104285462', instance_id: numeric }] },
    });
    assert.equal(assign.body.error_code, '0');
    assert.equal(await dataState(t, mine), 0);
    const response = await prepare(t, 'u1', [mine, mine, unassigned, theirs]);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      error_code: '0',
      error_msg: 'ok',
      data: { status_list: [{ instance_id: mine, status: 0 }, { instance_id: unassigned, status: 2 }, { instance_id: theirs, status: 2 }] },
    });
    assert.equal(await dataState(t, mine), 2);
    assert.equal(await dataState(t, theirs), 0);
    // A numeric user_id, as one document example sends it, is its decimal text.
    assert.deepEqual((await prepare(t, 1008600000104285462n.toString() as unknown as number, [numeric])).body.data.status_list, [{ instance_id: numeric, status: 0 }]);
    // Prepared again: still ready, nothing changes.
    assert.deepEqual((await prepare(t, 'u1', [mine])).body.data.status_list, [{ instance_id: mine, status: 0 }]);
  });

  test('bad lists are 1000; unknown and another tenant’s instances are 4001', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'preperr' });
    const cases: Array<[unknown, number, string]> = [
      [{ user_id: 'u1', instance_ids: [] }, 400, 'KOOPHONE.API.1000'],
      [{ user_id: 'u1', instance_ids: Array.from({ length: 101 }, (_, i) => `i${i}`) }, 400, 'KOOPHONE.API.1000'],
      [{ user_id: 'u1', instance_ids: ['x'.repeat(33)] }, 400, 'KOOPHONE.API.1000'],
      [{ user_id: 'x'.repeat(33), instance_ids: [id] }, 400, 'KOOPHONE.API.1000'],
      [{ instance_ids: [id] }, 400, 'KOOPHONE.API.1000'],
      [{ user_id: 'u1', instance_ids: [id, 'Unknown1'] }, 200, 'KOOPHONE.API.4001'],
    ];
    for (const [body, status, code] of cases) assertKpError(await call(t, 'POST', '/v1/instances/prepare', { body }), status, code);
    assertKpError(await prepare(other, 'u1', [id]), 200, 'KOOPHONE.API.4001');
  });

  test('a frozen instance is offline (6); a restarting phone 5, a resetting one 4', async () => {
    const [frozen, restarting, resetting] = await createInstances(t, { count: 3, instanceNamePrefix: 'prepphone' });
    const pairs = [frozen, restarting, resetting].map((instance_id) => ({ user_id: 'u3', instance_id }));
    assert.equal((await call(t, 'POST', '/v1/instances/assign', { body: { user_instances: pairs } })).body.error_code, '0');
    await t.server.store.db.updateTable('instances').set({ frozen: true }).where('id', '=', frozen).execute();
    await setDurations(t, { restart: 1000, reset: 1000 });
    try {
      const rows = await instanceRows(t, [restarting, resetting]);
      await call(t, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: rows.get(restarting).phone_id }] } });
      await call(t, 'POST', `${PHONES}/batch-reset`, { body: { phones: [{ phone_id: rows.get(resetting).phone_id }] } });
      const response = await prepare(t, 'u3', [frozen, restarting, resetting]);
      assert.deepEqual(response.body.data.status_list.map((entry: { status: number }) => entry.status), [6, 5, 4]);
      // Nothing started: the instances are still idle.
      for (const id of [frozen, restarting, resetting]) assert.equal(await dataState(t, id), 0);
    } finally {
      await setDurations(t, {});
    }
  });
});

describe('ShowProgress', () => {
  test('0 when ready, -1 when nothing is being prepared (or for another user); bad bodies 1000, unknown ids 4001', async () => {
    const id = await readyInstance(t, 'u4', 'progress');
    assert.deepEqual((await progress(t, 'u4', id)).body, { error_code: '0', error_msg: 'OK', data: { status: 0, waitingCount: 0 } });
    assert.deepEqual((await progress(t, 'someone-else', id)).body.data, { status: -1, waitingCount: 0 });
    const [idle] = await createInstances(t, { instanceNamePrefix: 'progidle' });
    assert.deepEqual((await progress(t, 'u4', idle)).body.data, { status: -1, waitingCount: 0 });
    assertKpError(await progress(t, 'u4', 'Unknown1'), 200, 'KOOPHONE.API.4001');
    assertKpError(await progress(other, 'u4', id), 200, 'KOOPHONE.API.4001');
    assertKpError(await call(t, 'POST', '/v1/instances/prepare-progress', { body: { user_id: 'u4' } }), 400, 'KOOPHONE.API.1000');
    assertKpError(await progress(t, 'x'.repeat(33), id), 400, 'KOOPHONE.API.1000');
  });
});

describe('BatchBackupInstances', () => {
  test('backs the data up and releases the phone, wiped; a prepare restores it and the data is back', async () => {
    const id = await readyInstance(t, 'u5', 'roundtrip');
    await shell(t, id, 'mkdir -p /data/local/tmp/kp && echo round-trip > /data/local/tmp/kp/file.txt');
    const phoneId = (await rowOf(t, id)).phone_id;

    const response = await backup(t, [id]);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.error_msg, 'ok');
    assert.match(response.body.data.task_id, /^RM_[0-9a-f]{32}$/);
    assert.equal(response.body.data.cmd_jobs[0].instance_id, id);
    assert.match(response.body.data.cmd_jobs[0].job_id, HEX32);
    const jobs = await waitTask(t, response.body.data.task_id);
    assert.deepEqual(jobs.map((job) => [job.job_id, job.status]), [[response.body.data.cmd_jobs[0].job_id, 2]]);

    const row = await rowOf(t, id);
    assert.deepEqual([row.phone_id, row.backup_status, row.running_status, row.login_status], ['null', 2, 1, 0]);
    assert.match(row.backup_time, LIST_TIME);
    assert.equal(await dataState(t, id), 0);
    assert.ok(await t.server.services.commandDeps.objects.internal.stat('opencph-koophone', `backups/${t.tenant.projectId}/${id}.tar`));
    // All of /data: the system's /data/user/0 link too, which the restore puts back over the wiped phone's own.
    const members = await backupMembers(id);
    assert.ok(['data/', 'data/user/0', 'data/local/tmp/kp/file.txt'].every((path) => members.includes(path)), members.join(' '));
    // The released phone runs again, without the user's data.
    assert.equal((await call(t, 'GET', `${PHONES}/${phoneId}`)).body.status, 2);
    assert.match(await phoneShell(t, phoneId, 'cat /data/local/tmp/kp/file.txt'), /No such file/);
    // Not prepared any more: no progress; a token is still issued, for no device, and refused by the stream.
    const orphan = await deviceToken(t, id);
    assert.equal(orphan.body.data.resource.device_id, null);
    assert.equal((await StreamClient.refusal(orphan.url)).status, 401);
    assert.equal((await progress(t, 'u5', id)).body.data.status, -1);

    assert.deepEqual((await prepare(t, 'u5', [id])).body.data.status_list, [{ instance_id: id, status: 1 }]);
    const seen = await waitProgress(t, 'u5', id, 0);
    assert.ok(seen.every((status) => [1, 2, 0].includes(status)), seen.join(' → '));
    const restored = await rowOf(t, id);
    assert.match(restored.phone_id, HEX32);
    assert.equal(restored.restore_status, 2);
    assert.match(restored.restore_time, LIST_TIME);
    assert.equal(await dataState(t, id), 2);
    assert.equal(await shell(t, id, 'cat /data/local/tmp/kp/file.txt'), 'round-trip\n');
    assert.equal((await call(t, 'POST', `/v1/instances/${id}/auth`)).body.error_code, '0');
  });

  test('instances without data on a phone get failed jobs: idle 1000, restoring 2005, backing up 2006', async () => {
    const [idle] = await createInstances(t, { instanceNamePrefix: 'bkidle' });
    const busy = await readyInstance(t, 'u6', 'bkbusy');
    const phoneId = (await rowOf(t, busy)).phone_id;
    const rule = await addFault(t, { operation: 'exportData', phone_id: phoneId, mode: 'hang' });
    const first = await backup(t, [busy]);
    await waitDataState(t, busy, 4);
    assert.equal((await rowOf(t, busy)).backup_status, 1);
    assert.deepEqual((await progress(t, 'u6', busy)).body.data, { status: 3, waitingCount: 0 });
    assert.deepEqual((await prepare(t, 'u6', [busy])).body.data.status_list, [{ instance_id: busy, status: 3 }]);

    const second = await backup(t, [idle, busy]);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const refused = await waitTask(t, second.body.data.task_id);
    assert.deepEqual(refused.map((job) => [job.status, job.error_code]), [[-1, 'KOOPHONE.API.1000'], [-1, 'KOOPHONE.API.2006']]);
    assert.equal(refused[1].error_msg, 'the instance is in backup.');

    // The stuck export gives up: the backup fails, the data stays on the phone, and a prepare makes it ready again.
    await admin(t, 'DELETE', `/admin/faults/${rule.id}`);
    const [failed] = await waitTask(t, first.body.data.task_id);
    assert.deepEqual([failed.status, failed.error_code], [-1, 'KOOPHONE.API.62010']);
    assert.equal(await dataState(t, busy), 5);
    const row = await rowOf(t, busy);
    assert.deepEqual([row.backup_status, row.phone_id], [3, phoneId]);
    assert.deepEqual((await prepare(t, 'u6', [busy])).body.data.status_list, [{ instance_id: busy, status: 0 }]);
    assert.equal(await dataState(t, busy), 2);
  });

  test('a restore that fails is -1 (6); backups meanwhile are 2005; preparing again restores', async () => {
    const id = await readyInstance(t, 'u7', 'restorefail');
    await shell(t, id, 'echo again > /data/local/tmp/again.txt');
    await backedUp(t, [id]);
    const rule = await addFault(t, { operation: 'importData', mode: 'hang' });
    assert.deepEqual((await prepare(t, 'u7', [id])).body.data.status_list, [{ instance_id: id, status: 1 }]);
    await waitProgress(t, 'u7', id, 2);
    assert.equal(await dataState(t, id), 1);
    assert.equal((await rowOf(t, id)).restore_status, 1);
    const during = await backup(t, [id]);
    assert.deepEqual((await waitTask(t, during.body.data.task_id)).map((job) => job.error_code), ['KOOPHONE.API.2005']);

    await admin(t, 'DELETE', `/admin/faults/${rule.id}`);
    await waitProgress(t, 'u7', id, -1);
    assert.equal(await dataState(t, id), 6);
    assert.equal((await rowOf(t, id)).restore_status, 3);

    assert.deepEqual((await prepare(t, 'u7', [id])).body.data.status_list, [{ instance_id: id, status: 1 }]);
    await waitProgress(t, 'u7', id, 0);
    assert.equal(await shell(t, id, 'cat /data/local/tmp/again.txt'), 'again\n');
  });

  test('a streaming instance has its stream ended first', async () => {
    const id = await readyInstance(t, 'u8', 'bkstream');
    const client = await StreamClient.open((await deviceToken(t, id)).url);
    await client.waitFrames(1);
    assert.equal(await dataState(t, id), 3);
    const response = await backup(t, [id]);
    assert.equal((await client.closed).code, 4005);
    assert.deepEqual((await waitTask(t, response.body.data.task_id)).map((job) => job.status), [2]);
    assert.equal(await dataState(t, id), 0);
  });

  test('bad lists are 1000, unknown and another tenant’s ids 1001; the documents’ example body is read too', async () => {
    const id = await readyInstance(t, 'u9', 'bkerr');
    assertKpError(await backup(t, []), 400, 'KOOPHONE.API.1000');
    assertKpError(await backup(t, ['x'.repeat(33)]), 400, 'KOOPHONE.API.1000');
    assertKpError(await backup(t, Array.from({ length: 101 }, (_, i) => `i${i}`)), 400, 'KOOPHONE.API.1000');
    assertKpError(await backup(t, [id, 'Unknown1']), 401, 'KOOPHONE.API.1001');
    assertKpError(await backup(other, [id]), 401, 'KOOPHONE.API.1001');
    assert.equal(await dataState(t, id), 2);
    const example = await call(t, 'POST', '/v1/instances/backup', { body: { user_id: 'u9', instance_id: id } });
    assert.equal(example.status, 200, JSON.stringify(example.body));
    assert.deepEqual(example.body.data.cmd_jobs.map((job: { instance_id: string }) => job.instance_id), [id]);
    assert.deepEqual((await waitTask(t, example.body.data.task_id)).map((job) => job.status), [2]);
  });
});

describe('preparation queue', () => {
  test('without a free phone, instances queue in order (1, waitingCount) and get the phones backups free', async () => {
    // A tenant whose one server's 15 phones all hold instances.
    const q = { url: t.url, tenant: await t.createTenant('tenant-queue') };
    const ids = await createInstances(q, { count: 15, instanceNamePrefix: 'queue' });
    const assigned = await call(q, 'POST', '/v1/instances/assign', { body: { user_instances: ids.map((instance_id) => ({ user_id: 'qu', instance_id })) } });
    assert.equal(assigned.body.error_code, '0');
    assert.ok((await prepare(q, 'qu', ids)).body.data.status_list.every((entry: { status: number }) => entry.status === 0));
    const [a, b, c, d] = ids;
    await shell(q, a, 'echo queued > /data/local/tmp/q.txt');
    const phoneOfA = (await rowOf(q, a)).phone_id;
    await backedUp(q, [a, b]);
    // New instances take the two freed phones: the project has none left.
    const servers = (await call(q, 'GET', '/v1/{project_id}/cloud-phone/servers')).body.count;
    await createInstances(q, { count: 2, instanceNamePrefix: 'queue-late' });
    assert.equal((await call(q, 'GET', '/v1/{project_id}/cloud-phone/servers')).body.count, servers);

    assert.deepEqual((await prepare(q, 'qu', [a])).body.data.status_list, [{ instance_id: a, status: 1 }]);
    assert.deepEqual((await prepare(q, 'qu', [b])).body.data.status_list, [{ instance_id: b, status: 1 }]);
    assert.deepEqual((await progress(q, 'qu', a)).body.data, { status: 1, waitingCount: 0 });
    assert.deepEqual((await progress(q, 'qu', b)).body.data, { status: 1, waitingCount: 1 });
    assert.equal(await dataState(q, a), 1);
    assert.equal((await rowOf(q, a)).phone_id, 'null');

    // A backup frees c's phone: the first in line gets it.
    await backedUp(q, [c]);
    await waitProgress(q, 'qu', a, 0);
    assert.deepEqual((await progress(q, 'qu', b)).body.data, { status: 1, waitingCount: 0 });
    const phone = (await rowOf(q, a)).phone_id;
    assert.match(phone, HEX32);
    assert.notEqual(phone, phoneOfA);
    assert.equal(await shell(q, a, 'cat /data/local/tmp/q.txt'), 'queued\n');

    // A phone freed another way (the instance on it deleted) serves the next one.
    assert.equal((await call(q, 'POST', '/v1/instances/delete', { body: { instanceIdList: [d] } })).body.error_code, '0');
    await waitProgress(q, 'qu', b, 0);
    assert.equal(await dataState(q, b), 2);
  });

  test('an instance left restoring or backing up without a job (a worker gave it up) ends failed', async () => {
    const restoring = await readyInstance(t, 'u10', 'orphan');
    const backingUp = await readyInstance(t, 'u10', 'orphan');
    const db = t.server.store.db;
    await db.updateTable('instances').set({ data_state: 1 }).where('id', '=', restoring).execute();
    await db.updateTable('instances').set({ data_state: 4 }).where('id', '=', backingUp).execute();
    await waitDataState(t, restoring, 6);
    await waitDataState(t, backingUp, 5);
    assert.equal((await rowOf(t, restoring)).restore_status, 3);
    assert.equal((await rowOf(t, backingUp)).backup_status, 3);
  });
});
