import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, phoneStatus, startTestServer, type Target, type TestServer } from '../helpers/server.ts';
import { ADMIN_ENV, setDurations } from '../helpers/admin.ts';
import { assertKpError, createBody, createInstances, instanceRows, waitRunning, waitTask } from '../helpers/koophone.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const HEX32 = /^[0-9a-f]{32}$/;

let t: TestServer;
let other: Target;
/** Instances of the default tenant, created once; tests that change state use their own. */
let shared: string[];

before(async () => {
  t = await startTestServer({ env: { ...ADMIN_ENV, OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
  shared = await createInstances(t, { count: 2, instanceNamePrefix: 'shared' });
});
after(() => t.close());

const phoneOf = async (instanceId: string): Promise<string> => (await instanceRows(t, [instanceId])).get(instanceId).phone_id;

/** Runs a shell command synchronously on one instance; its output. */
async function shell(instanceId: string, command: string): Promise<string> {
  const response = await call(t, 'POST', '/v1/instances/sync-command', { body: { command, instance_ids: [instanceId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.data.cmd_results[0].execute_msg;
}

describe('BatchShowSku', () => {
  test('lists the saleable SKUs with the band SKU; type 0 or none; another type is 1000', async () => {
    for (const query of ['', '?type=0']) {
      const response = await call(t, 'GET', `/v1/instances/sku${query}`);
      assert.equal(response.status, 200);
      assert.equal(response.body.error_code, '0');
      assert.equal(response.body.error_msg, 'return sku messages success');
      assert.equal(response.body.data.bandInfo.cbcSkuId, 'kp.bandwidth');
      const regions = response.body.data.skuSpecResponseList;
      assert.ok(regions.some((region: { regionId: string }) => region.regionId === 'cn-north-4'));
      const sku = regions[0].skuResponses[0];
      assert.equal(typeof sku.poolInfo.aosp[0].id, 'number');
      assert.equal(sku.opencph, undefined);
      assert.match(sku.bandSize, /^\d+(,\d+)*$/);
    }
    assertKpError(await call(t, 'GET', '/v1/instances/sku?type=1'), 400, 'KOOPHONE.API.1000');
  });
});

describe('CreateInstance', () => {
  test('orders instances named <prefix>-00001…, on CPH phones of the tenant that CPH lists too', async () => {
    const response = await call(t, 'POST', '/v1/instances/create', { body: createBody({ count: 2, instanceNamePrefix: 'CCTEST' }) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.error_msg, 'OK');
    assert.match(response.body.data.orderId, /^CS\d{10}[A-Z0-9]{5}$/);
    const infos = response.body.data.instanceInfos;
    assert.deepEqual(infos.map((info: { instanceName: string }) => info.instanceName), ['CCTEST-00001', 'CCTEST-00002']);
    for (const info of infos) assert.match(info.instanceId, /^[A-Za-z0-9]{8}$/);
    const ids = infos.map((info: { instanceId: string }) => info.instanceId);
    await waitRunning(t, ids);
    const rows = await instanceRows(t, ids);
    for (const id of ids) {
      const row = rows.get(id);
      assert.deepEqual(
        [row.billing_mode, row.frozen_status, row.assign_status, row.region, row.project_id, row.account_name],
        ['1', 0, 0, 'cn-north-4', t.tenant.projectId, t.tenant.domainName],
      );
      assert.equal(await phoneStatus(t, row.phone_id), 2, 'its CPH phone runs');
    }
    // The sequence goes on; the second order uses the spare phones of the first one's server.
    const servers = (await call(t, 'GET', '/v1/{project_id}/cloud-phone/servers')).body.count;
    const again = await call(t, 'POST', '/v1/instances/create', { body: createBody({ instanceNamePrefix: 'CCTEST' }) });
    assert.equal(again.body.data.instanceInfos[0].instanceName, 'CCTEST-00003');
    assert.equal((await call(t, 'GET', '/v1/{project_id}/cloud-phone/servers')).body.count, servers);
  });

  test('the documented example works, with the document spellings of the field names too', async () => {
    const example = {
      os: 'AOSP9', instanceSkuld: 'kp.professional.2xlarge.128g.2', bandSkuld: 'kp.bandwidth', regionld: 'cn-north-7',
      'instanceName Prefix': 'koophone', bandSize: 4, count: 1,
      chargeParam: { chargingMode: 1, periodType: 2, periodNum: 1, isAutoPay: 1, isAutoRenew: 1 }, network: 'EIP',
    };
    const response = await call(t, 'POST', '/v1/instances/create', { body: example });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.data.instanceInfos[0].instanceName, 'koophone-00001');
    const row = (await instanceRows(t, [response.body.data.instanceInfos[0].instanceId])).values().next().value;
    assert.equal(row.region, 'cn-north-7');
  });

  test('each documented refusal, in the documented order, creates nothing', async () => {
    const before = (await call(t, 'GET', '/v1/instances/batch-query?page_no=1&page_size=1&x-request-id=x')).body.data.total_count;
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ os: undefined }, 200, 'KOOPHONE.API.3003'],
      [{ os: '' }, 200, 'KOOPHONE.API.3003'],
      [{ os: 'AOSP8' }, 400, 'KOOPHONE.API.1000'],
      [{ chargeParam: { chargingMode: 1, periodType: 2, periodNum: 10 } }, 200, 'KOOPHONE.API.3006'],
      [{ chargeParam: { chargingMode: 1, periodType: 3, periodNum: 4 } }, 200, 'KOOPHONE.API.3007'],
      [{ chargeParam: { chargingMode: 1, periodType: 4, periodNum: 1 } }, 400, 'KOOPHONE.API.1000'],
      [{ chargeParam: { chargingMode: 0, periodType: 2, periodNum: 1 } }, 400, 'KOOPHONE.API.1000'],
      [{ instanceSkuId: 'kp.unknown' }, 200, 'KOOPHONE.API.3002'],
      [{ regionId: 'cn-east-3' }, 200, 'KOOPHONE.API.3002'],
      [{ bandSkuId: 'kp.other' }, 400, 'KOOPHONE.API.3001'],
      [{ bandSize: 5 }, 400, 'KOOPHONE.API.1000'],
      [{ count: 0 }, 400, 'KOOPHONE.API.1000'],
      [{ count: 1501 }, 400, 'KOOPHONE.API.1000'],
      [{ instanceNamePrefix: 'x'.repeat(15) }, 400, 'KOOPHONE.API.1000'],
      [{ instanceSkuId: 'x'.repeat(65) }, 400, 'KOOPHONE.API.1000'],
      [{ network: 'VPN' }, 400, 'KOOPHONE.API.1000'],
      [{ regionId: 'cn-southwest-252', instanceSkuId: 'kp.professional.trial.32g.2', count: 4 }, 200, 'KOOPHONE.API.40010'],
    ];
    for (const [overrides, status, code] of cases) {
      assertKpError(await call(t, 'POST', '/v1/instances/create', { body: createBody(overrides) }), status, code);
    }
    const malformed = await fetch(`${t.url}/v1/instances/create`, { method: 'POST', headers: { 'X-Auth-Token': t.tenant.token, 'Content-Type': 'application/json' }, body: '{' });
    assert.equal(malformed.status, 400);
    assert.equal((await malformed.json()).error_code, 'KOOPHONE.API.6000');
    assert.equal((await call(t, 'GET', '/v1/instances/batch-query?page_no=1&page_size=1&x-request-id=x')).body.data.total_count, before);
  });
});

describe('ListInstances', () => {
  const LIST = '/v1/instances/batch-query';

  test('x-request-id is required, in the query or as a header', async () => {
    assertKpError(await call(t, 'GET', `${LIST}?page_no=1&page_size=10`), 200, 'KOOPHONE.API.0002');
    assertKpError(await call(t, 'GET', `${LIST}?page_no=1&page_size=10`, { headers: { 'x-request-id': '' } }), 400, 'KOOPHONE.API.0003');
    const byQuery = await call(t, 'GET', `${LIST}?page_no=1&page_size=10&x-request-id=trace-1`);
    assert.equal(byQuery.status, 200);
    assert.equal(byQuery.headers.get('x-request-id'), 'trace-1');
    const byHeader = await call(t, 'GET', `${LIST}?page_no=1&page_size=10`, { headers: { 'x-request-id': 'trace-2' } });
    assert.equal(byHeader.status, 200);
  });

  test('pages, with the paging fields inside data and at the top level', async () => {
    const all = await call(t, 'GET', `${LIST}?page_no=1&page_size=200&x-request-id=a`);
    const total = all.body.data.total_count;
    assert.ok(total >= 2);
    assert.deepEqual([all.body.error_code, all.body.error_msg, all.body.data.error_code, all.body.page_no, all.body.page_size, all.body.total_count], ['0', 'OK', '0', 1, 200, total]);
    const page2 = await call(t, 'GET', `${LIST}?page_no=2&page_size=1&x-request-id=a`);
    assert.deepEqual(page2.body.data.result.map((row: { instance_id: string }) => row.instance_id), [all.body.data.result[1].instance_id]);
    const past = await call(t, 'GET', `${LIST}?page_no=1000&page_size=10&x-request-id=a`);
    assert.deepEqual(past.body.data.result, []);
    for (const query of ['page_no=0&page_size=1', 'page_no=1&page_size=201', 'page_size=10', 'page_no=1', 'page_no=x&page_size=1', 'page_no=1&page_size=1&pool_scene_tag=OTHER', 'page_no=1&page_size=1&order=up']) {
      assertKpError(await call(t, 'GET', `${LIST}?${query}&x-request-id=a`), 400, 'KOOPHONE.API.1000');
    }
  });

  test('filters by id, name part, creation time and pool scene; bad times are 5002 and 5004', async () => {
    const [id] = shared;
    const byId = await call(t, 'GET', `${LIST}?page_no=1&page_size=10&instance_id=${id}&x-request-id=a`);
    assert.deepEqual(byId.body.data.result.map((row: { instance_id: string }) => row.instance_id), [id]);
    const byName = await call(t, 'GET', `${LIST}?page_no=1&page_size=10&instance_name=hared-0&x-request-id=a`);
    assert.deepEqual(byName.body.data.result.map((row: { instance_name: string }) => row.instance_name).sort(), ['shared-00001', 'shared-00002']);
    const ascending = await call(t, 'GET', `${LIST}?page_no=1&page_size=10&instance_name=shared&order=asc&x-request-id=a`);
    assert.deepEqual(ascending.body.data.result.map((row: { instance_name: string }) => row.instance_name), ['shared-00001', 'shared-00002']);
    const since = encodeURIComponent('2000-01-01 00:00:00');
    const until = encodeURIComponent('2000-12-31 23:59:59');
    assert.equal((await call(t, 'GET', `${LIST}?page_no=1&page_size=10&instance_id=${id}&query_start_time=${since}&x-request-id=a`)).body.data.total_count, 1);
    assert.equal((await call(t, 'GET', `${LIST}?page_no=1&page_size=10&instance_id=${id}&query_end_time=${until}&x-request-id=a`)).body.data.total_count, 0);
    assert.equal((await call(t, 'GET', `${LIST}?page_no=1&page_size=10&instance_id=${id}&pool_scene_tag=CLOUD_PHONE&x-request-id=a`)).body.data.total_count, 1);
    assert.equal((await call(t, 'GET', `${LIST}?page_no=1&page_size=10&instance_id=${id}&poolSceneTag=CLOUD_APP&x-request-id=a`)).body.data.total_count, 0);
    assertKpError(await call(t, 'GET', `${LIST}?page_no=1&page_size=10&query_start_time=2023-08-15T14:30:45Z&x-request-id=a`), 400, 'KOOPHONE.API.5002');
    assertKpError(await call(t, 'GET', `${LIST}?page_no=1&page_size=10&query_start_time=${encodeURIComponent('2023-02-30 00:00:00')}&x-request-id=a`), 400, 'KOOPHONE.API.5002');
    assertKpError(await call(t, 'GET', `${LIST}?page_no=1&page_size=10&query_start_time=${until}&query_end_time=${since}&x-request-id=a`), 400, 'KOOPHONE.API.5004');
  });
});

describe('tenancy', () => {
  test("another tenant's instances and tasks are indistinguishable from missing ones", async () => {
    const listed = await call(other, 'GET', '/v1/instances/batch-query?page_no=1&page_size=200&x-request-id=a');
    assert.deepEqual([listed.status, listed.body.data.total_count], [200, 0]);
    const reset = await call(t, 'POST', '/v1/instances/batch-reset', { body: { instance_ids: [shared[1]] } });
    await waitTask(t, reset.body.data.task_id);
    for (const id of [shared[0], 'missing1']) {
      assertKpError(await call(other, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: [id] } }), 401, 'KOOPHONE.API.1001');
      assertKpError(await call(other, 'POST', '/v1/instances/batch-reset', { body: { instance_ids: [id] } }), 401, 'KOOPHONE.API.1001');
      assertKpError(await call(other, 'POST', '/v1/instances/reboot', { body: { instance_ids: [id] } }), 401, 'KOOPHONE.API.1001');
      assertKpError(await call(other, 'POST', '/v1/instances/sync-command', { body: { command: 'ls', instance_ids: [id] } }), 401, 'KOOPHONE.API.1001');
      assertKpError(await call(other, 'POST', '/v1/instances/async-command', { body: { command: 'ls', instance_ids: [id] } }), 401, 'KOOPHONE.API.1001');
      assertKpError(await call(other, 'POST', '/v1/instances/assign', { body: { user_instances: [{ user_id: '1', instance_id: id }] } }), 401, 'KOOPHONE.API.1001');
      assertKpError(await call(other, 'POST', '/v1/instances/unassign', { body: { user_instances: [{ user_id: '1', instance_id: id }] } }), 401, 'KOOPHONE.API.1001');
      assertKpError(await call(other, 'POST', '/v1/instances/delete', { body: { instanceIdList: [id] } }), 401, 'KOOPHONE.API.1001');
    }
    for (const taskId of [reset.body.data.task_id, 'RM_00000000000000000000000000000000']) {
      assertKpError(await call(other, 'GET', `/v1/instances/tasks/${taskId}`), 400, 'KOOPHONE.API.1323');
    }
  });

  test('an AK/SK-signed request acts for the key’s project; no credential is refused by the gateway', async () => {
    const signed = await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: shared }, sign: t.tenant });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    assert.equal(signed.body.data.status_results.length, 2);
    const anonymous = await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: shared }, token: null });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error_code, 'APIGW.0301');
  });
});

describe('BatchQueryStatus', () => {
  test('one data status per requested instance, each once; bad lists are 1000', async () => {
    const response = await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: [shared[0], shared[1], shared[0]] } });
    assert.equal(response.status, 200);
    assert.equal(response.body.error_msg, 'ok');
    assert.deepEqual(response.body.data.status_results, [{ instance_id: shared[0], status: 0 }, { instance_id: shared[1], status: 0 }]);
    const bad = [[], ['x'.repeat(33)], Array.from({ length: 101 }, (_, i) => `id${i}`), 'abc', [null]];
    for (const instanceIds of bad) assertKpError(await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: instanceIds } }), 400, 'KOOPHONE.API.1000');
    assertKpError(await call(t, 'POST', '/v1/instances/batch-query-status', { body: {} }), 400, 'KOOPHONE.API.1000');
    assertKpError(await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: [shared[0], 'unknown1'] } }), 401, 'KOOPHONE.API.1001');
  });

  test('the path without /v1 (as some document examples print it) is served too', async () => {
    const response = await call(t, 'POST', '/instances/batch-query-status', { body: { instance_ids: [shared[0]] } });
    assert.equal(response.status, 200);
    assert.equal(response.body.data.status_results.length, 1);
  });
});

describe('commands', () => {
  test('SyncCommand runs on each instance and reports each outcome', async () => {
    const response = await call(t, 'POST', '/v1/instances/sync-command', { body: { command: 'echo hello; ls /nonexistent', instance_ids: shared } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual([response.body.error_code, response.body.error_msg], ['0', 'ok']);
    assert.equal(response.body.data.cmd_results.length, shared.length, 'one result per instance');
    for (const [index, result] of response.body.data.cmd_results.entries()) {
      assert.equal(result.instance_id, shared[index]);
      assert.deepEqual([result.status, result.error_code, result.error_msg], [-1, 'CPS.0191', 'Run command failed.']);
      assert.match(result.execute_msg, /^hello\n.*No such file or directory/s);
    }
    const okRun = await call(t, 'POST', '/v1/instances/sync-command', { body: { command: 'echo ok', instance_ids: [shared[0]] } });
    assert.deepEqual(okRun.body.data.cmd_results, [{ instance_id: shared[0], status: 2, error_code: '', error_msg: '', execute_msg: 'ok\n' }]);
  });

  test('SyncCommand errors carry error_info as well as error_msg', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ command: 'x'.repeat(1025), instance_ids: shared }, 400, 'KOOPHONE.API.1000'],
      [{ command: '   ', instance_ids: shared }, 400, 'KOOPHONE.API.1000'],
      [{ command: 'echo \u0007', instance_ids: shared }, 400, 'KOOPHONE.API.1000'],
      [{ instance_ids: shared }, 400, 'KOOPHONE.API.1000'],
      [{ command: 'ls', instance_ids: ['unknown1'] }, 401, 'KOOPHONE.API.1001'],
    ];
    for (const [body, status, code] of cases) {
      const response = await call(t, 'POST', '/v1/instances/sync-command', { body });
      assert.equal(response.status, status, JSON.stringify(response.body));
      assert.equal(response.body.error_code, code);
      assert.equal(response.body.error_info, response.body.error_msg);
    }
  });

  test('AsyncCommand makes a task whose jobs GetTask reports; an instance without a running phone fails its job', async () => {
    const [running, stopped] = await createInstances(t, { count: 2, instanceNamePrefix: 'async' });
    const stoppedPhone = await phoneOf(stopped);
    const stop = await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [stoppedPhone] } });
    assert.equal(stop.status, 200);
    while ((await phoneStatus(t, stoppedPhone)) !== 8) await new Promise((resolve) => setTimeout(resolve, 20));
    const response = await call(t, 'POST', '/v1/instances/async-command', { body: { command: 'getprop ro.build.version.release', instance_ids: [running, stopped] } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const { task_id: taskId, cmd_jobs: cmdJobs } = response.body.data;
    assert.match(taskId, HEX32);
    assert.deepEqual(cmdJobs.map((job: { instance_id: string }) => job.instance_id), [running, stopped]);
    for (const job of cmdJobs) assert.match(job.job_id, HEX32);
    const jobs = await waitTask(t, taskId);
    assert.deepEqual(jobs.map((job) => job.job_id), cmdJobs.map((job: { job_id: string }) => job.job_id));
    assert.deepEqual(jobs[0], { job_id: cmdJobs[0].job_id, status: 2, error_code: '', error_msg: '', execute_msg: '11\n' });
    assert.deepEqual([jobs[1].status, jobs[1].error_code, jobs[1].execute_msg], [-1, 'CPS.0141', null]);
    // The same jobs under CPH: the task id is their request id.
    const cph = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${cmdJobs[0].job_id}`);
    assert.equal(cph.body.status, 2);
    assertKpError(await call(t, 'GET', '/v1/instances/tasks/6837531fd3f54550927b930180a706bf'), 400, 'KOOPHONE.API.1323');
  });

  test('SyncCommand calls are limited per user like RunSyncCommand', async () => {
    const limited = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '1' } });
    try {
      const [id] = await createInstances(limited);
      const first = await call(limited, 'POST', '/v1/instances/sync-command', { body: { command: 'echo 1', instance_ids: [id] } });
      assert.equal(first.status, 200);
      const second = await call(limited, 'POST', '/v1/instances/sync-command', { body: { command: 'echo 2', instance_ids: [id] } });
      assert.deepEqual([second.status, second.body.error_code], [429, 'APIGW.0308']);
    } finally {
      await limited.close();
    }
  });
});

describe('BatchReset', () => {
  test('resets through the CPH reset job: CPH shows 3, then 2; the data is gone; GetTask reports it', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'reset' });
    const phoneId = await phoneOf(id);
    await shell(id, 'echo kept > /data/local/tmp/user.txt');
    await setDurations(t, { reset: 300 });
    try {
      const response = await call(t, 'POST', '/v1/instances/batch-reset', { body: { instance_ids: [id] } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.error_msg, 'ok');
      assert.match(response.body.data.task_id, /^RM_[0-9a-f]{32}$/);
      assert.equal(response.body.data.cmd_jobs[0].instance_id, id);
      assert.equal(await phoneStatus(t, phoneId), 3);
      assert.equal((await instanceRows(t, [id])).get(id).running_status, 4);
      const [job] = await waitTask(t, response.body.data.task_id);
      assert.deepEqual([job.status, job.error_code], [2, '']);
    } finally {
      await setDurations(t, {});
    }
    assert.equal(await phoneStatus(t, phoneId), 2);
    assert.match(await shell(id, 'ls /data/local/tmp/user.txt'), /No such file/);
  });

  test('a frozen instance, or one whose phone is busy, fails its own job; the others reset', async () => {
    const [frozen, busy, fine] = await createInstances(t, { count: 3, instanceNamePrefix: 'resetmix' });
    await t.server.store.db.updateTable('instances').set({ frozen: true }).where('id', '=', frozen).execute();
    const busyPhone = await phoneOf(busy);
    await setDurations(t, { restart: 500 });
    try {
      await call(t, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: busyPhone }] } });
      const response = await call(t, 'POST', '/v1/instances/batch-reset', { body: { instance_ids: [frozen, busy, fine] } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const jobs = await waitTask(t, response.body.data.task_id);
      assert.deepEqual(jobs.map((job) => [job.status, job.error_code]), [[-1, 'KOOPHONE.API.2004'], [-1, 'CPS.0165'], [2, '']]);
      assert.equal(jobs[0].error_msg, 'the instance already frozen.');
    } finally {
      await setDurations(t, {});
    }
  });
});

describe('AssignInstance and UnassignInstance', () => {
  test('assigns, idempotently for the same user; refuses another user, a frozen instance and contradictions', async () => {
    const [first, second] = await createInstances(t, { count: 2, instanceNamePrefix: 'assign' });
    const assign = (pairs: unknown) => call(t, 'POST', '/v1/instances/assign', { body: { user_instances: pairs } });
    const response = await assign([{ instance_id: first, user_id: '1123422' }]);
    assert.deepEqual([response.status, response.body], [200, { error_code: '0', error_msg: 'OK' }]);
    assert.equal((await assign([{ instance_id: first, user_id: 1123422 }])).status, 200);
    let row = (await instanceRows(t, [first])).get(first);
    assert.deepEqual([row.assign_status, row.assign_user], [1, '1123422']);
    // All or nothing: the second instance is not assigned when the first pair is refused.
    assertKpError(await assign([{ instance_id: second, user_id: 'u2' }, { instance_id: first, user_id: 'someone-else' }]), 200, 'KPAPI.2209');
    assert.equal((await instanceRows(t, [second])).get(second).assign_status, 0);
    assertKpError(await assign([{ instance_id: second, user_id: 'a' }, { instance_id: second, user_id: 'b' }]), 400, 'KOOPHONE.API.1000');
    assertKpError(await assign([{ instance_id: second, user_id: 'x'.repeat(33) }]), 400, 'KOOPHONE.API.1000');
    assertKpError(await assign([]), 400, 'KOOPHONE.API.1000');
    assertKpError(await assign([{ instance_id: 'unknown1', user_id: 'u' }]), 401, 'KOOPHONE.API.1001');
    await t.server.store.db.updateTable('instances').set({ frozen: true }).where('id', '=', second).execute();
    assertKpError(await assign([{ instance_id: second, user_id: 'u2' }]), 200, 'KPAPI.2209');
    row = (await instanceRows(t, [second])).get(second);
    assert.deepEqual([row.frozen_status, row.assign_status], [1, 0]);
  });

  test('unassigns only a binding that exists, and wipes the user’s data with a CPH reset', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'unassign' });
    const phoneId = await phoneOf(id);
    await call(t, 'POST', '/v1/instances/assign', { body: { user_instances: [{ instance_id: id, user_id: '1008600000104285462' }] } });
    await shell(id, 'echo mine > /data/local/tmp/user.txt');
    const unassign = (userId: unknown) => call(t, 'POST', '/v1/instances/unassign', { body: { user_instances: [{ instance_id: id, user_id: userId }] } });
    assertKpError(await unassign('someone-else'), 200, 'KOOPHONE.API.2210');
    assert.equal((await instanceRows(t, [id])).get(id).assign_status, 1, 'a refused unassign changes nothing');
    const response = await unassign('1008600000104285462');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.match(response.body.data.task_id, /^RM_[0-9a-f]{32}$/);
    const row = (await instanceRows(t, [id])).get(id);
    assert.deepEqual([row.assign_status, row.assign_user], [0, '']);
    const [job] = await waitTask(t, response.body.data.task_id);
    assert.equal(job.status, 2);
    assert.equal(await phoneStatus(t, phoneId), 2);
    assert.match(await shell(id, 'ls /data/local/tmp/user.txt'), /No such file/);
    assertKpError(await unassign('1008600000104285462'), 200, 'KOOPHONE.API.2210');
    // The document's example sends user_id as a number.
    await call(t, 'POST', '/v1/instances/assign', { body: { user_instances: [{ instance_id: id, user_id: '1123422' }] } });
    assert.equal((await unassign(1123422)).status, 200);
  });

  test('an unassign while the phone restarts wipes the data once the restart is over', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'unassign' });
    const phoneId = await phoneOf(id);
    await call(t, 'POST', '/v1/instances/assign', { body: { user_instances: [{ instance_id: id, user_id: 'u1' }] } });
    await shell(id, 'echo mine > /data/local/tmp/user.txt');
    await setDurations(t, { restart: 300 });
    try {
      await call(t, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: phoneId }] } });
      const response = await call(t, 'POST', '/v1/instances/unassign', { body: { user_instances: [{ instance_id: id, user_id: 'u1' }] } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(await phoneStatus(t, phoneId), 4, 'the restart goes on');
      assert.equal((await waitTask(t, response.body.data.task_id))[0].status, 2);
    } finally {
      await setDurations(t, {});
    }
    assert.equal(await phoneStatus(t, phoneId), 2);
    assert.match(await shell(id, 'ls /data/local/tmp/user.txt'), /No such file/);
  });
});

describe('BatchRebootInstance', () => {
  test('restarts running instances through CPH; all must be running (5005), none frozen (2004)', async () => {
    const [first, second] = await createInstances(t, { count: 2, instanceNamePrefix: 'reboot' });
    const [firstPhone, secondPhone] = [await phoneOf(first), await phoneOf(second)];
    await setDurations(t, { restart: 300 });
    try {
      const response = await call(t, 'POST', '/v1/instances/reboot', { body: { instance_ids: [first] } });
      assert.deepEqual([response.status, response.body], [200, { error_code: '0', error_msg: 'OK' }]);
      assert.equal(await phoneStatus(t, firstPhone), 4);
      assert.equal((await instanceRows(t, [first])).get(first).running_status, 4);
      // The first is restarting: a request naming it restarts nothing.
      assertKpError(await call(t, 'POST', '/v1/instances/reboot', { body: { instance_ids: [second, first] } }), 400, 'KOOPHONE.API.5005');
      assert.equal(await phoneStatus(t, secondPhone), 2);
    } finally {
      await setDurations(t, {});
    }
    await waitRunning(t, [first]);
    await t.server.store.db.updateTable('instances').set({ frozen: true }).where('id', '=', second).execute();
    assertKpError(await call(t, 'POST', '/v1/instances/reboot', { body: { instance_ids: [second] } }), 200, 'KOOPHONE.API.2004');
    assertKpError(await call(t, 'POST', '/v1/instances/reboot', { body: { instance_ids: ['unknown1'] } }), 401, 'KOOPHONE.API.1001');
    assertKpError(await call(t, 'POST', '/v1/instances/reboot', { body: { instance_ids: [] } }), 400, 'KOOPHONE.API.1000');
  });
});

describe('DeleteInstance', () => {
  test('unsubscribes yearly/monthly instances; their phones stay as spare capacity, reset', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'delete' });
    const phoneId = await phoneOf(id);
    await shell(id, 'echo mine > /data/local/tmp/user.txt');
    const response = await call(t, 'POST', '/v1/instances/delete', { body: { instanceIdList: [id] } });
    assert.deepEqual([response.status, response.body], [200, { data: null, error_code: '0', error_msg: 'OK' }]);
    assert.equal((await instanceRows(t, [id])).size, 0);
    assertKpError(await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: [id] } }), 401, 'KOOPHONE.API.1001');
    while ((await phoneStatus(t, phoneId)) !== 2) await new Promise((resolve) => setTimeout(resolve, 20));
    // The next order takes the freed phone, wiped.
    const [next] = await createInstances(t, { instanceNamePrefix: 'delete' });
    assert.equal(await phoneOf(next), phoneId);
    assert.match(await shell(next, 'ls /data/local/tmp/user.txt'), /No such file/);
  });

  test('pay-per-use instances are 5001; ids not all the caller’s are 1012; none the caller’s is 1001', async () => {
    const [payPerUse, mine] = await createInstances(t, { count: 2, instanceNamePrefix: 'nodelete' });
    await t.server.store.db.updateTable('instances').set({ billing_mode: '0' }).where('id', '=', payPerUse).execute();
    const [theirs] = await createInstances(other);
    const remove = (ids: unknown) => call(t, 'POST', '/v1/instances/delete', { body: { instanceIdList: ids } });
    assertKpError(await remove([mine, payPerUse]), 400, 'KOOPHONE.API.5001');
    assertKpError(await remove([mine, theirs]), 200, 'KOOPHONE.API.1012');
    assertKpError(await remove([mine, 'unknown1']), 200, 'KOOPHONE.API.1012');
    assertKpError(await remove([theirs]), 401, 'KOOPHONE.API.1001');
    assertKpError(await remove([]), 400, 'KOOPHONE.API.1000');
    assert.equal((await instanceRows(t, [mine, payPerUse])).size, 2, 'refused deletes delete nothing');
    assert.equal((await instanceRows(other, [theirs])).size, 1);
  });
});

describe('x-request-id', () => {
  test('optional where the SDK does not send it; echoed when given; an invalid one is 0003', async () => {
    const without = await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: [shared[0]] } });
    assert.equal(without.status, 200);
    assert.match(without.headers.get('x-request-id')!, HEX32);
    const given = await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: [shared[0]] }, headers: { 'x-request-id': 'my-trace-id' } });
    assert.equal(given.headers.get('x-request-id'), 'my-trace-id');
    const inQuery = await call(t, 'POST', '/v1/instances/batch-query-status?x-request-id=from-query', { body: { instance_ids: [shared[0]] } });
    assert.equal(inQuery.headers.get('x-request-id'), 'from-query');
    assertKpError(await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: [shared[0]] }, headers: { 'x-request-id': 'x'.repeat(129) } }), 400, 'KOOPHONE.API.0003');
  });
});
