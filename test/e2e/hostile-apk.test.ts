import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buyServers, call, waitForJob, type Target } from '../helpers/server.ts';
import { defaultTenant, runCli, spawnServer, stop, type ServerProcess } from '../helpers/process.ts';
import { stringPoolBomb, xmlDocument, zipApk } from '../helpers/hostile-apk.ts';

/**
 * The server as `npm start` runs it, from the bundle bin/opencph.js builds: APKs are read there by the
 * bundle's own worker (dist/apk-worker.mjs), which must read a real APK and refuse the string-pool bomb.
 */
const fixtures = fileURLToPath(new URL('../fixtures/apk/', import.meta.url));
let work: string;
let server: ServerProcess;
let target: Target;
let phone: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'opencph-e2e-apk-'));
  server = await spawnServer({ OPENCPH_DATA_DIR: join(work, 'data'), OPENCPH_SIM_TIME_SCALE: '0' });
  target = await defaultTenant(server, join(work, 'data'));
  phone = (await buyServers(target)).phoneIds[0];
});
after(async () => {
  if (server) await stop(server);
  rmSync(work, { recursive: true, force: true });
});

async function install(file: string, key: string) {
  const put = await runCli(['objects', 'put', '--account', target.tenant.domainName, file, `obs://apks/${key}`], { OPENCPH_DATA_DIR: join(work, 'data') });
  assert.equal(put.code, 0, put.output);
  const response = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones/commands', { body: { command: 'install', content: `obs://apks/${key}`, phone_ids: [phone] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return waitForJob(target, response.body.jobs[0].job_id, 30_000);
}

test('the bundled server installs a real APK and fails the string-pool bomb as an invalid APK, and lives on', async () => {
  const hello = await install(join(fixtures, 'hello-v1.apk'), 'hello-v1.apk');
  assert.equal(hello.status, 2, `${JSON.stringify(hello)}\n${server.output()}`);
  const bombFile = join(work, 'bomb.apk');
  writeFileSync(bombFile, await zipApk({ 'AndroidManifest.xml': xmlDocument(stringPoolBomb(), []) }));
  const bomb = await install(bombFile, 'bomb.apk');
  assert.deepEqual([bomb.status, bomb.error_code], [-1, 'CPS.0191'], `${JSON.stringify(bomb)}\n${server.output()}`);
  assert.match(bomb.execute_msg, /INSTALL_PARSE_FAILED_NOT_APK/);
  assert.equal(server.child.exitCode, null, server.output());
  assert.equal((await call(target, 'GET', '/v1/{project_id}/cloud-phone/phones?offset=0&limit=1')).status, 200);
});
