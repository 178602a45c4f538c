import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerLimitExceeded, WorkerPool, type WorkerPoolLimits } from '../../src/android/worker-pool.ts';

const MISBEHAVING = new URL('../fixtures/workers/misbehaving.mjs', import.meta.url);
const LIMITS: WorkerPoolLimits = { workers: 2, heapMb: 16, deadlineMs: 2_000, idleMs: 60_000 };

type Order = { do: 'echo'; value: string } | { do: 'sleep'; ms: number } | { do: 'hog' | 'spin' | 'throw' };
const pool = (limits: Partial<WorkerPoolLimits> = {}) => new WorkerPool<Order, any>(MISBEHAVING, { ...LIMITS, ...limits });

test('answers come back, and an idle worker takes the next task', async () => {
  const workers = pool();
  const first = await workers.run({ do: 'echo', value: 'one' });
  const second = await workers.run({ do: 'echo', value: 'two' });
  assert.deepEqual([first.value, second.value], ['one', 'two']);
  assert.equal(second.threadId, first.threadId);
});

test('a worker out of heap fails its task with WorkerLimitExceeded, and the process and the pool carry on', async () => {
  const workers = pool();
  const before = await workers.run({ do: 'echo', value: 'before' });
  await assert.rejects(workers.run({ do: 'hog' }), (err) => err instanceof WorkerLimitExceeded && err.reason === 'memory');
  const after = await workers.run({ do: 'echo', value: 'after' });
  assert.equal(after.value, 'after');
  assert.notEqual(after.threadId, before.threadId, 'a new worker replaced the one that died');
});

test('a task past its deadline is ended with its worker, and the event loop was free all along', async () => {
  const workers = pool({ deadlineMs: 500 });
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 50);
  const started = Date.now();
  await assert.rejects(workers.run({ do: 'spin' }), (err) => err instanceof WorkerLimitExceeded && err.reason === 'deadline');
  clearInterval(ticker);
  assert.ok(Date.now() - started < 5_000);
  assert.ok(ticks >= 5, `${ticks} ticks of 50 ms while the worker spun`);
  assert.equal((await workers.run({ do: 'echo', value: 'next' })).value, 'next');
});

test('no more than `workers` tasks run at once; the others wait their turn', async () => {
  const workers = pool({ workers: 2 });
  const spans: Array<{ start: number; end: number }> = await Promise.all(Array.from({ length: 6 }, () => workers.run({ do: 'sleep', ms: 150 })));
  // When each task started, how many were running (itself included).
  const running = spans.map(({ start }) => spans.filter((other) => other.start <= start && start < other.end).length);
  assert.equal(Math.max(...running), 2, `tasks running at each start: ${running}`);
});

test('a worker that crashes fails its task with its error, not as a limit', async () => {
  const workers = pool();
  await assert.rejects(workers.run({ do: 'throw' }), (err) => !(err instanceof WorkerLimitExceeded) && /thrown in the worker/.test(String(err)));
  assert.equal((await workers.run({ do: 'echo', value: 'next' })).value, 'next');
});
