import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/process.ts';

/** bin/opencph.js runs a bundle of src/ that it rebuilds when a source changes (a copy of the package here). */
const root = fileURLToPath(new URL('../..', import.meta.url));
let copy: string;

before(() => {
  copy = mkdtempSync(join(tmpdir(), 'opencph-launcher-'));
  for (const entry of ['bin', 'src', 'catalogue', 'package.json']) cpSync(join(root, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
});
after(() => rmSync(copy, { recursive: true, force: true }));

const bundle = () => join(copy, 'dist', 'opencph.mjs');
const help = () => runCli(['--help'], {}, join(copy, 'bin', 'opencph.js'));

test('the bundle is built on first run, reused while current, rebuilt when a source changes', async () => {
  const first = await help();
  assert.equal(first.code, 0, first.output);
  assert.match(first.output, /self-hosted, Huawei Cloud CPH-compatible/);
  const built = statSync(bundle()).mtimeMs;

  assert.equal((await help()).code, 0);
  assert.equal(statSync(bundle()).mtimeMs, built, 'reused');

  const main = join(copy, 'src', 'main.ts');
  writeFileSync(main, readFileSync(main, 'utf8').replace('self-hosted, Huawei Cloud CPH-compatible', 'edited description'));
  const edited = await help();
  assert.match(edited.output, /edited description/);
  assert.ok(statSync(bundle()).mtimeMs > built, 'rebuilt');
});

test('a source that does not compile runs through tsx, which names the file', async () => {
  writeFileSync(join(copy, 'src', 'broken.ts'), 'export const = ;\n');
  writeFileSync(join(copy, 'src', 'main.ts'), `import './broken.ts';\n${readFileSync(join(copy, 'src', 'main.ts'), 'utf8')}`);
  const result = await help();
  assert.notEqual(result.code, 0);
  assert.match(result.output, /broken\.ts/);
});
