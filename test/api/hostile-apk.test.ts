import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buyServers, call, startTestServer, waitForJob, type TestServer } from '../helpers/server.ts';
import { createInstances, installApp } from '../helpers/koophone.ts';
import { APK_BOMBS, CHUNK, nestedChunks, stringPoolBomb, xmlDocument, zipApk } from '../helpers/hostile-apk.ts';

/**
 * Issue 13, finding 1: an APK built to exhaust the reader, sent through CPH install and KooPhone InstallApp,
 * ends its job with the documented install failure, and the server goes on answering everyone.
 */
const COMMANDS = '/v1/{project_id}/cloud-phone/phones/commands';
const fixtures = fileURLToPath(new URL('../fixtures/apk/', import.meta.url));

let t: TestServer;
let work: string;
let phone: string;
let instance: string;

/** Puts `data` in the tenant's object store; its obs:// URL. */
async function put(key: string, data: Buffer): Promise<string> {
  const file = join(work, key.replace(/\//g, '_'));
  writeFileSync(file, data);
  await t.server.services.commandDeps.objects.root.forAccount(t.tenant.domainName).upload('apks', key, file);
  return `obs://apks/${key}`;
}

/** CPH install of `url` on the phone: the finished job. */
async function cphInstall(url: string) {
  const response = await call(t, 'POST', COMMANDS, { body: { command: 'install', content: url, phone_ids: [phone] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return waitForJob(t, response.body.jobs[0].job_id, 30_000);
}

/** KooPhone InstallApp of `url` on the instance: the finished job. */
async function koophoneInstall(url: string, objectName = 'com.opencph.hostile') {
  const [job] = await installApp(t, url, [instance], { object_name: objectName, file_name: 'bomb.apk' });
  return job;
}

/** ListCloudPhones answers, and fast. */
async function stillAnswering(): Promise<void> {
  const started = Date.now();
  const response = await call(t, 'GET', '/v1/{project_id}/cloud-phone/phones?offset=0&limit=1');
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.ok(Date.now() - started < 2_000, `ListCloudPhones took ${Date.now() - started} ms`);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'opencph-hostile-apk-'));
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  phone = (await buyServers(t)).phoneIds[0];
  [instance] = await createInstances(t, { instanceNamePrefix: 'bombs' });
});
after(async () => {
  await t.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the APK string-pool bomb of issue 13 (under 1 KB: 100,000 strings, each the same 64 Ki characters)', () => {
  let bomb: string;
  before(async () => {
    bomb = await put('bomb.apk', await zipApk({ 'AndroidManifest.xml': xmlDocument(stringPoolBomb(), []) }));
  });

  test('CPH install: the job fails as adb install fails on a file that is not an APK (CPS.0191, INSTALL_PARSE_FAILED_NOT_APK)', async () => {
    const job = await cphInstall(bomb);
    assert.deepEqual([job.status, job.error_code], [-1, 'CPS.0191'], JSON.stringify(job));
    assert.match(job.execute_msg, /^Failure \[INSTALL_PARSE_FAILED_NOT_APK: Failed to parse \S+\.apk\]/);
    await stillAnswering();
  });

  test('KooPhone InstallApp: the job fails with KOOPHONE.API.62019', async () => {
    const job = await koophoneInstall(bomb);
    assert.deepEqual([job.status, job.error_code], [-1, 'KOOPHONE.API.62019'], JSON.stringify(job));
    assert.match(job.execute_msg, /^bomb\.apk is not a valid APK/);
    await stillAnswering();
  });
});

test('200,000 nested chunk headers end the job as an invalid APK, not CPS.0003', async () => {
  const nested = await put('nested.apk', await zipApk({ 'AndroidManifest.xml': nestedChunks(CHUNK.XML, 200_000) }));
  const job = await cphInstall(nested);
  assert.deepEqual([job.status, job.error_code], [-1, 'CPS.0191'], JSON.stringify(job));
  assert.match(job.execute_msg, /INSTALL_PARSE_FAILED_NOT_APK/);
  const viaKooPhone = await koophoneInstall(nested);
  assert.deepEqual([viaKooPhone.status, viaKooPhone.error_code], [-1, 'KOOPHONE.API.62019'], JSON.stringify(viaKooPhone));
});

test('every bomb of the catalogue, sent at once, fails as an invalid APK; other requests are answered meanwhile; real APKs still install', async () => {
  const urls = await Promise.all(Object.entries(APK_BOMBS).map(async ([name, make], i) => [name, await put(`catalogue/${i}.apk`, await make())] as const));
  const installs = urls.map(async ([name, url]) => [name, await cphInstall(url)] as const);
  while (!(await Promise.race([Promise.all(installs).then(() => true), new Promise((resolve) => setTimeout(resolve, 100, false))]))) await stillAnswering();
  for (const [name, job] of await Promise.all(installs)) {
    assert.deepEqual([job.status, job.error_code], [-1, 'CPS.0191'], `${name}: ${JSON.stringify(job)}`);
    assert.match(job.execute_msg, /INSTALL_PARSE_FAILED_NOT_APK/, name);
  }
  const hello = await cphInstall(await put('hello-v1.apk', readFileSync(join(fixtures, 'hello-v1.apk'))));
  assert.equal(hello.status, 2, JSON.stringify(hello));
  const other = await koophoneInstall(await put('other.apk', readFileSync(join(fixtures, 'other.apk'))), 'com.opencph.other');
  assert.equal(other.status, 2, JSON.stringify(other));
});
