// Reads the APKs tenants send (CPH install, KooPhone InstallApp, shared apps) away from the event loop:
// apk-parse.ts runs in a small pool of worker threads (apk-worker.ts), each with a heap limit, each read
// with a deadline. An APK too large or too complex to read within them is an invalid APK like any other;
// the process and the other tenants' requests never notice it.
import { access } from 'node:fs/promises';
import { ApkParseError, type ApkInfo } from './apk-parse.ts';
import type { ApkReply } from './apk-worker.ts';
import { WorkerLimitExceeded, WorkerPool, type WorkerPoolLimits } from './worker-pool.ts';

export { ApkParseError, type ApkInfo };

/**
 * Reads at once (more wait their turn), so that tenants installing at the same time cannot together take
 * more than this many workers' memory; each worker's heap; the time one read may take; how long an idle
 * worker stays. A real APK's manifest and resource table read in milliseconds within a few MB.
 */
export const APK_READ_LIMITS: WorkerPoolLimits = { workers: 2, heapMb: 64, deadlineMs: 10_000, idleMs: 60_000 };

// Run from sources, the worker is the TypeScript module beside this one; in the bundle bin/opencph.js
// builds, it is dist/apk-worker.mjs, beside dist/opencph.mjs.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './apk-worker.ts' : './apk-worker.mjs', import.meta.url);

export class ApkReader {
  private readonly pool: WorkerPool<string, ApkReply>;

  constructor(private readonly limits: WorkerPoolLimits = APK_READ_LIMITS) {
    this.pool = new WorkerPool(WORKER, limits);
  }

  /** Throws ApkParseError when the file is not an APK, or one too large or too complex to read within the limits. */
  async read(file: string): Promise<ApkInfo> {
    // A missing or unreadable file is an I/O problem, not an invalid APK: let that error through as is.
    await access(file);
    let reply: ApkReply;
    try {
      reply = await this.pool.run(file);
    } catch (err) {
      if (!(err instanceof WorkerLimitExceeded)) throw err;
      const needed = err.reason === 'memory' ? `more than ${this.limits.heapMb} MB of memory` : `more than ${this.limits.deadlineMs} ms`;
      throw new ApkParseError(`${file}: takes ${needed} to read`, { cause: err });
    }
    if ('info' in reply) return reply.info;
    if ('invalid' in reply) throw new ApkParseError(reply.invalid);
    throw new Error(`reading ${file} failed: ${reply.failed}`);
  }
}

const reader = new ApkReader();

/** Throws ApkParseError when the file is not a zip, has no manifest, or its manifest cannot be decoded. */
export function readApk(file: string): Promise<ApkInfo> {
  return reader.read(file);
}
