#!/usr/bin/env node
// Runs OpenCPH from one bundled JavaScript file, dist/opencph.mjs, rebuilt from src/ whenever a source is
// newer than it. Loading one plain file takes a fraction of the time that compiling the TypeScript modules
// on every start takes (docs/performance.md, P5). Where the bundle cannot be built or written (a read-only
// installation, a source that does not compile), the sources run through tsx's loader instead.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const sources = join(root, 'src');
const dist = join(root, 'dist');
const bundle = join(dist, 'opencph.mjs');
// Entry points of their own: the server, and the worker threads it starts from a file beside it (src/android/apk.ts).
const entryPoints = { opencph: join(sources, 'main.ts'), 'apk-worker': join(sources, 'android', 'apk-worker.ts') };

/** The latest modification time under `dir`, folders included (a deleted file changes its folder's). */
function newestChange(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

async function currentBundle() {
  const built = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built > newestChange(sources)) return true;
  // Built apart and moved in, so that servers starting side by side never load a half-written file.
  const staging = join(dist, `.build-${process.pid}`);
  try {
    const { build } = await import('esbuild');
    await build({
      entryPoints,
      outdir: staging,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      // Dependencies are bundled too (fewer files to find and load); these read files beside their own code.
      external: ['@electric-sql/pglite', '@fastify/swagger-ui', '@aws-sdk/*', 'pg-native'],
      // Bundled CommonJS packages call require().
      banner: { js: "import { createRequire as createBundleRequire } from 'node:module'; const require = createBundleRequire(import.meta.url);" },
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Stack traces name positions in the bundle, which keeps each module's code readable; the map (for
      // NODE_OPTIONS=--enable-source-maps) is not loaded by default: parsing it would add a fifth to a start.
      sourcemap: true,
      sourcesContent: false,
      logLevel: 'silent',
    });
    // The server's bundle last: once it is there, a starting server takes the build for complete.
    for (const name of Object.keys(entryPoints).reverse()) {
      renameSync(join(staging, `${name}.mjs.map`), join(dist, `${name}.mjs.map`));
      renameSync(join(staging, `${name}.mjs`), join(dist, `${name}.mjs`));
    }
    return true;
  } catch {
    return false;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (await currentBundle()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
