// push: a tar built here is unpacked over the phone's root; unsafe archives change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { dataDir, onePhone } from '../../fixtures/sim/phone.ts';

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

test('a file that is not a tar is refused', async () => {
  const { sim, spec } = await onePhone();
  const dir = await dataDir();
  await writeFile(join(dir, 'junk.tar'), 'not a tar at all'.repeat(64));
  const result = await sim.pushTar(spec, join(dir, 'junk.tar'));
  assert.equal(result.exitCode, 1);
  assert.match(result.output, /^tar: /);
});
