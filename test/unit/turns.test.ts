// Store connections are shared by turns between owners (src/store/turns.ts): one owner's backlog must not
// stand between another owner and its next turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asOwner, currentOwner, FairTurns, fairPool } from '../../src/store/turns.ts';

/** Queues `count` turns for `owner`, each recording its grant and giving its turn back at once. */
function queueTurns(turns: FairTurns, owner: string, count: number, granted: string[]): Promise<void>[] {
  return Array.from({ length: count }, (_, i) =>
    turns.acquire(owner).then(() => {
      granted.push(`${owner}${i}`);
      turns.release();
    }),
  );
}

test('waiting owners are served in rounds, each owner in its own order', async () => {
  const turns = new FairTurns(1);
  await turns.acquire('x');
  const granted: string[] = [];
  const waiting = [...queueTurns(turns, 'a', 4, granted), ...queueTurns(turns, 'b', 1, granted), ...queueTurns(turns, 'c', 2, granted)];
  turns.release();
  await Promise.all(waiting);
  assert.deepEqual(granted, ['a0', 'b0', 'c0', 'a1', 'c1', 'a2', 'a3']);
});

test('an owner arriving behind a long backlog gets the next turn but one', async () => {
  const turns = new FairTurns(1);
  await turns.acquire('attacker');
  const granted: string[] = [];
  const backlog = queueTurns(turns, 'attacker', 500, granted);
  const neighbour = queueTurns(turns, 'neighbour', 1, granted);
  turns.release();
  await Promise.all([...backlog, ...neighbour]);
  assert.equal(granted.indexOf('neighbour0'), 1);
  assert.equal(granted.length, 501);
});

test('up to `capacity` turns are held at once; the others wait for one to end', async () => {
  const turns = new FairTurns(2);
  await turns.acquire('a');
  await turns.acquire('b');
  let third = false;
  const waiting = turns.acquire('c').then(() => (third = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(third, false);
  turns.release();
  await waiting;
  assert.equal(third, true);
});

test('the owner follows the work through awaits and timers; outside it the owner is the server', async () => {
  assert.equal(currentOwner(), '');
  const seen = await asOwner('project-1', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return currentOwner();
  });
  assert.equal(seen, 'project-1');
  assert.equal(currentOwner(), '');
});

test('a pool behind fair turns gives the turn back when a client is released or cannot connect', async () => {
  let connects = 0;
  const pool = {
    async connect() {
      connects++;
      if (connects === 2) throw new Error('refused');
      return { released: 0, release() { this.released++; } };
    },
    end: async () => {},
  };
  const fair = fairPool(pool, 1);
  const first = await fair.connect();
  let secondSettled = false;
  const second = fair.connect().catch((error: Error) => error.message).finally(() => (secondSettled = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(secondSettled, false, 'the one turn is held');
  first.release();
  assert.equal(first.released, 1);
  assert.equal(await second, 'refused');
  // The failed connect gave its turn back: a third one is served.
  const third = await fair.connect();
  assert.equal(third.released, 0);
});
