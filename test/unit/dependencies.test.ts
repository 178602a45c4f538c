// The layers hold (docs/architecture.md, "Layers"): dependency-cruiser checks src/ against
// .dependency-cruiser.cjs, and the rules are shown to catch what they are meant to catch.
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

const ROOT = join(import.meta.dirname, '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

function depcruise(cwd: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'err'], {
    cwd,
    encoding: 'utf8',
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

test('src/ imports only downward and has no import cycle', { timeout: 120_000 }, () => {
  const { status, output } = depcruise(ROOT);
  assert.equal(status, 0, output);
});

test('the rules refuse an upward import, a value import where only types are allowed, and cycles', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'opencph-deps-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', allowImportingTsExtensions: true } }),
    'src/api/route.ts': "export const route = 1;\n",
    'src/core/use-case.ts': "import { route } from '../api/route.ts';\nexport const useCase = route;\n",
    'src/core/runtime.ts': "export const clock = 1;\n",
    'src/devices/driver.ts': "import { clock } from '../core/runtime.ts';\nexport const driver = clock;\n",
    'src/devices/typed.ts': "import type { clock } from '../core/runtime.ts';\nexport type Typed = typeof clock;\n",
    'src/store/a.ts': "import { b } from './nested/b.ts';\nexport const a = () => b;\n",
    'src/store/nested/b.ts': "import { a } from '../a.ts';\nexport const b = () => a;\n",
    'src/objects/c.ts': "import { d } from './d.ts';\nexport const c = () => d;\n",
    'src/objects/d.ts': "import { c } from './c.ts';\nexport const d = () => c;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const { status, output } = depcruise(dir);
  assert.notEqual(status, 0);
  // A cycle is reported once, at the first of its modules found.
  const violations = output
    .split('\n')
    .filter((line) => /^\s*error /.test(line))
    .map((line) => line.trim().replace(/\s*→\s*$/, ''))
    .sort();
  assert.deepEqual(violations, [
    'error layer-core: src/core/use-case.ts → src/api/route.ts',
    'error layer-devices-type-only: src/devices/driver.ts → src/core/runtime.ts',
    'error no-cycle-across-folders: src/store/a.ts',
    'error no-cycle-in-folder: src/objects/c.ts',
  ]);
});
