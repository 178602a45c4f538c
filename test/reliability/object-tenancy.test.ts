import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { buyServers, call, startTestServer, waitForJob, type ApiResponse, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError, phoneError } from '../helpers/cps.ts';
import { assertKpError, createInstances, installApp, installAppBody, instanceRows, waitTask } from '../helpers/koophone.ts';
import { readyInstance, waitDataState } from '../helpers/koophone-stream.ts';

/**
 * Issue 13, finding 4: objects belong to an account (IAM domain). Tenant B, with its own credentials, names
 * tenant A's objects in every operation that reads or writes obs:// objects (push, install, PushShareFiles,
 * PushShareApps, KooPhone InstallApp, export, restore) and A's KooPhone backups: each answers as it does for a
 * missing object, B's phones never see A's files, and nothing B exports lands in A's buckets or backups.
 * Finding 11: one object-name rule (a key segment of at most 255 bytes) answered by every operation with its
 * documented code, before anything is written.
 */

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const SHARE_FILES = '/v1/{project_id}/cloud-phone/phones/share-files';
const SHARE_APPS = '/v1/{project_id}/cloud-phone/phones/share-apps';
const INSTALL_APP = '/v1/instances/app/install';
/** A flavor with shared storage (max_share_disk_size_g 50). */
const SHARE_FLAVOR = 'rx1.cp.c60.d10.e1v1';
const HELLO_APK = fileURLToPath(new URL('../fixtures/apk/hello-v1.apk', import.meta.url));
/** A key segment no file system can hold as one name. */
const LONG = 'n'.repeat(300);

let t: TestServer;
let work: string;
let a: Target;
let b: Target;
let serverA: string;
let serverB: string;
let phonesA: string[];
let phonesB: string[];
/** Phones no test has used yet. */
const nextA = () => phonesA.shift()!;
const nextB = () => phonesB.shift()!;

/** One account's buckets, as the operator's `opencph objects --account` sees them. */
const bucketsOf = (target: Target) => t.server.services.commandDeps.objects.root.forAccount(target.tenant.domainName);

before(async () => {
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  work = mkdtempSync(join(tmpdir(), 'opencph-object-tenancy-'));
  a = t;
  b = { url: t.url, tenant: await t.createTenant('tenant-b') };
  const boughtA = await buyServers(a, { phone_model_name: SHARE_FLAVOR });
  const boughtB = await buyServers(b, { phone_model_name: SHARE_FLAVOR });
  [serverA, serverB] = [boughtA.serverIds[0], boughtB.serverIds[0]];
  [phonesA, phonesB] = [boughtA.phoneIds, boughtB.phoneIds];
  // A's objects: an export of a phone's secret, an APK, a tar of files and a tar of a shared app.
  const phone = nextA();
  await sh(a, phone, 'mkdir -p /data/local/tmp/secret && echo a-secret > /data/local/tmp/secret/a.txt');
  assert.equal((await exported(a, phone, 'a-private', 'export/secret.tar', '/data/local/tmp/secret')).status, 2);
  await bucketsOf(a).upload('a-apps', 'hello.apk', HELLO_APK);
  await bucketsOf(a).upload('a-private', 'share/files.tar', tarOf({ 'data/shared-a/a.txt': 'a-shared\n' }));
  await bucketsOf(a).upload('a-private', 'share/app.tar', tarOf({ 'data/app/com.opencph.hello-1/base.apk': { copy: HELLO_APK } }));
});
after(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A tar of `files` (path → content, or `{ copy }` of a host file); its path. */
function tarOf(files: Record<string, string | { copy: string }>): string {
  const dir = mkdtempSync(join(work, 'tar-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, 'root', path)), { recursive: true });
    if (typeof content === 'string') writeFileSync(join(dir, 'root', path), content);
    else copyFileSync(content.copy, join(dir, 'root', path));
  }
  tar.create({ file: join(dir, 'out.tar'), cwd: join(dir, 'root'), portable: true, sync: true }, Object.keys(files));
  return join(dir, 'out.tar');
}

/** An async ADB command on one phone; its finished job. */
async function command(target: Target, name: string, content: string, phoneId: string) {
  const response = await call(target, 'POST', `${PHONES}/commands`, { body: { command: name, content, phone_ids: [phoneId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return waitForJob(target, response.body.jobs[0].job_id);
}

/** Output of a shell command (it may fail: `cat` of a missing file answers its error). */
async function sh(target: Target, phoneId: string, script: string): Promise<string> {
  return (await command(target, 'shell', script, phoneId)).execute_msg ?? '';
}

const exportData = (target: Target, phoneId: string, bucket: string, key: string, include = '/data/local/tmp') =>
  call(target, 'POST', `${PHONES}/batch-storage`, { body: { storage_infos: [{ phone_id: phoneId, include_files: [include], bucket_name: bucket, object_path: key }] } });
const restoreData = (target: Target, phoneId: string, bucket: string, key: string) =>
  call(target, 'POST', `${PHONES}/batch-restore`, { body: { restore_infos: [{ phone_id: phoneId, bucket_name: bucket, object_path: key }] } });

/** BatchExportCloudPhoneData of one phone that must be accepted; its finished job. */
async function exported(target: Target, phoneId: string, bucket: string, key: string, include?: string) {
  const response = await exportData(target, phoneId, bucket, key, include);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.ok(response.body.jobs[0].job_id, JSON.stringify(response.body));
  return waitForJob(target, response.body.jobs[0].job_id);
}

/** A share request on one server, accepted; its finished job. */
async function shared(target: Target, path: string, body: Record<string, unknown>) {
  const response = await call(target, 'POST', path, { body });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return waitForJob(target, response.body.jobs[0].job_id);
}

/** KooPhone InstallApp of one URL on one instance, accepted; its finished job. */
const installOne = async (target: Target, url: string, instanceId: string) => (await installApp(target, url, [instanceId]))[0];

const failedWith = (job: { status: number; error_code: string | null }) => [job.status, job.error_code];

describe('objects belong to an account (finding 4)', () => {
  test("another account's export is missing to B: push CPS.0104 as for no object, restore CPS.0172; A's own push works", async () => {
    const phone = nextB();
    assert.deepEqual(failedWith(await command(b, 'push', 'obs://a-private/export/secret.tar', phone)), [-1, 'CPS.0104']);
    assert.deepEqual(failedWith(await command(b, 'push', 'obs://a-private/export/none.tar', phone)), [-1, 'CPS.0104']);
    assert.match(await sh(b, phone, 'cat /data/local/tmp/secret/a.txt'), /No such file/);
    assert.deepEqual((await restoreData(b, phone, 'a-private', 'export/secret.tar')).body.jobs, [phoneError(phone, 'CPS.0172')]);
    assert.match(await sh(b, phone, 'cat /data/local/tmp/secret/a.txt'), /No such file/);
    const mine = nextA();
    assert.equal((await command(a, 'push', 'obs://a-private/export/secret.tar', mine)).status, 2);
    assert.equal(await sh(a, mine, 'cat /data/local/tmp/secret/a.txt'), 'a-secret\n');
  });

  test("another account's APK cannot be installed: CPH install CPS.0104, KooPhone InstallApp 62017", async () => {
    const phone = nextB();
    assert.deepEqual(failedWith(await command(b, 'install', 'obs://a-apps/hello.apk', phone)), [-1, 'CPS.0104']);
    assert.doesNotMatch(await sh(b, phone, 'pm list packages -3'), /com\.opencph\.hello/);
    const [instance] = await createInstances(b, { instanceNamePrefix: 'tenancy-b' });
    const job = await installOne(b, 'obs://a-apps/hello.apk', instance);
    assert.deepEqual(failedWith(job), [-1, 'KOOPHONE.API.62017']);
    // Said as for an object that does not exist: nothing about A.
    assert.equal(job.execute_msg, 'obs://a-apps/hello.apk does not exist');
    const [mine] = await createInstances(a, { instanceNamePrefix: 'tenancy-a' });
    assert.equal((await installOne(a, 'obs://a-apps/hello.apk', mine)).status, 2);
  });

  test("another account's tars cannot go to B's shared storage: PushShareFiles and PushShareApps CPS.0104", async () => {
    const files = await shared(b, SHARE_FILES, { bucket_name: 'a-private', object_path: 'share/files.tar', server_ids: [serverB] });
    assert.deepEqual(failedWith(files), [-1, 'CPS.0104']);
    const app = { package_name: 'com.opencph.hello', pre_install_app: 1, bucket_name: 'a-private', object_path: 'share/app.tar', server_ids: [serverB] };
    assert.deepEqual(failedWith(await shared(b, SHARE_APPS, app)), [-1, 'CPS.0104']);
    const phone = nextB();
    assert.match(await sh(b, phone, 'cat /data/shared-a/a.txt'), /No such file/);
    assert.doesNotMatch(await sh(b, phone, 'pm list packages -3'), /com\.opencph\.hello/);
    assert.equal((await shared(a, SHARE_FILES, { bucket_name: 'a-private', object_path: 'share/files.tar', server_ids: [serverA] })).status, 2);
    assert.equal(await sh(a, nextA(), 'cat /data/shared-a/a.txt'), 'a-shared\n');
  });

  test('KooPhone backups are in no tenant\'s buckets: neither B nor A itself can name them', async () => {
    const instance = await readyInstance(a, 'user-a', 'tenancy-backup');
    await sh(a, (await instanceRows(a, [instance])).get(instance).phone_id, 'mkdir -p /data/local/tmp/kp && echo a-backup > /data/local/tmp/kp/a.txt');
    const backup = await call(a, 'POST', '/v1/instances/backup', { body: { instance_ids: [instance] } });
    assert.equal((await waitTask(a, backup.body.data.task_id))[0].status, 2);
    const url = `obs://opencph-koophone/backups/${a.tenant.projectId}/${instance}.tar`;
    const phone = nextB();
    assert.deepEqual(failedWith(await command(b, 'push', url, phone)), [-1, 'CPS.0104']);
    assert.match(await sh(b, phone, 'cat /data/local/tmp/kp/a.txt'), /No such file/);
    assert.deepEqual(failedWith(await command(a, 'push', url, nextA())), [-1, 'CPS.0104']);
    assert.deepEqual((await restoreData(b, phone, 'opencph-koophone', `backups/${a.tenant.projectId}/${instance}.tar`)).body.jobs, [phoneError(phone, 'CPS.0172')]);
  });

  test('no path of another account can be squatted: both export to it, each restores its own data', async () => {
    const [phoneA, phoneB] = [nextA(), nextB()];
    await sh(b, phoneB, 'mkdir -p /data/local/tmp/sq && echo from-b > /data/local/tmp/sq/who.txt');
    await sh(a, phoneA, 'mkdir -p /data/local/tmp/sq && echo from-a > /data/local/tmp/sq/who.txt');
    // B first, into the bucket and key A is going to use.
    assert.equal((await exported(b, phoneB, 'a-private', 'later/data.tar', '/data/local/tmp/sq')).status, 2);
    assert.equal((await exported(a, phoneA, 'a-private', 'later/data.tar', '/data/local/tmp/sq')).status, 2);
    for (const [target, phone, expected] of [[a, phoneA, 'from-a\n'], [b, phoneB, 'from-b\n']] as const) {
      await sh(target, phone, 'rm -r /data/local/tmp/sq');
      const response = await restoreData(target, phone, 'a-private', 'later/data.tar');
      assert.equal((await waitForJob(target, response.body.jobs[0].job_id)).status, 2);
      assert.equal(await sh(target, phone, 'cat /data/local/tmp/sq/who.txt'), expected);
    }
  });

  test("another account cannot overwrite a backup: A's next prepare restores A's data, not B's planted file", async () => {
    const instance = await readyInstance(a, 'user-a2', 'tenancy-plant');
    await sh(a, (await instanceRows(a, [instance])).get(instance).phone_id, 'mkdir -p /data/local/tmp/kp && echo a-data > /data/local/tmp/kp/a.txt');
    const key = `backups/${a.tenant.projectId}/${instance}.tar`;
    const phoneB = nextB();
    await sh(b, phoneB, 'mkdir -p /data/local/tmp/kp && echo planted > /data/local/tmp/kp/planted.txt');
    // B registers the backup's path before A's first backup, and exports to it again once the backup is there.
    assert.equal((await exported(b, phoneB, 'opencph-koophone', key, '/data')).status, 2);
    const backup = await call(a, 'POST', '/v1/instances/backup', { body: { instance_ids: [instance] } });
    assert.equal((await waitTask(a, backup.body.data.task_id))[0].status, 2);
    assert.equal((await exported(b, phoneB, 'opencph-koophone', key, '/data')).status, 2);

    const prepared = await call(a, 'POST', '/v1/instances/prepare', { body: { user_id: 'user-a2', instance_ids: [instance] } });
    assert.equal(prepared.body.error_code, '0', JSON.stringify(prepared.body));
    await waitDataState(a, instance, 2);
    const phoneA = (await instanceRows(a, [instance])).get(instance).phone_id;
    assert.equal(await sh(a, phoneA, 'cat /data/local/tmp/kp/a.txt'), 'a-data\n');
    assert.match(await sh(a, phoneA, 'cat /data/local/tmp/kp/planted.txt'), /No such file/);
  });
});

describe('one object-name rule (finding 11)', () => {
  const assertRefused = (response: ApiResponse, code: string) => {
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.deepEqual(Object.keys(response.body).sort(), ['error_code', 'error_msg', 'request_id']);
    assert.equal(response.body.error_code, code, JSON.stringify(response.body));
  };

  test('a key segment over 255 bytes: every operation answers its documented code, and nothing is written or queued', async () => {
    const phone = nextA();
    const key = `long/${LONG}.tar`;
    assert.deepEqual((await exportData(a, phone, 'a-private', key)).body.jobs, [phoneError(phone, 'CPS.0135')]);
    assert.deepEqual((await restoreData(a, phone, 'a-private', key)).body.jobs, [phoneError(phone, 'CPS.0135')]);
    const refusals: Array<[string, unknown, string]> = [
      [`${PHONES}/commands`, { command: 'push', content: `obs://a-private/${key}`, phone_ids: [phone] }, 'CPS.0118'],
      [`${PHONES}/commands`, { command: 'install', content: `obs://a-apps/${LONG}.apk`, phone_ids: [phone] }, 'CPS.0118'],
      [`${PHONES}/commands`, { command: 'install-multiple', content: `obs://a-apps/hello.apk obs://a-apps/${LONG}.apk`, phone_ids: [phone] }, 'CPS.0118'],
      [SHARE_FILES, { bucket_name: 'a-private', object_path: key, server_ids: [serverA] }, 'CPS.0135'],
      [SHARE_APPS, { package_name: 'com.opencph.hello', bucket_name: 'a-private', object_path: key, server_ids: [serverA] }, 'CPS.0135'],
    ];
    for (const [path, body, code] of refusals) {
      const response = await call(a, 'POST', path, { body });
      assertRefused(response, code);
      assertCpsError(await call(a, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`), 400, 'CPS.0050');
    }
    const [instance] = await createInstances(a, { instanceNamePrefix: 'tenancy-long' });
    assertKpError(await call(a, 'POST', INSTALL_APP, { body: installAppBody(`obs://a-apps/${LONG}.apk`, [instance]) }), 400, 'KOOPHONE.API.1000');
    assert.deepEqual(await bucketsOf(a).list('a-private', 'long/'), []);
  });

  test('a 255-byte segment is a name like any other: exported, pushed and restored', async () => {
    const [source, target] = [nextA(), nextA()];
    const key = `long/${'n'.repeat(251)}.tar`;
    await sh(a, source, 'mkdir -p /data/local/tmp/long && echo long > /data/local/tmp/long/l.txt');
    assert.equal((await exported(a, source, 'a-private', key, '/data/local/tmp/long')).status, 2);
    assert.deepEqual((await bucketsOf(a).list('a-private', 'long/')).map((object) => object.key), [key]);
    assert.equal((await command(a, 'push', `obs://a-private/${key}`, target)).status, 2);
    assert.equal(await sh(a, target, 'cat /data/local/tmp/long/l.txt'), 'long\n');
  });
});
