import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, createDatabase, getToken, purchaseBody, type Tenant } from '../helpers/server.ts';
import { runCli, spawnServer, stop, type ServerProcess } from '../helpers/process.ts';

/**
 * The server as users run it: its own process, its data dir, killed and started again.
 * On PostgreSQL when OPENCPH_TEST_PG_URL is set, else PGlite in the data dir.
 */
let dataDir: string;
let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
let env: Record<string, string>;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'opencph-e2e-'));
  database = process.env.OPENCPH_TEST_PG_URL ? await createDatabase(process.env.OPENCPH_TEST_PG_URL) : undefined;
  env = {
    OPENCPH_DATA_DIR: dataDir,
    // Slow enough that a batch is still running when the process is killed; short leases so recovery is quick.
    OPENCPH_SIM_TIME_SCALE: '0.2',
    OPENCPH_JOB_LEASE_SECONDS: '1',
    ...(database && { DATABASE_URL: database.url }),
  };
});

after(async () => {
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function tenantOf(server: ServerProcess): Promise<{ url: string; tenant: Tenant }> {
  const c = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8'));
  const token = await getToken(server.url, c.domain_name, c.user_name, c.password, c.project_name);
  return { url: server.url, tenant: { domainName: c.domain_name, userName: c.user_name, password: c.password, projectId: c.project_id, projectName: c.project_name, ak: c.ak, sk: c.sk, token } };
}

async function jobsOf(target: { url: string; tenant: Tenant }, requestId: string) {
  const response = await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${requestId}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.jobs as Array<{ status: number; phone_id?: string }>;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a server process', { concurrency: false }, () => {
  let purchaseRequest: string;
  let restartRequest: string;

  test('prints its endpoint and credentials on first start, and writes credentials.json', async () => {
    const server = await spawnServer(env);
    try {
      const c = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8'));
      for (const key of ['endpoint', 'domain_name', 'user_name', 'password', 'project_id', 'project_name', 'ak', 'sk']) assert.ok(c[key], key);
      assert.match(c.project_id, /^[0-9a-f]{32}$/);
      assert.equal(c.endpoint, server.url);
      await until(async () => (server.output().includes(c.password) ? true : undefined), 5000);
      assert.match(server.output(), /curl/);
      const target = await tenantOf(server);
      const bought = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones', { body: purchaseBody({ count: 2 }) });
      assert.equal(bought.status, 200, JSON.stringify(bought.body));
      purchaseRequest = bought.body.request_id;
      await until(async () => ((await jobsOf(target, purchaseRequest)).every((j) => j.status === 2) ? true : undefined), 20_000);
    } finally {
      await stop(server);
    }
  });

  test('keeps its state and credentials across a restart', async () => {
    const server = await spawnServer(env);
    try {
      assert.match(server.output(), /reused/);
      const target = await tenantOf(server);
      const jobs = await jobsOf(target, purchaseRequest);
      assert.equal(jobs.length, 2);
      const phones = await call(target, 'GET', '/v1/{project_id}/cloud-phone/phones');
      assert.equal(phones.body.count, 30);
      assert.ok(phones.body.phones.every((p: { status: number }) => p.status === 2));
    } finally {
      await stop(server);
    }
  });

  test('opencph iam creates another tenant, who can log in and sees none of the first tenant\'s phones', async () => {
    for (const args of [
      ['iam', 'create-account', 'acme'],
      ['iam', 'create-user', 'acme', 'bob', '--password', 'bob-password-1'],
      ['iam', 'create-project', 'acme', 'cn-north-4'],
      ['iam', 'create-key', 'acme', 'bob', 'cn-north-4'],
    ]) {
      const result = await runCli(args, env);
      assert.equal(result.code, 0, result.output);
    }
    const duplicate = await runCli(['iam', 'create-account', 'acme'], env);
    assert.notEqual(duplicate.code, 0);
    assert.match(duplicate.output, /exists/);
    const server = await spawnServer(env);
    try {
      const token = await getToken(server.url, 'acme', 'bob', 'bob-password-1', 'cn-north-4');
      const projects = await fetch(`${server.url}/v3/projects`, { headers: { 'X-Auth-Token': token } }).then((r) => r.json());
      assert.equal(projects.projects.length, 1);
      const acme = { url: server.url, tenant: { projectId: projects.projects[0].id, token } as Tenant };
      const phones = await call(acme, 'GET', '/v1/{project_id}/cloud-phone/phones');
      assert.equal(phones.status, 200);
      assert.equal(phones.body.count, 0);
    } finally {
      await stop(server);
    }
  });

  test('a process killed mid-batch: after the next start every job ends and no phone stays restarting', async () => {
    let server = await spawnServer(env);
    const target = await tenantOf(server);
    const phones = await call(target, 'GET', '/v1/{project_id}/cloud-phone/phones');
    const restart = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-restart', {
      body: { phones: phones.body.phones.map((p: { phone_id: string }) => ({ phone_id: p.phone_id })) },
    });
    assert.equal(restart.status, 200);
    restartRequest = restart.body.request_id;
    assert.ok((await jobsOf(target, restartRequest)).some((j) => j.status === 1), 'the batch is still running');
    await stop(server, 'SIGKILL');

    server = await spawnServer(env);
    try {
      const again = { ...target, url: server.url };
      const jobs = await until(async () => {
        const current = await jobsOf(again, restartRequest);
        return current.every((j) => j.status !== 1) ? current : undefined;
      }, 30_000);
      assert.equal(jobs.length, 30);
      assert.ok(jobs.every((j) => j.status === 2 || j.status === -1));
      const after = await call(again, 'GET', '/v1/{project_id}/cloud-phone/phones');
      assert.deepEqual(after.body.phones.filter((p: { status: number }) => p.status === 4), []);
    } finally {
      await stop(server);
    }
  });
  test('what a phone stores (files, properties, packages) survives a restart of the process', async () => {
    const sync = (target: { url: string; tenant: Tenant }, phoneId: string, content: string) =>
      call(target, 'POST', '/v1/{project_id}/cloud-phone/phones/sync-commands', { body: { command: 'shell', content, phone_ids: [phoneId] } });
    let server = await spawnServer(env);
    let target = await tenantOf(server);
    const phoneId = (await call(target, 'GET', '/v1/{project_id}/cloud-phone/phones?limit=1&status=2')).body.phones[0].phone_id;
    try {
      const written = await sync(target, phoneId, 'echo kept > /data/local/tmp/note.txt && setprop persist.demo.flag on');
      assert.equal(written.body.jobs[0].status, 2, JSON.stringify(written.body));
    } finally {
      await stop(server);
    }
    server = await spawnServer(env);
    try {
      target = await tenantOf(server);
      const read = await sync(target, phoneId, 'cat /data/local/tmp/note.txt; getprop persist.demo.flag');
      assert.equal(read.body.jobs[0].execute_msg, 'kept\non\n');
    } finally {
      await stop(server);
    }
  });

  test('two processes on one PostgreSQL database: a change made through one shows in the other\'s phone list', { skip: !process.env.OPENCPH_TEST_PG_URL && 'PostgreSQL only' }, async () => {
    const secondDir = mkdtempSync(join(tmpdir(), 'opencph-e2e-second-'));
    const servers = [await spawnServer(env), await spawnServer({ ...env, OPENCPH_DATA_DIR: secondDir })];
    try {
      const [writer, reader] = await Promise.all(servers.map(tenantOf));
      const page = async () => (await call(reader, 'GET', '/v1/{project_id}/cloud-phone/phones?limit=1')).body.phones[0];
      const phone = await page();
      assert.deepEqual(await page(), phone, 'the reader now holds the page in memory');
      assert.equal((await call(writer, 'PUT', `/v1/{project_id}/cloud-phone/phones/${phone.phone_id}`, { body: { phone_name: 'renamed-elsewhere' } })).status, 200);
      // Another process's commit is heard through PostgreSQL's notifications, within milliseconds.
      await until(async () => ((await page()).phone_name === 'renamed-elsewhere' ? true : undefined), 5000);
    } finally {
      await Promise.all(servers.map((server) => stop(server)));
      rmSync(secondDir, { recursive: true, force: true });
    }
  });
});

test('invalid configuration: a clear message and a non-zero exit', async () => {
  for (const [name, value] of [['PORT', 'eighty'], ['OPENCPH_SIM_TIME_SCALE', '-1'], ['LOG_LEVEL', 'loud'], ['DATABASE_URL', 'mysql://x']]) {
    const result = await runCli(['serve'], { [name]: value, OPENCPH_DATA_DIR: join(tmpdir(), 'opencph-never-created') });
    assert.notEqual(result.code, 0, name);
    assert.match(result.output, new RegExp(name.replace(/_/g, '_')), result.output);
  }
});
