// Runs every *.test.ts under the given folders (default: test/) with Node's test runner.
// Node 20's runner does not expand globs or pick up .ts files by itself, hence this launcher.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

// Suites of their own (npm run test:reliability): run only when named, never as part of a folder.
const SEPARATE_SUITES = new Set([join('test', 'reliability')]);

function findTests(path, named = true) {
  if (!named && SEPARATE_SUITES.has(path)) return [];
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path).sort().flatMap((name) => findTests(join(path, name), false));
}

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = (roots.length ? roots : ['test']).flatMap((root) => findTests(root));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
