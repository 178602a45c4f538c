/**
 * `npm run bench [-- --quick]`: each figure is measured beside a baseline in the same run and printed
 * as a ratio, because the machines this runs on are shared and noisy. Writes bench/results.json.
 *
 * P1  ListCloudPhones (limit=100) with 10,000 phones stored: req/s vs a bare Fastify hello-world,
 *     same load tool (autocannon) and connections. On PGlite, and on PostgreSQL when DATABASE_URL is set.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, spawnServer, stop } from '../test/helpers/process.ts';
import { call, createDatabase, getToken, type Tenant } from '../test/helpers/server.ts';
import { readFileSync } from 'node:fs';

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
}

async function load(url: string, headers: Record<string, string> = {}): Promise<number> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers });
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
    if (page.body.count >= phones) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function p1(store: Row['store']): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'opencph-bench-'));
  const database = store === 'postgres' ? await createDatabase(process.env.DATABASE_URL!) : undefined;
  const server = await spawnServer({ OPENCPH_DATA_DIR: dataDir, OPENCPH_SIM_TIME_SCALE: '0', ...(database && { DATABASE_URL: database.url }) });
  try {
    const c = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8'));
    const token = await getToken(server.url, c.domain_name, c.user_name, c.password, c.project_name);
    const target = { url: server.url, tenant: { projectId: c.project_id, token } as Tenant };
    await seed(target, PHONES);
    const baseline = await fastifyHello();
    const value = await load(`${server.url}/v1/${c.project_id}/cloud-phone/phones?limit=100`, { 'X-Auth-Token': token });
    return { id: 'P1', store, metric: 'req/s', value, baseline_name: 'fastify-hello', baseline, ratio: round(value / baseline) };
  } finally {
    await stop(server);
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

const rows: Row[] = [await p1('pglite')];
if (process.env.DATABASE_URL) rows.push(await p1('postgres'));
writeFileSync(new URL('results.json', import.meta.url), JSON.stringify(rows, null, 2) + '\n');
console.log(`\nOpenCPH benchmarks (${quick ? 'quick' : 'full'}: ${PHONES} phones, ${CONNECTIONS} connections, ${DURATION_S} s per load)`);
console.table(rows.map((r) => ({ id: r.id, store: r.store, metric: r.metric, value: Math.round(r.value), baseline: r.baseline_name ? `${r.baseline_name} ${Math.round(r.baseline!)}` : '', ratio: r.ratio })));
