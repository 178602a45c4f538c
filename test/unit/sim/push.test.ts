// push: a tar built here is unpacked over the phone's root; unsafe archives change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { BootLedger } from '../../../src/devices/sim/boot-ledger.ts';
import { SimDevice } from '../../../src/devices/sim/device.ts';
import { runShell } from '../../../src/devices/sim/shell/run.ts';
import { MAX_OWN_ENTRIES } from '../../../src/devices/sim/fs-nodes.ts';
import { TAR_LIMITS } from '../../../src/android/tar.ts';
import { unpackTar, type PushTarget } from '../../../src/devices/sim/push.ts';
import { PhoneStore } from '../../../src/devices/sim/store.ts';
import { ROOT } from '../../../src/devices/sim/users.ts';
import {
  deepNesting, hugeDeclaredSize, longName, manyFiles, paxDeclaredSize, sparseFile, writeGzipBomb, writeTar, type Member,
} from '../../helpers/hostile-tar.ts';
import { clock, dataDir, ids, onePhone, phone } from '../../fixtures/sim/phone.ts';

/** A tar of `files` (path → content, or `{ link }` for a symlink), members named as given (or `members`). */
async function makeTar(files: Record<string, string | { link: string }>, options: { prefix?: string; members?: string[] } = {}): Promise<string> {
  const dir = await dataDir();
  const root = join(dir, 'root');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    if (typeof content === 'string') await writeFile(join(root, path), content);
    else await symlink(content.link, join(root, path));
  }
  const file = join(dir, 'push.tar');
  await tar.c({ file, cwd: root, portable: true, prefix: options.prefix }, options.members ?? Object.keys(files));
  return file;
}

test('files land where the member paths say, owned by root, directories created on the way', async () => {
  const { sim, spec, sh } = await onePhone();
  const file = await makeTar({
    'data/local/tmp/app/config.json': '{"a":1}\n',
    'sdcard/Download/readme.txt': 'read me\n',
    'data/local/tmp/app/current': { link: 'config.json' },
  });
  assert.deepEqual(await sim.pushTar(spec, file), { output: '', exitCode: 0 });
  assert.equal(await sh('cat /data/local/tmp/app/config.json /data/local/tmp/app/current /sdcard/Download/readme.txt'), '{"a":1}\n{"a":1}\nread me\n');
  assert.match(await sh('ls -l /data/local/tmp'), /^total 4\ndrwxr-xr-x 2 root root 4096 \d{4}-\d\d-\d\d \d\d:\d\d app\n$/);
  assert.match(await sh('ls -l /sdcard/Download'), /^total 4\n-rw-rw---- 1 root sdcard_rw 8 .* readme\.txt\n$/);
  // The directories that existed keep their owner and mode.
  assert.match(await sh('ls -ld /data/local/tmp'), /^drwxrwx--x 3 shell shell /);
});

test('a member with an absolute path lands at the same place', async () => {
  const { sim, spec, sh } = await onePhone();
  const file = await makeTar({ 'data/local/tmp/abs.txt': 'abs\n' });
  // Rename the member to /data/local/tmp/abs.txt in its ustar header and fix the header checksum.
  const bytes = await readFile(file);
  const header = bytes.subarray(0, 512);
  header.fill(0, 0, 100);
  header.write('/data/local/tmp/abs.txt', 0);
  header.fill(' ', 148, 156);
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  await writeFile(file, bytes);
  assert.deepEqual(await sim.pushTar(spec, file), { output: '', exitCode: 0 });
  assert.equal(await sh('cat /data/local/tmp/abs.txt'), 'abs\n');
});

test('traversal, links out of the root, links in the path and /system are refused, and nothing is written', async () => {
  const { sim, spec, sh } = await onePhone();
  const cases: [Record<string, string | { link: string }>, string, { prefix?: string; members?: string[] }?][] = [
    [{ 'data/local/tmp/ok.txt': 'x', 'escape.txt': 'y' }, "tar: ../data/local/tmp/ok.txt: path contains '..'\ntar: ../escape.txt: path contains '..'\n", { prefix: '../' }],
    [{ 'data/local/tmp/ok.txt': 'x', 'data/local/tmp/out': { link: '../../../../../etc' } },
      "tar: data/local/tmp/out: link target '../../../../../etc' is outside the phone's root\n"],
    [{ 'data/local/tmp/real/evil': 'z', 'data/local/tmp/lnk': { link: 'real' } },
      'tar: data/local/tmp/lnk/evil: path goes through a symbolic link of the archive\n', { members: ['data/local/tmp/lnk', 'data/local/tmp/lnk/evil'] }],
    [{ 'data/local/tmp/ok.txt': 'x', 'system/bin/evil': 'z' }, 'tar: system/bin/evil: Read-only file system\n'],
    [{ 'vendor/x': 'z' }, 'tar: vendor/x: Read-only file system\n'],
  ];
  for (const [files, output, options] of cases) {
    const result = await sim.pushTar(spec, await makeTar(files, options));
    assert.deepEqual(result, { output, exitCode: 1 });
  }
  assert.equal(await sh('ls /data/local/tmp; ls /system/bin/evil'), 'ls: /system/bin/evil: No such file or directory\n');
});

test('".." anywhere in a member path is refused, and a link may climb to the root but not past it', async () => {
  const { sim, spec, sh } = await onePhone();
  const dir = await dataDir();
  const push = async (members: Member[]) => sim.pushTar(spec, await writeTar(join(dir, 'climb.tar'), members));
  // A link in /data/local/tmp climbing exactly its three levels reaches /, then goes down: allowed.
  assert.deepEqual(await push([{ path: 'data/local/tmp/to-system', type: '2', linkpath: '../../../system' }]), { output: '', exitCode: 0 });
  assert.match(await sh('ls -l /data/local/tmp/to-system'), /\/data\/local\/tmp\/to-system -> \.\.\/\.\.\/\.\.\/system\n$/);
  // One level more leaves the phone's root.
  assert.deepEqual(await push([{ path: 'data/local/tmp/past-root', type: '2', linkpath: '../../../../system' }]), {
    output: "tar: data/local/tmp/past-root: link target '../../../../system' is outside the phone's root\n",
    exitCode: 1,
  });
  // ".." in the middle of a path, even one that would stay inside, is refused as GNU tar refuses it.
  for (const path of ['data/local/tmp/a/../../x', 'data/../data/local/tmp/y']) {
    assert.deepEqual(await push([{ path, body: 'z' }]), { output: `tar: ${path}: path contains '..'\n`, exitCode: 1 });
  }
  assert.equal(await sh('ls /data/local/tmp; ls /data/local/x 2>&1'), 'to-system\nls: /data/local/x: No such file or directory\n');
});

test('a file that is not a tar is refused', async () => {
  const { sim, spec } = await onePhone();
  const dir = await dataDir();
  await writeFile(join(dir, 'junk.tar'), 'not a tar at all'.repeat(64));
  const result = await sim.pushTar(spec, join(dir, 'junk.tar'));
  assert.equal(result.exitCode, 1);
  assert.match(result.output, /^tar: /);
});

test("what is in the member's way is handled as GNU tar does: replaced, kept (directories), or refused (directories with entries)", async () => {
  const { sim, spec, sh } = await onePhone();
  await sh('cd /data/local/tmp && mkdir -p real/in empty full/x && echo old > old.txt && ln -s real to-dir && ln -s old.txt to-file && ln -s real dir-link && echo f > was-file');
  const file = await makeTar({
    'data/local/tmp/to-dir': { link: 'old.txt' },
    'data/local/tmp/to-file': 'new\n',
    'data/local/tmp/empty': { link: 'real' },
    'data/local/tmp/dir-link/inside.txt': 'inside\n',
    'data/local/tmp/was-file/sub.txt': 'sub\n',
  }, { members: ['data/local/tmp/to-dir', 'data/local/tmp/to-file', 'data/local/tmp/empty', 'data/local/tmp/dir-link', 'data/local/tmp/was-file'] });
  assert.deepEqual(await sim.pushTar(spec, file), { output: '', exitCode: 0 });
  // A link or file replaces a link (never written through it) and an empty directory.
  assert.match(await sh('cd /data/local/tmp && ls -l to-dir empty to-file && cat to-file old.txt && ls real'), /^l.* empty -> real\nl.* to-dir -> old\.txt\n-.* to-file\nnew\nold\nin\n$/);
  // A directory replaces a link, even one to a directory, and a file; what was behind the link stays.
  assert.match(await sh('cd /data/local/tmp && ls -ld dir-link was-file && cat dir-link/inside.txt was-file/sub.txt'), /^drwx.* dir-link\ndrwx.* was-file\ninside\nsub\n$/);

  // Over a directory with entries, a file or link is refused; nothing changes.
  const refused = await makeTar({ 'data/local/tmp/full': { link: 'real' }, 'data/local/tmp/real': 'x', 'data/local/tmp/ok.txt': 'ok' });
  assert.deepEqual(await sim.pushTar(spec, refused), {
    output: "tar: data/local/tmp/full: Cannot create symlink to 'real': File exists\ntar: data/local/tmp/real: Cannot open: File exists\n",
    exitCode: 1,
  });
  assert.equal(await sh('cd /data/local/tmp && ls full real; ls ok.txt'), 'full:\nx\n\nreal:\nin\nls: ok.txt: No such file or directory\n');
});

/** A phone's file system as unpackTar's target, whose blob imports are counted (bytes, and how many at once). */
async function countingTarget(spec = phone()) {
  const dir = await dataDir();
  const store = new PhoneStore(join(dir, 'phone'));
  const device = SimDevice.fresh(store, spec, { now: () => clock.now().getTime(), random: ids.hex32, timeScale: 0, bootLedger: new BootLedger(join(dir, 'boots.log')) });
  const counts = { bytes: 0, running: 0, mostAtOnce: 0 };
  const target: PushTarget = {
    fs: device.fs,
    cred: ROOT,
    async importBlob(source) {
      counts.mostAtOnce = Math.max(counts.mostAtOnce, ++counts.running);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1));
        const blob = await store.importBlob(source);
        counts.bytes += blob.size;
        return blob;
      } finally {
        counts.running--;
      }
    },
  };
  return { dir, target, counts, device };
}

async function hostile(members: Iterable<Member>): Promise<string> {
  return writeTar(join(await dataDir(), 'hostile.tar'), members);
}

test('15,000 small files: unpacked in short slices, blobs stored a few at a time, the used space counted as it grows', async () => {
  const { target, counts } = await countingTarget();
  const file = await hostile(manyFiles(15_000));
  let longest = 0;
  let last = performance.now();
  const ticks = setInterval(() => {
    longest = Math.max(longest, performance.now() - last);
    last = performance.now();
  }, 5);
  try {
    assert.deepEqual(await unpackTar(file, target), { output: '', exitCode: 0 });
  } finally {
    clearInterval(ticks);
  }
  // Before: every import at once (EMFILE past ~20,000 files) and /data's use summed again for each file written.
  assert.ok(counts.mostAtOnce <= 16, `${counts.mostAtOnce} imports at once`);
  assert.ok(longest < 1000, `the event loop was held ${Math.round(longest)} ms`);
  const data = target.fs.mounts.find((mount) => mount.dir === '/data')!;
  assert.equal(target.fs.usedBytes(data), data.baseUsedBytes + 15_000);
  assert.deepEqual(target.fs.readdir('/data/local/tmp/many/d14', ROOT).length, 1000);
});

test('a member declaring more bytes than a tar holds or the phone has free is refused at its header: no byte of it is stored', async () => {
  const cases: Array<[string, Member]> = [['size field', hugeDeclaredSize(2 ** 40)], ['pax size record', paxDeclaredSize(2 ** 40)]];
  for (const [name, member] of cases) {
    const { target, counts } = await countingTarget();
    const file = await hostile([{ path: 'data/local/tmp/ok.txt', body: 'ok\n' }, member]);
    assert.deepEqual(await unpackTar(file, target), { output: 'tar: Archive is larger than 6 GiB once decompressed\n', exitCode: 1 }, name);
    assert.equal(counts.bytes, 3, `${name}: only ok.txt was stored`);
    assert.equal(target.fs.exists('/data/local/tmp/ok.txt', ROOT), false, name);
  }
  // A gzip bomb says what it is in its first header: nothing past it is decompressed. 5 GiB of zeros (5 MiB of
  // gzip) is more than a phone with a 2 GiB data volume holds in all its volumes; 8 GiB more than a tar may hold.
  const small = await countingTarget(phone({ dataVolumeGiB: 2 }));
  const bomb = await writeGzipBomb(join(await dataDir(), 'bomb.tar'), 5 * 1024 ** 3);
  assert.deepEqual(await unpackTar(bomb, small.target), { output: 'tar: data/local/tmp/zeros.bin: Cannot write: No space left on device\n', exitCode: 1 });
  const { target, counts } = await countingTarget();
  const larger = await writeGzipBomb(join(await dataDir(), 'larger.tar'), 8 * 1024 ** 3);
  assert.deepEqual(await unpackTar(larger, target), { output: 'tar: Archive is larger than 6 GiB once decompressed\n', exitCode: 1 });
  assert.equal(small.counts.bytes + counts.bytes, 0);
});

test('names past NAME_MAX, paths past PATH_MAX or too deep, and sparse files are refused', async () => {
  const cases: Array<[string, Member[], string]> = [
    ['a 300-byte name', [longName(316, { component: true })], `tar: ${longName(316, { component: true }).path.slice(0, 256)}...: Cannot open: File name too long\n`],
    ['a 5,000-byte path', [longName(5000)], `tar: ${longName(5000).path.slice(0, 256)}...: Cannot open: File name too long\n`],
    ['a link target past PATH_MAX', [{ path: 'data/local/tmp/l', type: '2', linkpath: 'x'.repeat(4097) }], 'tar: data/local/tmp/l: Cannot create link: File name too long\n'],
    ['a sparse file', [sparseFile(2 ** 40)], 'tar: data/local/tmp/sparse.bin: SparseFile entries are not supported\n'],
  ];
  const deep = [...deepNesting(TAR_LIMITS.depth, { dir: 'data' })];
  cases.push([`${TAR_LIMITS.depth + 1} directories deep`, deep, `tar: ${deep.at(-1)!.path}: Cannot open: more than ${TAR_LIMITS.depth} directories deep\n`]);
  for (const [name, members, output] of cases) {
    const { target, counts } = await countingTarget();
    assert.deepEqual(await unpackTar(await hostile([{ path: 'data/local/tmp/first.txt', body: 'first\n' }, ...members]), target), { output, exitCode: 1 }, name);
    assert.ok(counts.bytes <= 6, name);
    assert.equal(target.fs.exists('/data/local/tmp/first.txt', ROOT), false, name);
  }
  // At the limit, a deep tree unpacks.
  const { target } = await countingTarget();
  assert.deepEqual(await unpackTar(await hostile(deepNesting(TAR_LIMITS.depth - 1, { dir: 'data' })), target), { output: '', exitCode: 0 });
  assert.equal(await target.fs.readFile(`/data${'/d'.repeat(TAR_LIMITS.depth - 1)}/bottom.txt`, ROOT).then(String), 'bottom\n');
});

test('an archive compressed twice is refused: what it expands to could not be counted', async () => {
  const { target } = await countingTarget();
  const dir = await dataDir();
  const inner = await writeTar(join(dir, 'inner.tar'), [{ path: 'data/local/tmp/a.txt', body: 'a'.repeat(10_000) }], { gzip: true });
  const twice = join(dir, 'twice.tar');
  await writeFile(twice, gzipSync(await readFile(inner)));
  const result = await unpackTar(twice, target);
  assert.equal(result.exitCode, 1);
  assert.match(result.output, /^tar: .*decompression ratio/);
  // Compressed once, the same archive unpacks.
  assert.deepEqual(await unpackTar(inner, target), { output: '', exitCode: 0 });
});

test(`a phone holds at most ${MAX_OWN_ENTRIES} entries of its own, as ext4 has inodes: a push past them is refused whole`, async () => {
  const { target, device } = await countingTarget();
  const filler = { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 } as const;
  target.fs.mkdirs('/data/filler', ROOT);
  for (let i = target.fs.overlay.size; i < MAX_OWN_ENTRIES - 1; i++) target.fs.overlay.set(`/data/filler/f${i}`, { ...filler });
  const two = await hostile([{ path: 'data/local/tmp/one', body: '1' }, { path: 'data/local/tmp/two', body: '2' }]);
  assert.deepEqual(await unpackTar(two, target), { output: 'tar: Cannot create 2 entries: No space left on device (no free inodes)\n', exitCode: 1 });
  assert.equal(target.fs.exists('/data/local/tmp/one', ROOT), false);
  // One more entry fits; then the shell's writes fail as on a file system without free inodes.
  assert.deepEqual(await unpackTar(await hostile([{ path: 'data/local/tmp/one', body: '1' }]), target), { output: '', exitCode: 0 });
  assert.equal((await runShell(device, 'echo x > /data/local/tmp/x; cat /data/local/tmp/one', new AbortController().signal)).output,
    '/system/bin/sh: can\'t create /data/local/tmp/x: No space left on device\n1');
});

test('files on the tmpfs mounts (/dev, /mnt) count as their used space, so pushes there stop at their size', async () => {
  const { target } = await countingTarget();
  assert.deepEqual(await unpackTar(await hostile([{ path: 'mnt/x.bin', body: 'x'.repeat(1000) }]), target), { output: '', exitCode: 0 });
  const mnt = target.fs.mounts.find((mount) => mount.dir === '/mnt')!;
  assert.equal(target.fs.usedBytes(mnt), mnt.baseUsedBytes + 1000);
});
