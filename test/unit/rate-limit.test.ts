import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyGate, GateFull, SlidingWindowLimiter } from '../../src/core/rate-limit.ts';

/** A call that runs until released; `started` tells whether it has begun. */
function held() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const call = { started: false, release, work: async () => ((call.started = true), await done) };
  return call;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('a gate runs `limit` calls of a key at once, the next in order, and refuses past its queue', async () => {
  const gate = new ConcurrencyGate(2, 2);
  const calls = Array.from({ length: 4 }, held);
  const runs = calls.map((call) => gate.run('a', call.work));
  await turn();
  assert.deepEqual(calls.map((call) => call.started), [true, true, false, false]);
  await assert.rejects(gate.run('a', async () => {}), GateFull);
  // Another key has turns of its own.
  let other = false;
  await gate.run('b', async () => void (other = true));
  assert.ok(other);
  calls[1].release();
  await turn();
  assert.deepEqual(calls.map((call) => call.started), [true, true, true, false], 'the first waiting call goes next');
  calls[0].release();
  calls[2].release();
  calls[3].release();
  await Promise.all(runs);
  assert.ok(calls[3].started);
});

test('a call that ends with no one waiting leaves its place to one new call, not two', async () => {
  const gate = new ConcurrencyGate(2, 5);
  const [a, b, c, d] = Array.from({ length: 4 }, held);
  const runs = [gate.run('k', a.work), gate.run('k', b.work)];
  await turn();
  a.release();
  await runs[0];
  runs.push(gate.run('k', c.work), gate.run('k', d.work));
  await turn();
  assert.deepEqual([c.started, d.started], [true, false], 'b and c run; d waits');
  b.release();
  c.release();
  await turn();
  assert.ok(d.started);
  d.release();
  await Promise.all(runs);
});

test('a call that fails hands its turn on', async () => {
  const gate = new ConcurrencyGate(1, 5);
  await assert.rejects(gate.run('a', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await gate.run('a', async () => 42), 42);
});

test('a limit of 0 means no limit', () => {
  const limiter = new SlidingWindowLimiter(0, 1000, { now: () => new Date(0) });
  assert.ok(Array.from({ length: 100 }, () => limiter.take('a')).every(Boolean));
});

test('the sliding window counts each key apart and frees a call once it is older than the window', () => {
  let now = 0;
  const limiter = new SlidingWindowLimiter(2, 1000, { now: () => new Date(now) });
  assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('b')], [true, true, false, true]);
  now = 999;
  assert.equal(limiter.take('a'), false);
  now = 1000;
  assert.equal(limiter.take('a'), true);
});
