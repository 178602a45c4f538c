import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import {
  checkObjectName,
  InvalidObjectNameError,
  isValidBucketName,
  isValidObjectKey,
  ObjectNotFoundError,
  obsUrl,
  writeAtomically,
  type ObjectInfo,
  type ObjectStore,
} from './store.ts';

/** Not a valid bucket name (`_`), so it can never clash with a bucket nor show up in a listing. */
const UPLOADS_DIR = '_uploads';

/**
 * Objects as plain files, `<root>/<bucket>/<key>`, a key's `/` separating nested directories:
 * a file copied there by hand is an object like any other.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local';
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async stat(bucket: string, key: string): Promise<{ size: number } | undefined> {
    const info = await statOrUndefined(this.pathOf(bucket, key));
    return info?.isFile() ? { size: info.size } : undefined;
  }

  async download(bucket: string, key: string, toFile: string): Promise<void> {
    const path = this.pathOf(bucket, key);
    if (!(await statOrUndefined(path))?.isFile()) throw new ObjectNotFoundError(bucket, key);
    await writeAtomically(resolve(toFile), (temp) => copyFile(path, temp));
  }

  async upload(bucket: string, key: string, fromFile: string): Promise<void> {
    const path = this.pathOf(bucket, key);
    const uploads = join(this.root, UPLOADS_DIR);
    try {
      await mkdir(dirname(path), { recursive: true });
      await mkdir(uploads, { recursive: true });
      await writeAtomically(path, (temp) => copyFile(fromFile, temp), uploads);
    } catch (error) {
      // S3 allows both `a` and `a/b`; a directory tree cannot hold a file and a folder of the same name.
      const { code, path: failed } = error as NodeJS.ErrnoException;
      if (['EEXIST', 'ENOTDIR', 'EISDIR'].includes(code ?? '') && failed?.startsWith(this.root + sep)) {
        throw new Error(`cannot store ${obsUrl(bucket, key)}: the local store cannot hold both an object and a folder at one path`);
      }
      throw error;
    }
  }

  async list(bucket?: string, prefix = ''): Promise<ObjectInfo[]> {
    if (bucket !== undefined) checkObjectName(bucket);
    const buckets = bucket !== undefined ? [bucket] : (await entries(this.root)).map((e) => e.name).filter(isValidBucketName);
    const found: ObjectInfo[] = [];
    for (const name of buckets) await this.walk(name, join(this.root, name), '', prefix, found);
    return found.sort((a, b) => compare(a.bucket, b.bucket) || compare(a.key, b.key));
  }

  /** Collects the files under `dir` whose keys start with `prefix`, entering only directories that can hold such keys. */
  private async walk(bucket: string, dir: string, keyPrefix: string, prefix: string, found: ObjectInfo[]): Promise<void> {
    for (const entry of await entries(dir)) {
      const key = keyPrefix + entry.name;
      // Also bounds the depth of a symbolic-link loop: keys stop being valid past 1,024 bytes.
      if (!isValidObjectKey(key)) continue;
      const path = join(dir, entry.name);
      // stat, not the entry's own type: symbolic links placed by hand are followed.
      const info = await statOrUndefined(path);
      if (info?.isDirectory()) {
        const folder = key + '/';
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) await this.walk(bucket, path, folder, prefix, found);
      } else if (info?.isFile() && key.startsWith(prefix)) {
        found.push({ bucket, key, size: info.size });
      }
    }
  }

  /**
   * The file of an object. The containment check does not rely on the name rules: it still holds
   * if they change, or on a platform where other characters (`\`) separate paths.
   */
  private pathOf(bucket: string, key: string): string {
    checkObjectName(bucket, key);
    const bucketDir = resolve(this.root, bucket);
    const path = resolve(bucketDir, key);
    if (dirname(bucketDir) !== this.root || !path.startsWith(bucketDir + sep)) {
      throw new InvalidObjectNameError(`${obsUrl(bucket, key)} points outside the object store`);
    }
    return path;
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  return stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
}

/** A missing directory lists as empty: a bucket nobody wrote to yet has no objects. */
async function entries(dir: string): Promise<Dirent[]> {
  return readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
    throw error;
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
