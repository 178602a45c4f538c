/**
 * `npm run bench [-- --quick]`: each figure is measured beside a baseline in the same run and printed
 * as a ratio, because the machines this runs on are shared and noisy. Writes bench/results.json.
 *
 * P1  ListCloudPhones (limit=100) with 10,000 phones stored: req/s vs a bare Fastify hello-world,
 *     same load tool (autocannon) and connections. On PGlite, and on PostgreSQL when DATABASE_URL is set.
 * P3  RunSyncCommand `getprop ro.product.model` on 15 phones, one call after another: p50/p99 latency vs
 *     the latency of GET /health on the same server (the HTTP round trip floor).
 * M1  Memory of a node holding idle phones: RSS growth per phone vs the RSS of the same server empty.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, spawnServer, stop } from '../test/helpers/process.ts';
import { call, createDatabase, getToken, purchaseBody, type Tenant } from '../test/helpers/server.ts';

const quick = process.argv.includes('--quick');
const PHONES = quick ? 2_000 : 10_000;
const DURATION_S = quick ? 5 : 10;
const CONNECTIONS = 50;

interface Row {
  id: string;
  store: 'pglite' | 'postgres';
  metric: string;
  value: number;
  baseline_name?: string;
  baseline?: number;
  ratio?: number;
  p50_ms?: number;
  p99_ms?: number;
  rss_mib?: number;
}

async function load(url: string, headers: Record<string, string> = {}): Promise<number> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers, timeout: 30 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

async function fastifyHello(): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('fastify-hello.ts', import.meta.url)), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  try {
    return await load(`http://127.0.0.1:${port}/`);
  } finally {
    child.kill();
  }
}

/** Fills the project with phones through the purchase API (100-phone servers, custom network). */
async function seed(target: { url: string; tenant: Tenant }, phones: number) {
  const already = (await call(target, 'GET', '/v1/{project_id}/cloud-phone/phones?limit=1')).body.count as number;
  phones -= already;
  for (let bought = 0; bought < phones; bought += 100) {
    const response = await call(target, 'POST', '/v2/{project_id}/cloud-phone/servers', {
      body: {
        server_name: 'bench',
        server_model_name: 'physical.kg1.4xlarge.cp',
        phone_model_name: 'kg1.cp.c100.d10SSD.e1v1',
        image_id: '20060220200717f201120a2300000e91',
        count: 1,
        band_width: { band_width_share_type: 0, band_width_size: 300, band_width_charge_mode: 0 },
        extend_param: { charging_mode: 0, period_type: 2, period_num: 1 },
        tenant_vpc_id: 'fca063f6-b942-42a8-9004-e5545f58d6a2',
        nics: [{ subnet_id: 'f1cbfc37-eb42-4357-a0ec-9e4f11950908' }],
        public_ip: { eip: { type: '5_bgp' } },
      },
    });
    if (response.status !== 200) throw new Error(`seeding failed: ${JSON.stringify(response.body)}`);
  }
  for (;;) {
    const page = await call(target, 'GET', '/v1/{project_id}/cloud-phone/phones?limit=1&status=2');
    if (page.body.count >= phones + already) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A server process of its own (fresh data dir, and a fresh database on PostgreSQL), with a token. */
async function withServer<T>(store: Row['store'], env: Record<string, string>, work: (target: { url: string; tenant: Tenant }, pid: number) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'opencph-bench-'));
  const database = store === 'postgres' ? await createDatabase(process.env.DATABASE_URL!) : undefined;
  // DATABASE_URL names the admin database the benchmark creates its own on; PGlite runs must not inherit it.
  const server = await spawnServer({ OPENCPH_DATA_DIR: dataDir, OPENCPH_SIM_TIME_SCALE: '0', ...env, DATABASE_URL: database?.url ?? '' });
  try {
    const c = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8'));
    const token = await getToken(server.url, c.domain_name, c.user_name, c.password, c.project_name);
    return await work({ url: server.url, tenant: { projectId: c.project_id, token } as Tenant }, server.child.pid!);
  } finally {
    await stop(server);
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function p1(store: Row['store']): Promise<Row> {
  return withServer(store, {}, async (target) => {
    await seed(target, PHONES);
    const baseline = await fastifyHello();
    const value = await load(`${target.url}/v1/${target.tenant.projectId}/cloud-phone/phones?limit=100`, { 'X-Auth-Token': target.tenant.token });
    return { id: 'P1', store, metric: 'req/s', value: round(value), baseline_name: 'fastify-hello', baseline: round(baseline), ratio: round(value / baseline) };
  });
}

/** Latencies in ms of `calls` requests made one after another. */
async function latencies(calls: number, request: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await request();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

function percentile(sorted: number[], p: number): number {
  return round(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]);
}

async function p3(store: Row['store']): Promise<Row> {
  return withServer(store, { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' }, async (target) => {
    const bought = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones', { body: purchaseBody() });
    const serverId = bought.body.server_ids[0];
    await until(async () => (await call(target, 'GET', `/v1/{project_id}/cloud-phone/phones?server_id=${serverId}&status=2`)).body.count === 15);
    const phoneIds = (await call(target, 'GET', `/v1/{project_id}/cloud-phone/phones?server_id=${serverId}`)).body.phones.map((p: { phone_id: string }) => p.phone_id);
    const body = { command: 'shell', content: 'getprop ro.product.model', phone_ids: phoneIds };
    const calls = quick ? 50 : 200;
    const sync = await latencies(calls, async () => {
      const response = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones/sync-commands', { body });
      if (response.status !== 200 || response.body.jobs.some((j: { status: number }) => j.status !== 2)) throw new Error(JSON.stringify(response.body));
    });
    const health = await latencies(calls, () => fetch(`${target.url}/health`).then((r) => r.text()));
    const p50 = percentile(sync, 50);
    return { id: 'P3', store, metric: 'ms', value: p50, p50_ms: p50, p99_ms: percentile(sync, 99), baseline_name: 'health-round-trip-p50', baseline: percentile(health, 50), ratio: round(p50 / percentile(health, 50)) };
  });
}

/** Resident memory of a process, in KiB, from /proc. */
function rssKib(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** RSS after the process has been idle a moment (timers and GC settle), lowest of three readings. */
async function settledRssKib(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    readings.push(rssKib(pid));
  }
  return Math.min(...readings);
}

async function m1(store: Row['store']): Promise<Row> {
  return withServer(store, {}, async (target, pid) => {
    // One small purchase first, so the empty figure already holds the code and caches phones use.
    await seed(target, 100);
    const empty = await settledRssKib(pid);
    await seed(target, PHONES + 100);
    const full = await settledRssKib(pid);
    const perPhone = ((full - empty) * 1024) / PHONES;
    return { id: 'M1', store, metric: 'bytes/phone', value: Math.round(perPhone), rss_mib: round(full / 1024), baseline_name: 'rss-empty-mib', baseline: round(empty / 1024), ratio: round(full / empty) };
  });
}

async function until(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 100));
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

const stores: Row['store'][] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
const rows: Row[] = [];
for (const store of stores) rows.push(await p1(store), await p3(store), await m1(store));
writeFileSync(new URL('results.json', import.meta.url), JSON.stringify(rows, null, 2) + '\n');
console.log(`\nOpenCPH benchmarks (${quick ? 'quick' : 'full'}: ${PHONES} phones, ${CONNECTIONS} connections, ${DURATION_S} s per load)`);
console.table(
  rows.map((r) => ({
    id: r.id,
    store: r.store,
    metric: r.metric,
    value: r.value,
    ...(r.p99_ms !== undefined && { p99_ms: r.p99_ms }),
    ...(r.rss_mib !== undefined && { rss_mib: r.rss_mib }),
    baseline: r.baseline_name ? `${r.baseline_name} ${r.baseline}` : '',
    ratio: r.ratio,
  })),
);
