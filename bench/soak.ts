/**
 * `npm run soak [-- --minutes 10 --concurrency 100 --drain-seconds 60 --time-scale 0.01]` (R5): a server
 * process under a steady mixed load for a long while, to show what only time shows: leaks, latency that
 * creeps up, jobs that never end, errors that come one in ten thousand.
 *
 * One `opencph serve` process (PGlite, or PostgreSQL on a database of its own when DATABASE_URL names a
 * server it may create one on) with a fleet of base servers and KooPhone instances. `concurrency` clients
 * then send, one request after another each, a weighted mix of what users of both APIs do: list and read
 * phones, servers and jobs, run shell commands (synchronous, rate limit lifted, and asynchronous), restart,
 * reset and stop phones, buy servers and delete them again, query KooPhone instances and run their commands.
 * Phones take a scaled realistic time for each operation (`--time-scale`, 0.01: a restart lasts 150 ms), so
 * operations overlap and meet phones in every state, and deletions race with the jobs of the phones they
 * remove.
 *
 * Per minute: requests, unexpected errors, p50/p99 latency, the server's RSS. At the end: errors by route and
 * code; p99 and RSS drift (last minute against the first); after the load stops and a drain period, every job
 * and phone of the store, read from the store once the server has stopped. The exit code is 1 when a request
 * failed unexpectedly, a job failed for a reason the mix does not explain (EXPECTED_JOB_FAILURES), a job is
 * still at status 1 or a phone still in a transitional status after the drain, or RSS grew past
 * RSS_GROWTH_LIMIT_MIB. Writes bench/soak-results.json (one entry per store) and prints tables.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openStore } from '../src/store/db.ts';
import { PHONE_STATUS } from '../src/core/model.ts';
import { MAX_REQUEST_IDS } from '../src/core/jobs.ts';
import { defaultTenant, spawnServer, stop } from '../test/helpers/process.ts';
import { buyServers, createDatabase, purchaseBody, type Tenant } from '../test/helpers/server.ts';
import { createBody, waitRunning } from '../test/helpers/koophone.ts';
import { envelopeProblem, isRefusal, pool, send, tokenHeaders, type ApiAnswer, type Family } from '../test/reliability/harness.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '100' },
    'drain-seconds': { type: 'string', default: '60' },
    'time-scale': { type: 'string', default: '0.01' },
  },
});
const MINUTES = Number(args.minutes);
const CONCURRENCY = Number(args.concurrency);
const DRAIN_MS = Number(args['drain-seconds']) * 1000;
const TIME_SCALE = args['time-scale']!;
if (!(MINUTES > 0) || !(CONCURRENCY >= 1) || !(DRAIN_MS >= 0)) throw new Error('--minutes and --concurrency must be positive, --drain-seconds not negative');

const store = process.env.DATABASE_URL ? 'postgres' : 'pglite';
/** The fleet the load works on: base servers of 15 phones, and KooPhone instances on phones of their own servers. */
const BASE_SERVERS = 10;
const INSTANCES = 20;
/** Servers bought during the soak that are not deleted yet, at most: purchases and deletions keep the fleet level. */
const MAX_CHURN_SERVERS = 4;
/**
 * RSS may grow from the first minute's median to the last minute's by at most this much. The load keeps the
 * live state level (the same phones, give or take the few churn servers), so memory that follows the number of
 * requests served rather than what is stored is a leak. Legitimate growth on PostgreSQL: V8's old space, which
 * the collector lets rise some tens of MiB above the live heap before a full collection (within one minute
 * RSS ranges over 40–110 MiB here; the medians of the 12 samples a minute move far less). 64 MiB
 * is past that, and a leak of 1 KiB per request crosses it within 10 minutes at the ~130 requests/s this
 * machine serves (a 2-minute run only catches leaks about 8 times larger).
 * PGlite runs inside the server process: its page cache (shared_buffers, 128 MB) fills as the tables grow,
 * and without autovacuum every row update adds pages, so on PGlite that cache is allowed on top.
 */
const RSS_GROWTH_LIMIT_MIB = store === 'pglite' ? 64 + 128 : 64;
const RSS_SAMPLE_MS = 5_000;
/**
 * Why a job may fail under this mix without anything being wrong: its phone was deleted with its server
 * before the job ran (CPS.0005), or a command met its phone stopped or restarting, after an operation queued
 * before it (CPS.0141). A job failing with any other code is counted as an error.
 */
const EXPECTED_JOB_FAILURES = ['CPS.0005', 'CPS.0141'];
const MINUTE_MS = 60_000;

const T = PHONE_STATUS;
const TRANSITIONAL_PHONE_STATUSES: number[] = [T.beingCreated, T.creating, T.resetting, T.restarting, T.stopping];

// ---------------------------------------------------------------------------------------------------
// What the clients know of the fleet

const fleet = {
  /** phone id → its server id, from the phone lists read so far (phones of deleted servers included). */
  phones: new Map<string, string>(),
  servers: new Set<string>(),
  /** Servers bought during the soak (may be deleted), and those deleted. */
  churn: new Set<string>(),
  gone: new Set<string>(),
  /** Purchases sent and not answered yet, so that the churn cap counts them. */
  purchasing: 0,
  instances: [] as string[],
  /** Requests (and KooPhone tasks) that started jobs, waited for after the load; the latest ones, for the job queries. */
  jobRequests: new Set<string>(),
  recentJobs: [] as string[],
  recentRequests: [] as string[],
  recentTasks: [] as string[],
};

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];
const sample = <T>(items: readonly T[], n: number): T[] => Array.from({ length: n }, () => pick(items));
const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

function remember(list: string[], id: string) {
  list.push(id);
  if (list.length > 1000) list.splice(0, list.length - 1000);
}

/**
 * The jobs an accepted request started (`unlisted`: it started some that its answer does not list, a
 * purchase). A request whose every item was refused started none and has none to list (CPS.0050).
 */
function jobsStarted(requestId: string, jobIds: Array<string | undefined>, unlisted = false): boolean {
  const ids = jobIds.filter((id): id is string => id !== undefined);
  for (const id of ids) remember(fleet.recentJobs, id);
  minute().jobs += ids.length;
  if (ids.length === 0 && !unlisted) return false;
  fleet.jobRequests.add(requestId);
  return true;
}

function learnPhones(phones: Array<{ phone_id: string; server_id: string }>) {
  for (const phone of phones) {
    if (fleet.phones.get(phone.phone_id) === phone.server_id) continue;
    fleet.phones.set(phone.phone_id, phone.server_id);
    live = undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Requests and what they are counted as

interface Minute {
  requests: number;
  errors: number;
  latencies: number[];
  rss: number[];
  jobs: number;
}

const minutes: Minute[] = [];
let loadStarted = 0;
const minute = (at = performance.now()): Minute => {
  const index = Math.max(0, Math.min(Math.ceil(MINUTES) - 1, Math.floor((at - loadStarted) / MINUTE_MS)));
  return (minutes[index] ??= { requests: 0, errors: 0, latencies: [], rss: [], jobs: 0 });
};

/** Unexpected errors by route and code, with one example each; refusals that are the business answer, by route and code. */
const errors = new Map<string, { route: string; code: string; count: number; example: string }>();
const refusals = new Map<string, number>();
/** Latencies of the whole load, by route; the slowest requests, with when they were sent. */
const routeLatencies = new Map<string, number[]>();
const slowest: Array<{ route: string; sent_at_s: number; ms: number; status: number }> = [];
/** Per-item refusals inside 200 answers (batches, commands), by route and code: the state of the phones, not faults. */
const itemRefusals = new Map<string, number>();
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

function recordError(route: string, code: string, example: string) {
  const key = `${route} ${code}`;
  const entry = errors.get(key) ?? { route, code, count: 0, example };
  entry.count++;
  errors.set(key, entry);
  minute().errors++;
}

let target: { url: string; tenant: Tenant };

/**
 * One request of the mix, timed and classified: its answer when accepted, else undefined. A refusal is the
 * business answer when `expected` says so for its code (a resource another client deleted a moment ago);
 * any other refusal, an error answer outside its family's envelope, or a failed connection is an error.
 */
async function hit(
  route: string,
  family: Family,
  method: string,
  path: string,
  body?: unknown,
  expected?: (code: string, status: number) => boolean,
): Promise<ApiAnswer | undefined> {
  const headers: Record<string, string> = { ...tokenHeaders(target.tenant), ...(body !== undefined && { 'Content-Type': 'application/json' }) };
  const started = performance.now();
  const answer = await send(target.url, { method, target: path.replace('{project_id}', target.tenant.projectId), headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const ended = performance.now();
  const m = minute(ended);
  m.requests++;
  m.latencies.push(ended - started);
  if (!routeLatencies.has(route)) routeLatencies.set(route, []);
  routeLatencies.get(route)!.push(ended - started);
  if (slowest.length < 10 || ended - started > slowest[slowest.length - 1].ms) {
    slowest.push({ route, sent_at_s: round((started - loadStarted) / 1000), ms: round(ended - started), status: answer.status });
    slowest.sort((a, b) => b.ms - a.ms).splice(10);
  }
  if (answer.status === 0) {
    recordError(route, `transport: ${answer.text.slice(0, 80)}`, answer.text);
    return undefined;
  }
  if (!isRefusal(family, answer)) return answer;
  const code = typeof answer.json?.error_code === 'string' ? answer.json.error_code : '-';
  const problem = envelopeProblem(family, answer);
  if (problem) recordError(route, `${answer.status} ${code} (${problem})`, answer.text.slice(0, 300));
  else if (expected?.(code, answer.status)) count(refusals, `${route} ${answer.status} ${code}`);
  else recordError(route, `${answer.status} ${code}`, `${method} ${path} → ${answer.text.slice(0, 300)}`);
  return undefined;
}

/** Counts the per-item refusals of a 200 answer (items carrying an error_code). */
function items(route: string, entries: Array<{ error_code?: string }>) {
  for (const entry of entries) if (entry.error_code) count(itemRefusals, `${route} ${entry.error_code}`);
}

// ---------------------------------------------------------------------------------------------------
// The mix

const CPH = '/v1/{project_id}/cloud-phone';
const SHELL = ['getprop ro.product.model', 'getprop ro.build.version.release', 'ls /sdcard', 'echo soak', 'pm list packages', 'cat /proc/meminfo', 'df /data'];

/**
 * The phones of servers not deleted, made again only when the fleet changes: most requests pick from it, and
 * making it for each of them cost the client more with every server the soak bought (its CPU per request
 * doubled over 10 minutes, which on a saturated machine took throughput from the server).
 */
let live: string[] | undefined;
const livePhones = () => (live ??= [...fleet.phones].filter(([, serverId]) => !fleet.gone.has(serverId)).map(([phoneId]) => phoneId));
const phoneGone = (phoneId: string) => fleet.gone.has(fleet.phones.get(phoneId) ?? '');

interface Operation {
  /** The API operation, as Huawei's documents name it. */
  name: string;
  /** Relative share of the requests. */
  weight: number;
  /** Sends one request; false when it has nothing to work on right now (the client picks another). */
  run(): Promise<boolean | void>;
}

function phoneBatch(path: string, max: number, stopBody = false): () => Promise<boolean> {
  return async () => {
    const ids = [...new Set(sample(livePhones(), between(1, max)))];
    if (!ids.length) return false;
    const route = `POST ${CPH}/phones/${path}`;
    const answer = await hit(route, 'cph', 'POST', `${CPH}/phones/${path}`, stopBody ? { phone_ids: ids } : { phones: ids.map((phone_id) => ({ phone_id })) });
    if (answer) {
      items(route, answer.json.jobs);
      if (jobsStarted(answer.json.request_id, answer.json.jobs.map((job: { job_id?: string }) => job.job_id))) remember(fleet.recentRequests, answer.json.request_id);
    }
    return true;
  };
}

const operations: Operation[] = [
  {
    name: 'ListCloudPhones',
    weight: 18,
    async run() {
      // A page of everything, or one server's phones, or the phones in one status.
      const filters = ['', `&server_id=${pick([...fleet.servers])}`, `&status=${pick([T.running, T.stopped, T.restarting])}`];
      const offset = Math.random() < 0.5 ? 0 : between(0, Math.max(0, livePhones().length - 100));
      const answer = await hit(`GET ${CPH}/phones`, 'cph', 'GET', `${CPH}/phones?offset=${offset}&limit=100${pick(filters)}`);
      if (answer) learnPhones(answer.json.phones);
    },
  },
  {
    name: 'ShowCloudPhoneDetail',
    weight: 14,
    async run() {
      const id = pick(livePhones());
      if (!id) return false;
      await hit(`GET ${CPH}/phones/{phone_id}`, 'cph', 'GET', `${CPH}/phones/${id}`, undefined, (code, status) => status === 404 && code === 'CPS.0005' && phoneGone(id));
    },
  },
  {
    name: 'ListCloudPhoneServers',
    weight: 5,
    async run() {
      const answer = await hit(`GET ${CPH}/servers`, 'cph', 'GET', `${CPH}/servers?limit=100`);
      if (answer) for (const server of answer.json.servers) if (!fleet.gone.has(server.server_id)) fleet.servers.add(server.server_id);
    },
  },
  {
    name: 'ShowCloudPhoneServerDetail',
    weight: 5,
    async run() {
      const id = pick([...fleet.servers]);
      await hit(`GET ${CPH}/servers/{server_id}`, 'cph', 'GET', `${CPH}/servers/${id}`, undefined, (code, status) => status === 404 && code === 'CPS.0015' && fleet.gone.has(id));
    },
  },
  {
    name: 'ShowJob',
    weight: 9,
    async run() {
      const id = pick(fleet.recentJobs);
      if (!id) return false;
      await hit(`GET ${CPH}/jobs/{job_id}`, 'cph', 'GET', `${CPH}/jobs/${id}`);
    },
  },
  {
    name: 'ListJobs',
    weight: 5,
    async run() {
      const id = pick(fleet.recentRequests);
      if (!id) return false;
      await hit(`GET ${CPH}/jobs`, 'cph', 'GET', `${CPH}/jobs?request_id=${id}`);
    },
  },
  {
    name: 'RunSyncCommand',
    weight: 9,
    async run() {
      const ids = [...new Set(sample(livePhones(), between(1, 15)))];
      const route = `POST ${CPH}/phones/sync-commands`;
      const answer = await hit(route, 'cph', 'POST', `${CPH}/phones/sync-commands`, { command: 'shell', content: pick(SHELL), phone_ids: ids });
      if (answer) items(route, answer.json.jobs);
    },
  },
  {
    name: 'RunShellCommand',
    weight: 5,
    async run() {
      const ids = [...new Set(sample(livePhones(), between(1, 20)))];
      const route = `POST ${CPH}/phones/commands`;
      const answer = await hit(route, 'cph', 'POST', `${CPH}/phones/commands`, { command: 'shell', content: pick(SHELL), phone_ids: ids });
      if (answer) {
        items(route, answer.json.jobs);
        if (jobsStarted(answer.json.request_id, answer.json.jobs.map((job: { job_id?: string }) => job.job_id))) remember(fleet.recentRequests, answer.json.request_id);
      }
    },
  },
  { name: 'RestartCloudPhone', weight: 4, run: phoneBatch('batch-restart', 5) },
  { name: 'ResetCloudPhone', weight: 2, run: phoneBatch('batch-reset', 3) },
  { name: 'PowerOffCloudPhone', weight: 2, run: phoneBatch('batch-stop', 3, true) },
  {
    name: 'PurchaseCloudPhoneServer',
    weight: 0.5,
    async run() {
      if (fleet.churn.size + fleet.purchasing >= MAX_CHURN_SERVERS) return false;
      fleet.purchasing++;
      try {
        const answer = await hit(`POST ${CPH}/phones`, 'cph', 'POST', `${CPH}/phones`, purchaseBody({ server_name: 'soak-churn' }));
        if (!answer) return;
        jobsStarted(answer.json.request_id, [], true);
        remember(fleet.recentRequests, answer.json.request_id);
        for (const id of answer.json.server_ids) {
          fleet.churn.add(id);
          fleet.servers.add(id);
        }
      } finally {
        fleet.purchasing--;
      }
    },
  },
  {
    name: 'DeleteCloudPhoneServer',
    weight: 0.5,
    async run() {
      // Any churn server, provisioning or not: a deletion may meet the server's own jobs and its phones'.
      const id = pick([...fleet.churn]);
      if (!id) return false;
      // Gone from the moment it is asked for: the deletion commits before its answer arrives, and requests
      // for its phones answered in between are refused as they should be.
      fleet.churn.delete(id);
      fleet.gone.add(id);
      live = undefined;
      fleet.servers.delete(id);
      const answer = await hit(`DELETE /v2/{project_id}/cloud-phone/servers`, 'cph', 'DELETE', '/v2/{project_id}/cloud-phone/servers', { server_ids: [id] });
      if (answer && jobsStarted(answer.json.request_id, [answer.json.job_id])) remember(fleet.recentRequests, answer.json.request_id);
    },
  },
  {
    name: 'KooPhone ListInstances',
    weight: 6,
    async run() {
      // The SDK sends ListInstances' x-request-id in the query.
      const query = `page_no=${between(1, 2)}&page_size=${pick([10, 20, 50])}&x-request-id=${randomUUID()}`;
      await hit('GET /v1/instances/batch-query', 'koophone', 'GET', `/v1/instances/batch-query?${query}`);
    },
  },
  {
    name: 'KooPhone BatchQueryStatus',
    weight: 4,
    async run() {
      await hit('POST /v1/instances/batch-query-status', 'koophone', 'POST', '/v1/instances/batch-query-status', { instance_ids: [...new Set(sample(fleet.instances, between(1, 10)))] });
    },
  },
  {
    name: 'KooPhone SyncCommand',
    weight: 3,
    async run() {
      const route = 'POST /v1/instances/sync-command';
      const answer = await hit(route, 'koophone', 'POST', '/v1/instances/sync-command', { command: pick(SHELL), instance_ids: [...new Set(sample(fleet.instances, between(1, 5)))] });
      if (answer) items(route, answer.json.data.cmd_results);
    },
  },
  {
    name: 'KooPhone AsyncCommand',
    weight: 2,
    async run() {
      const answer = await hit('POST /v1/instances/async-command', 'koophone', 'POST', '/v1/instances/async-command', { command: pick(SHELL), instance_ids: [...new Set(sample(fleet.instances, between(1, 10)))] });
      const task = answer?.json.data;
      if (task && jobsStarted(task.task_id, task.cmd_jobs.map((job: { job_id: string }) => job.job_id))) remember(fleet.recentTasks, task.task_id);
    },
  },
  {
    name: 'KooPhone GetTask',
    weight: 2,
    async run() {
      const id = pick(fleet.recentTasks);
      if (!id) return false;
      await hit('GET /v1/instances/tasks/{task_id}', 'koophone', 'GET', `/v1/instances/tasks/${id}`);
    },
  },
];

const totalWeight = operations.reduce((sum, op) => sum + op.weight, 0);
function pickOperation(): Operation {
  let r = Math.random() * totalWeight;
  for (const op of operations) if ((r -= op.weight) < 0) return op;
  return operations[0];
}

async function client(until: number) {
  while (performance.now() < until) {
    const op = pickOperation();
    if ((await op.run()) === false) await new Promise((resolve) => setImmediate(resolve));
  }
}

// ---------------------------------------------------------------------------------------------------
// Figures

function percentile(sorted: number[], p: number): number {
  return sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]) : 0;
}

const round = (n: number) => Math.round(n * 10) / 10;
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

function rssMib(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

function minuteRow(index: number) {
  const m = minutes[index] ?? { requests: 0, errors: 0, latencies: [], rss: [], jobs: 0 };
  const sorted = [...m.latencies].sort((a, b) => a - b);
  return {
    minute: index + 1,
    requests: m.requests,
    req_per_s: round(m.requests / (Math.min(MINUTE_MS, MINUTES * MINUTE_MS - index * MINUTE_MS) / 1000)),
    errors: m.errors,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    rss_mib: median(m.rss),
    rss_min_mib: m.rss.length ? round(Math.min(...m.rss)) : 0,
    rss_max_mib: m.rss.length ? round(Math.max(...m.rss)) : 0,
    jobs_started: m.jobs,
  };
}

/** Jobs and phones as the store holds them, read once the server has stopped (every job, the load's or not). */
async function census(databaseUrl: string | undefined, dataDir: string) {
  const { db, close } = await openStore(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    const jobs = await sql<{ type: string; status: number; error_code: string | null; count: string }>`
      SELECT type, status, error_code, count(*)::text AS count FROM jobs GROUP BY type, status, error_code ORDER BY type, status, error_code`.execute(db);
    const stuck = await sql<{ id: string; type: string; state: string; begin_time: Date }>`
      SELECT id, type, state, begin_time FROM jobs WHERE status = 1 OR state <> 'done' ORDER BY seq LIMIT 20`.execute(db);
    const phones = await sql<{ status: number; count: string }>`SELECT status, count(*)::text AS count FROM phones GROUP BY status ORDER BY status`.execute(db);
    // How big the busiest tables have become, and their rows as the last vacuum or analysis counted them (the
    // running counts of live and dead rows are not kept when PGlite closes).
    const tables = await sql<{ name: string; bytes: string; rows: string }>`
      SELECT s.relname AS name, pg_total_relation_size(relid)::text AS bytes, c.reltuples::bigint::text AS rows
      FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid ORDER BY pg_total_relation_size(relid) DESC LIMIT 5`.execute(db);
    const byStatus = { succeeded: 0, failed: 0, running: 0, failed_unexpectedly: 0 };
    for (const row of jobs.rows) {
      byStatus[row.status === 2 ? 'succeeded' : row.status === -1 ? 'failed' : 'running'] += Number(row.count);
      if (row.status === -1 && !EXPECTED_JOB_FAILURES.includes(row.error_code ?? '')) byStatus.failed_unexpectedly += Number(row.count);
    }
    return {
      jobs: byStatus,
      jobs_by_type: jobs.rows.map((row) => ({ type: row.type, status: row.status, error_code: row.error_code, count: Number(row.count) })),
      stuck_jobs: stuck.rows.map((row) => ({ ...row, begin_time: new Date(row.begin_time).toISOString() })),
      phones_by_status: Object.fromEntries(phones.rows.map((row) => [row.status, Number(row.count)])),
      largest_tables: tables.rows.map((row) => ({ table: row.name, mib: round(Number(row.bytes) / 1024 ** 2), rows: Number(row.rows) })),
      transitional_phones: phones.rows.filter((row) => TRANSITIONAL_PHONE_STATUSES.includes(row.status)).reduce((sum, row) => sum + Number(row.count), 0),
    };
  } finally {
    await close();
  }
}

/** GET on the API with the tenant's token, outside the measured load. */
const read = (path: string) => send(target.url, { method: 'GET', target: path.replace('{project_id}', target.tenant.projectId), headers: tokenHeaders(target.tenant) });

/**
 * Whether every job of these requests (at most MAX_REQUEST_IDS) has closed, read with ListJobs page by page.
 * The drain reads its answers only for status 1: the census counts the outcomes from the store.
 */
async function closed(requestIds: string[]): Promise<boolean> {
  for (let offset = 0; ; offset += 100) {
    const page = await read(`${CPH}/jobs?request_ids=${requestIds.join(',')}&offset=${offset}&limit=100`);
    if (page.status !== 200 || page.json.jobs.some((job: { status: number }) => job.status === 1)) return false;
    if (page.json.jobs.length < 100) return true;
  }
}

/** After the load: waits until the jobs of every request that started some have closed and no phone is mid-operation, at most DRAIN_MS. */
async function drain(): Promise<number> {
  const started = performance.now();
  for (;;) {
    const batches: string[][] = [];
    const ids = [...fleet.jobRequests];
    for (let i = 0; i < ids.length; i += MAX_REQUEST_IDS) batches.push(ids.slice(i, i + MAX_REQUEST_IDS));
    await pool(batches, 10, async (batch) => {
      if (await closed(batch)) for (const id of batch) fleet.jobRequests.delete(id);
    });
    let busy = 0;
    for (const status of TRANSITIONAL_PHONE_STATUSES) {
      const answer = await read(`${CPH}/phones?limit=1&status=${status}`);
      busy += answer.status === 200 ? answer.json.count : 1;
    }
    const seconds = (performance.now() - started) / 1000;
    if ((fleet.jobRequests.size === 0 && busy === 0) || seconds * 1000 > DRAIN_MS) return round(seconds);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

const sortedEntries = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).map(([key, n]) => ({ key, count: n }));

// ---------------------------------------------------------------------------------------------------
// The run

const dataDir = mkdtempSync(join(tmpdir(), 'opencph-soak-'));
const database = store === 'postgres' ? await createDatabase(process.env.DATABASE_URL!) : undefined;
const server = await spawnServer(
  { OPENCPH_DATA_DIR: dataDir, OPENCPH_SIM_TIME_SCALE: TIME_SCALE, OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0', DATABASE_URL: database?.url ?? '' },
  120_000,
);
const pid = server.child.pid!;
let exitCode = 1;
try {
  target = await defaultTenant(server, dataDir);
  console.log(`soak: ${store}, ${MINUTES} min, ${CONCURRENCY} clients, time scale ${TIME_SCALE}; seeding ${BASE_SERVERS} servers and ${INSTANCES} KooPhone instances`);
  await buyServers(target, { server_name: 'soak-base', count: BASE_SERVERS });
  const created = await send(target.url, { method: 'POST', target: '/v1/instances/create', headers: { ...tokenHeaders(target.tenant), 'Content-Type': 'application/json' }, body: JSON.stringify(createBody({ count: INSTANCES })) });
  if (created.json?.error_code !== '0') throw new Error(`CreateInstance failed: ${created.text}`);
  fleet.instances = created.json.data.instanceInfos.map((info: { instanceId: string }) => info.instanceId);
  await waitRunning(target, fleet.instances, 120_000);
  for (let offset = 0; ; offset += 200) {
    const page = await read(`${CPH}/phones?limit=200&offset=${offset}`);
    learnPhones(page.json.phones);
    if (page.json.phones.length < 200) break;
  }
  const servers = await read(`${CPH}/servers?limit=100`);
  for (const s of servers.json.servers) fleet.servers.add(s.server_id);
  const fleetSize = { servers: fleet.servers.size, phones: fleet.phones.size, instances: fleet.instances.length };
  const rssBeforeLoad = round(rssMib(pid));
  console.log(`fleet: ${fleetSize.servers} servers, ${fleetSize.phones} phones, ${fleetSize.instances} instances; server RSS ${rssBeforeLoad} MiB before the load`);

  loadStarted = performance.now();
  const loadEnds = loadStarted + MINUTES * MINUTE_MS;
  const sampler = setInterval(() => minute().rss.push(rssMib(pid)), RSS_SAMPLE_MS);
  let printed = 0;
  const printMinutes = (done: number) => {
    for (; printed < Math.min(done, Math.ceil(MINUTES)); printed++) {
      const row = minuteRow(printed);
      console.log(`minute ${row.minute}: ${row.requests} requests (${row.req_per_s}/s), ${row.errors} errors, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, RSS ${row.rss_mib} MiB, ${row.jobs_started} jobs started`);
    }
  };
  const printer = setInterval(() => printMinutes(Math.floor((performance.now() - loadStarted) / MINUTE_MS)), 1000);
  await Promise.all(Array.from({ length: CONCURRENCY }, () => client(loadEnds)));
  minute(loadEnds - 1).rss.push(rssMib(pid));
  clearInterval(sampler);
  clearInterval(printer);
  printMinutes(Math.ceil(MINUTES));

  const drainSeconds = await drain();
  const openAfterDrain = fleet.jobRequests.size;
  await stop(server);
  const stored = await census(database?.url, dataDir);

  const perMinute = minutes.map((_, index) => minuteRow(index));
  const first = perMinute[0];
  const last = perMinute[perMinute.length - 1];
  const all = minutes.flatMap((m) => m.latencies).sort((a, b) => a - b);
  const rssGrowth = round(last.rss_mib - first.rss_mib);
  const result = {
    store,
    date: new Date().toISOString(),
    minutes: MINUTES,
    concurrency: CONCURRENCY,
    time_scale: Number(TIME_SCALE),
    fleet: fleetSize,
    mix: Object.fromEntries(operations.map((op) => [op.name, round((op.weight / totalWeight) * 100)])),
    requests: all.length,
    req_per_s: round(all.length / (MINUTES * 60)),
    errors: [...errors.values()].reduce((sum, e) => sum + e.count, 0),
    errors_by_route: [...errors.values()].sort((a, b) => b.count - a.count),
    expected_refusals: sortedEntries(refusals),
    item_refusals: sortedEntries(itemRefusals),
    p50_ms: percentile(all, 50),
    p99_ms: percentile(all, 99),
    routes: [...routeLatencies].map(([route, latencies]) => {
      const sorted = latencies.sort((a, b) => a - b);
      return { route, requests: sorted.length, p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), max_ms: round(sorted[sorted.length - 1]) };
    }),
    slowest,
    p99_drift: { first_ms: first.p99_ms, last_ms: last.p99_ms, ratio: first.p99_ms ? Math.round((last.p99_ms / first.p99_ms) * 100) / 100 : null },
    rss: { before_load_mib: rssBeforeLoad, first_minute_mib: first.rss_mib, last_minute_mib: last.rss_mib, growth_mib: rssGrowth, limit_mib: RSS_GROWTH_LIMIT_MIB },
    drain: { seconds: drainSeconds, requests_with_jobs_at_1: openAfterDrain },
    ...stored,
    per_minute: perMinute,
  };
  const failures = [
    ...(result.errors > 0 ? [`${result.errors} unexpected errors`] : []),
    ...(stored.jobs.failed_unexpectedly > 0 ? [`${stored.jobs.failed_unexpectedly} jobs failed with an unexpected code (see jobs_by_type)`] : []),
    ...(stored.jobs.running > 0 ? [`${stored.jobs.running} jobs still at status 1 after ${drainSeconds} s of drain`] : []),
    ...(stored.transitional_phones > 0 ? [`${stored.transitional_phones} phones still in a transitional status`] : []),
    ...(rssGrowth > RSS_GROWTH_LIMIT_MIB ? [`RSS grew ${rssGrowth} MiB (limit ${RSS_GROWTH_LIMIT_MIB})`] : []),
  ];
  const resultsFile = new URL('soak-results.json', import.meta.url);
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(resultsFile, 'utf8'));
  } catch {
    // first run
  }
  writeFileSync(resultsFile, JSON.stringify({ ...previous, [store]: { ...result, passed: failures.length === 0, failures } }, null, 2) + '\n');

  console.log(`\nOpenCPH soak on ${store}: ${MINUTES} min, ${CONCURRENCY} clients, fleet ${fleetSize.servers} servers / ${fleetSize.phones} phones / ${fleetSize.instances} KooPhone instances`);
  console.table(perMinute);
  console.table({
    requests: { value: result.requests },
    'req/s': { value: result.req_per_s },
    'unexpected errors': { value: result.errors },
    'expected refusals': { value: [...refusals.values()].reduce((a, b) => a + b, 0) },
    'p50 ms': { value: result.p50_ms },
    'p99 ms': { value: result.p99_ms },
    'p99 drift (last/first minute)': { value: result.p99_drift.ratio },
    'RSS first → last minute MiB': { value: `${first.rss_mib} → ${last.rss_mib} (${rssGrowth >= 0 ? '+' : ''}${rssGrowth}, limit +${RSS_GROWTH_LIMIT_MIB})` },
    'jobs succeeded / failed / at 1': { value: `${stored.jobs.succeeded} / ${stored.jobs.failed} / ${stored.jobs.running}` },
    'phones in a transitional status': { value: stored.transitional_phones },
    'drain s': { value: drainSeconds },
  });
  console.table(result.routes);
  console.table(slowest);
  if (errors.size) console.table(result.errors_by_route.map(({ route, code, count, example }) => ({ route, code, count, example: example.slice(0, 120) })));
  console.table(stored.jobs_by_type.filter((row) => row.status !== 2));
  console.table(stored.largest_tables);
  if (stored.stuck_jobs.length) console.table(stored.stuck_jobs);
  // The server's own account of what went wrong (pino lines at error level and above).
  const serverErrors = server.output().split('\n').filter((line) => /"level":(50|60)/.test(line));
  for (const line of serverErrors.slice(0, 20)) console.log(`server: ${line.slice(0, 2000)}`);
  console.log(failures.length ? `FAILED: ${failures.join('; ')}` : 'passed');
  exitCode = failures.length ? 1 : 0;
} finally {
  if (server.child.exitCode === null && server.child.signalCode === null) await stop(server);
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
