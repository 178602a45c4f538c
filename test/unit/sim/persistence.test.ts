// A phone's state survives restarts of the phone and of the process; untouched phones cost nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandTimeoutError, PhoneDeletedError, PhoneOperationError } from '../../../src/devices/driver.ts';
import { manyFiles, writeTar } from '../../helpers/hostile-tar.ts';
import { APK_FIXTURES, catalogue, dataDir, driver, phone, savedFiles } from '../../fixtures/sim/phone.ts';

test('files, persist.* properties, settings and packages survive a new driver on the same data dir', async () => {
  const dir = await dataDir();
  const spec = phone();
  const first = await driver(dir);
  await first.create(spec);
  await first.shell(spec, 'echo kept > /data/local/tmp/k.txt; setprop persist.sys.k 1; setprop debug.k 1; settings put system screen_brightness 7; rm /sdcard/Alarms -r');
  assert.equal((await first.install(spec, [`${APK_FIXTURES}hello-v1.apk`], [])).output, 'Success\n');

  const second = await driver(dir);
  const sh = async (command: string) => (await second.shell(spec, command)).output;
  assert.equal(await sh('cat /data/local/tmp/k.txt; getprop persist.sys.k; getprop debug.k; settings get system screen_brightness'), 'kept\n1\n1\n7\n');
  assert.equal(await sh('pm list packages -3; ls /sdcard | head -1'), 'package:com.opencph.hello\nDCIM\n');

  // A restart keeps data and persist.*; other properties are gone.
  await second.restart(spec);
  assert.equal(await sh('cat /data/local/tmp/k.txt; getprop persist.sys.k; getprop debug.k; pm path com.opencph.hello'),
    'kept\n1\n\npackage:/data/app/com.opencph.hello-1/base.apk\n');
});

test('restart applies the property of the spec and a new image; reset wipes the phone', async () => {
  const sim = await driver();
  const spec = phone({ property: { 'sys.prop.writeimsi': '460021624617113', 'persist.sys.locale': 'zh-CN' } });
  await sim.create(spec);
  const sh = async (command: string, s = spec) => (await sim.shell(s, command)).output;
  assert.equal(await sh('getprop sys.prop.write_imsi; getprop persist.sys.locale; getprop sys.prop.write_wifissid'), '460021624617113\nzh-CN\ncloudphone_wifi\n');
  await sh('setprop persist.sys.locale fr-FR; echo x > /sdcard/x');
  assert.equal(await sh('getprop persist.sys.locale'), 'fr-FR\n');

  const android11 = { ...spec, image: catalogue.image('23051820230601c84d0007e19b3f5a27')!, property: { 'persist.sys.locale': 'en-US' } };
  // Until the phone restarts it runs the image it booted.
  assert.equal(await sh('getprop ro.build.version.release', android11), '7.1.1\n');
  await sim.restart(android11);
  assert.equal(await sh('getprop ro.build.version.release; getprop persist.sys.locale; getprop sys.prop.write_imsi; cat /sdcard/x', android11), '11\nen-US\n\nx\n');

  await sim.reset(spec);
  assert.equal(await sh('getprop ro.build.version.release; ls /sdcard/x'), '7.1.1\nls: /sdcard/x: No such file or directory\n');
});

test('a stopped phone refuses commands; start brings it back', async () => {
  const sim = await driver();
  const spec = phone();
  await sim.create(spec);
  await sim.stop(spec);
  await assert.rejects(sim.shell(spec, 'ls'), PhoneOperationError);
  await assert.rejects(sim.install(spec, [`${APK_FIXTURES}hello-v1.apk`], []), PhoneOperationError);
  await sim.start(spec);
  assert.equal((await sim.shell(spec, 'getprop sys.boot_completed')).output, '1\n');
});

test('boot_count counts the boots since creation or the last factory reset, across processes', async () => {
  const dir = await dataDir();
  const spec = phone();
  const first = await driver(dir);
  await first.create(spec);
  const count = async (sim: typeof first) => (await sim.shell(spec, 'settings get global boot_count')).output;
  assert.equal(await count(first), '1\n');
  await first.restart(spec);
  await first.stop(spec);
  await first.start(spec);
  assert.equal(await count(first), '3\n');
  const second = await driver(dir);
  assert.equal(await count(second), '3\n', 'saved with the phone');
  await second.reset(spec);
  assert.equal(await count(second), '1\n');
  assert.equal(await count(await driver(dir)), '1\n', 'the reset is saved too: no older count comes back');
});

test('a phone deleted while a command runs on it stays deleted: the command fails and writes nothing back', async () => {
  const dir = await dataDir();
  const spec = phone();
  const sim = await driver(dir, { timeScale: 0.02 });
  await sim.create(spec);
  const running = sim.shell(spec, 'sleep 15; echo late > /sdcard/late.txt'); // 0.3 s at this scale
  await new Promise((resolve) => setTimeout(resolve, 50));
  await sim.destroy(spec.id);
  await assert.rejects(running, PhoneDeletedError);
  assert.deepEqual(await readdir(join(dir, 'phones')).catch(() => []), []);
});

test('untouched phones cost nothing on disk, restarted ones one ledger line each; a write costs about its size', async () => {
  const dir = await dataDir();
  const sim = await driver(dir, { maxLoaded: 100 });
  const specs = Array.from({ length: 1000 }, (_, i) => phone({ id: i.toString(16).padStart(32, '0') }));
  for (const spec of specs) await sim.create(spec);
  await sim.shell(specs[0], 'getprop ro.product.model; ls -l /system; cat /proc/meminfo');
  assert.deepEqual(await readdir(join(dir, 'phones')).catch(() => []), [], 'no phone has a directory');
  assert.ok(sim.loadedCount <= 100, `at most 100 devices in memory, got ${sim.loadedCount}`);

  // Restarted all at once: their boot counts share one file, written in a few appends.
  await Promise.all(specs.map((spec) => sim.restart(spec)));
  assert.deepEqual(await readdir(join(dir, 'phones')), ['boots.log']);
  const ledger = (await readFile(join(dir, 'phones', 'boots.log'), 'utf8')).split('\n').filter(Boolean);
  assert.equal(ledger.length, 1000);
  const again = await driver(dir);
  assert.equal((await again.shell(specs[999], 'settings get global boot_count')).output, '2\n', 'counted across processes');

  await sim.shell(specs[1], 'echo hello > /data/local/tmp/h');
  const phoneDir = join(dir, 'phones', specs[1].id);
  const state = await stat(join(phoneDir, 'state.jsonl'));
  assert.ok(state.size < 1024, `state.jsonl is ${state.size} bytes`);
  assert.deepEqual(await readdir(join(phoneDir, 'blobs')), ['5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03']);

  await sim.destroy(specs[1].id);
  assert.deepEqual(await readdir(join(dir, 'phones')), ['boots.log']);
});

test('blobs of deleted and replaced files are removed once the state no longer needs them', async () => {
  const dir = await dataDir();
  const sim = await driver(dir);
  const spec = phone();
  await sim.create(spec);
  await sim.shell(spec, 'echo one > /data/local/tmp/a; echo one > /data/local/tmp/b; echo two > /data/local/tmp/c');
  const blobs = () => readdir(join(dir, 'phones', spec.id, 'blobs'));
  assert.equal((await blobs()).length, 2, 'identical contents share one blob');
  await sim.shell(spec, 'rm /data/local/tmp/a; echo three > /data/local/tmp/c');
  assert.equal((await blobs()).length, 2);
  await sim.shell(spec, 'rm /data/local/tmp/b /data/local/tmp/c');
  assert.deepEqual(await blobs(), []);
  assert.deepEqual(await savedFiles(dir, spec.id), new Map());
});

test('sleep takes its time times the scale; the caller\'s timeout is real time', async () => {
  const spec = phone();
  const instant = await driver(undefined, { timeScale: 0 });
  await instant.create(spec);
  assert.equal((await instant.shell(spec, 'sleep 5; echo done', { timeoutMs: 2000 })).output, 'done\n');

  const slow = await driver(undefined, { timeScale: 0.001 });
  await slow.create(spec);
  await assert.rejects(slow.shell(spec, 'touch /data/local/tmp/t; sleep 500; echo never', { timeoutMs: 50 }), CommandTimeoutError);
  // What ran before the timeout happened, and the phone still answers.
  assert.equal((await slow.shell(spec, 'ls /data/local/tmp')).output, 't\n');
});

test('a phone of 50,000 files: a command appends what it changed to the journal, which a new process reads without holding the event loop', async () => {
  const dir = await dataDir();
  const spec = phone();
  const sim = await driver(dir);
  await sim.create(spec);
  const tarFile = await writeTar(join(dir, 'many.tar'), manyFiles(50_000));
  assert.deepEqual(await sim.pushTar(spec, tarFile), { output: '', exitCode: 0 });
  const journal = join(dir, 'phones', spec.id, 'state.jsonl');
  const before = await stat(journal);
  assert.ok(before.size > 5_000_000, `${before.size} bytes`);

  const loop = holds();
  await sim.shell(spec, 'echo later > /data/local/tmp/later.txt');
  const after = await stat(journal);
  // Appended to, not written again: before, each save rewrote every entry (a JSON.stringify of megabytes).
  assert.equal(after.ino, before.ino);
  assert.ok(after.size - before.size < 4096, `${after.size - before.size} bytes appended`);

  const again = await driver(dir);
  assert.equal((await again.shell(spec, 'cat /data/local/tmp/later.txt /data/local/tmp/many/d49/f49999; ls /data/local/tmp/many/d7 | wc -l')).output, 'later\na1000\n');
  assert.ok(loop.longest() < 1000, `the event loop was held ${Math.round(loop.longest())} ms`);
  loop.stop();
});

test('a save cut short is not read, and is cut off by the next save; a journal twice its written length is written whole', async () => {
  const dir = await dataDir();
  const spec = phone();
  const first = await driver(dir);
  await first.create(spec);
  await first.shell(spec, 'echo one > /data/local/tmp/a');
  const journal = join(dir, 'phones', spec.id, 'state.jsonl');
  // A process killed while it appended: an entry without its head, then half a line.
  await appendFile(journal, '["/data/local/tmp/a",{"type":"dir","mode":493,"uid":0,"gid":0,"mtime":0}]\n["/data/local/tmp/b",');
  const second = await driver(dir);
  assert.equal((await second.shell(spec, 'cat /data/local/tmp/a; ls /data/local/tmp')).output, 'one\na\n');
  await second.shell(spec, 'echo two > /data/local/tmp/c');
  assert.equal((await (await driver(dir)).shell(spec, 'cat /data/local/tmp/a /data/local/tmp/c')).output, 'one\ntwo\n');

  for (let i = 0; i < 200; i++) await second.shell(spec, `echo ${i} > /data/local/tmp/counter`);
  const { size } = await stat(journal);
  // 200 saves of about 1 KB each; written whole once it passed twice its length and 64 KiB.
  assert.ok(size < 100_000, `${size} bytes`);
  assert.equal((await (await driver(dir)).shell(spec, 'cat /data/local/tmp/counter')).output, '199\n');
});

test('a phone saved by an older version (state.json) is read, and saved as a journal from then on', async () => {
  const dir = await dataDir();
  const spec = phone();
  const phoneDir = join(dir, 'phones', spec.id);
  await mkdir(join(phoneDir, 'blobs'), { recursive: true });
  await writeFile(join(phoneDir, 'blobs', 'cafe'), 'old\n');
  const file = { type: 'file', mode: 0o644, uid: 2000, gid: 2000, mtime: 0, size: 4, blob: 'cafe' };
  const state = {
    version: 1, running: true, bootedAt: 0, cphProperty: {}, persistProps: { 'persist.sys.old': '1' }, runtimeProps: {},
    settings: { system: {}, secure: {}, global: {} }, packages: { installed: {}, nextUid: 10000 }, display: {}, inputs: [],
    processes: [], nextPid: 3000, fs: { '/data/local/tmp/old.txt': file },
  };
  await writeFile(join(phoneDir, 'state.json'), JSON.stringify(state));
  const sim = await driver(dir);
  assert.equal((await sim.shell(spec, 'cat /data/local/tmp/old.txt; getprop persist.sys.old; echo new > /data/local/tmp/new.txt')).output, 'old\n1\n');
  assert.deepEqual((await readdir(phoneDir)).sort(), ['blobs', 'state.jsonl']);
  assert.equal((await (await driver(dir)).shell(spec, 'cat /data/local/tmp/old.txt /data/local/tmp/new.txt')).output, 'old\nnew\n');
});

/** The longest time the event loop went without a turn, from now until `stop`. */
function holds() {
  let longest = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    longest = Math.max(longest, performance.now() - last);
    last = performance.now();
  }, 5);
  return { longest: () => Math.max(longest, performance.now() - last), stop: () => clearInterval(timer) };
}
