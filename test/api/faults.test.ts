import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, phoneStatus, purchaseBody, serverDetail, startTestServer, waitForJob, type ApiResponse, type TestServer } from '../helpers/server.ts';
import { ADMIN_ENV, ADMIN_TOKEN, addFault, admin } from '../helpers/admin.ts';
import { cpsMessage } from '../helpers/cps.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';

let t: TestServer;
let phones: string[];
let serverId: string;

function assertError(response: ApiResponse, status: number, code: string) {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.equal(response.body.error_code, code);
  assert.equal(response.body.request_id, response.headers.get('x-request-id'));
  assert.equal(typeof response.body.error_msg, 'string');
}

const statusOf = (phoneId: string) => phoneStatus(t, phoneId);

/** Runs a batch phone action; the finished jobs, by phone id. */
async function batch(action: 'batch-restart' | 'batch-stop' | 'batch-reset', phoneIds: string[]) {
  const body = action === 'batch-stop' ? { phone_ids: phoneIds } : { phones: phoneIds.map((phone_id) => ({ phone_id })) };
  const response = await call(t, 'POST', `${PHONES}/${action}`, { body });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const jobs: Record<string, { status: number; error_code: string | null }> = {};
  for (const entry of response.body.jobs) jobs[entry.phone_id] = await waitForJob(t, entry.job_id);
  return jobs;
}

const restart = (phoneId: string) => batch('batch-restart', [phoneId]).then((jobs) => jobs[phoneId].status);

/** An async shell command on one phone; its job id. */
async function startShell(phoneId: string, content = 'echo ok') {
  const response = await call(t, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content, phone_ids: [phoneId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.jobs[0].job_id as string;
}

before(async () => {
  t = await startTestServer({ env: { ...ADMIN_ENV, OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  const bought = await buyServers(t);
  phones = bought.phoneIds;
  serverId = bought.serverIds[0];
});
// A test that fails half-way leaves no rule behind for the next one.
afterEach(() => admin(t, 'DELETE', '/admin/faults'));
after(() => t.close());

describe('admin API access', () => {
  test('without OPENCPH_ADMIN_TOKEN the admin routes do not exist', async () => {
    const plain = await startTestServer();
    try {
      for (const [method, path] of [['GET', '/admin/faults'], ['POST', '/admin/faults'], ['DELETE', '/admin/faults'], ['PUT', '/admin/durations']]) {
        assertError(await admin(plain, method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : {} }), 404, 'APIGW.0101');
      }
    } finally {
      await plain.close();
    }
  });

  test('only the admin token opens it: tenant token, AK/SK, a wrong or missing admin token get 401', async () => {
    assertError(await admin(t, 'GET', '/admin/faults', { token: null, headers: { 'X-Auth-Token': t.tenant.token } }), 401, 'APIGW.0301');
    assertError(await call(t, 'GET', '/admin/faults', { sign: t.tenant }), 401, 'APIGW.0301');
    assertError(await admin(t, 'GET', '/admin/faults', { token: `${ADMIN_TOKEN}x` }), 401, 'APIGW.0301');
    assertError(await admin(t, 'GET', '/admin/faults', { token: null }), 401, 'APIGW.0301');
    assertError(await admin(t, 'POST', '/admin/faults', { token: t.tenant.token, body: { operation: 'restart', mode: 'fail' } }), 401, 'APIGW.0301');
    assert.deepEqual((await admin(t, 'GET', '/admin/faults')).body, { rules: [], durations: {} });
  });
});

describe('fault rules', () => {
  test('the next restart of one phone fails (-6) while the other phone of the batch restarts; the one after succeeds', async () => {
    const [target, neighbour] = phones.slice(0, 2);
    const rule = await addFault(t, { operation: 'restart', phone_id: target, mode: 'fail' });
    assert.deepEqual((await admin(t, 'GET', '/admin/faults')).body.rules, [{ id: rule.id, operation: 'restart', phone_id: target, mode: 'fail', times: 1, matched: 0 }]);
    const jobs = await batch('batch-restart', [target, neighbour]);
    assert.deepEqual([jobs[target].status, jobs[neighbour].status], [-1, 2]);
    assert.deepEqual([await statusOf(target), await statusOf(neighbour)], [-6, 2]);
    assert.deepEqual((await admin(t, 'GET', '/admin/faults')).body.rules, [], 'a one-time rule is gone once used');
    assert.equal(await restart(target), 2);
    assert.equal(await statusOf(target), 2);
  });

  test('a rule with times 2 fails two calls, then the operation works again', async () => {
    const phoneId = phones[2];
    const rule = await addFault(t, { operation: 'restart', phone_id: phoneId, mode: 'fail', times: 2 });
    assert.equal(await restart(phoneId), -1);
    assert.equal((await admin(t, 'GET', '/admin/faults')).body.rules.find((r: { id: string }) => r.id === rule.id)?.matched, 1);
    assert.equal(await restart(phoneId), -1);
    assert.equal(await restart(phoneId), 2);
    assert.equal(await statusOf(phoneId), 2);
  });

  test('a stop fault leaves the phone at -9, a reset fault at -5', async () => {
    const [stopped, reset] = phones.slice(3, 5);
    await addFault(t, { operation: 'stop', phone_id: stopped, mode: 'fail' });
    await addFault(t, { operation: 'reset', phone_id: reset, mode: 'fail' });
    assert.equal((await batch('batch-stop', [stopped]))[stopped].status, -1);
    assert.equal((await batch('batch-reset', [reset]))[reset].status, -1);
    assert.deepEqual([await statusOf(stopped), await statusOf(reset)], [-9, -5]);
  });

  test('a shell fault fails the command job; the next command runs', async () => {
    const phoneId = phones[5];
    await addFault(t, { operation: 'shell', phone_id: phoneId, mode: 'fail' });
    const failed = await waitForJob(t, await startShell(phoneId));
    assert.deepEqual([failed.status, failed.error_code, failed.error_msg], [-1, 'CPS.0022', cpsMessage('CPS.0022')]);
    const next = await waitForJob(t, await startShell(phoneId));
    assert.deepEqual([next.status, next.execute_msg.trim()], [2, 'ok']);
  });

  test('a server-wide rule for every call fails each phone of the server until the rules are cleared', async () => {
    const [first, second] = phones.slice(6, 8);
    await addFault(t, { operation: 'restart', server_id: serverId, mode: 'fail', times: 0 });
    const failed = await batch('batch-restart', [first, second]);
    assert.deepEqual([failed[first].status, failed[second].status], [-1, -1]);
    assert.equal(await restart(first), -1, 'times 0 never runs out');
    const cleared = await admin(t, 'DELETE', '/admin/faults');
    assert.equal(cleared.status, 204);
    const restarted = await batch('batch-restart', [first, second]);
    assert.deepEqual([restarted[first].status, restarted[second].status], [2, 2]);
  });

  test('a hung command job stays running until its rule is deleted, then fails', async () => {
    const phoneId = phones[8];
    const rule = await addFault(t, { operation: 'shell', phone_id: phoneId, mode: 'hang' });
    const jobId = await startShell(phoneId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${jobId}`)).body.status, 1);
    assert.equal((await admin(t, 'DELETE', `/admin/faults/${rule.id}`)).status, 204);
    assert.equal((await waitForJob(t, jobId)).status, -1);
    assertError(await admin(t, 'DELETE', `/admin/faults/${rule.id}`), 404, 'OPENCPH.ADMIN.0002');
  });

  test('a hung synchronous shell times out like a command that runs too long', async () => {
    const phoneId = phones[9];
    await addFault(t, { operation: 'shell', phone_id: phoneId, mode: 'hang' });
    const response = await call(t, 'POST', `${PHONES}/sync-commands`, { body: { command: 'shell', content: 'echo ok', phone_ids: [phoneId] } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual([response.body.jobs[0].status, response.body.jobs[0].error_code], [-1, 'CPS.0054']);
    await admin(t, 'DELETE', '/admin/faults');
  });
});

describe('hangs on phone lifecycle operations', () => {
  // Each operation's transitional status while its call hangs, and its failure status once the rule goes.
  const cases = [
    { operation: 'restart', action: 'batch-restart', phone: 11, via: 4, failure: -6 },
    { operation: 'stop', action: 'batch-stop', phone: 12, via: 7, failure: -9 },
    { operation: 'reset', action: 'batch-reset', phone: 13, via: 3, failure: -5 },
  ] as const;
  for (const { operation, action, phone, via, failure } of cases) {
    test(`a hung ${operation} keeps its job at 1 and the phone at ${via}; deleting the rule fails it (${failure})`, async () => {
      const phoneId = phones[phone];
      const rule = await addFault(t, { operation, phone_id: phoneId, mode: 'hang' });
      const body = action === 'batch-stop' ? { phone_ids: [phoneId] } : { phones: [{ phone_id: phoneId }] };
      const response = await call(t, 'POST', `${PHONES}/${action}`, { body });
      const jobId = response.body.jobs[0].job_id;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${jobId}`)).body.status, 1);
      assert.equal(await statusOf(phoneId), via);
      assert.equal((await admin(t, 'DELETE', `/admin/faults/${rule.id}`)).status, 204);
      const done = await waitForJob(t, jobId);
      assert.deepEqual([done.status, done.error_code], [-1, 'CPS.0022']);
      assert.equal(await statusOf(phoneId), failure);
      assert.equal(await restart(phoneId), 2, 'a restart brings the phone back');
    });
  }
});

describe('create faults on a purchase', () => {
  test('a failed phone creation leaves that phone -8 and the server abnormal; its job fails with CPS.0092', async () => {
    await addFault(t, { operation: 'create', mode: 'fail' });
    const bought = await call(t, 'POST', PHONES, { body: purchaseBody({ server_name: 'unlucky' }) });
    assert.equal(bought.status, 200, JSON.stringify(bought.body));
    const [job] = (await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${bought.body.request_id}`)).body.jobs;
    const done = await waitForJob(t, job.job_id);
    assert.deepEqual([done.status, done.error_code, done.error_msg], [-1, 'CPS.0092', cpsMessage('CPS.0092')]);
    const [serverId] = bought.body.server_ids;
    assert.equal((await serverDetail(t, serverId)).status, 2);
    const statuses = (await call(t, 'GET', `${PHONES}?server_id=${serverId}`)).body.phones.map((p: { status: number }) => p.status).sort();
    assert.deepEqual(statuses, [-8, ...Array(statuses.length - 1).fill(2)], 'exactly one phone failed, the others run');
  });
});

describe('server power cycle (RestartCloudPhoneServer)', () => {
  let server: string;
  let serverPhones: string[];
  before(async () => {
    const bought = await buyServers(t, { server_name: 'cycled' });
    server = bought.serverIds[0];
    serverPhones = bought.phoneIds;
  });
  const serverStatus = async () => (await serverDetail(t, server)).status as number;
  const restartServer = async () => {
    const response = await call(t, 'POST', '/v1/{project_id}/cloud-phone/servers/batch-restart', { body: { server_ids: [server] } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.ok(response.body.jobs[0].job_id, JSON.stringify(response.body.jobs[0]));
    return response.body.jobs[0].job_id as string;
  };
  const allPhones = () => Promise.all(serverPhones.map(statusOf));

  test('a hung stop holds the server at 11 (being stopped); released, the stop failed: 12, that phone -9, the others run again', async () => {
    const [hung] = serverPhones;
    const rule = await addFault(t, { operation: 'stop', phone_id: hung, mode: 'hang' });
    const jobId = await restartServer();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual([await serverStatus(), (await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${jobId}`)).body.status], [11, 1]);
    assert.equal(await statusOf(hung), 4);
    await admin(t, 'DELETE', `/admin/faults/${rule.id}`);
    const done = await waitForJob(t, jobId);
    assert.deepEqual([done.status, done.error_code, done.error_msg], [-1, 'CPS.0158', cpsMessage('CPS.0158')]);
    assert.equal(await serverStatus(), 12);
    assert.deepEqual(await allPhones(), serverPhones.map((id) => (id === hung ? -9 : 2)));
  });

  test('a server whose stop failed (12) restarts again, its -9 phone with it', async () => {
    assert.equal(await serverStatus(), 12);
    assert.equal((await waitForJob(t, await restartServer())).status, 2);
    assert.equal(await serverStatus(), 5);
    assert.deepEqual(await allPhones(), serverPhones.map(() => 2));
  });

  test('a hung start holds the server at 13 (starting); released, that phone is -6 and the server normal', async () => {
    const [, hung] = serverPhones;
    const rule = await addFault(t, { operation: 'start', phone_id: hung, mode: 'hang' });
    const jobId = await restartServer();
    for (const deadline = Date.now() + 10_000; (await serverStatus()) !== 13; ) {
      assert.ok(Date.now() < deadline, 'the server reaches 13');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual([await serverStatus(), (await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${jobId}`)).body.status], [13, 1]);
    await admin(t, 'DELETE', `/admin/faults/${rule.id}`);
    const done = await waitForJob(t, jobId);
    assert.deepEqual([done.status, done.error_code], [-1, 'CPS.0022']);
    assert.equal(await serverStatus(), 5);
    assert.deepEqual(await allPhones(), serverPhones.map((id) => (id === hung ? -6 : 2)));
  });

  test('when no phone starts the server stays stopped (10); a restart from 10 brings it back', async () => {
    await addFault(t, { operation: 'start', server_id: server, mode: 'fail', times: 0 });
    assert.equal((await waitForJob(t, await restartServer())).status, -1);
    assert.equal(await serverStatus(), 10);
    assert.deepEqual(await allPhones(), serverPhones.map(() => -6));
    await admin(t, 'DELETE', '/admin/faults');
    assert.equal((await waitForJob(t, await restartServer())).status, 2);
    assert.equal(await serverStatus(), 5);
    assert.deepEqual(await allPhones(), serverPhones.map(() => 2));
  });

  test('phones stopped on purpose stay stopped through a server restart', async () => {
    const [stopped] = serverPhones;
    assert.equal((await batch('batch-stop', [stopped]))[stopped].status, 2);
    assert.equal((await waitForJob(t, await restartServer())).status, 2);
    assert.deepEqual(await allPhones(), serverPhones.map((id) => (id === stopped ? 8 : 2)));
  });
});

describe('durations', () => {
  test('a restart takes the set time; an empty set restores the driver’s own', async () => {
    const phoneId = phones[10];
    const set = await admin(t, 'PUT', '/admin/durations', { body: { restart: 400 } });
    assert.deepEqual([set.status, set.body], [200, { durations: { restart: 400 } }]);
    assert.deepEqual((await admin(t, 'GET', '/admin/faults')).body.durations, { restart: 400 });
    const started = Date.now();
    assert.equal(await restart(phoneId), 2);
    assert.ok(Date.now() - started >= 400, 'the restart waited');
    // A restart of ten minutes, then the empty set: the next restart ends long before ten minutes
    // (waitForJob gives up after 10 s), so the driver's own duration (none at time scale 0) is back.
    await admin(t, 'PUT', '/admin/durations', { body: { restart: 600_000 } });
    assert.deepEqual((await admin(t, 'PUT', '/admin/durations', { body: {} })).body, { durations: {} });
    assert.deepEqual((await admin(t, 'GET', '/admin/faults')).body.durations, {});
    assert.equal(await restart(phoneId), 2);
  });
});

describe('validation', () => {
  test('bad rule bodies are refused with OPENCPH.ADMIN.0001 and add nothing', async () => {
    const bodies: unknown[] = [
      {},
      { operation: 'restart' },
      { operation: 'reboot', mode: 'fail' },
      { operation: 'restart', mode: 'explode' },
      { operation: 'restart', mode: 'fail', times: -1 },
      { operation: 'restart', mode: 'fail', times: 1.5 },
      { operation: 'restart', mode: 'fail', phone_id: 'not-a-phone' },
      { operation: 'restart', mode: 'fail', server_id: UNKNOWN_ID.toUpperCase() },
      { operation: 'restart', mode: 'fail', colour: 'red' },
      ['restart'],
    ];
    for (const body of bodies) {
      const response = await admin(t, 'POST', '/admin/faults', { body });
      assertError(response, 400, 'OPENCPH.ADMIN.0001');
      assert.match(response.body.error_msg, /^Invalid request body: /);
    }
    const notJson = await fetch(`${t.url}/admin/faults`, { method: 'POST', headers: { 'X-Admin-Token': ADMIN_TOKEN, 'Content-Type': 'application/json' }, body: '{bad' });
    assert.deepEqual([notJson.status, (await notJson.json()).error_code], [400, 'OPENCPH.ADMIN.0001']);
    assert.deepEqual((await admin(t, 'GET', '/admin/faults')).body.rules, []);
  });

  test('bad durations are refused and change nothing; an unknown rule id is 404', async () => {
    for (const body of [{ shell: 100 }, { restart: -1 }, { restart: 600_001 }, { restart: 'slow' }]) {
      assertError(await admin(t, 'PUT', '/admin/durations', { body }), 400, 'OPENCPH.ADMIN.0001');
    }
    assert.deepEqual((await admin(t, 'GET', '/admin/faults')).body.durations, {});
    assertError(await admin(t, 'DELETE', `/admin/faults/${UNKNOWN_ID}`), 404, 'OPENCPH.ADMIN.0002');
  });
});
