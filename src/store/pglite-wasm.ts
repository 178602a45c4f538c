import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * PGlite's WebAssembly, compiled on V8's background threads from the moment this module is loaded: on a
 * cold start the compilation (~0.25 s) overlaps the loading of the rest of the server instead of
 * following it. Not started when DATABASE_URL names a PostgreSQL server (the store config reads the same
 * variable); undefined if it fails, and PGlite then loads the file itself and reports what is wrong.
 */
export const pgliteWasmModule: Promise<WebAssembly.Module | undefined> = process.env.DATABASE_URL
  ? Promise.resolve(undefined)
  : readFile(join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), 'pglite.wasm'))
      .then((bytes) => WebAssembly.compile(bytes))
      .catch(() => undefined);
