/**
 * `npm run bench [-- --quick]`: each figure is measured beside a baseline in the same run and printed
 * as a ratio, because the machines this runs on are shared and noisy. Writes bench/results.json.
 *
 * P1  ListCloudPhones (limit=100) with 10,000 phones stored: req/s vs a bare Fastify hello-world,
 *     same load tool (autocannon) and connections, loaded in alternating rounds. On PGlite, and on
 *     PostgreSQL when DATABASE_URL is set.
 * P2  RestartCloudPhone on every one of those phones (100 requests of 100 phones) at OPENCPH_SIM_TIME_SCALE=0:
 *     time from the first request until no phone is restarting any more; jobs/s.
 * P3  RunSyncCommand `getprop ro.product.model` on 15 phones, one call after another: p50/p99 latency vs
 *     the latency of GET /health on the same server (the HTTP round trip floor).
 * P4  A node holding 100,000 phones: RSS, and ListCloudPhones (limit=100) p99 over filtered queries
 *     (status, server, name, type), one after another, vs the p99 of GET /health on the same server.
 * P5  Cold start with those 100,000 phones stored: process spawn → first 200 from /health, vs the same
 *     with an empty store.
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
const CONNECTIONS = 50;
/** P1's load alternates between the route and its baselines this many times, for this long each. */
const LOAD_ROUNDS = 3;
const LOAD_ROUND_S = quick ? 2 : 4;
const LARGE_PHONES = quick ? 5_000 : 100_000;
/** One account holds every phone of a benchmark: far past the default quotas (DEFAULT_QUOTAS, src/core/quotas.ts). */
const BENCH_QUOTAS = { OPENCPH_QUOTA_PHONES: String(2 * LARGE_PHONES), OPENCPH_QUOTA_SERVERS: String(LARGE_PHONES / 50), OPENCPH_QUOTA_JOBS: String(2 * LARGE_PHONES) };
const bin = fileURLToPath(new URL('../bin/opencph.js', import.meta.url));

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
  seconds?: number;
  ceiling_name?: string;
  ceiling?: number;
  ceiling_ratio?: number;
}

async function load(url: string, headers: Record<string, string>, durationS: number): Promise<number> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: durationS, headers, timeout: 30 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

/**
 * req/s of the route at `url`, and of the bare Fastify baselines: its hello-world, and the same page as
 * `page` served as fixed bytes. The three are loaded in turn, LOAD_ROUNDS times, and each figure is the mean
 * of its rounds: what the neighbours on a shared machine do in one stretch of seconds then weighs on all three.
 */
async function withFastifyBaselines(page: string, url: string, headers: Record<string, string>): Promise<{ value: number; hello: number; staticPage: number }> {
  const port = await freePort();
  const pageFile = join(mkdtempSync(join(tmpdir(), 'opencph-bench-page-')), 'page.json');
  writeFileSync(pageFile, page);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('fastify-hello.ts', import.meta.url)), String(port), pageFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  try {
    // Not counted: the route's first seconds (its code is optimised, and the store's maintenance after the
    // seeding purchases runs; on PGlite that is in this process).
    await load(url, headers, LOAD_ROUND_S);
    const sums = { value: 0, hello: 0, staticPage: 0 };
    for (let round = 0; round < LOAD_ROUNDS; round++) {
      sums.hello += await load(`http://127.0.0.1:${port}/`, {}, LOAD_ROUND_S);
      sums.value += await load(url, headers, LOAD_ROUND_S);
      sums.staticPage += await load(`http://127.0.0.1:${port}/page`, {}, LOAD_ROUND_S);
    }
    return { value: sums.value / LOAD_ROUNDS, hello: sums.hello / LOAD_ROUNDS, staticPage: sums.staticPage / LOAD_ROUNDS };
  } finally {
    child.kill();
    rmSync(pageFile, { force: true });
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
  const server = await spawnServer({ OPENCPH_DATA_DIR: dataDir, OPENCPH_SIM_TIME_SCALE: '0', ...BENCH_QUOTAS, ...env, DATABASE_URL: database?.url ?? '' });
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
    const url = `${target.url}/v1/${target.tenant.projectId}/cloud-phone/phones?limit=100`;
    const headers = { 'X-Auth-Token': target.tenant.token };
    const page = await (await fetch(url, { headers })).text();
    const { value, ...baselines } = await withFastifyBaselines(page, url, headers);
    return {
      id: 'P1',
      store,
      metric: 'req/s',
      value: round(value),
      baseline_name: 'fastify-hello',
      baseline: round(baselines.hello),
      ratio: round(value / baselines.hello),
      // The ceiling for this response size: the same bytes served by bare Fastify with no work at all.
      ceiling_name: 'fastify-static-page',
      ceiling: round(baselines.staticPage),
      ceiling_ratio: round(value / baselines.staticPage),
    };
  });
}

async function p2(store: Row['store']): Promise<Row> {
  return withServer(store, {}, async (target) => {
    await seed(target, PHONES);
    const ids: string[] = [];
    for (let offset = 0; offset < PHONES; offset += 200) {
      const page = await call(target, 'GET', `/v1/{project_id}/cloud-phone/phones?limit=200&offset=${offset}`);
      ids.push(...page.body.phones.map((p: { phone_id: string }) => p.phone_id));
    }
    const started = performance.now();
    for (let i = 0; i < ids.length; i += 100) {
      const phones = ids.slice(i, i + 100).map((phone_id) => ({ phone_id }));
      const response = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-restart', { body: { phones } });
      if (response.status !== 200) throw new Error(JSON.stringify(response.body));
    }
    // A restarting phone is at 4 from its request until its job closes (2, or -6).
    await until(async () => (await call(target, 'GET', '/v1/{project_id}/cloud-phone/phones?limit=1&status=4')).body.count === 0);
    const seconds = (performance.now() - started) / 1000;
    return { id: 'P2', store, metric: 'jobs/s', value: round(ids.length / seconds), seconds: round(seconds) };
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

/** Seconds from spawning `opencph serve` until /health first answers 200; the process is stopped after. */
async function coldStart(env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'serve'], { env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) }, stdio: 'ignore' });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false)) return round((performance.now() - started) / 1000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }
}

async function p4p5(store: Row['store']): Promise<Row[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'opencph-bench-'));
  const database = store === 'postgres' ? await createDatabase(process.env.DATABASE_URL!) : undefined;
  const env = { OPENCPH_DATA_DIR: dataDir, OPENCPH_SIM_TIME_SCALE: '0', ...BENCH_QUOTAS, DATABASE_URL: database?.url ?? '' };
  try {
    await stop(await spawnServer(env, 120_000)); // creates the store, so the timed starts below only open it
    const emptyStart = await coldStart(env);
    const server = await spawnServer(env, 120_000);
    let p4: Row;
    try {
      const c = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8'));
      const target = { url: server.url, tenant: { projectId: c.project_id, token: await getToken(server.url, c.domain_name, c.user_name, c.password, c.project_name) } as Tenant };
      await seed(target, LARGE_PHONES);
      const rss = await settledRssKib(server.child.pid!);
      const servers = (await call(target, 'GET', '/v1/{project_id}/cloud-phone/servers?limit=100')).body.servers.map((s: { server_id: string }) => s.server_id);
      const filters = ['status=2', 'type=0', 'phone_name=bench', ...servers.slice(0, 10).map((id: string) => `server_id=${id}`)];
      const calls = quick ? 100 : 300;
      const list = await latencies(calls, async () => {
        const filter = filters[Math.floor(Math.random() * filters.length)];
        const response = await call(target, 'GET', `/v1/{project_id}/cloud-phone/phones?limit=100&${filter}`);
        if (response.status !== 200) throw new Error(JSON.stringify(response.body));
      });
      const health = await latencies(calls, () => fetch(`${target.url}/health`).then((r) => r.text()));
      const p99 = percentile(list, 99);
      p4 = { id: 'P4', store, metric: 'ms', value: p99, p99_ms: p99, p50_ms: percentile(list, 50), rss_mib: round(rss / 1024), baseline_name: 'health-round-trip-p99', baseline: percentile(health, 99), ratio: round(p99 / percentile(health, 99)) };
    } finally {
      await stop(server);
    }
    const fullStart = await coldStart(env);
    const p5: Row = { id: 'P5', store, metric: 's', value: fullStart, seconds: fullStart, baseline_name: 'cold-start-empty-s', baseline: emptyStart, ratio: round(fullStart / emptyStart) };
    return [p4, p5];
  } finally {
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function until(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 100));
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

const stores: Row['store'][] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
const rows: Row[] = [];
const single = (run: (store: Row['store']) => Promise<Row>) => async (store: Row['store']) => [await run(store)];
const benchmarks: Record<string, (store: Row['store']) => Promise<Row[]>> = { P1: single(p1), P2: single(p2), P3: single(p3), 'P4,P5': p4p5, M1: single(m1) };
// `--only P2,P3` runs a subset (when working on one figure).
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
for (const store of stores) {
  for (const [ids, run] of Object.entries(benchmarks)) if (!only || ids.split(',').some((id) => only.includes(id))) rows.push(...(await run(store)));
}
writeFileSync(new URL('results.json', import.meta.url), JSON.stringify(rows, null, 2) + '\n');
console.log(`\nOpenCPH benchmarks (${quick ? 'quick' : 'full'}: ${PHONES} phones, ${LARGE_PHONES} for P4/P5, ${CONNECTIONS} connections, P1 loads in ${LOAD_ROUNDS} rounds of ${LOAD_ROUND_S} s)`);
console.table(
  rows.map((r) => ({
    id: r.id,
    store: r.store,
    metric: r.metric,
    value: r.value,
    ...(r.p50_ms !== undefined && { p50_ms: r.p50_ms }),
    ...(r.p99_ms !== undefined && { p99_ms: r.p99_ms }),
    ...(r.rss_mib !== undefined && { rss_mib: r.rss_mib }),
    ...(r.seconds !== undefined && { seconds: r.seconds }),
    baseline: r.baseline_name ? `${r.baseline_name} ${r.baseline}` : '',
    ratio: r.ratio,
    ...(r.ceiling_name && { ceiling: `${r.ceiling_name} ${r.ceiling} (ratio ${r.ceiling_ratio})` }),
  })),
);
