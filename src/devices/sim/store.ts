// Where one simulated phone lives on the host: `<dataDir>/phones/<phoneId>/`.
//   state.json   everything that differs from a fresh device (see device.ts), absent while nothing does
//   blobs/<sha256>  contents of the files written on the phone, named by their hash, so copies are free
// Every write goes to a temporary file that is renamed into place: a process killed at any moment leaves
// either the old or the new file, never a torn one.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { PhoneDeletedError } from '../driver.ts';

let tmpCounter = 0;
const tmpName = (target: string) => `${target}.${process.pid}.${++tmpCounter}.tmp`;

export class PhoneStore {
  readonly statePath: string;
  readonly blobDir: string;

  private deleted = false;
  /** Whether blobs/ was made by this store (and not removed since): a mkdir per blob is a round trip per file. */
  private blobDirMade = false;

  constructor(readonly dir: string) {
    this.statePath = join(dir, 'state.json');
    this.blobDir = join(dir, 'blobs');
  }

  async readState<T>(): Promise<T | undefined> {
    // Most phones have no state (never changed): a failed open costs a thread-pool round trip and an
    // error with its stack, ten times the check.
    if (!existsSync(this.statePath)) return undefined;
    try {
      return JSON.parse(await readFile(this.statePath, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async writeState(state: unknown): Promise<void> {
    this.assertNotDeleted();
    await mkdir(this.dir, { recursive: true });
    await writeAtomically(this.statePath, JSON.stringify(state));
  }

  blobPath(hash: string): string {
    return join(this.blobDir, hash);
  }

  /** Stores `data` and returns its hash; storing the same bytes twice keeps one copy. */
  async putBlob(data: Buffer): Promise<string> {
    const hash = createHash('sha256').update(data).digest('hex');
    const path = this.blobPath(hash);
    this.assertNotDeleted();
    // A synchronous check costs a tenth of a round trip to the thread pool: a tar of many small files makes many.
    if (!existsSync(path)) {
      await this.makeBlobDir();
      await writeAtomically(path, data);
    }
    return hash;
  }

  /**
   * Copies a host file or stream into the blob store without holding it in memory (APKs and tars run to
   * gigabytes); bytes already in memory are stored as `putBlob` stores them.
   */
  async importBlob(source: string | Buffer | AsyncIterable<Buffer>): Promise<{ hash: string; size: number }> {
    if (Buffer.isBuffer(source)) return { hash: await this.putBlob(source), size: source.length };
    this.assertNotDeleted();
    await this.makeBlobDir();
    const tmp = tmpName(join(this.blobDir, 'import'));
    const hasher = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hasher.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const input = typeof source === 'string' ? createReadStream(source) : source;
    try {
      await pipeline(input, tap, createWriteStream(tmp));
      const hash = hasher.digest('hex');
      await rename(tmp, this.blobPath(hash));
      return { hash, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private async makeBlobDir(): Promise<void> {
    if (this.blobDirMade) return;
    await mkdir(this.blobDir, { recursive: true });
    this.blobDirMade = true;
  }

  readBlob(hash: string): Promise<Buffer> {
    return readFile(this.blobPath(hash));
  }

  /** Synchronous so that no write of the same blob can slip in between the reference check and the unlink. */
  removeBlobSync(hash: string): void {
    try {
      unlinkSync(this.blobPath(hash));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Removes the phone's files; writes through this store fail from now on, so that work still running cannot bring them back. */
  destroy(): Promise<void> {
    this.deleted = true;
    return this.clear();
  }

  /** Removes the files, the store staying usable (a staging folder left by an interrupted migration). */
  clear(): Promise<void> {
    this.blobDirMade = false;
    // A write already under way may land while the folder is being removed: the removal is then retried.
    return rm(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }

  /** Throws PhoneDeletedError once the phone is deleted: nothing of it may be written any more. */
  assertNotDeleted(): void {
    if (this.deleted) throw new PhoneDeletedError(`phone ${basename(this.dir)} was deleted`);
  }
}

async function writeAtomically(path: string, data: string | Buffer): Promise<void> {
  const tmp = tmpName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
