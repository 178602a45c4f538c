import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { buyServers, call, getToken, startTestServer, waitForJob, type ApiResponse, type Tenant, type TestServer } from '../helpers/server.ts';
import { ADMIN_ENV, addFault, setDurations } from '../helpers/admin.ts';
import { assertCpsError, cpsMessage, phoneError } from '../helpers/cps.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const APKS = fileURLToPath(new URL('../fixtures/apk/', import.meta.url));
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const AOSP_11 = '23051820230601c84d0007e19b3f5a27';
const QEMU_FLAVOR = 'rx1.cp.c60.d32.e1v1.qemu';

/** Documented messages (spec §5) of the codes checked here. */

type Target = { url: string; tenant: Tenant };

let t: TestServer;
/** Another account. */
let other: Target;
/** Another project of the same account: it shares the account's buckets, not its exports. */
let sibling: Target;
let phones: string[];
let otherPhones: string[];
let siblingPhones: string[];
let next = 0;
/** Phones no other test has touched. */
const fresh = (count: number) => phones.slice(next, (next += count));

const assertRefused = (response: ApiResponse, code: string) => assertCpsError(response, 400, code);
/** The buckets of the test's account (tenant-a). */
const objects = () => t.server.services.commandDeps.objects.root.forAccount(t.tenant.domainName);

const migrateError = (source: string, target: string, code: string) => ({ source_phone_id: source, target_phone_id: target, error_code: code, error_msg: cpsMessage(code) });

const exportData = (body: unknown, target: Target = t) => call(target, 'POST', `${PHONES}/batch-storage`, { body });
const restoreData = (body: unknown, target: Target = t) => call(target, 'POST', `${PHONES}/batch-restore`, { body });
const migrate = (body: unknown) => call(t, 'POST', `${PHONES}/batch-migrate`, { body });
const traffic = (body: unknown) => call(t, 'POST', '/v1/{project_id}/cloud-phone/phones-traffic', { body });
const detail = (phoneId: string, target: Target = t) => call(target, 'GET', `${PHONES}/${phoneId}`).then((response) => response.body);
const statusOf = async (phoneId: string) => (await detail(phoneId)).status;
const jobsOf = (requestId: string) => call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${requestId}`);
const storage = (phone_id: string, object_path: string, extra: Record<string, unknown> = {}) => ({
  phone_id, include_files: ['/data/local/tmp'], bucket_name: 'mybucket', object_path, ...extra,
});

/** Waits for the jobs of a batch response; each job's final state, in order (refused items: undefined). */
async function finished(response: ApiResponse, target: Target = t) {
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return Promise.all(response.body.jobs.map((entry: { job_id?: string }) => (entry.job_id ? waitForJob(target, entry.job_id) : undefined)));
}

/** A shell command run through the commands API; its finished job. */
async function shell(phoneId: string, content: string, target: Target = t) {
  const response = await call(target, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content, phone_ids: [phoneId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return waitForJob(target, response.body.jobs[0].job_id);
}

/** Output of a shell command that must succeed. */
async function sh(phoneId: string, content: string, target: Target = t): Promise<string> {
  const job = await shell(phoneId, content, target);
  assert.equal(job.status, 2, JSON.stringify(job));
  return job.execute_msg ?? '';
}

function setPhone(id: string, fields: { status?: number; phone_model_name?: string }) {
  return t.server.store.db.updateTable('phones').set(fields).where('id', '=', id).execute();
}

/** Member paths of a tar in the object store. */
async function tarMembers(bucket: string, key: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'opencph-test-tar-'));
  try {
    await objects().download(bucket, key, join(dir, 'x.tar'));
    const paths: string[] = [];
    await tar.t({ file: join(dir, 'x.tar'), strict: true, onReadEntry: (entry) => paths.push(entry.path) });
    return paths;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function putObject(bucket: string, key: string, content: string) {
  const dir = await mkdtemp(join(tmpdir(), 'opencph-test-obj-'));
  await writeFile(join(dir, 'f'), content);
  await objects().upload(bucket, key, join(dir, 'f'));
  await rm(dir, { recursive: true, force: true });
}

/** A second project of tenant-a, with the same user. */
async function siblingProject(): Promise<Tenant> {
  const { iam } = t.server.services;
  const a = t.tenant;
  const project = await iam.createProject(a.domainName, 'sibling');
  const key = await iam.createAccessKey(a.domainName, a.userName, project.name);
  return { ...a, projectId: project.id, projectName: project.name, ...key, token: await getToken(t.url, a.domainName, a.userName, a.password, project.name) };
}

before(async () => {
  t = await startTestServer({ env: ADMIN_ENV });
  other = { url: t.url, tenant: await t.createTenant('tenant-b') };
  sibling = { url: t.url, tenant: await siblingProject() };
  phones = (await buyServers(t, { count: 3 })).phoneIds;
  otherPhones = (await buyServers(other)).phoneIds;
  siblingPhones = (await buyServers(sibling)).phoneIds;
});
after(() => t.close());

describe('BatchExportCloudPhoneData', () => {
  test('writes a real tar of the included paths to bucket/key; exclude_files wins over include_files', async () => {
    const [phoneId] = fresh(1);
    await sh(phoneId, 'cd /data/local/tmp && mkdir -p pd/keep pd/skip-1 && echo a > pd/keep/a.txt && echo s > pd/skip-1/s.txt && echo t > pd/top.txt');
    const response = await exportData({
      storage_infos: [{ phone_id: phoneId, include_files: ['/data/local/tmp/pd', '/cache/'], exclude_files: ['/data/local/tmp/pd/skip-*', '/data/local/tmp/pd/top.txt'], bucket_name: 'mybucket', object_path: 'myimage/v1/xxxxx.tar' }],
    });
    assert.equal(response.body.request_id, response.headers.get('x-request-id'));
    assert.deepEqual(Object.keys(response.body.jobs[0]).sort(), ['job_id', 'phone_id']);
    const [job] = await finished(response);
    assert.equal(job.status, 2, JSON.stringify(job));
    assert.deepEqual((await tarMembers('mybucket', 'myimage/v1/xxxxx.tar')).sort(), ['cache/', 'data/local/tmp/pd/', 'data/local/tmp/pd/keep/', 'data/local/tmp/pd/keep/a.txt']);
    assert.deepEqual((await jobsOf(response.body.request_id)).body.jobs.map((j: { phone_id: string }) => j.phone_id), [phoneId]);
    assert.equal(await statusOf(phoneId), 2);
  });

  test('export → reset → restore brings the data back where it was, overwriting files that exist', async () => {
    const [phoneId] = fresh(1);
    await sh(phoneId, 'mkdir -p /data/local/tmp/rt/sub && echo one > /data/local/tmp/rt/one.txt && chmod 600 /data/local/tmp/rt/one.txt && echo two > /data/local/tmp/rt/sub/two.txt');
    const listing = await sh(phoneId, 'ls -lR /data/local/tmp/rt');
    const [exported] = await finished(await exportData({ storage_infos: [storage(phoneId, 'round/trip.tar', { include_files: ['/data/local/tmp/rt'] })] }));
    assert.equal(exported.status, 2, JSON.stringify(exported));

    const [reset] = await finished(await call(t, 'POST', `${PHONES}/batch-reset`, { body: { phones: [{ phone_id: phoneId }] } }));
    assert.equal(reset.status, 2);
    const gone = await shell(phoneId, 'cat /data/local/tmp/rt/one.txt');
    assert.deepEqual([gone.status, gone.execute_msg], [-1, 'cat: /data/local/tmp/rt/one.txt: No such file or directory\n']);
    await sh(phoneId, 'mkdir -p /data/local/tmp/rt && echo changed > /data/local/tmp/rt/one.txt');

    const response = await restoreData({ restore_infos: [{ phone_id: phoneId, bucket_name: 'mybucket', object_path: 'round/trip.tar' }] });
    assert.deepEqual(Object.keys(response.body.jobs[0]).sort(), ['job_id', 'phone_id']);
    const [restored] = await finished(response);
    assert.equal(restored.status, 2, JSON.stringify(restored));
    assert.equal(await sh(phoneId, 'cat /data/local/tmp/rt/one.txt /data/local/tmp/rt/sub/two.txt'), 'one\ntwo\n');
    assert.equal(await sh(phoneId, 'ls -lR /data/local/tmp/rt'), listing);
    assert.equal(await statusOf(phoneId), 2);
  });

  test('a stopped phone is exported and restored and stays stopped', async () => {
    const [phoneId] = fresh(1);
    await sh(phoneId, 'echo off > /data/local/tmp/off.txt');
    await finished(await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [phoneId] } }));
    const [exported] = await finished(await exportData({ storage_infos: [storage(phoneId, 'stopped.tar')] }));
    assert.equal(exported.status, 2);
    assert.ok((await tarMembers('mybucket', 'stopped.tar')).includes('data/local/tmp/off.txt'));
    const [restored] = await finished(await restoreData({ restore_infos: [{ phone_id: phoneId, bucket_name: 'mybucket', object_path: 'stopped.tar' }] }));
    assert.equal(restored.status, 2);
    assert.equal(await statusOf(phoneId), 8);
  });

  test('all of /data is exported and restored, over a reset phone and over itself; its links stay links', async () => {
    const [phoneId] = fresh(1);
    await sh(phoneId, 'mkdir -p /data/local/tmp/all && echo mine > /data/local/tmp/all/f.txt && ln -s f.txt /data/local/tmp/all/link');
    await sh(phoneId, 'su -c "mkdir -p /data/data/com.example.notes/files && echo note > /data/data/com.example.notes/files/n.txt"');
    const listing = () => sh(phoneId, 'ls -lR /data/local/tmp/all /data/user/0/com.example.notes; su -c "ls -l /data/user"');
    const before = await listing();
    const [exported] = await finished(await exportData({ storage_infos: [storage(phoneId, 'all/data.tar', { include_files: ['/data'] })] }));
    assert.equal(exported.status, 2, JSON.stringify(exported));
    const members = await tarMembers('mybucket', 'all/data.tar');
    // Android's /data/user/0 is a link to /data/data: archived as the link, not as what it points to.
    assert.ok(members.includes('data/user/0') && members.includes('data/data/com.example.notes/files/n.txt'));
    assert.ok(!members.some((path) => path.startsWith('data/user/0/')));

    await finished(await call(t, 'POST', `${PHONES}/batch-reset`, { body: { phones: [{ phone_id: phoneId }] } }));
    assert.equal((await shell(phoneId, 'ls /data/user/0/com.example.notes')).status, -1);
    for (const round of ['after a reset', 'over the same data']) {
      const [restored] = await finished(await restoreData({ restore_infos: [{ phone_id: phoneId, bucket_name: 'mybucket', object_path: 'all/data.tar' }] }));
      assert.equal(restored.status, 2, `${round}: ${JSON.stringify(restored)}`);
      assert.equal(await listing(), before, round);
      assert.equal(await sh(phoneId, 'cat /data/local/tmp/all/link /data/user/0/com.example.notes/files/n.txt'), 'mine\nnote\n');
    }
    assert.equal(await statusOf(phoneId), 2);
  });

  test('per-item refusals: ids, paths, bucket, object path, status, flavor, objects it may not write; the valid item runs', async () => {
    const [ok, creating, restarting, frozen, qemu, plain] = fresh(6);
    await Promise.all([setPhone(creating, { status: 1 }), setPhone(restarting, { status: 4 }), setPhone(frozen, { status: 6 }), setPhone(qemu, { phone_model_name: QEMU_FLAVOR })]);
    await putObject('mybucket', 'user/own-file.tar', 'not an export');
    const [foreign] = await finished(await exportData({ storage_infos: [storage(siblingPhones[0], 'sibling/data.tar')] }, sibling), sibling);
    assert.equal(foreign.status, 2);
    const items = [
      storage(ok, 'ok/data.tar', { include_files: ['/data/local/tmp', '/data/app/'], exclude_files: ['/data/app/com.xx.xx-*'] }),
      storage('1678567b8bab', 'a.tar'),
      storage(UNKNOWN_ID, 'a.tar'),
      storage(otherPhones[1], 'a.tar'),
      storage(plain, 'a.tar', { include_files: [] }),
      storage(plain, 'a.tar', { include_files: ['/system/app'] }),
      storage(plain, 'a.tar', { include_files: ['/database'] }),
      storage(plain, 'a.tar', { include_files: ['data/local'] }),
      storage(plain, 'a.tar', { include_files: ['/data/../system'] }),
      storage(plain, 'a.tar', { include_files: ['/data//local'] }),
      storage(plain, 'a.tar', { include_files: ['/data/local tmp'] }),
      storage(plain, 'a.tar', { include_files: ['/data/*'] }),
      storage(plain, 'a.tar', { include_files: [`/data/${'a'.repeat(4092)}`] }),
      storage(plain, 'a.tar', { exclude_files: [] }),
      storage(plain, 'a.tar', { exclude_files: ['/system/*'] }),
      storage(plain, 'a.tar', { exclude_files: ['/data/a?b'] }),
      storage(plain, 'a.tar', { bucket_name: 'ab' }),
      storage(plain, 'a.tar', { bucket_name: 'my_bucket' }),
      storage(plain, '/lead.tar'),
      storage(plain, 'a b.tar'),
      storage(plain, 'a//b.tar'),
      storage(plain, `${'k'.repeat(1021)}.tar`),
      storage(creating, 'a.tar'),
      storage(restarting, 'a.tar'),
      storage(frozen, 'a.tar'),
      storage(qemu, 'a.tar'),
      storage(plain, 'user/own-file.tar'),
      storage(plain, 'sibling/data.tar'),
    ];
    const response = await exportData({ storage_infos: items });
    assert.equal(response.status, 200);
    const codes = ['CPS.0004', 'CPS.0005', 'CPS.0005', ...Array(9).fill('CPS.0168'), 'CPS.0169', 'CPS.0169', 'CPS.0169', 'CPS.0134', 'CPS.0134',
      'CPS.0135', 'CPS.0135', 'CPS.0135', 'CPS.0135', 'CPS.0165', 'CPS.0165', 'CPS.0165', 'CPS.0219', 'CPS.0172', 'CPS.0172'];
    assert.deepEqual(response.body.jobs.slice(1), items.slice(1).map((item, i) => phoneError(item.phone_id, codes[i])));
    const [job] = await finished(response);
    assert.equal(job.status, 2, JSON.stringify(job));
    assert.deepEqual((await jobsOf(response.body.request_id)).body.jobs.map((j: { phone_id: string }) => j.phone_id), [ok]);
    assert.deepEqual(await Promise.all([creating, restarting, frozen].map(statusOf)), [1, 4, 6]);
    // Nothing was written where the refused items pointed, and the other project's export is intact.
    assert.equal(await objects().stat('mybucket', 'a.tar'), undefined);
    assert.ok((await tarMembers('mybucket', 'sibling/data.tar')).includes('data/local/tmp/'));
    await Promise.all([setPhone(creating, { status: 2 }), setPhone(restarting, { status: 2 }), setPhone(frozen, { status: 2 })]);
  });

  test('a project exports again to its own object; the object then holds the new data', async () => {
    const [phoneId] = fresh(1);
    await sh(phoneId, 'echo v1 > /data/local/tmp/v.txt');
    await finished(await exportData({ storage_infos: [storage(phoneId, 'again.tar', { include_files: ['/data/local/tmp/v.txt'] })] }));
    await sh(phoneId, 'rm /data/local/tmp/v.txt; echo v2 > /data/local/tmp/w.txt');
    const [job] = await finished(await exportData({ storage_infos: [storage(phoneId, 'again.tar', { include_files: ['/data/local/tmp/v.txt', '/data/local/tmp/w.txt'] })] }));
    assert.deepEqual([job.status, job.execute_msg], [2, 'tar: /data/local/tmp/v.txt: Cannot stat: No such file or directory\n']);
    assert.deepEqual(await tarMembers('mybucket', 'again.tar'), ['data/local/tmp/w.txt']);
  });

  test('whole-request errors change nothing', async () => {
    const [phoneId] = fresh(1);
    const item = storage(phoneId, 'whole.tar');
    const cases: Array<[unknown, string]> = [
      [{}, 'CPS.0167'],
      [{ storage_infos: [] }, 'CPS.0167'],
      [{ storage_infos: 'x' }, 'CPS.0167'],
      [{ storage_infos: [1] }, 'CPS.0167'],
      [{ storage_infos: Array.from({ length: 101 }, () => item) }, 'CPS.0170'],
      [{ storage_infos: [{ ...item, phone_id: undefined }] }, 'CPS.0004'],
      [{ storage_infos: [{ ...item, include_files: undefined }] }, 'CPS.0168'],
      [{ storage_infos: [{ ...item, include_files: '/data/local' }] }, 'CPS.0168'],
      [{ storage_infos: [{ ...item, include_files: [['/data']] }] }, 'CPS.0168'],
      [{ storage_infos: [{ ...item, exclude_files: '/data/local' }] }, 'CPS.0169'],
      [{ storage_infos: [{ ...item, bucket_name: undefined }] }, 'CPS.0134'],
      [{ storage_infos: [{ ...item, bucket_name: { name: 'b' } }] }, 'CPS.0134'],
      [{ storage_infos: [{ ...item, object_path: undefined }] }, 'CPS.0135'],
    ];
    for (const [body, code] of cases) {
      const response = await exportData(body);
      assertRefused(response, code);
      assertRefused(await jobsOf(response.body.request_id), 'CPS.0050');
    }
    assert.equal(await objects().stat('mybucket', 'whole.tar'), undefined);
    // The path was never claimed: another project of the account may still export there.
    const [job] = await finished(await exportData({ storage_infos: [storage(siblingPhones[1], 'whole.tar')] }, sibling), sibling);
    assert.equal(job.status, 2);
  });
});

describe('BatchImportCloudPhoneData', () => {
  test('apps in a restored /data/app come back in the package manager with their uid and code path, as after a boot scan', async () => {
    const [phoneId] = fresh(1);
    for (const name of ['other', 'hello-v1']) await objects().upload('mybucket', `apks/${name}.apk`, join(APKS, `${name}.apk`));
    const install = async (name: string) => {
      const response = await call(t, 'POST', `${PHONES}/commands`, { body: { command: 'install', content: `obs://mybucket/apks/${name}.apk`, phone_ids: [phoneId] } });
      const job = await waitForJob(t, response.body.jobs[0].job_id);
      assert.equal(job.status, 2, JSON.stringify(job));
    };
    await install('other');
    await install('hello-v1');
    const codePath = (await sh(phoneId, 'pm path com.opencph.hello')).replace(/^package:(.*)\/base\.apk\n$/, '$1');
    assert.match(codePath, /^\/data\/app\/com\.opencph\.hello-/);
    const packages = await sh(phoneId, 'pm list packages -3 -U');
    assert.equal(packages, 'package:com.opencph.hello uid:10061\npackage:com.opencph.other uid:10060\n');
    // Only this app is exported: its APK directory and its data directory.
    const [exported] = await finished(await exportData({ storage_infos: [storage(phoneId, 'apps/hello.tar', { include_files: [codePath, '/data/data/com.opencph.hello'] })] }));
    assert.equal(exported.status, 2, JSON.stringify(exported));

    await finished(await call(t, 'POST', `${PHONES}/batch-reset`, { body: { phones: [{ phone_id: phoneId }] } }));
    assert.equal(await sh(phoneId, 'pm list packages -3'), '');
    const [restored] = await finished(await restoreData({ restore_infos: [{ phone_id: phoneId, bucket_name: 'mybucket', object_path: 'apps/hello.tar' }] }));
    assert.equal(restored.status, 2, JSON.stringify(restored));
    // The data directory keeps its owner, so the app gets its uid back; the next install takes a new one.
    assert.equal(await sh(phoneId, 'pm list packages -3 -U'), 'package:com.opencph.hello uid:10061\n');
    assert.equal(await sh(phoneId, 'pm path com.opencph.hello'), `package:${codePath}/base.apk\n`);
    await install('other');
    assert.equal(await sh(phoneId, 'pm list packages -3 -U'), 'package:com.opencph.hello uid:10061\npackage:com.opencph.other uid:10062\n');
  });

  test('per-item refusals: ids, bucket, object path, status, flavor, objects that are not this project’s exports', async () => {
    const [source, creating, qemu, plain] = fresh(4);
    await finished(await exportData({ storage_infos: [storage(source, 'restore/mine.tar')] }));
    await finished(await exportData({ storage_infos: [storage(siblingPhones[0], 'restore/theirs.tar')] }, sibling), sibling);
    await putObject('mybucket', 'restore/uploaded.tar', 'x');
    await Promise.all([setPhone(creating, { status: 0 }), setPhone(qemu, { phone_model_name: QEMU_FLAVOR })]);
    const info = (phone_id: string, object_path = 'restore/mine.tar', bucket_name = 'mybucket') => ({ phone_id, bucket_name, object_path });
    const items = [
      info(plain),
      info('not-a-phone'),
      info(UNKNOWN_ID),
      info(otherPhones[1]),
      info(plain, 'restore/mine.tar', 'b'),
      info(plain, '/restore/mine.tar'),
      info(plain, ''),
      info(plain, 'x'.repeat(1025)),
      info(creating),
      info(qemu),
      info(plain, 'restore/never-exported.tar'),
      info(plain, 'restore/theirs.tar'),
      info(plain, 'restore/uploaded.tar'),
    ];
    const response = await restoreData({ restore_infos: items });
    const codes = ['CPS.0004', 'CPS.0005', 'CPS.0005', 'CPS.0134', 'CPS.0135', 'CPS.0135', 'CPS.0135', 'CPS.0165', 'CPS.0219', 'CPS.0172', 'CPS.0172', 'CPS.0172'];
    assert.deepEqual(response.body.jobs.slice(1), items.slice(1).map((item, i) => phoneError(item.phone_id, codes[i])));
    const [job] = await finished(response);
    assert.equal(job.status, 2, JSON.stringify(job));
    // The other project cannot restore this project's export either.
    const theirs = await restoreData({ restore_infos: [info(siblingPhones[1])] }, sibling);
    assert.deepEqual(theirs.body.jobs, [phoneError(siblingPhones[1], 'CPS.0172')]);
    assert.equal(await statusOf(creating), 0);
    await setPhone(creating, { status: 2 });
  });

  test('a registered object that is gone fails the job with CPS.0104; one that is not a tar, with CPS.0171', async () => {
    const [phoneId] = fresh(1);
    await finished(await exportData({ storage_infos: [storage(phoneId, 'gone.tar'), storage(phoneId, 'junk.tar')] }));
    await rm(join(t.server.config.dataDir, 'objects', t.tenant.domainName, 'mybucket', 'gone.tar'));
    await putObject('mybucket', 'junk.tar', 'not a tar at all'.repeat(64));
    const [gone, junk] = await finished(await restoreData({
      restore_infos: [{ phone_id: phoneId, bucket_name: 'mybucket', object_path: 'gone.tar' }, { phone_id: phoneId, bucket_name: 'mybucket', object_path: 'junk.tar' }],
    }));
    assert.deepEqual([gone.status, gone.error_code, gone.error_msg], [-1, 'CPS.0104', cpsMessage('CPS.0104')]);
    assert.deepEqual([junk.status, junk.error_code, junk.error_msg], [-1, 'CPS.0171', cpsMessage('CPS.0171')]);
    assert.match(junk.execute_msg, /^tar: /);
    assert.equal(await statusOf(phoneId), 2);
  });

  test('whole-request errors change nothing', async () => {
    const [phoneId] = fresh(1);
    const item = { phone_id: phoneId, bucket_name: 'mybucket', object_path: 'x.tar' };
    const cases: Array<[unknown, string]> = [
      [{}, 'CPS.0171'],
      [{ restore_infos: [] }, 'CPS.0171'],
      [{ restore_infos: {} }, 'CPS.0171'],
      [{ restore_infos: ['x'] }, 'CPS.0171'],
      [{ restore_infos: Array.from({ length: 101 }, () => item) }, 'CPS.0171'],
      [{ restore_infos: [{ ...item, phone_id: ['a'] }] }, 'CPS.0004'],
      [{ restore_infos: [{ ...item, bucket_name: undefined }] }, 'CPS.0134'],
      [{ restore_infos: [{ ...item, object_path: ['x.tar'] }] }, 'CPS.0135'],
    ];
    for (const [body, code] of cases) {
      const response = await restoreData(body);
      assertRefused(response, code);
      assertRefused(await jobsOf(response.body.request_id), 'CPS.0050');
    }
  });
});

describe('BatchMigrateCloudPhone', () => {
  test('the target gets the source’s data and image, and its attributes when asked; the source stays stopped', async () => {
    const [source, target, source2, target2] = fresh(4);
    const property = '{"sys.prop.writephonenum":"13666666666","persist.sys.locale":"zh-CN"}';
    await finished(await call(t, 'POST', `${PHONES}/batch-reset`, { body: { phones: [{ phone_id: source, property }], image_id: AOSP_11 } }));
    await finished(await call(t, 'POST', `${PHONES}/batch-update-property`, { body: { phones: [{ phone_id: target2, property: '{"com.cph.mainkeys":"1"}' }] } }));
    await sh(source, 'echo from-source > /data/local/tmp/m.txt; settings put global wifi_on 0');
    await sh(source2, 'echo from-source-2 > /data/local/tmp/m.txt');
    await sh(target, 'echo own > /data/local/tmp/own.txt');
    await finished(await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [source, source2] } }));
    await finished(await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [target2] } }));

    const response = await migrate({
      migrate_infos: [
        { source_phone_id: source, target_phone_id: target, is_migrate_property: 'TRUE' },
        { source_phone_id: source2, target_phone_id: target2, is_migrate_property: 'yes' },
      ],
    });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs.map((job: Record<string, string>) => Object.keys(job).sort()), [['job_id', 'source_phone_id', 'target_phone_id'], ['job_id', 'source_phone_id', 'target_phone_id']]);
    assert.deepEqual(response.body.jobs.map((job: Record<string, string>) => [job.source_phone_id, job.target_phone_id]), [[source, target], [source2, target2]]);
    const jobs = await finished(response);
    assert.deepEqual(jobs.map((job) => job.status), [2, 2], JSON.stringify(jobs));
    assert.deepEqual((await jobsOf(response.body.request_id)).body.jobs.map((job: { phone_id: string }) => job.phone_id), [target, target2]);

    const migrated = await detail(target);
    assert.deepEqual([migrated.status, migrated.image_id, JSON.parse(migrated.property)], [2, AOSP_11, JSON.parse(property)]);
    assert.equal(await sh(target, 'cat /data/local/tmp/m.txt; ls /data/local/tmp; settings get global wifi_on; getprop persist.sys.locale'), 'from-source\nm.txt\n0\nzh-CN\n');
    const kept = await detail(target2);
    assert.deepEqual([kept.status, JSON.parse(kept.property)], [2, { 'com.cph.mainkeys': '1' }]);
    assert.equal(await sh(target2, 'cat /data/local/tmp/m.txt'), 'from-source-2\n');

    for (const id of [source, source2]) assert.equal(await statusOf(id), 8);
    assert.deepEqual(JSON.parse((await detail(source)).property), JSON.parse(property));
    await finished(await call(t, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: source }] } }));
    assert.equal(await sh(source, 'cat /data/local/tmp/m.txt'), 'from-source\n');
  });

  test('per-item refusals: same phone, unknown or foreign ids, a running source, a busy target, a flavor that cannot run the image', async () => {
    const [stopped, stopped2, running, creatingTarget, frozenTarget, qemuTarget, target, target3] = fresh(8);
    await finished(await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [stopped, stopped2] } }));
    await Promise.all([setPhone(creatingTarget, { status: 1 }), setPhone(frozenTarget, { status: 6 }), setPhone(qemuTarget, { phone_model_name: QEMU_FLAVOR })]);
    const pairs: Array<[string, string, string?]> = [
      [stopped, target],
      [stopped, stopped, 'CPS.0231'],
      ['1678567b8bab', target, 'CPS.0232'],
      [UNKNOWN_ID, target, 'CPS.0232'],
      [otherPhones[0], target, 'CPS.0232'],
      [stopped, 'x', 'CPS.0233'],
      [stopped, UNKNOWN_ID, 'CPS.0233'],
      [stopped, otherPhones[0], 'CPS.0233'],
      [running, target3, 'CPS.0216'],
      [creatingTarget, target3, 'CPS.0216'],
      [stopped, creatingTarget, 'CPS.0165'],
      [stopped, frozenTarget, 'CPS.0165'],
      [stopped2, target, 'CPS.0165'],
      [target, target3, 'CPS.0216'],
      [stopped, qemuTarget, 'CPS.0233'],
    ];
    const response = await migrate({ migrate_infos: pairs.map(([source_phone_id, target_phone_id]) => ({ source_phone_id, target_phone_id })) });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.jobs.slice(1), pairs.slice(1).map(([source, to, code]) => migrateError(source, to, code!)));
    const [job] = await finished(response);
    assert.equal(job.status, 2);
    assert.deepEqual(await Promise.all([stopped, stopped2, running, creatingTarget, frozenTarget, qemuTarget, target3].map(statusOf)), [8, 8, 2, 1, 6, 2, 2]);
    assert.equal((await detail(otherPhones[0], other)).status, 2);
    await Promise.all([setPhone(creatingTarget, { status: 2 }), setPhone(frozenTarget, { status: 2 })]);
  });

  test('whole-request errors change nothing', async () => {
    const [source, target] = fresh(2);
    const item = { source_phone_id: source, target_phone_id: target };
    const cases: Array<[unknown, string]> = [
      [{}, 'CPS.0234'],
      [{ migrate_infos: [] }, 'CPS.0234'],
      [{ migrate_infos: 'x' }, 'CPS.0234'],
      [{ migrate_infos: [[item]] }, 'CPS.0234'],
      [{ migrate_infos: Array.from({ length: 101 }, () => item) }, 'CPS.0234'],
      [{ migrate_infos: [{ target_phone_id: target }] }, 'CPS.0232'],
      [{ migrate_infos: [{ ...item, target_phone_id: { id: target } }] }, 'CPS.0233'],
      [{ migrate_infos: [{ ...item, is_migrate_property: { value: 'true' } }] }, 'CPS.0235'],
      [{ migrate_infos: [{ ...item, is_migrate_property: ['true'] }] }, 'CPS.0235'],
    ];
    for (const [body, code] of cases) {
      const response = await migrate(body);
      assertRefused(response, code);
      assertRefused(await jobsOf(response.body.request_id), 'CPS.0050');
    }
    assert.deepEqual(await Promise.all([source, target].map(statusOf)), [2, 2]);
  });

  test('the target shows 3 while the migration runs; a failed migration leaves it -5', async () => {
    const [source, target, target2] = fresh(3);
    await finished(await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [source] } }));
    await setDurations(t, { migrate: 300 });
    try {
      const response = await migrate({ migrate_infos: [{ source_phone_id: source, target_phone_id: target }] });
      assert.equal(await statusOf(target), 3);
      const again = await migrate({ migrate_infos: [{ source_phone_id: source, target_phone_id: target }] });
      assert.deepEqual(again.body.jobs, [migrateError(source, target, 'CPS.0165')]);
      assert.equal((await finished(response))[0].status, 2);
      assert.deepEqual(await Promise.all([source, target].map(statusOf)), [8, 2]);
    } finally {
      await setDurations(t, {});
    }
    await addFault(t, { operation: 'migrate', phone_id: target2, mode: 'fail' });
    const [failed] = await finished(await migrate({ migrate_infos: [{ source_phone_id: source, target_phone_id: target2 }] }));
    assert.deepEqual([failed.status, failed.error_code, failed.error_msg], [-1, 'CPS.0022', cpsMessage('CPS.0022')]);
    assert.deepEqual(await Promise.all([source, target2].map(statusOf)), [8, -5]);
  });

  test('an export or restore fault fails its job with CPS.0022 and leaves the phone as it was', async () => {
    const [phoneId] = fresh(1);
    await addFault(t, { operation: 'exportData', phone_id: phoneId, mode: 'fail' });
    const [exported] = await finished(await exportData({ storage_infos: [storage(phoneId, 'faulty.tar')] }));
    assert.deepEqual([exported.status, exported.error_code], [-1, 'CPS.0022']);
    assert.equal(await objects().stat('mybucket', 'faulty.tar'), undefined);
    await finished(await exportData({ storage_infos: [storage(phoneId, 'faulty.tar')] }));
    await addFault(t, { operation: 'importData', phone_id: phoneId, mode: 'fail' });
    const [restored] = await finished(await restoreData({ restore_infos: [{ phone_id: phoneId, bucket_name: 'mybucket', object_path: 'faulty.tar' }] }));
    assert.deepEqual([restored.status, restored.error_code], [-1, 'CPS.0022']);
    assert.equal(await statusOf(phoneId), 2);
  });
});

describe('ImportTraffic', () => {
  const trafficOf = async (phoneIds: string[]) => {
    const list = (await call(t, 'GET', `${PHONES}?limit=200`)).body.phones as Array<{ phone_id: string; traffic_type: string }>;
    return phoneIds.map((id) => list.find((phone) => phone.phone_id === id)!.traffic_type);
  };

  test('the phones’ traffic_type shows the new route in ListCloudPhones once the jobs succeed', async () => {
    const [a, b] = fresh(2);
    assert.deepEqual(await trafficOf([a, b]), ['direct', 'direct']);
    const response = await traffic({ traffic_type: 'routing', phone_ids: [a, b] });
    assert.equal(response.status, 200);
    assert.equal(response.body.request_id, response.headers.get('x-request-id'));
    assert.deepEqual(response.body.jobs.map((job: Record<string, string>) => Object.keys(job).sort()), [['job_id', 'phone_id'], ['job_id', 'phone_id']]);
    assert.deepEqual((await finished(response)).map((job) => job.status), [2, 2]);
    assert.deepEqual(await trafficOf([a, b]), ['routing', 'routing']);
    await finished(await traffic({ traffic_type: 'direct', phone_ids: [b] }));
    assert.deepEqual(await trafficOf([a, b]), ['routing', 'direct']);
  });

  test('per-item refusals: malformed, unknown and foreign ids, creating, frozen and busy phones', async () => {
    const [creating, frozen, resetting, stopped] = fresh(4);
    await Promise.all([setPhone(creating, { status: 1 }), setPhone(frozen, { status: 6 }), setPhone(resetting, { status: 3 }), setPhone(stopped, { status: 8 })]);
    const response = await traffic({ traffic_type: 'routing', phone_ids: [stopped, 'abc', UNKNOWN_ID, otherPhones[0], creating, frozen, resetting] });
    assert.deepEqual(response.body.jobs.slice(1), [
      phoneError('abc', 'CPS.0004'),
      phoneError(UNKNOWN_ID, 'CPS.0005'),
      phoneError(otherPhones[0], 'CPS.0005'),
      phoneError(creating, 'CPS.0213'),
      phoneError(frozen, 'CPS.0053'),
      phoneError(resetting, 'CPS.0022'),
    ]);
    await finished(response);
    assert.deepEqual(await trafficOf([stopped, creating, frozen, resetting]), ['routing', 'direct', 'direct', 'direct']);
    const foreign = (await call(other, 'GET', `${PHONES}?limit=200`)).body.phones.find((phone: { phone_id: string }) => phone.phone_id === otherPhones[0]);
    assert.equal(foreign.traffic_type, 'direct');
    await Promise.all([creating, frozen, resetting, stopped].map((id) => setPhone(id, { status: 2 })));
  });

  test('whole-request errors change nothing', async () => {
    const [phoneId] = fresh(1);
    const cases: Array<[unknown, string]> = [
      [{ phone_ids: [phoneId] }, 'CPS.0207'],
      [{ traffic_type: 'ROUTING', phone_ids: [phoneId] }, 'CPS.0207'],
      [{ traffic_type: 'encode', phone_ids: [phoneId] }, 'CPS.0207'],
      [{ traffic_type: ['routing'], phone_ids: [phoneId] }, 'CPS.0207'],
      [{ traffic_type: 'routing' }, 'CPS.0009'],
      [{ traffic_type: 'routing', phone_ids: [] }, 'CPS.0009'],
      [{ traffic_type: 'routing', phone_ids: phoneId }, 'CPS.0080'],
      [{ traffic_type: 'routing', phone_ids: [{ phone_id: phoneId }] }, 'CPS.0080'],
      [{ traffic_type: 'routing', phone_ids: Array.from({ length: 101 }, () => phoneId) }, 'CPS.0209'],
    ];
    for (const [body, code] of cases) {
      const response = await traffic(body);
      assertRefused(response, code);
      assertRefused(await jobsOf(response.body.request_id), 'CPS.0050');
    }
    assert.deepEqual(await trafficOf([phoneId]), ['direct']);
  });
});
