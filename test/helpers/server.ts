import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.ts';
import { migrate, openStore, type Store } from '../../src/store/db.ts';
import { StoreChanges } from '../../src/store/changes.ts';
import { pgliteDialect } from '../../src/store/pglite-dialect.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import type { Clock } from '../../src/core/runtime.ts';
import type { Resolver } from '../../src/objects/http-download.ts';
import type { DriverRegistry } from '../../src/devices/registry.ts';
import { signWithOfficialSigner } from './sign.ts';

/**
 * Test servers: real HTTP on 127.0.0.1, sim phones at time scale 0, on PGlite (a migrated snapshot, so
 * no initdb per test) or, when OPENCPH_TEST_PG_URL is set (npm run test:pg), on a fresh PostgreSQL database.
 */
export interface TestServer {
  url: string;
  server: RunningServer;
  /** The default tenant created at first start. */
  tenant: Tenant;
  /** Another account with its own user, project and key. */
  createTenant(name: string): Promise<Tenant>;
  close(): Promise<void>;
}

export interface Tenant {
  domainName: string;
  userName: string;
  password: string;
  projectId: string;
  projectName: string;
  ak: string;
  sk: string;
  token: string;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  clock?: Clock;
  /** Stands in for DNS in downloads. */
  resolver?: Resolver;
  /** The device drivers phones may name: src/devices/registry.ts's unless told. */
  drivers?: DriverRegistry;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'opencph-test-'));
  const adminUrl = process.env.OPENCPH_TEST_PG_URL;
  const database = adminUrl ? await createDatabase(adminUrl) : undefined;
  const config: Config = loadConfig({
    PORT: '0',
    OPENCPH_DATA_DIR: dataDir,
    OPENCPH_SIM_TIME_SCALE: '0',
    LOG_LEVEL: 'warn',
    OPENCPH_DOMAIN_NAME: 'tenant-a',
    OPENCPH_USER_NAME: 'alice',
    OPENCPH_PASSWORD: 'alice-password-1',
    ...(database && { DATABASE_URL: database.url }),
    ...options.env,
  });
  const server = await startServer(config, {
    pgliteSnapshot: database ? undefined : await pgliteTemplate(),
    clock: options.clock,
    resolver: options.resolver,
    drivers: options.drivers,
  }).catch(async (error: unknown) => {
    // A start refused (a test of the configuration) leaves nothing behind.
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  const c = server.credentials!;
  const tenant: Tenant = {
    domainName: c.domain_name,
    userName: c.user_name,
    password: c.password,
    projectId: c.project_id,
    projectName: c.project_name,
    ak: c.ak,
    sk: c.sk,
    token: await getToken(server.url, c.domain_name, c.user_name, c.password, c.project_name),
  };
  return {
    url: server.url,
    server,
    tenant,
    async createTenant(name) {
      const iam = server.services.iam;
      await iam.createDomain(name);
      const user = await iam.createUser(name, 'user', `${name}-password-1`);
      const project = await iam.createProject(name, 'cn-north-4');
      const key = await iam.createAccessKey(name, 'user', 'cn-north-4');
      return {
        domainName: name,
        userName: 'user',
        password: user.password,
        projectId: project.id,
        projectName: project.name,
        ...key,
        token: await getToken(server.url, name, 'user', user.password, project.name),
      };
    },
    async close() {
      await server.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function getToken(url: string, domain: string, user: string, password: string, project: string): Promise<string> {
  const response = await fetch(`${url}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: { identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: domain } } } }, scope: { project: { name: project } } },
    }),
  });
  if (response.status !== 201) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return response.headers.get('x-subject-token')!;
}

/**
 * Puts an object in a bucket of the tenant's account, as `opencph objects put` does: `data` itself, or
 * what `write` writes to the file it is given. Its obs:// URL.
 */
export async function putObject(target: TestServer, tenant: Tenant, bucket: string, key: string, data: Buffer | ((file: string) => Promise<unknown>)): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'opencph-test-object-'));
  try {
    const file = join(dir, 'object');
    if (Buffer.isBuffer(data)) writeFileSync(file, data);
    else await data(file);
    await (await target.server.services.commandDeps.objects.forProject(tenant.projectId)).upload(bucket, key, file);
    return `obs://${bucket}/${key}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Who calls: a test server and the tenant whose token and project are used. */
export type Target = { url: string; tenant: Tenant };

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** One HTTP call with a token (default: the tenant's) or, with `sign`, an AK/SK signature by the official signer. */
export async function call<T = any>(
  target: { url: string; tenant: Tenant },
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; sign?: Tenant; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const url = `${target.url}${path.replace('{project_id}', target.tenant.projectId)}`;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  let headers: Record<string, string> = { ...(body !== undefined && { 'Content-Type': 'application/json' }), ...options.headers };
  if (options.sign) {
    headers = signWithOfficialSigner({ method, url, headers, body, ak: options.sign.ak, sk: options.sign.sk });
  } else if (options.token !== null) {
    headers['X-Auth-Token'] = options.token ?? target.tenant.token;
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** Polls a job until it is no longer running (status 1). */
export async function waitForJob(target: { url: string; tenant: Tenant }, jobId: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs/${jobId}`);
    if (response.status !== 200) throw new Error(`job ${jobId}: ${response.status} ${JSON.stringify(response.body)}`);
    if (response.body.status !== 1) return response.body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits for the jobs of a batch answer's entries; refused entries (no job_id) are skipped. */
export async function waitForJobs(target: Target, entries: Array<{ job_id?: string }>) {
  return Promise.all(entries.filter((entry) => entry.job_id).map((entry) => waitForJob(target, entry.job_id!)));
}

/** GetCloudPhoneServerDetail, which must answer 200: the server. */
export async function serverDetail(target: Target, serverId: string) {
  const response = await call(target, 'GET', `/v1/{project_id}/cloud-phone/servers/${serverId}`);
  if (response.status !== 200) throw new Error(`server ${serverId}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** GetCloudPhoneDetail, which must answer 200: the phone. */
export async function phoneDetail(target: Target, phoneId: string) {
  const response = await call(target, 'GET', `/v1/{project_id}/cloud-phone/phones/${phoneId}`);
  if (response.status !== 200) throw new Error(`phone ${phoneId}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export const phoneStatus = async (target: Target, phoneId: string): Promise<number> => (await phoneDetail(target, phoneId)).status;

/** ListCloudPhones of one server, which must answer 200: its phones in slot order (by name). */
export async function phonesOf(target: Target, serverId: string): Promise<Array<Record<string, any>>> {
  const response = await call(target, 'GET', `/v1/{project_id}/cloud-phone/phones?server_id=${serverId}&limit=200`);
  if (response.status !== 200) throw new Error(`phones of ${serverId}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.phones.sort((a: { phone_name: string }, b: { phone_name: string }) => a.phone_name.localeCompare(b.phone_name));
}

/** Sets a phone's status in the store: no API puts a phone in some states (or not in one step). */
export function setPhoneStatus(target: TestServer, phoneId: string, status: number) {
  return target.server.store.db.updateTable('phones').set({ status }).where('id', '=', phoneId).execute();
}

/** A v1 purchase body that succeeds (the documented example, on a flavor with few phones). */
export function purchaseBody(overrides: Record<string, unknown> = {}) {
  return {
    server_name: 'test-server',
    server_model_name: 'physical.rx1.xlarge',
    phone_model_name: 'rx1.cp.c15.d46.e1v1',
    image_id: '88b8449b896f3a4f0ad57222dd919899',
    count: 1,
    keypair_name: 'mykeypair',
    ports: [
      { name: 'myServer1', listen_port: 20000, internet_accessible: 'false' },
      { name: 'myServer2', listen_port: 20001, internet_accessible: 'true' },
    ],
    band_width: { band_width_share_type: 0 },
    extend_param: { charging_mode: 0, period_type: 2, period_num: 1, is_auto_pay: 1 },
    ...overrides,
  };
}

/**
 * Buys servers with a v1 purchase and waits for its jobs, which must all succeed unless `failures` says
 * they may not (a test that injected a creation fault); the request id, servers and phones.
 */
export async function buyServers(target: { url: string; tenant: Tenant }, overrides: Record<string, unknown> = {}, options: { failures?: 'allowed' } = {}) {
  const bought = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones', { body: purchaseBody(overrides) });
  if (bought.status !== 200) throw new Error(`purchase failed: ${JSON.stringify(bought.body)}`);
  const jobs = await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${bought.body.request_id}`);
  if (jobs.status !== 200 || jobs.body.jobs.length === 0) throw new Error(`the purchase's jobs: ${jobs.status} ${JSON.stringify(jobs.body)}`);
  for (const job of jobs.body.jobs) {
    const done = await waitForJob(target, job.job_id);
    if (done.status !== 2 && options.failures !== 'allowed') throw new Error(`purchase job ${job.job_id} failed: ${JSON.stringify(done)}`);
  }
  const serverIds: string[] = bought.body.server_ids;
  const phoneIds: string[] = [];
  for (const serverId of serverIds) {
    const phones = await call(target, 'GET', `/v1/{project_id}/cloud-phone/phones?server_id=${serverId}`);
    phoneIds.push(...phones.body.phones.map((p: { phone_id: string }) => p.phone_id));
  }
  return { requestId: bought.body.request_id as string, serverIds, phoneIds };
}

/** A migrated store of its own: a fresh PostgreSQL database under test:pg, else PGlite from the template. */
export async function openTestStore(): Promise<Store> {
  const adminUrl = process.env.OPENCPH_TEST_PG_URL;
  if (!adminUrl) return openStore({ pgliteSnapshot: await pgliteTemplate() });
  const database = await createDatabase(adminUrl);
  const store = await openStore({ databaseUrl: database.url });
  return { ...store, close: async () => (await store.close(), await database.drop()) };
}

/** A migrated PGlite data dir, built once per machine and schema and shared by every test file. */
export async function pgliteTemplate(): Promise<Blob> {
  const migrationsDir = new URL('../../src/store/migrations/', import.meta.url);
  const hash = createHash('sha256');
  // Names count too: migrations are recorded by name, so a renumbered file needs a new template.
  for (const name of readdirSync(migrationsDir).sort()) hash.update(`${name}\0`).update(readFileSync(new URL(name, migrationsDir)));
  const file = join(tmpdir(), `opencph-pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
  if (!existsSync(file)) {
    const lite = await PGlite.create();
    const db = new Kysely<never>({ dialect: pgliteDialect(lite, new StoreChanges()) });
    await migrate(db as never);
    const dump = await lite.dumpDataDir('none');
    await db.destroy();
    const partial = `${file}.${randomBytes(4).toString('hex')}`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, file);
  }
  return new Blob([readFileSync(file)]);
}

export async function createDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `opencph_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
