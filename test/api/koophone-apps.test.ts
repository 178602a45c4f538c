import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { call, startTestServer, waitForJob, type Tenant, type TestServer } from '../helpers/server.ts';
import { assertKpError, createInstances, installApp, installAppBody, instanceRows, kpMessage, waitTask } from '../helpers/koophone.ts';
import { readyInstance } from '../helpers/koophone-stream.ts';

const fixtures = fileURLToPath(new URL('../fixtures/apk/', import.meta.url));
const INSTALL = '/v1/instances/app/install';

let t: TestServer;
let other: { url: string; tenant: Tenant };
let http: Server;
let base: string;
let instances: string[];
/** Requests to /slow/ wait here until released. */
const held: Array<() => void> = [];

before(async () => {
  // The package server below is on loopback, which downloads reach only when an operator allow-lists it.
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0', OPENCPH_DOWNLOAD_ALLOW: '127.0.0.1' } });
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
  // A plain HTTP server of APK files, standing in for the signed OBS URL of the documents.
  http = createServer((request, response) => {
    const name = (request.url ?? '').replace(/\?.*$/, '').split('/').pop()!;
    let body: Buffer;
    try {
      body = readFileSync(`${fixtures}${name}`);
    } catch {
      response.writeHead(404).end('not found');
      return;
    }
    const send = () => response.writeHead(200, { 'Content-Type': 'application/vnd.android.package-archive' }).end(body);
    if (request.url?.startsWith('/slow/')) held.push(send);
    else send();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  instances = await createInstances(t, { count: 3, instanceNamePrefix: 'apps' });
});
after(async () => {
  for (const release of held.splice(0)) release();
  await new Promise((resolve) => http.close(resolve));
  await t.close();
});

/** The default install: hello-v1.apk from the test's web server (a signed OBS URL's shape) on the first instance. */
const installBody = (overrides: Record<string, unknown> = {}) => installAppBody(`${base}/apk/hello-v1.apk?AccessKeyId=AK&Signature=secret`, [instances[0]], overrides);

async function install(overrides: Record<string, unknown> = {}) {
  const response = await call(t, 'POST', INSTALL, { body: installBody(overrides) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.data;
}

async function packages(instanceId: string): Promise<string> {
  const response = await call(t, 'POST', '/v1/instances/sync-command', { body: { command: 'pm list packages -3', instance_ids: [instanceId] } });
  return response.body.data.cmd_results[0].execute_msg;
}

const appList = (instanceId: string, query = 'page_no=1&page_size=200', target: { url: string; tenant: Tenant } = t) =>
  call(target, 'GET', `/v1/instances/${instanceId}/app-list?${query}`, { headers: { 'x-request-id': 'apps' } });

describe('InstallApp', () => {
  test('downloads the APK over HTTP, checks it and installs it: the app is in app-list and in pm list packages', async () => {
    const md5 = createHash('md5').update(readFileSync(`${fixtures}hello-v1.apk`)).digest('hex');
    const response = await call(t, 'POST', INSTALL, { body: installBody({ content_md5: md5.toUpperCase(), instance_id_list: [instances[0], instances[1]] }) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.error_msg, 'OK');
    const { task_id: taskId, cmd_jobs: cmdJobs, data } = response.body.data;
    assert.match(taskId, /^ZGCA[A-Za-z0-9_-]{32}$/);
    assert.deepEqual(data, { task_id: taskId, cmd_jobs: cmdJobs }, 'the documents’ nested shape as well');
    assert.deepEqual(cmdJobs.map((job: { instance_id: string }) => job.instance_id), [instances[0], instances[1]]);
    const jobs = await waitTask(t, taskId);
    assert.deepEqual(jobs.map((job) => [job.status, job.error_code, job.execute_msg]), [[2, '', 'Success'], [2, '', 'Success']]);
    for (const id of [instances[0], instances[1]]) assert.match(await packages(id), /^package:com\.opencph\.hello$/m);
    const listed = await appList(instances[0], 'page_no=1&page_size=200&app_type=2');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.data.result, [{ app_name: 'com.opencph.hello', app_version: '1.0', app_pkg: 'com.opencph.hello', icon_url: '' }]);
    assert.deepEqual([listed.body.data.page_no, listed.body.data.page_size, listed.body.data.total_count], [1, 200, 1]);
  });

  test('an upgrade installs over the old version; a downgrade is a version conflict (62020)', async () => {
    const upgrade = await install({ file_name: 'hello-v2.apk', object_version: '2.0', install_package_url: `${base}/hello-v2.apk` });
    assert.equal((await waitTask(t, upgrade.task_id))[0].status, 2);
    assert.equal((await appList(instances[0], 'page_no=1&page_size=10&app_type=2')).body.data.result[0].app_version, '2.0');
    const downgrade = await install();
    const [job] = await waitTask(t, downgrade.task_id);
    assert.deepEqual([job.status, job.error_code, job.error_msg], [-1, 'KOOPHONE.API.62020', 'Version Conflict.']);
    assert.match(job.execute_msg, /INSTALL_FAILED_VERSION_DOWNGRADE/);
  });

  test('a download that fails, a package that is not object_name, a wrong MD5 or size, or no APK fail that instance’s job', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      // The same words whatever went wrong: the answer must not tell what the URL reached (reliability/ssrf.test.ts).
      [{ install_package_url: `${base}/missing.apk?Signature=secret` }, 'KOOPHONE.API.62017', /^the package could not be downloaded from install_package_url$/],
      [{ install_package_url: 'http://127.0.0.1:1/hello-v1.apk' }, 'KOOPHONE.API.62017', /^the package could not be downloaded from install_package_url$/],
      [{ object_name: 'com.tencent.mm' }, 'KOOPHONE.API.62019', /package is com\.opencph\.hello, not object_name com\.tencent\.mm/],
      [{ content_md5: '0123456789abcdef0123456789abcdef' }, 'KOOPHONE.API.62017', /^the download does not match content_md5 0123456789abcdef0123456789abcdef$/],
      [{ object_size: '120' }, 'KOOPHONE.API.62017', /^the download's size is not within 1 MB of object_size 120 MB$/],
      [{ install_package_url: `${base}/not-an-apk.apk` }, 'KOOPHONE.API.62019', /not a valid APK/],
    ];
    for (const [overrides, code, message] of cases) {
      const task = await install({ ...overrides, instance_id_list: [instances[2]] });
      const [job] = await waitTask(t, task.task_id);
      assert.deepEqual([job.status, job.error_code], [-1, code], JSON.stringify(job));
      assert.match(job.execute_msg, message);
      assert.doesNotMatch(job.execute_msg, /secret/, 'signed URL query strings are not echoed');
    }
    assert.doesNotMatch(await packages(instances[2]), /com\.opencph\.hello/);
  });

  test('installs from obs:// objects of the object store too', async () => {
    await t.server.services.commandDeps.objects.root.forAccount(t.tenant.domainName).upload('apps-bucket', 'pkgs/other.apk', `${fixtures}other.apk`);
    const task = await install({ object_name: 'com.opencph.other', file_name: 'other.apk', install_package_url: 'obs://apps-bucket/pkgs/other.apk', instance_id_list: [instances[2]] });
    assert.equal((await waitTask(t, task.task_id))[0].status, 2);
    assert.match(await packages(instances[2]), /^package:com\.opencph\.other$/m);
    const missing = await install({ install_package_url: 'obs://apps-bucket/pkgs/none.apk', instance_id_list: [instances[2]] });
    assert.equal((await waitTask(t, missing.task_id))[0].error_code, 'KOOPHONE.API.62017');
  });

  test('the same package and version still installing on an instance is 62005', async () => {
    const first = await install({ install_package_url: `${base}/slow/other.apk`, object_name: 'com.opencph.other', object_version: '9.9', instance_id_list: [instances[1]] });
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const again = await call(t, 'POST', INSTALL, { body: installBody({ object_name: 'com.opencph.other', object_version: '9.9', instance_id_list: [instances[1]] }) });
    assertKpError(again, 200, 'KOOPHONE.API.62005');
    held.shift()!();
    assert.equal((await waitTask(t, first.task_id))[0].status, 2);
  });

  test('request errors: 3008, 62006, 62015, 62016, 1000 and 1001, with nothing queued', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ fast_install: 2 }, 200, 'KOOPHONE.API.3008'],
      [{ fast_install: 'quick' }, 200, 'KOOPHONE.API.3008'],
      [{ object_size: 'big' }, 200, 'KOOPHONE.API.62006'],
      [{ object_size: 2049 }, 200, 'KOOPHONE.API.62015'],
      [{ biz_type: 'ipa' }, 400, 'KOOPHONE.API.1000'],
      [{ install_package_url: 'ftp://example.com/a.apk' }, 400, 'KOOPHONE.API.1000'],
      [{ object_name: 'x'.repeat(101) }, 400, 'KOOPHONE.API.1000'],
      [{ object_name: undefined }, 400, 'KOOPHONE.API.1000'],
      [{ instance_id_list: [] }, 400, 'KOOPHONE.API.1000'],
      [{ instance_id_list: ['unknown1'] }, 401, 'KOOPHONE.API.1001'],
    ];
    const tasks = () => t.server.store.db.selectFrom('koophone_tasks').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const before = await tasks();
    for (const [overrides, status, code] of cases) assertKpError(await call(t, 'POST', INSTALL, { body: installBody(overrides) }), status, code);
    assertKpError(await call(other, 'POST', INSTALL, { body: installBody() }), 401, 'KOOPHONE.API.1001');
    assert.deepEqual(await tasks(), before);
    // The tenant's packages add up to at most 1 TB.
    await t.server.store.db
      .insertInto('jobs')
      .values({
        id: '0'.repeat(32), project_id: t.tenant.projectId, request_id: 'ZGCA-earlier-upload', type: 'koophone.install', phone_id: null, server_id: null,
        lock_key: 'none', params: JSON.stringify({ object_size: 1024 * 1024 - 1 }), state: 'done', status: 2, begin_time: new Date(),
      })
      .execute();
    try {
      assertKpError(await call(t, 'POST', INSTALL, { body: installBody({ object_size: 2 }) }), 200, 'KOOPHONE.API.62016');
    } finally {
      // The planted upload must not fill the tenant's total for the tests after this one.
      await t.server.store.db.deleteFrom('jobs').where('id', '=', '0'.repeat(32)).execute();
    }
  });
});

describe('ListInstanceApp', () => {
  test('lists system and third-party apps in pages; x-request-id is required', async () => {
    const all = await appList(instances[0], 'page_no=1&page_size=200');
    const system = await appList(instances[0], 'page_no=1&page_size=200&app_type=1');
    const third = await appList(instances[0], 'page_no=1&page_size=200&app_type=2');
    assert.ok(system.body.data.total_count > 0);
    assert.equal(all.body.data.total_count, system.body.data.total_count + third.body.data.total_count);
    const page = await appList(instances[0], 'page_no=2&page_size=1');
    assert.deepEqual(page.body.data.result, [all.body.data.result[1]]);
    assertKpError(await call(t, 'GET', `/v1/instances/${instances[0]}/app-list?page_no=1&page_size=10`), 200, 'KOOPHONE.API.0002');
    for (const query of ['page_no=0&page_size=10', 'page_no=1&page_size=201', 'page_no=1&page_size=10&app_type=3', 'page_size=10']) {
      assertKpError(await appList(instances[0], query), 400, 'KOOPHONE.API.1000');
    }
    assertKpError(await appList('unknown1'), 401, 'KOOPHONE.API.1001');
    assertKpError(await appList(instances[0], 'page_no=1&page_size=10', other), 401, 'KOOPHONE.API.1001');
  });
});

describe('instances that cannot take an app', () => {
  const PHONES = '/v1/{project_id}/cloud-phone/phones';
  const phoneOf = async (instanceId: string): Promise<string> => (await instanceRows(t, [instanceId])).get(instanceId).phone_id;
  const installOn = async (instanceId: string) => (await installApp(t, `${base}/apk/hello-v1.apk`, [instanceId], { object_version: `state-${instanceId}` }))[0];

  test('a full data volume: the install fails with 62021 "not enough space."', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'full' });
    // A 1 GiB data volume holds less than Android itself takes there (1.1 GiB): nothing more fits.
    await t.server.store.db.updateTable('phones').set({ data_volume_size: 1 }).where('id', '=', await phoneOf(id)).execute();
    const job = await installOn(id);
    assert.deepEqual([job.status, job.error_code, job.error_msg], [-1, 'KOOPHONE.API.62021', kpMessage('KOOPHONE.API.62021')]);
    assert.match(job.execute_msg, /INSTALL_FAILED_INSUFFICIENT_STORAGE/);
  });

  test('a phone that is not running: InstallApp\'s job and ListInstanceApp are 62010', async () => {
    const [id] = await createInstances(t, { instanceNamePrefix: 'stopped' });
    const stop = await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [await phoneOf(id)] } });
    await waitForJob(t, stop.body.jobs[0].job_id);
    const job = await installOn(id);
    assert.deepEqual([job.status, job.error_code, job.error_msg], [-1, 'KOOPHONE.API.62010', kpMessage('KOOPHONE.API.62010')]);
    assertKpError(await appList(id), 200, 'KOOPHONE.API.62010');
  });

  test('an instance whose phone a backup released: InstallApp\'s job, ListInstanceApp and SyncCommand are 3009', async () => {
    const id = await readyInstance(t, 'user-released', 'released');
    const backup = await call(t, 'POST', '/v1/instances/backup', { body: { instance_ids: [id] } });
    assert.equal(backup.body.error_code, '0', JSON.stringify(backup.body));
    await waitTask(t, backup.body.data.task_id);
    assert.equal(await phoneOf(id), 'null');
    const job = await installOn(id);
    assert.deepEqual([job.status, job.error_code, job.error_msg], [-1, 'KOOPHONE.API.3009', kpMessage('KOOPHONE.API.3009')]);
    assertKpError(await appList(id), 200, 'KOOPHONE.API.3009');
    const sync = await call(t, 'POST', '/v1/instances/sync-command', { body: { command: 'id', instance_ids: [id] } });
    assert.deepEqual(sync.body.data.cmd_results.map((result: { status: number; error_code: string }) => [result.status, result.error_code]), [[-1, 'KOOPHONE.API.3009']]);
  });
});
