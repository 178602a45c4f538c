import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, createDatabase, type Tenant } from '../helpers/server.ts';
import { defaultTenant, spawnServer, stop, until, type ServerProcess } from '../helpers/process.ts';

/**
 * R1, crash recovery at scale: 1,000 phones restarting in batches when the server process is killed
 * with SIGKILL. After the next start every job ends (2 or -1), no phone stays in a transitional status,
 * and no phone booted after its job was closed (a job that ran again would boot it once more).
 * On PostgreSQL when OPENCPH_TEST_PG_URL is set (scripts/test-pg.sh), else PGlite in the data dir.
 */

type Target = { url: string; tenant: Tenant };
interface WireJob {
  job_id: string;
  phone_id?: string;
  status: number;
  begin_time: string;
  end_time: string | null;
  error_code: string | null;
  execute_msg: string | null;
}

const PHONES = '/v1/{project_id}/cloud-phone/phones';
const SERVERS = 10;
const PHONES_PER_SERVER = 100;
/** RestartCloudPhone takes at most 100 phones a request (core/phones.ts MAX_BATCH_PHONES). */
const BATCH = 100;
/** Statuses a phone passes through during an operation: creating, resetting, restarting, stopping. */
const TRANSITIONAL = [1, 3, 4, 7];
/** A first start on PGlite runs initdb; a loaded CI machine can take a while. */
const START_TIMEOUT_MS = 120_000;

let dataDir: string;
let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
let env: Record<string, string>;
/** The server process of the moment, killed if the test ends without stopping it. */
let server: ServerProcess | undefined;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'opencph-crash-'));
  database = process.env.OPENCPH_TEST_PG_URL ? await createDatabase(process.env.OPENCPH_TEST_PG_URL) : undefined;
  env = {
    OPENCPH_DATA_DIR: dataDir,
    OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0',
    ...(database && { DATABASE_URL: database.url }),
  };
});

after(async () => {
  if (server) await stop(server, 'SIGKILL');
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every job of the given requests (ListJobs takes up to 20 request ids and pages by 100). */
async function jobsOf(target: Target, requestIds: string[]): Promise<WireJob[]> {
  const jobs: WireJob[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_ids=${requestIds.join(',')}&offset=${offset}&limit=100`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    jobs.push(...page.body.jobs);
    if (page.body.jobs.length < 100) break;
  }
  return jobs;
}

/** Runs a shell command on every phone of the servers (one async RunShellCommand) and returns the finished jobs. */
async function shellOnAll(target: Target, serverIds: string[], content: string, timeoutMs: number): Promise<WireJob[]> {
  const started = await call(target, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content, server_ids: serverIds } });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.equal(started.body.jobs.filter((j: { job_id?: string }) => j.job_id).length, serverIds.length * PHONES_PER_SERVER, JSON.stringify(started.body.jobs[0]));
  return until(async () => {
    const jobs = await jobsOf(target, [started.body.request_id]);
    return jobs.every((j) => j.status !== 1) ? jobs : undefined;
  }, timeoutMs, 250);
}

async function allPhones(target: Target): Promise<Array<{ phone_id: string; status: number }>> {
  const phones = [];
  for (let offset = 0; ; offset += 200) {
    const page = await call(target, 'GET', `${PHONES}?offset=${offset}&limit=200`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    phones.push(...page.body.phones);
    if (page.body.phones.length < 200) return phones;
  }
}

/** Seconds since the epoch, from a wire time (YYYY-MM-DDTHH:MM:SSZ). */
const seconds = (wire: string) => Date.parse(wire) / 1000;

test('1,000 phones restarting when the process is SIGKILLed: every job ends, no phone stays transitional, none booted twice', { timeout: 400_000 }, async () => {
  const figures: Record<string, number | string> = { store: database ? 'postgres' : 'pglite' };
  const started = Date.now();

  // Set-up at time scale 0: 10 servers of 100 phones.
  server = await spawnServer({ ...env, OPENCPH_SIM_TIME_SCALE: '0' }, START_TIMEOUT_MS);
  let target = await defaultTenant(server, dataDir);
  const bought = await call(target, 'POST', '/v2/{project_id}/cloud-phone/servers', {
    body: {
      server_name: 'crash',
      server_model_name: 'physical.kg1.4xlarge.cp',
      phone_model_name: 'kg1.cp.c100.d10SSD.e1v1',
      image_id: '20060220200717f201120a2300000e91',
      count: SERVERS,
      tenant_vpc_id: 'fca063f6-b942-42a8-9004-e5545f58d6a2',
      nics: [{ subnet_id: 'f1cbfc37-eb42-4357-a0ec-9e4f11950908' }],
      public_ip: { eip: { type: '5_bgp' } },
      band_width: { band_width_share_type: 0, band_width_size: 300, band_width_charge_mode: 0 },
      extend_param: { charging_mode: 0, period_type: 2, period_num: 1, is_auto_pay: 1 },
    },
  });
  assert.equal(bought.status, 200, JSON.stringify(bought.body));
  const serverIds: string[] = bought.body.server_ids;
  const provisioned = await until(async () => {
    const jobs = await jobsOf(target, [bought.body.request_id]);
    return jobs.every((j) => j.status !== 1) ? jobs : undefined;
  }, 120_000, 250);
  assert.deepEqual(provisioned.map((j) => j.status), Array(SERVERS).fill(2));
  await stop(server);
  figures.setupSeconds = (Date.now() - started) / 1000;

  // At time scale 0.3 a restart takes 4.5 s, and the engine runs 512 jobs at once: when the first
  // restarts end, the others are still running or waiting. Leases of 10 s: the killed process's jobs
  // are taken back soon after the next start.
  const slow = { ...env, OPENCPH_SIM_TIME_SCALE: '0.3', OPENCPH_JOB_LEASE_SECONDS: '10' };
  server = await spawnServer(slow, START_TIMEOUT_MS);
  target = await defaultTenant(server, dataDir);
  const phoneIds = (await allPhones(target)).map((p) => p.phone_id);
  assert.equal(phoneIds.length, SERVERS * PHONES_PER_SERVER);
  // Each batch sets an attribute the phone shows once its restart has booted it (getprop). A phone with
  // attributes also differs from a fresh device, so the sim driver saves its state, boot time included.
  const batches = Array.from({ length: phoneIds.length / BATCH }, (_, n) => {
    const property = JSON.stringify({ 'reliability.batch': String(n) });
    return phoneIds.slice(n * BATCH, (n + 1) * BATCH).map((phone_id) => ({ phone_id, property }));
  });
  const restarts = await Promise.all(batches.map((phones) => call(target, 'POST', `${PHONES}/batch-restart`, { body: { phones } })));
  for (const restart of restarts) {
    assert.equal(restart.status, 200, JSON.stringify(restart.body));
    assert.ok(restart.body.jobs.every((j: { job_id?: string }) => j.job_id), JSON.stringify(restart.body.jobs.find((j: { job_id?: string }) => !j.job_id)));
  }
  const requestIds: string[] = restarts.map((restart) => restart.body.request_id);
  // Killed 1.5 s after one of the oldest jobs (the first page) is done: the first restarts have
  // certainly ended (wire times have whole seconds), the later ones have not.
  await until(async () => {
    const page = await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_ids=${requestIds.join(',')}&limit=100`);
    return page.body.jobs?.some((j: WireJob) => j.status === 2) ? true : undefined;
  }, 120_000, 100);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  // A live process never takes back its own running jobs (each would run twice).
  figures.takenBackBeforeKill = server.output().split('took back an abandoned job').length - 1;
  await stop(server, 'SIGKILL');
  const killedAt = Date.now() / 1000;

  server = await spawnServer(slow, START_TIMEOUT_MS);
  const restartedAt = Date.now() / 1000;
  target = await defaultTenant(server, dataDir);
  const jobs = await until(async () => {
    const current = await jobsOf(target, requestIds);
    return current.every((j) => j.status !== 1) ? current : undefined;
  }, 120_000, 250);
  figures.recoverySeconds = Date.now() / 1000 - restartedAt;
  assert.equal(jobs.length, phoneIds.length);
  // The kill fell in the middle of the batches: some jobs had ended before it, others ended after the next start.
  figures.endedBeforeKill = jobs.filter((j) => j.end_time && seconds(j.end_time) < killedAt - 1).length;
  figures.endedAfterRestart = jobs.filter((j) => j.end_time && seconds(j.end_time) >= Math.floor(restartedAt)).length;
  assert.ok(figures.endedBeforeKill > 0 && figures.endedAfterRestart > 0, JSON.stringify(figures));
  assert.deepEqual(jobs.filter((j) => j.status !== 2 && j.status !== -1), []);
  figures.succeeded = jobs.filter((j) => j.status === 2).length;
  figures.failed = jobs.filter((j) => j.status === -1).length;

  const phones = await allPhones(target);
  assert.deepEqual(phones.filter((p) => TRANSITIONAL.includes(p.status)), []);
  // A restart job that failed leaves its phone at -6 (restart failed); one that succeeded, at 2.
  const byPhone = new Map(jobs.map((j) => [j.phone_id!, j]));
  for (const phone of phones) assert.equal(phone.status, byPhone.get(phone.phone_id)!.status === 2 ? 2 : -6, phone.phone_id);

  // Boot time of every phone = its clock minus its uptime. A job that succeeded booted its phone
  // while it ran: not before it began, and not after it was closed (a second run would have).
  // The driver's own count of boots (Android's boot_count: 1 at creation) says how often it ran: once for a
  // job that ended before the kill; once or, if the kill fell between its boot and its closing, twice after.
  const batchOf = new Map(phoneIds.map((id, index) => [id, String(Math.floor(index / BATCH))]));
  const clocks = await shellOnAll(target, serverIds, 'date +%s.%N; cat /proc/uptime; getprop reliability.batch; settings get global boot_count', 120_000);
  let resumed = 0;
  let bootedTwice = 0;
  for (const reading of clocks) {
    assert.equal(reading.status, 2, JSON.stringify(reading));
    const [now, uptime, , batch, bootCount] = reading.execute_msg!.trim().split(/\s+/);
    const bootedAt = Number(now) - Number(uptime);
    const job = byPhone.get(reading.phone_id!)!;
    if (job.status !== 2) continue;
    assert.equal(batch, batchOf.get(job.phone_id!), `${job.phone_id} booted with the attributes of its restart`);
    // Wire times have whole seconds; /proc/uptime has hundredths.
    assert.ok(bootedAt >= seconds(job.begin_time) - 0.02, `${job.phone_id} booted at ${bootedAt}, before its job began (${job.begin_time})`);
    assert.ok(bootedAt < seconds(job.end_time!) + 1.02, `${job.phone_id} booted at ${bootedAt}, after its job ended (${job.end_time}): it ran again`);
    const restarts = Number(bootCount) - 1;
    if (seconds(job.end_time!) < killedAt - 1) assert.equal(restarts, 1, `${job.phone_id} restarted ${restarts} times by a job that ended before the kill`);
    else assert.ok(restarts === 1 || restarts === 2, `${job.phone_id} restarted ${restarts} times`);
    if (restarts === 2) bootedTwice++;
    if (bootedAt > killedAt) resumed++;
  }
  figures.bootedAfterRestart = resumed;
  figures.restartedTwice = bootedTwice;
  await stop(server);
  server = undefined;
  figures.totalSeconds = (Date.now() - started) / 1000;
  console.log(`# R1 crash figures: ${JSON.stringify(figures)}`);
});
