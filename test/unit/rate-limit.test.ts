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

test('a call that fails hands its turn on', async () => {
  const gate = new ConcurrencyGate(1, 5);
  await assert.rejects(gate.run('a', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await gate.run('a', async () => 42), 42);
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
