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
