import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { buyServers, call, phonesOf, serverDetail, startTestServer, waitForJob, type Target, type TestServer } from '../helpers/server.ts';
import { ADMIN_ENV, addFault } from '../helpers/admin.ts';
import { assertCpsError, cpsMessage, itemError } from '../helpers/cps.ts';

const SHARE_FILES = '/v1/{project_id}/cloud-phone/phones/share-files';
const LIST_FILES = '/v1/{project_id}/cloud-phone/servers/share-files';
const SHARE_APPS = '/v1/{project_id}/cloud-phone/phones/share-apps';
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const HELLO_APK = fileURLToPath(new URL('../fixtures/apk/hello-v1.apk', import.meta.url));
/** The documented shape of one ListShareFiles entry: `<size> <Mon DD HH:MM> <name>\n`. */
const ENTRY = /^(\d+) [A-Z][a-z]{2} \d\d \d\d:\d\d (.+)\n$/;

let t: TestServer;
/** Two servers of a flavor with shared storage (rx1.cp.c60.d10.e1v1: max_share_disk_size_g 50). */
let serverA: string;
let serverB: string;
/** Same flavor, but one phone failed to be created: the server is abnormal (2). */
let brokenServer: string;
/** A flavor without max_share_disk_size_g. */
let plainServer: string;
let phonesA: string[];
let phoneB: string;

before(async () => {
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0', ...ADMIN_ENV } });
  await addFault(t, { operation: 'create', mode: 'fail', times: 1 });
  const shared = await buyServers(t, { phone_model_name: 'rx1.cp.c60.d10.e1v1', count: 3 }, { failures: 'allowed' });
  const servers = await Promise.all(shared.serverIds.map((id) => serverDetail(t, id)));
  brokenServer = servers.find((server) => server.status === 2).server_id;
  [serverA, serverB] = servers.filter((server) => server.status === 5).map((server) => server.server_id);
  plainServer = (await buyServers(t)).serverIds[0];
  phonesA = (await phoneIdsOf(serverA)).slice(0, 2);
  [phoneB] = await phoneIdsOf(serverB);
});
after(() => t.close());

const phoneIdsOf = async (serverId: string) => (await phonesOf(t, serverId)).map((phone) => phone.phone_id as string);

/** Builds a tar of `files` (path → content, or `{ copy }` of a host file) and uploads it to bucket-a. */
async function upload(key: string, files: Record<string, string | { copy: string }>) {
  const dir = mkdtempSync(join(tmpdir(), 'opencph-share-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, 'root', path)), { recursive: true });
    if (typeof content === 'string') writeFileSync(join(dir, 'root', path), content);
    else copyFileSync(content.copy, join(dir, 'root', path));
  }
  await tar.create({ file: join(dir, 'upload.tar'), cwd: join(dir, 'root'), portable: true }, Object.keys(files));
  await t.server.services.commandDeps.objects.root.forAccount(t.tenant.domainName).upload('bucket-a', key, join(dir, 'upload.tar'));
}

/** A share request that is accepted: every server gets a job, finished when this returns (in request order). */
async function run(method: string, path: string, body?: unknown, target: Target = t) {
  const response = await call(target, method, path, { body });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.request_id, response.headers.get('x-request-id'));
  return Promise.all(response.body.jobs.map((job: { job_id: string }) => {
    assert.ok(job.job_id, JSON.stringify(response.body));
    return waitForJob(target, job.job_id);
  }));
}

/** Shell output of each phone (RunSyncCommand). */
async function shell(phoneIds: string[], content: string): Promise<string[]> {
  const response = await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones/sync-commands', { body: { command: 'shell', content, phone_ids: phoneIds } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.jobs.map((job: { execute_msg: string }) => job.execute_msg);
}

/** ListShareFiles on one server: the parsed execute_msg (and the raw text), or the failed job. */
async function list(serverId: string, query: string) {
  const [job] = await run('GET', `${LIST_FILES}?server_ids=${serverId}&${query}`);
  return { job, raw: job.execute_msg as string, result: job.status === 2 ? JSON.parse(job.execute_msg) : undefined };
}

describe('shared storage files', () => {
  test('PushShareFiles: every phone of the server sees the files, the phones of another server do not', async () => {
    await upload('share/files.tar', { 'data/foo/x': 'shared x\n', 'data/data/com.tencent.mm/files/a.txt': 'mm\n' });
    const [job] = await run('POST', SHARE_FILES, { bucket_name: 'bucket-a', object_path: 'share/files.tar', server_ids: [serverA] });
    assert.equal(job.status, 2, JSON.stringify(job));
    assert.equal(job.error_code, null);
    assert.deepEqual(await shell(phonesA, 'cat /data/foo/x; ls /data/foo'), ['shared x\nx\n', 'shared x\nx\n']);
    assert.deepEqual(await shell([phoneB], 'ls /data/foo 2>&1'), ['ls: /data/foo: No such file or directory\n']);
  });

  test('ListShareFiles: execute_msg is JSON text in the documented shape', async () => {
    const { job, raw, result } = await list(serverA, 'path=/data/data');
    assert.equal(job.status, 2, JSON.stringify(job));
    assert.match(raw, /^\{"files_in_path":\{"total":1,"count":1,"files":\["4096 [A-Z][a-z]{2} \d\d \d\d:\d\d com\.tencent\.mm\\n"\]\},"share_base_max_size":"50G","share_base_capacity":"50G 1\.0K 50G 1%"\}$/);
    assert.deepEqual(Object.keys(result), ['files_in_path', 'share_base_max_size', 'share_base_capacity']);
    const file = (await list(serverA, 'path=/data/foo')).result.files_in_path;
    assert.deepEqual([file.total, file.count, file.files[0].replace(ENTRY, '$1 $2')], [1, 1, '9 x']);
    // The server's other directories, and another server, hold nothing shared.
    assert.deepEqual((await list(serverA, 'path=/data/app')).result.files_in_path, { total: 0, count: 0, files: [] });
    assert.equal((await list(serverB, 'path=/data/data')).result.files_in_path.total, 0);
  });

  test('ListShareFiles pages with offset and limit (default 50) and keeps execute_msg within 1,024 bytes', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `f${String(i).padStart(3, '0')}-${'n'.repeat(150)}`);
    await upload('share/many.tar', Object.fromEntries(names.map((name) => [`data/many/${name}`, 'x'])));
    await run('POST', SHARE_FILES, { bucket_name: 'bucket-a', object_path: 'share/many.tar', server_ids: [serverA] });
    const seen: string[] = [];
    for (let offset = 0; offset < names.length; ) {
      const { raw, result } = await list(serverA, `path=/data/many&offset=${offset}&limit=100`);
      assert.ok(Buffer.byteLength(raw) <= 1024, `${Buffer.byteLength(raw)} bytes`);
      const page = result.files_in_path;
      assert.equal(page.total, 60);
      assert.ok(page.count >= 1 && page.count === page.files.length);
      seen.push(...page.files.map((entry: string) => entry.replace(ENTRY, '$2')));
      offset += page.count;
    }
    assert.deepEqual(seen, names);
    const small = (await list(serverA, 'path=/data/many&offset=58&limit=5')).result.files_in_path;
    assert.deepEqual([small.total, small.count], [60, 2]);
    assert.deepEqual((await list(serverA, 'path=/data/many&offset=60')).result.files_in_path, { total: 60, count: 0, files: [] });
    // Short names: 50 entries a page do not fit in 1,024 bytes either, but the last 20 do.
    await upload('share/short.tar', Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`data/short/s${String(i).padStart(2, '0')}`, 'x'])));
    await run('POST', SHARE_FILES, { bucket_name: 'bucket-a', object_path: 'share/short.tar', server_ids: [serverA] });
    const first = await list(serverA, 'path=/data/short');
    assert.ok(first.result.files_in_path.count < 50 && Buffer.byteLength(first.raw) <= 1024);
    const last = (await list(serverA, 'path=/data/short&offset=40')).result.files_in_path;
    assert.deepEqual([last.total, last.count, last.files[19].replace(ENTRY, '$1 $2')], [60, 20, '1 s59']);
  });

  test('DeleteShareFiles (same POST, a body with file_paths): gone for every phone of the server', async () => {
    const [job] = await run('POST', SHARE_FILES, { file_paths: ['/data/foo', '/data/many', '/data/short', '/data/not/there'], server_ids: [serverA] });
    assert.equal(job.status, 2, JSON.stringify(job));
    assert.deepEqual(await shell(phonesA, 'ls /data/foo 2>&1'), Array(2).fill('ls: /data/foo: No such file or directory\n'));
    const gone = await list(serverA, 'path=/data/foo');
    assert.deepEqual([gone.job.status, gone.job.error_code, gone.job.error_msg], [-1, 'CPS.0199', cpsMessage('CPS.0199')]);
    // What is left: /data/data/com.tencent.mm/files/a.txt.
    assert.equal((await list(serverA, 'path=/data/data/com.tencent.mm/files')).result.files_in_path.total, 1);
  });

  test('job failures: a missing object (CPS.0104), a tar that cannot be unpacked there (CPS.0191)', async () => {
    const [missing] = await run('POST', SHARE_FILES, { bucket_name: 'bucket-a', object_path: 'share/none.tar', server_ids: [serverA] });
    assert.deepEqual([missing.status, missing.error_code, missing.error_msg], [-1, 'CPS.0104', "File doesn't exists in OBS."]);
    await upload('share/system.tar', { 'data/new.txt': 'n', 'system/evil': 'e' });
    const [refused] = await run('POST', SHARE_FILES, { bucket_name: 'bucket-a', object_path: 'share/system.tar', server_ids: [serverA] });
    assert.deepEqual([refused.status, refused.error_code, refused.execute_msg], [-1, 'CPS.0191', 'tar: system/evil: Read-only file system\n']);
    assert.deepEqual(await shell([phonesA[0]], 'ls /data/new.txt 2>&1'), ['ls: /data/new.txt: No such file or directory\n']);
  });

  test('bad requests get their documented code and queue nothing', async () => {
    const push = { bucket_name: 'bucket-a', object_path: 'share/files.tar', server_ids: [serverA] };
    const cases: Array<[unknown, string]> = [
      [{ ...push, bucket_name: undefined }, 'CPS.0134'],
      [{ ...push, bucket_name: 'b' }, 'CPS.0134'],
      [{ ...push, bucket_name: 'bucket_a' }, 'CPS.0134'],
      [{ ...push, object_path: undefined }, 'CPS.0135'],
      [{ ...push, object_path: 'share/files.zip' }, 'CPS.0135'],
      [{ ...push, object_path: 'share/my files.tar' }, 'CPS.0135'],
      [{ ...push, object_path: '../files.tar' }, 'CPS.0135'],
      [{ ...push, server_ids: [] }, 'CPS.0095'],
      [{ ...push, server_ids: undefined }, 'CPS.0095'],
      [{ ...push, server_ids: serverA }, 'CPS.0094'],
      [{ ...push, server_ids: Array(101).fill(serverA) }, 'CPS.0096'],
      [{ file_paths: [], server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: '/data/foo', server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: ['data/foo'], server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: ['/data/../system'], server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: ['/data/..'], server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: ['/'], server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: ['/data/a*b'], server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: [`/data/${'a'.repeat(4096)}`], server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: ['/data/foo'], bucket_name: 'bucket-a', server_ids: [serverA] }, 'CPS.0155'],
      [{ file_paths: ['/data/foo'], server_ids: [] }, 'CPS.0095'],
    ];
    for (const [body, code] of cases) {
      const response = await call(t, 'POST', SHARE_FILES, { body });
      assertCpsError(response, 400, code);
      const jobs = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
      assert.equal(jobs.body.error_code, 'CPS.0050', `${JSON.stringify(body)} queued nothing`);
    }
    for (const [query, code] of [
      [`server_ids=${serverA}`, 'CPS.0199'],
      [`path=data&server_ids=${serverA}`, 'CPS.0199'],
      [`path=/&server_ids=${serverA}`, 'CPS.0199'],
      [`path=//data&server_ids=${serverA}`, 'CPS.0199'],
      [`path=/data//data&server_ids=${serverA}`, 'CPS.0199'],
      [`path=/data/../system&server_ids=${serverA}`, 'CPS.0199'],
      [`path=/data/a%20b&server_ids=${serverA}`, 'CPS.0199'],
      ['path=/data', 'CPS.0095'],
      ['path=/data&server_ids=', 'CPS.0095'],
      [`path=/data&server_ids=${serverA}&limit=0`, 'CPS.0002'],
      [`path=/data&server_ids=${serverA}&limit=101`, 'CPS.0002'],
      [`path=/data&server_ids=${serverA}&offset=-1`, 'CPS.0002'],
    ]) assertCpsError(await call(t, 'GET', `${LIST_FILES}?${query}`), 400, code);
  });

  test('per server: unknown, malformed, another project\'s, without shared storage (CPS.0137), not normal (CPS.0105)', async () => {
    const servers = [serverA, plainServer, 'not-an-id', UNKNOWN_ID, brokenServer];
    const expected = [undefined, 'CPS.0137', 'CPS.0097', 'CPS.0015', 'CPS.0105'];
    const bodies = [
      ['POST', SHARE_FILES, { bucket_name: 'bucket-a', object_path: 'share/files.tar', server_ids: servers }],
      ['POST', SHARE_FILES, { file_paths: ['/data/x'], server_ids: servers }],
      ['GET', `${LIST_FILES}?path=/data&server_ids=${servers.join(',')}`],
    ] as const;
    for (const [method, path, body] of bodies) {
      const response = await call(t, method, path, { body });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(response.body.jobs.map((job: { server_id: string }) => job.server_id), servers);
      response.body.jobs.forEach((job: { job_id?: string; error_code?: string; error_msg?: string }, i: number) => {
        assert.equal(job.error_code, expected[i], `${path} ${servers[i]}`);
        assert.equal(job.job_id === undefined, expected[i] !== undefined);
      });
      assert.equal(response.body.jobs[1].error_msg, cpsMessage('CPS.0137'));
      assert.equal(response.body.jobs[4].error_msg, cpsMessage('CPS.0105'));
      for (const job of response.body.jobs) if (job.job_id) await waitForJob(t, job.job_id);
    }
    // Another project's server is a missing one, and it gets no job.
    const other = await t.createTenant('tenant-b');
    const target = { url: t.url, tenant: other };
    const response = await call(target, 'POST', SHARE_FILES, { body: { file_paths: ['/data/data'], server_ids: [serverA] } });
    assert.deepEqual(response.body.jobs, [itemError('server_id', serverA, 'CPS.0015')]);
    const listed = await call(target, 'GET', `${LIST_FILES}?path=/data&server_ids=${serverA}`);
    assert.equal(listed.body.jobs[0].error_code, 'CPS.0015');
    assert.equal((await list(serverA, 'path=/data/data/com.tencent.mm/files')).result.files_in_path.total, 1);
  });
});

describe('shared apps', () => {
  test('PushShareApps with pre_install_app 1 installs on every phone of the server; DeleteShareApps removes it', async () => {
    await upload('apps/hello.tar', {
      'data/app/com.opencph.hello-1/base.apk': { copy: HELLO_APK },
      'data/data/com.opencph.hello/files/level.dat': 'level 1',
    });
    const body = { package_name: 'com.opencph.hello', pre_install_app: 1, bucket_name: 'bucket-a', object_path: 'apps/hello.tar', server_ids: [serverA] };
    const [job] = await run('POST', SHARE_APPS, body);
    assert.equal(job.status, 2, JSON.stringify(job));
    const everyPhone = await phoneIdsOf(serverA);
    const listed = await shell(everyPhone.slice(0, 15), 'pm list packages -3');
    assert.deepEqual(listed, Array(15).fill('package:com.opencph.hello\n'));
    assert.deepEqual(await shell(everyPhone.slice(45), 'pm list packages com.opencph'), Array(15).fill('package:com.opencph.hello\n'));
    assert.deepEqual(await shell([phoneB], 'pm list packages -3'), ['']);

    const [deleted] = await run('DELETE', SHARE_APPS, { package_name: 'com.opencph.hello', server_ids: [serverA] });
    assert.equal(deleted.status, 2, JSON.stringify(deleted));
    assert.deepEqual(await shell(phonesA, 'pm list packages -3'), ['', '']);
    const [again] = await run('DELETE', SHARE_APPS, { package_name: 'com.opencph.hello', server_ids: [serverA] });
    assert.deepEqual([again.status, again.error_code], [-1, 'CPS.0173']);
  });

  test('a phone that cannot install or uninstall fails the job (CPS.0260); the app stays shared until it is gone everywhere', async () => {
    await addFault(t, { operation: 'install', phone_id: phonesA[1], mode: 'fail', times: 1 });
    const body = { package_name: 'com.opencph.hello', pre_install_app: 1, bucket_name: 'bucket-a', object_path: 'apps/hello.tar', server_ids: [serverA] };
    const [pushed] = await run('POST', SHARE_APPS, body);
    assert.deepEqual([pushed.status, pushed.error_code, pushed.error_msg], [-1, 'CPS.0260', cpsMessage('CPS.0260')]);
    assert.match(pushed.execute_msg, new RegExp(`^${phonesA[1]}: `));
    assert.deepEqual(await shell(phonesA, 'pm list packages -3'), ['package:com.opencph.hello\n', '']);

    await addFault(t, { operation: 'uninstall', phone_id: phonesA[0], mode: 'fail', times: 1 });
    const [refused] = await run('DELETE', SHARE_APPS, { package_name: 'com.opencph.hello', server_ids: [serverA] });
    assert.deepEqual([refused.status, refused.error_code], [-1, 'CPS.0260']);
    assert.deepEqual(await shell(phonesA, 'pm list packages -3'), ['package:com.opencph.hello\n', '']);
    const [deleted] = await run('DELETE', SHARE_APPS, { package_name: 'com.opencph.hello', server_ids: [serverA] });
    assert.equal(deleted.status, 2, JSON.stringify(deleted));
    assert.deepEqual(await shell(phonesA, 'pm list packages -3'), ['', '']);
  });

  test('a phone reset after the push gets the pre-installed app again; an app that is not pre-installed does not come with a reset', async () => {
    const reset = async (phoneId: string) => {
      const response = await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-reset', { body: { phones: [{ phone_id: phoneId }] } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal((await waitForJob(t, response.body.jobs[0].job_id)).status, 2);
    };
    const push = { package_name: 'com.opencph.hello', bucket_name: 'bucket-a', object_path: 'apps/hello.tar' };
    const [pushed] = await run('POST', SHARE_APPS, { ...push, pre_install_app: 1, server_ids: [serverA] });
    assert.equal(pushed.status, 2, JSON.stringify(pushed));
    const [kept] = await run('POST', SHARE_APPS, { ...push, server_ids: [serverB] });
    assert.equal(kept.status, 2, JSON.stringify(kept));
    // The user removed it and wrote files of their own; the reset wipes those and brings the app back.
    await shell([phonesA[0]], 'pm uninstall com.opencph.hello; echo mine > /data/local/tmp/mine.txt');
    await reset(phonesA[0]);
    await reset(phoneB);
    assert.deepEqual(await shell([phonesA[0]], 'pm list packages -3; ls /data/local/tmp'), ['package:com.opencph.hello\n']);
    assert.deepEqual(await shell([phoneB], 'pm list packages -3'), ['']);

    for (const serverId of [serverA, serverB]) assert.equal((await run('DELETE', SHARE_APPS, { package_name: 'com.opencph.hello', server_ids: [serverId] }))[0].status, 2);
    await reset(phonesA[0]);
    assert.deepEqual(await shell(phonesA, 'pm list packages -3'), ['', '']);
  });

  test('without pre_install_app the app is only kept in the shared-app area (it takes shared space)', async () => {
    const before = (await list(serverB, 'path=/data')).result.share_base_capacity;
    const [job] = await run('POST', SHARE_APPS, { package_name: 'com.opencph.hello', bucket_name: 'bucket-a', object_path: 'apps/hello.tar', server_ids: [serverB] });
    assert.equal(job.status, 2, JSON.stringify(job));
    assert.deepEqual(await shell([phoneB], 'pm list packages -3'), ['']);
    assert.notEqual((await list(serverB, 'path=/data')).result.share_base_capacity, before);
    const [deleted] = await run('DELETE', SHARE_APPS, { package_name: 'com.opencph.hello', server_ids: [serverB] });
    assert.equal(deleted.status, 2);
    assert.equal((await list(serverB, 'path=/data')).result.share_base_capacity, before);
  });

  test('job failures: a missing object (CPS.0104), a tar without an APK of the package (CPS.0173)', async () => {
    const push = { package_name: 'com.opencph.other', pre_install_app: 1, bucket_name: 'bucket-a', server_ids: [serverA] };
    const [missing] = await run('POST', SHARE_APPS, { ...push, object_path: 'apps/none.tar' });
    assert.deepEqual([missing.status, missing.error_code], [-1, 'CPS.0104']);
    const [wrong] = await run('POST', SHARE_APPS, { ...push, object_path: 'apps/hello.tar' });
    assert.deepEqual([wrong.status, wrong.error_code, wrong.error_msg], [-1, 'CPS.0173', cpsMessage('CPS.0173')]);
    assert.match(wrong.execute_msg, /No \/data\/app\/com\.opencph\.other-\*\/base\.apk/);
  });

  test('bad requests get their documented code; servers are refused one by one (CPS.0147)', async () => {
    const push = { package_name: 'com.opencph.hello', pre_install_app: 0, bucket_name: 'bucket-a', object_path: 'apps/hello.tar', server_ids: [serverA] };
    for (const [body, code] of [
      [{ ...push, package_name: undefined }, 'CPS.0173'],
      [{ ...push, package_name: 'nodot' }, 'CPS.0173'],
      [{ ...push, package_name: '1com.x' }, 'CPS.0173'],
      [{ ...push, package_name: '_com.x' }, 'CPS.0173'],
      [{ ...push, package_name: 'com.x.' }, 'CPS.0173'],
      [{ ...push, package_name: `com.${'x'.repeat(125)}` }, 'CPS.0173'],
      [{ ...push, pre_install_app: 2 }, 'CPS.0148'],
      [{ ...push, pre_install_app: 'yes' }, 'CPS.0148'],
      [{ ...push, bucket_name: 'b' }, 'CPS.0134'],
      [{ ...push, object_path: 'apps/hello.apk' }, 'CPS.0135'],
      [{ ...push, server_ids: [] }, 'CPS.0095'],
    ] as const) assertCpsError(await call(t, 'POST', SHARE_APPS, { body }), 400, code);
    for (const [body, code] of [
      [{ package_name: 'com', server_ids: [serverA] }, 'CPS.0173'],
      [{ package_name: 'com.x', server_ids: [] }, 'CPS.0095'],
      [{ package_name: 'com.x' }, 'CPS.0095'],
    ] as const) assertCpsError(await call(t, 'DELETE', SHARE_APPS, { body }), 400, code);

    for (const [method, body] of [['POST', push], ['DELETE', { package_name: 'com.opencph.hello' }]] as const) {
      const response = await call(t, method, SHARE_APPS, { body: { ...body, server_ids: [plainServer, UNKNOWN_ID, brokenServer] } });
      assert.deepEqual(response.body.jobs, [
        itemError('server_id', plainServer, 'CPS.0147'),
        itemError('server_id', UNKNOWN_ID, 'CPS.0015'),
        itemError('server_id', brokenServer, 'CPS.0105'),
      ]);
    }
  });
});

test('a deleted server\'s shared storage is freed', async () => {
  await upload('share/b.tar', { 'data/b.txt': 'b' });
  await run('POST', SHARE_FILES, { bucket_name: 'bucket-a', object_path: 'share/b.tar', server_ids: [serverB] });
  const share = join(t.server.config.dataDir, 'servers', serverB);
  assert.ok(existsSync(share));
  const deleted = await call(t, 'DELETE', '/v2/{project_id}/cloud-phone/servers', { body: { server_ids: [serverB] } });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  assert.equal((await waitForJob(t, deleted.body.job_id)).status, 2);
  assert.ok(!existsSync(share));
});
