// The shared storage of a server: its phones see the shared files between the image and their own changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import type { ShareServer } from '../../../src/devices/shared-storage.ts';
import { SimSharedStorage } from '../../../src/devices/sim/shared-storage.ts';
import { APK_FIXTURES, clock, dataDir, driver, phone } from '../../fixtures/sim/phone.ts';

const GiB = 1024 ** 3;

/**
 * A tar of `files` (path → content, or `{ link }`, or `{ copy }` of a host file), members named as given
 * or as `names` renames them (names the host's file system would refuse).
 */
async function makeTar(files: Record<string, string | { link: string } | { copy: string }>, names: Record<string, string> = {}): Promise<string> {
  const dir = await dataDir();
  const root = join(dir, 'root');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    if (typeof content === 'string') await writeFile(join(root, path), content);
    else if ('link' in content) await symlink(content.link, join(root, path));
    else await copyFile(content.copy, join(root, path));
  }
  const file = join(dir, 'share.tar');
  const rename = (entry: { path: string }) => void (entry.path = names[entry.path] ?? entry.path);
  await tar.c({ file, cwd: root, portable: true, onWriteEntry: rename }, Object.keys(files));
  return file;
}

/** Shared storage and a driver whose phones see it, over one data dir; two phones on server A, one on B. */
async function setUp(dir?: string) {
  dir ??= await dataDir();
  const shared = new SimSharedStorage({ dataDir: dir, clock });
  await shared.load();
  const sim = await driver(dir, { sharedLayer: (serverId) => shared.layer(serverId) });
  const a1 = phone({ id: 'a1'.padEnd(32, '0'), serverId: 'a'.repeat(32) });
  const a2 = phone({ id: 'a2'.padEnd(32, '0'), serverId: 'a'.repeat(32), name: 'mobile-0002' });
  const b1 = phone({ id: 'b1'.padEnd(32, '0'), serverId: 'b'.repeat(32) });
  for (const spec of [a1, a2, b1]) await sim.create(spec);
  const server = (id: string, capacityBytes = 50 * GiB): ShareServer => ({ id, driver: 'sim', phoneModel: a1.phoneModel, image: a1.image, capacityBytes });
  const sh = async (spec: typeof a1, command: string) => (await sim.shell(spec, command)).output;
  return { dir, shared, sim, a1, a2, b1, serverA: server(a1.serverId), serverB: server(b1.serverId), server, sh };
}

test('pushed files show on every phone of the server, under the image, and on no other server', async () => {
  const { shared, a1, a2, b1, serverA, sh } = await setUp();
  const file = await makeTar({ 'data/foo/x': 'shared x\n', 'data/data/com.tencent.mm/files/a.txt': 'mm\n', 'cache/c.bin': 'cc' });
  assert.deepEqual(await shared.pushFiles(serverA, file), { output: '', exitCode: 0 });
  for (const spec of [a1, a2]) {
    assert.equal(await sh(spec, 'su 0 cat /data/foo/x /data/data/com.tencent.mm/files/a.txt /cache/c.bin'), 'shared x\nmm\ncc');
    // The image's entries are still there beside the shared ones.
    assert.match(await sh(spec, 'su 0 ls /data/data'), /^android\ncom\.android\.backupconfirm\n[^]*com\.tencent\.mm\n$/);
    assert.match(await sh(spec, 'ls -l /data/foo'), /^total 4\n-rw-r--r-- 1 root root 9 \d{4}-\d\d-\d\d \d\d:\d\d x\n$/);
  }
  assert.equal(await sh(b1, 'ls /data/foo 2>&1; su 0 ls /data/data | grep -c tencent'), 'ls: /data/foo: No such file or directory\n0\n');

  // The listing holds what the shared storage holds, directories of the image on the way included.
  const names = async (path: string) => (await shared.listFiles(serverA, path))?.map((entry) => `${entry.type} ${entry.size} ${entry.name}`);
  assert.deepEqual(await names('/data'), ['dir 4096 data', 'dir 4096 foo']);
  assert.deepEqual(await names('/data/foo'), ['file 9 x']);
  assert.deepEqual(await names('/data/user/0'), ['dir 4096 com.tencent.mm'], 'a symbolic link of the image is followed');
  assert.deepEqual(await names('/data/app'), []);
  assert.equal(await names('/data/nothing'), undefined);
  assert.equal(await names('/data/foo/x'), undefined, 'a file is no directory');
  assert.deepEqual(await shared.usage(serverA), { totalBytes: 50 * GiB, usedBytes: 14 });
  assert.deepEqual(await shared.usage(await setUp().then((s) => s.serverB)), { totalBytes: 50 * GiB, usedBytes: 0 });
});

test('a phone that changes or deletes a shared file does so for itself only', async () => {
  const { shared, a1, a2, serverA, sh } = await setUp();
  await shared.pushFiles(serverA, await makeTar({ 'data/foo/x': 'x\n', 'data/foo/y': 'y\n', 'data/foo/z': 'z\n' }));
  await sh(a1, 'su 0 sh -c "echo mine > /data/foo/x; rm /data/foo/y; chmod 600 /data/foo/z"');
  assert.equal(await sh(a1, 'cat /data/foo/x; ls /data/foo'), 'mine\nx\nz\n');
  assert.equal(await sh(a2, 'cat /data/foo/x; ls /data/foo'), 'x\n' + 'x\ny\nz\n');

  // Deleted from the shared storage: gone for every phone, except the copies phones made their own.
  await shared.deleteFiles(serverA, ['/data/foo']);
  assert.equal(await sh(a1, 'su 0 cat /data/foo/x /data/foo/z; ls /data/foo; stat -c %a /data/foo/z'), 'mine\nz\nx\nz\n600\n');
  assert.equal(await sh(a2, 'ls /data/foo 2>&1'), 'ls: /data/foo: No such file or directory\n');
});

test('delete removes only what the shared storage holds; paths it does not hold are passed over', async () => {
  const { shared, a1, serverA, sh } = await setUp();
  await shared.pushFiles(serverA, await makeTar({ 'data/app/com.x-1/base.apk': 'apk', 'data/local/tmp/keep.txt': 'keep\n' }));
  await shared.deleteFiles(serverA, ['/data/app', '/data/none/such', '/cache/x']);
  assert.equal(await sh(a1, 'ls -d /data/app; su 0 ls /data/app; cat /data/local/tmp/keep.txt'), '/data/app\nkeep\n');
  assert.deepEqual((await shared.listFiles(serverA, '/data/local/tmp'))?.map((entry) => entry.name), ['keep.txt']);
});

test('refused archives change nothing: read-only places, traversal, no space, long or control-character names', async () => {
  const { dir, shared, a1, serverA, server, sh } = await setUp();
  await shared.pushFiles(serverA, await makeTar({ 'data/kept.txt': 'kept\n' }));
  const refused: Array<[Record<string, string | { link: string }>, RegExp, ShareServer?, Record<string, string>?]> = [
    [{ 'data/new.txt': 'n', 'system/evil': 'e' }, /^tar: system\/evil: Read-only file system\n$/],
    [{ 'data/new.txt': 'n', 'sdcard/x': 'x' }, /Read-only file system/],
    [{ 'data/new.txt': 'n', 'data/out': { link: '../../../etc' } }, /outside the phone's root/],
    [{ 'data/new.txt': 'n', 'cache/big.bin': 'x'.repeat(2048) }, /No space left on device/, server(serverA.id, 2048)],
    [{ 'data/new.txt': 'n', 'data/long': 'x' }, /File name too long/, undefined, { 'data/long': `data/${'n'.repeat(256)}` }],
    [{ 'data/new.txt': 'n', 'data/bad': 'x' }, /Invalid argument/, undefined, { 'data/bad': 'data/bad\u0001name' }],
  ];
  for (const [files, output, target, names] of refused) {
    const result = await shared.pushFiles(target ?? serverA, await makeTar(files, names));
    assert.equal(result.exitCode, 1, JSON.stringify(files));
    assert.match(result.output, output);
  }
  assert.equal(await sh(a1, 'ls /data/new.txt 2>&1; cat /data/kept.txt'), 'ls: /data/new.txt: No such file or directory\nkept\n');
  assert.deepEqual(await shared.usage(serverA), { totalBytes: 50 * GiB, usedBytes: 5 });
  // What the refused pushes imported is gone: one blob, the kept file's.
  assert.equal((await readdir(join(dir, 'servers', serverA.id, 'share', 'blobs'))).length, 1);
});

test('shared storage survives a new process; a destroyed server frees it', async () => {
  const { dir, shared, serverA } = await setUp();
  await shared.pushFiles(serverA, await makeTar({ 'data/foo/x': 'x\n' }));
  const again = await setUp(dir);
  assert.equal(await again.sh(again.a2, 'cat /data/foo/x'), 'x\n');
  await again.shared.destroy(serverA.id);
  assert.equal(await again.sh(again.a2, 'ls /data/foo 2>&1'), 'ls: /data/foo: No such file or directory\n');
  assert.deepEqual(await readdir(join(dir, 'servers')), []);
});

test('an app tar needs an APK of its package; usage counts apps with files', async () => {
  const { shared, serverA } = await setUp();
  const hello = join(APK_FIXTURES, 'hello-v1.apk');
  const pushed = await shared.pushApp(serverA, 'com.opencph.hello', await makeTar({
    'data/app/com.opencph.hello-1/base.apk': { copy: hello },
    'data/data/com.opencph.hello/files/level.dat': 'level',
  }), true);
  assert.equal(pushed.ok, true);
  assert.equal(pushed.ok && pushed.apks.length, 1);
  const size = (await shared.usage(serverA)).usedBytes;
  assert.ok(size > 5);

  const wrong = await shared.pushApp(serverA, 'com.opencph.other', await makeTar({ 'data/app/com.opencph.other-1/base.apk': { copy: hello } }), false);
  assert.deepEqual(wrong, { ok: false, reason: 'package', output: '/data/app/com.opencph.other-1/base.apk: package com.opencph.hello, not com.opencph.other.\n' });
  const none = await shared.pushApp(serverA, 'com.opencph.other', await makeTar({ 'data/data/com.opencph.other/x': 'x' }), false);
  assert.equal(none.ok === false && none.reason, 'package');
  const broken = await shared.pushApp(serverA, 'com.opencph.other', await makeTar({ 'system/x': 'x' }), false);
  assert.equal(broken.ok === false && broken.reason, 'tar');
  assert.equal((await shared.usage(serverA)).usedBytes, size, 'refused pushes take no space');

  assert.deepEqual(await shared.app(serverA, 'com.opencph.hello'), { preinstall: true });
  await shared.deleteApp(serverA, 'com.opencph.hello');
  assert.equal(await shared.app(serverA, 'com.opencph.hello'), undefined);
  assert.equal((await shared.usage(serverA)).usedBytes, 0);
});

test('a phone created or reset later gets the pre-installed apps of its server, and only those', async () => {
  const { shared, sim, a1, b1, serverA, sh } = await setUp();
  const app = (name: string, apk: string) => makeTar({ [`data/app/${name}-1/base.apk`]: { copy: join(APK_FIXTURES, apk) } });
  assert.equal((await shared.pushApp(serverA, 'com.opencph.hello', await app('com.opencph.hello', 'hello-v1.apk'), true)).ok, true);
  assert.equal((await shared.pushApp(serverA, 'com.opencph.other', await app('com.opencph.other', 'other.apk'), false)).ok, true);
  const a3 = phone({ id: 'a3'.padEnd(32, '0'), serverId: serverA.id, name: 'mobile-0003' });
  await sim.create(a3);
  await sim.reset(a1);
  await sim.reset(b1);
  for (const spec of [a3, a1]) assert.equal(await sh(spec, 'pm list packages -3; pm path com.opencph.hello'), 'package:com.opencph.hello\npackage:/data/app/com.opencph.hello-1/base.apk\n');
  assert.equal(await sh(b1, 'pm list packages -3'), '');
  // The phone has its own copy: the app stays when the server stops sharing it.
  await shared.deleteApp(serverA, 'com.opencph.hello');
  assert.equal(await sh(a3, 'pm list packages -3; su 0 wc -c /data/app/com.opencph.hello-1/base.apk'), 'package:com.opencph.hello\n1302 /data/app/com.opencph.hello-1/base.apk\n');
  await sim.reset(a3);
  assert.equal(await sh(a3, 'pm list packages -3'), '');
});
