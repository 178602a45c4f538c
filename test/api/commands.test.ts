import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { buyServers, call, startTestServer, waitForJob, type TestServer } from '../helpers/server.ts';
import { phoneSpec } from '../../src/core/phone-spec.ts';

const COMMANDS = '/v1/{project_id}/cloud-phone/phones/commands';
const SYNC = '/v1/{project_id}/cloud-phone/phones/sync-commands';
const fixtures = fileURLToPath(new URL('../fixtures/apk/', import.meta.url));

let t: TestServer;
let phones: string[];
let serverId: string;

before(async () => {
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  const bought = await buyServers(t);
  phones = bought.phoneIds;
  serverId = bought.serverIds[0];
});
after(() => t.close());

/** Runs an async command on phones and waits for every job; returns the finished jobs in request order. */
async function run(command: string, content: string, target: { phone_ids?: string[]; server_ids?: string[] } = { phone_ids: [phones[0]] }) {
  const response = await call(t, 'POST', COMMANDS, { body: { command, content, ...target } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return Promise.all(response.body.jobs.map((job: { job_id: string }) => waitForJob(t, job.job_id)));
}

async function upload(key: string, file: string) {
  await t.server.services.commandDeps.objects.root.forAccount(t.tenant.domainName).upload('bucket-a', key, file);
}

function expectError(response: { status: number; body: any }, code: string) {
  assert.equal(response.status, 400, JSON.stringify(response.body));
  assert.equal(response.body.error_code, code, JSON.stringify(response.body));
}

describe('shell', () => {
  test('output lands in execute_msg; the documented example with spaces is accepted', async () => {
    const [job] = await run('shell', 'echo "hello world" && ls -l /system | head -n 1');
    assert.equal(job.status, 2, JSON.stringify(job));
    assert.match(job.execute_msg, /^hello world\n/);
    const [listing] = await run('shell', 'ls -l /system');
    assert.equal(listing.status, 2);
    assert.match(listing.execute_msg, /bin/);
  });

  test('a failing command fails its job with CPS.0191 and still returns its output', async () => {
    const [job] = await run('shell', 'ls /no/such/dir');
    assert.equal(job.status, -1);
    assert.equal(job.error_code, 'CPS.0191');
    assert.equal(job.error_msg, 'Run command failed.');
    assert.match(job.execute_msg, /No such file or directory/);
  });

  test('execute_msg is cut at 1,024 bytes on a character boundary', async () => {
    // 3,001 bytes of output from a short command; the odd 'x' puts byte 1,024 inside an 'é'.
    const [job] = await run('shell', `A=${'é'.repeat(250)}; echo x$A$A$A$A$A$A`);
    assert.equal(Buffer.byteLength(job.execute_msg), 1023);
    assert.ok(job.execute_msg.startsWith('xéé'));
    assert.ok(!job.execute_msg.includes('\uFFFD'));
  });

  test('server_ids reaches every phone of the server; phone_ids wins when both are given', async () => {
    const all = await call(t, 'POST', COMMANDS, { body: { command: 'shell', content: 'getprop ro.serialno', server_ids: [serverId] } });
    assert.equal(all.body.jobs.length, phones.length);
    assert.deepEqual(all.body.jobs.map((j: { phone_id: string }) => j.phone_id).sort(), [...phones].sort());
    const both = await call(t, 'POST', COMMANDS, { body: { command: 'shell', content: 'id', server_ids: [serverId], phone_ids: [phones[1]] } });
    assert.deepEqual(both.body.jobs.map((j: { phone_id: string }) => j.phone_id), [phones[1]]);
  });
});

describe('push, install, uninstall', () => {
  test('push unpacks a tar over the phone root: cat reads the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opencph-push-'));
    mkdirSync(join(dir, 'data/local/tmp'), { recursive: true });
    writeFileSync(join(dir, 'data/local/tmp/hello.txt'), 'pushed content\n');
    await tar.create({ file: join(dir, 'push.tar'), cwd: dir }, ['data']);
    await upload('my_apps/push.tar', join(dir, 'push.tar'));
    const [job] = await run('push', 'obs://bucket-a/my_apps/push.tar');
    assert.equal(job.status, 2, JSON.stringify(job));
    const [cat] = await run('shell', 'cat /data/local/tmp/hello.txt');
    assert.equal(cat.execute_msg, 'pushed content\n');
  });

  test('push of a missing object fails its job with CPS.0104', async () => {
    const [job] = await run('push', 'obs://bucket-a/nothing/here.tar');
    assert.equal(job.status, -1);
    assert.equal(job.error_code, 'CPS.0104');
  });

  test('objects over the documented size limits fail their job with CPS.0118 before any download', async () => {
    // Sparse files: the size the store reports, without the disk it would take.
    const objects = join(t.server.config.dataDir, 'objects', t.tenant.domainName, 'bucket-a', 'big');
    mkdirSync(objects, { recursive: true });
    for (const [name, size] of [['huge.tar', 6 * 1024 ** 3 + 1], ['huge.apk', 2 * 1024 ** 3 + 1]] as const) {
      writeFileSync(join(objects, name), '');
      truncateSync(join(objects, name), size);
    }
    for (const [command, content] of [['push', 'obs://bucket-a/big/huge.tar'], ['install', 'obs://bucket-a/big/huge.apk']]) {
      const [job] = await run(command, content);
      assert.equal(job.status, -1, command);
      assert.equal(job.error_code, 'CPS.0118', command);
    }
  });

  test('install, reinstall without and with -r, uninstall', async () => {
    await upload('apps/hello-v1.apk', join(fixtures, 'hello-v1.apk'));
    const [installed] = await run('install', 'obs://bucket-a/apps/hello-v1.apk');
    assert.equal(installed.status, 2, JSON.stringify(installed));
    assert.match(installed.execute_msg, /Success/);
    const [listed] = await run('shell', 'pm list packages -3');
    assert.match(listed.execute_msg, /package:com\.opencph\.hello/);
    const [again] = await run('install', 'obs://bucket-a/apps/hello-v1.apk');
    assert.equal(again.status, -1);
    assert.equal(again.error_code, 'CPS.0191');
    assert.match(again.execute_msg, /INSTALL_FAILED_ALREADY_EXISTS/);
    const [replaced] = await run('install', '-t -r obs://bucket-a/apps/hello-v1.apk');
    assert.equal(replaced.status, 2, JSON.stringify(replaced));
    const [removed] = await run('uninstall', 'com.opencph.hello');
    assert.equal(removed.status, 2);
    const [gone] = await run('shell', 'pm list packages -3');
    assert.doesNotMatch(gone.execute_msg, /com\.opencph\.hello/);
  });
});

describe('request errors', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['unknown command', { command: 'reboot', content: 'x' }, 'CPS.0117'],
    ['missing command', { content: 'x' }, 'CPS.0117'],
    ['empty content', { command: 'shell', content: '' }, 'CPS.0118'],
    ['content over 1,024 bytes', { command: 'shell', content: 'x'.repeat(1025) }, 'CPS.0118'],
    ['control characters', { command: 'shell', content: 'ls\u0007' }, 'CPS.0118'],
    ['install of a non-apk', { command: 'install', content: 'obs://b-1/app.zip' }, 'CPS.0119'],
    ['install of two apks', { command: 'install', content: 'obs://b-1/a.apk obs://b-1/b.apk' }, 'CPS.0118'],
    ['install-multiple of 51 apks', { command: 'install-multiple', content: Array.from({ length: 51 }, (_, i) => `obs://b-1/${i}.apk`).join(' ') }, 'CPS.0118'],
    ['install with an unknown flag', { command: 'install', content: '--evil obs://b-1/a.apk' }, 'CPS.0118'],
    ['push of a non-tar', { command: 'push', content: 'obs://b-1/file.zip' }, 'CPS.0118'],
    ['push without obs://', { command: 'push', content: 'http://example/file.tar' }, 'CPS.0118'],
    ['uninstall of a non-package', { command: 'uninstall', content: 'rm -rf /' }, 'CPS.0118'],
    ['no targets', { command: 'shell', content: 'id' }, 'CPS.0009'],
    ['phone_ids not a list', { command: 'shell', content: 'id', phone_ids: 'x' }, 'CPS.0080'],
    ['unknown server', { command: 'shell', content: 'id', server_ids: ['0'.repeat(32)] }, 'CPS.0094'],
  ];
  for (const [name, body, code] of cases) {
    test(`${name} → ${code}, no job`, async () => {
      const targets = code === 'CPS.0009' || 'phone_ids' in body || 'server_ids' in body ? {} : { phone_ids: [phones[0]] };
      const response = await call(t, 'POST', COMMANDS, { body: { ...targets, ...body } });
      expectError(response, code);
      const jobs = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${response.body.request_id}`);
      assert.equal(jobs.body.error_code, 'CPS.0050');
    });
  }

  test('per phone: malformed, unknown, another tenant\'s and a stopped phone get their codes; the rest run', async () => {
    const other = await t.createTenant('tenant-b');
    const theirs = await buyServers({ url: t.url, tenant: other });
    await t.server.store.db.updateTable('phones').set({ status: 8 }).where('id', '=', phones[2]).execute();
    const response = await call(t, 'POST', COMMANDS, {
      body: { command: 'shell', content: 'id', phone_ids: [phones[0], 'bad', 'f'.repeat(32), theirs.phoneIds[0], phones[2]] },
    });
    await t.server.store.db.updateTable('phones').set({ status: 2 }).where('id', '=', phones[2]).execute();
    assert.equal(response.status, 200);
    const [ok, bad, unknown, foreign, stopped] = response.body.jobs;
    assert.ok(ok.job_id);
    assert.equal(bad.error_code, 'CPS.0004');
    assert.equal(unknown.error_code, 'CPS.0005');
    assert.deepEqual(foreign, { ...unknown, phone_id: theirs.phoneIds[0] });
    assert.equal(stopped.error_code, 'CPS.0141');
  });
});

describe('sync commands', () => {
  test('results come back inline, with job ids that ShowJob knows', async () => {
    const response = await call(t, 'POST', SYNC, { body: { command: 'shell', content: 'getprop ro.serialno', phone_ids: phones.slice(0, 3) } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.jobs.length, 3);
    for (const job of response.body.jobs) {
      assert.equal(job.status, 2);
      assert.equal(job.error_code, '');
      assert.ok(job.execute_msg.trim().length > 0);
      const shown = await call(t, 'GET', `/v1/{project_id}/cloud-phone/jobs/${job.job_id}`);
      assert.equal(shown.body.status, 2);
      assert.equal(shown.body.execute_msg, job.execute_msg);
    }
  });

  test('a failing command: status -1, CPS.0191 and its output', async () => {
    const response = await call(t, 'POST', SYNC, { body: { command: 'shell', content: 'cat /nope', phone_ids: [phones[0]] } });
    const [job] = response.body.jobs;
    assert.equal(job.status, -1);
    assert.equal(job.error_code, 'CPS.0191');
    assert.equal(job.error_msg, 'Run command failed.');
    assert.match(job.execute_msg, /No such file or directory/);
  });

  test('a phone found off when its command comes to run (another job stopped it meanwhile): CPS.0141', async () => {
    const deps = t.server.services.commandDeps;
    const phoneId = phones[phones.length - 1];
    const spec = await phoneSpec((await deps.phones.load(phoneId))!, deps);
    await deps.driver.stop(spec); // the device is off while the store still says running
    try {
      const [job] = (await call(t, 'POST', SYNC, { body: { command: 'shell', content: 'id', phone_ids: [phoneId] } })).body.jobs;
      assert.deepEqual({ status: job.status, error_code: job.error_code }, { status: -1, error_code: 'CPS.0141' });
    } finally {
      await deps.driver.start(spec);
    }
  });

  test('only shell; at most 15 phones', async () => {
    expectError(await call(t, 'POST', SYNC, { body: { command: 'push', content: 'obs://b-1/a.tar', phone_ids: [phones[0]] } }), 'CPS.0117');
    const sixteen = Array.from({ length: 16 }, (_, i) => phones[i % phones.length]);
    expectError(await call(t, 'POST', SYNC, { body: { command: 'shell', content: 'id', phone_ids: sixteen } }), 'CPS.0190');
  });
});

describe('sync commands on a server with realistic durations', () => {
  let slow: TestServer;
  let phone: string;
  before(async () => {
    slow = await startTestServer({ env: { OPENCPH_SIM_TIME_SCALE: '0.05' } });
    phone = (await buyServers(slow)).phoneIds[0];
  });
  after(() => slow.close());

  test('a command running past 2 s is stopped: status -1, CPS.0054', async () => {
    const started = Date.now();
    const response = await call(slow, 'POST', SYNC, { body: { command: 'shell', content: 'sleep 600', phone_ids: [phone] } });
    assert.ok(Date.now() - started < 10_000);
    const [job] = response.body.jobs;
    assert.equal(job.status, -1);
    assert.equal(job.error_code, 'CPS.0054');
  });
});
