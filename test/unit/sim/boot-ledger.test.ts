// The boot counts of phones with no state.json of their own: one append-only file for all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BootLedger } from '../../../src/devices/sim/boot-ledger.ts';
import { dataDir } from '../../fixtures/sim/phone.ts';

const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean);

test('counts are read back by a new ledger; a phone never recorded counts its creation boot only', async () => {
  const path = join(await dataDir(), 'phones', 'boots.log');
  const ledger = new BootLedger(path);
  assert.equal(await ledger.count('a'), 1);
  await ledger.record('a', 2);
  await ledger.record('a', 3);
  await ledger.record('b', 2);
  await ledger.record('b', 2); // unchanged: nothing written
  assert.deepEqual(await lines(path), ['a 2', 'a 3', 'b 2']);
  const reopened = new BootLedger(path);
  assert.deepEqual([await reopened.count('a'), await reopened.count('b'), await reopened.count('c')], [3, 2, 1]);
});

test('records made while a write is under way are written together, each caller waiting for its own', async () => {
  const path = join(await dataDir(), 'boots.log');
  const ledger = new BootLedger(path);
  await ledger.count('warm-up');
  const first = ledger.record('p0', 2);
  const rest = Array.from({ length: 200 }, (_, i) => ledger.record(`p${i + 1}`, 2));
  await first;
  await Promise.all(rest);
  assert.equal((await lines(path)).length, 201);
  const reopened = new BootLedger(path);
  assert.equal(await reopened.count('p200'), 2);
});

test('a forgotten phone counts from 1 again; a long ledger is compacted to one line per phone when read', async () => {
  const path = join(await dataDir(), 'boots.log');
  const history = Array.from({ length: 3000 }, (_, i) => `p${i % 10} ${i + 2}\n`).join('');
  await writeFile(path, `${history}gone 4\ncut-sh`); // the last line cut short by a full disk
  const ledger = new BootLedger(path);
  assert.equal(await ledger.count('p9'), 3001);
  assert.equal(await ledger.count('cut-sh'), 1);
  assert.equal((await lines(path)).length, 11, 'one line per phone');
  await ledger.forget('gone');
  assert.equal(await new BootLedger(path).count('gone'), 1);
});
