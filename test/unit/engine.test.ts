import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { JobEngine, truncateUtf8, type JobHandler, type JobResult } from '../../src/jobs/engine.ts';
import { randomIds } from '../../src/core/runtime.ts';
import { cpsMessage } from '../../src/core/errors.ts';
import type { Store } from '../../src/store/db.ts';
import type { NewJob } from '../../src/store/schema.ts';
import { openTestStore } from '../helpers/server.ts';

let store: Store;
let now = new Date('2026-01-01T00:00:00Z');
const clock = { now: () => now };
const log = pino({ level: 'silent' });
const projectId = randomIds.hex32();
const serverId = randomIds.hex32();
const phoneId = randomIds.hex32();

before(async () => {
  store = await openTestStore();
  const db = store.db;
  const domainId = randomIds.hex32();
  await db.insertInto('domains').values({ id: domainId, name: 'd', created_at: now }).execute();
  await db.insertInto('projects').values({ id: projectId, domain_id: domainId, name: 'p', created_at: now }).execute();
  const json = (v: unknown) => JSON.stringify(v);
  await db.insertInto('servers').values({
    id: serverId, project_id: projectId, request_id: 'r', name: 's', server_model_name: 'm', phone_model_name: 'm', image_id: 'i',
    keypair_name: null, status: 5, network_version: 'v1', availability_zone: 'az', vpc_id: 'v', vpc_cidr: 'c', subnet_id: 's', subnet_cidr: 'c',
    order_id: 'o', product_id: 'p', enterprise_project_id: '0', addresses: json([]), security_groups: json([]), ports: json([]), volumes: json([]),
    extend_param: json({}), created_at: now, updated_at: now,
  }).execute();
  await db.insertInto('phones').values({
    id: phoneId, project_id: projectId, server_id: serverId, slot: 1, name: 'mobile-0001', phone_model_name: 'm', image_id: 'i', driver: 'sim', status: 4, type: 0,
    imei: '0', traffic_type: 'direct', volume_mode: 0, has_encrypt: false, property: '{}', phone_ip: '10.0.0.1', created_at: now, updated_at: now,
  }).execute();
});
after(() => store.close());
beforeEach(() => store.db.deleteFrom('jobs').execute());

function job(lockKey: string, overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: randomIds.hex32(), project_id: projectId, request_id: 'req', type: 'test', phone_id: null, server_id: null, lock_key: lockKey,
    params: '{}', state: 'queued', status: 1, begin_time: now, ...overrides,
  };
}

function engineWith(handler: JobHandler, leaseSeconds = 30) {
  return new JobEngine({ db: store.db, clock, ids: randomIds, log, leaseSeconds, handlers: { test: handler } });
}

async function allDone(timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await store.db.selectFrom('jobs').select('id').where('state', '!=', 'done').execute();
    if (open.length === 0) return store.db.selectFrom('jobs').selectAll().orderBy('seq').execute();
    if (Date.now() > deadline) throw new Error(`${open.length} jobs not done`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('jobs of one phone run one at a time in order; other phones run beside them', async () => {
  const events: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const engine = engineWith({
    async run(j) {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      events.push(`start ${j.lock_key}:${(j.params as { n: number }).n}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      events.push(`end ${j.lock_key}:${(j.params as { n: number }).n}`);
      running--;
      return { ok: true };
    },
    retryable: true,
    abandoned: () => ({ ok: false }),
  });
  await store.db.insertInto('jobs').values([1, 2, 3].flatMap((n) => [job('a', { params: JSON.stringify({ n }) }), job('b', { params: JSON.stringify({ n }) })])).execute();
  await engine.start();
  await allDone();
  await engine.stop();
  for (const key of ['a', 'b']) {
    const mine = events.filter((e) => e.endsWith(`${key}:1`) || e.endsWith(`${key}:2`) || e.endsWith(`${key}:3`));
    assert.deepEqual(mine, [`start ${key}:1`, `end ${key}:1`, `start ${key}:2`, `end ${key}:2`, `start ${key}:3`, `end ${key}:3`]);
  }
  assert.equal(mostAtOnce, 2, 'the two phones ran side by side');
});

test('a result closes the job with its status, error and execute_msg, and applies the phone status', async () => {
  const results: Record<string, JobResult> = {
    x: { ok: true, executeMsg: 'é'.repeat(600) },
    [phoneId]: { ok: false, errorCode: 'CPS.0022', phoneStatus: -6 },
  };
  const engine = engineWith({ run: async (j) => results[j.lock_key], retryable: true, abandoned: () => ({ ok: false }) });
  await store.db.insertInto('jobs').values([job('x'), job(phoneId, { phone_id: phoneId })]).execute();
  await engine.start();
  const [succeeded, failed] = await allDone();
  await engine.stop();
  assert.equal(succeeded.status, 2);
  assert.equal(succeeded.error_code, null);
  assert.equal(Buffer.byteLength(succeeded.execute_msg!), 1024, 'execute_msg is cut at 1,024 bytes');
  assert.ok(succeeded.end_time);
  assert.equal(failed.status, -1);
  assert.equal(failed.error_code, 'CPS.0022');
  assert.equal(failed.error_msg, 'Not available phone.');
  const phone = await store.db.selectFrom('phones').select('status').where('id', '=', phoneId).executeTakeFirstOrThrow();
  assert.equal(phone.status, -6);
});

test('a job whose worker died is run again once its lease runs out', async () => {
  let runs = 0;
  const engine = engineWith({ run: async () => (runs++, { ok: true }), retryable: true, abandoned: () => ({ ok: false }) }, 5);
  await store.db.insertInto('jobs').values(job('y', { state: 'running', lease_owner: 'dead-worker', lease_until: new Date(now.getTime() + 5000) })).execute();
  await engine.start();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(runs, 0, 'a live lease is respected');
  now = new Date(now.getTime() + 6000);
  await engine.reclaimExpiredLeases();
  const [done] = await allDone();
  await engine.stop();
  assert.equal(runs, 1);
  assert.equal(done.status, 2);
  assert.equal(done.attempts, 1);
});

test('a job abandoned too often ends failed with CPS.0054 and its failure effects', async () => {
  const engine = engineWith({ run: async () => ({ ok: true }), retryable: true, abandoned: () => ({ ok: false, errorCode: 'CPS.0054', phoneStatus: -6 }) }, 5);
  await store.db.updateTable('phones').set({ status: 4 }).where('id', '=', phoneId).execute();
  await store.db
    .insertInto('jobs')
    .values(job(phoneId, { phone_id: phoneId, state: 'running', lease_owner: 'dead-worker', lease_until: new Date(now.getTime() - 1000), attempts: 2 }))
    .execute();
  await engine.start();
  const [failed] = await allDone();
  await engine.stop();
  assert.equal(failed.status, -1);
  assert.equal(failed.error_code, 'CPS.0054');
  assert.equal(failed.error_msg, 'Handle job timeout.');
  const phone = await store.db.selectFrom('phones').select('status').where('id', '=', phoneId).executeTakeFirstOrThrow();
  assert.equal(phone.status, -6, 'no phone is left restarting');
});

test('an abandoned job of a type this process has no handler for ends failed with CPS.0054, not run again', async () => {
  let runs = 0;
  const engine = engineWith({ run: async () => (runs++, { ok: true }), retryable: true, abandoned: () => ({ ok: true }) }, 5);
  await store.db
    .insertInto('jobs')
    .values(job('z', { type: 'retired.type', state: 'running', lease_owner: 'dead-worker', lease_until: new Date(now.getTime() - 1000) }))
    .execute();
  await engine.start();
  const [failed] = await allDone();
  await engine.stop();
  assert.equal(runs, 0);
  assert.equal(failed.status, -1);
  assert.equal(failed.error_code, 'CPS.0054');
  assert.equal(failed.error_msg, 'Handle job timeout.');
});

test('a failure without a code closes the job with CPS.0003 and its catalogue message', async () => {
  const engine = engineWith({ run: async () => ({ ok: false }), retryable: true, abandoned: () => ({ ok: false }) });
  await store.db.insertInto('jobs').values(job('w')).execute();
  await engine.start();
  const [failed] = await allDone();
  await engine.stop();
  assert.equal(failed.status, -1);
  assert.equal(failed.error_code, 'CPS.0003');
  assert.equal(failed.error_msg, cpsMessage('CPS.0003'));
});

test('truncateUtf8 never splits a character', () => {
  assert.equal(truncateUtf8('abc', 10), 'abc');
  assert.equal(truncateUtf8('aé', 2), 'a');
  assert.equal(Buffer.byteLength(truncateUtf8('€'.repeat(500), 1024)), 1023);
});

test('a job whose lease ran out while this process still runs it is not taken back from under it', async () => {
  let release!: () => void;
  const running = new Promise<void>((resolve) => (release = resolve));
  let runs = 0;
  const engine = engineWith({
    async run() {
      runs++;
      await running;
      return { ok: true };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  });
  await store.db.insertInto('jobs').values(job('phone-late')).execute();
  await engine.start();
  try {
    while (runs === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    // As if the renewal came too late (a busy event loop or store): the lease is already over.
    await store.db.updateTable('jobs').set({ lease_until: new Date(now.getTime() - 1000) }).execute();
    await engine.reclaimExpiredLeases();
    const [row] = await store.db.selectFrom('jobs').selectAll().execute();
    assert.equal(row.state, 'running', 'still running, not queued again or failed');
    release();
    const [done] = await allDone();
    assert.equal(done.status, 2);
    assert.equal(runs, 1);
  } finally {
    release();
    await engine.stop();
  }
});
