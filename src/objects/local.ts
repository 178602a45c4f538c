import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import {
  checkAccountName,
  checkObjectName,
  INTERNAL_NAMESPACE,
  InvalidObjectNameError,
  isValidBucketName,
  isValidObjectKey,
  ObjectNotFoundError,
  obsUrl,
  writeAtomically,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreRoot,
} from './store.ts';

// Names beside the namespaces hold "@", which no account name and no bucket name has.
/** Says that the root holds `<namespace>/<bucket>/<key>`, not the former `<bucket>/<key>`. */
const LAYOUT_MARKER = '@layout';
const LAYOUT_TEXT = 'objects/<account>/<bucket>/<key>: one namespace of buckets per account; @opencph: the platform\'s own\n';
/** Temporary files of uploads, on the same file system as their targets. */
const UPLOADS_DIR = '@uploads';
/** Where the buckets of the former layout wait while they move under their account. */
const FORMER_DIR = '@former';
/** The former layout's temporary files (never objects). */
const FORMER_UPLOADS_DIR = '_uploads';

/**
 * Objects as plain files, `<root>/<account>/<bucket>/<key>`, a key's `/` separating nested directories:
 * a file copied there by hand is an object of that account like any other.
 */
export class LocalObjectStore implements ObjectStoreRoot {
  readonly kind = 'local';
  readonly root: string;
  readonly internal: ObjectStore;

  constructor(root: string) {
    this.root = resolve(root);
    this.internal = new LocalNamespace(this, INTERNAL_NAMESPACE);
  }

  forAccount(account: string): ObjectStore {
    checkAccountName(account);
    return new LocalNamespace(this, account);
  }

  /** A root that exists without the layout marker holds the former single namespace. */
  async hasFormerLayout(): Promise<boolean> {
    return (await statOrUndefined(this.root)) !== undefined && (await statOrUndefined(join(this.root, LAYOUT_MARKER))) === undefined;
  }

  /**
   * Every step can run again after a crash: buckets first gather in FORMER_DIR (the account's directory may
   * have a former bucket's name), the marker is written, then they join the account's directory. A bucket
   * the account already has stays in FORMER_DIR, returned, for the operator to merge by hand.
   */
  async adoptFormerLayout(account: string, internalBuckets: string[]): Promise<string[]> {
    checkAccountName(account);
    if (!(await statOrUndefined(this.root))) {
      await this.ensureRoot();
      return [];
    }
    const former = join(this.root, FORMER_DIR);
    if (await this.hasFormerLayout()) {
      await mkdir(former, { recursive: true });
      for (const entry of await entries(this.root)) {
        if (isValidBucketName(entry.name)) await renameIfPresent(join(this.root, entry.name), join(former, entry.name));
      }
      await rm(join(this.root, FORMER_UPLOADS_DIR), { recursive: true, force: true });
      await mkdir(join(this.root, INTERNAL_NAMESPACE), { recursive: true });
      for (const bucket of internalBuckets) await renameIfPresent(join(former, bucket), join(this.root, INTERNAL_NAMESPACE, bucket));
      await writeFile(join(this.root, LAYOUT_MARKER), LAYOUT_TEXT);
    }
    const left = (await entries(former)).map((entry) => entry.name);
    if (left.length === 0) {
      await rmdir(former).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      return [];
    }
    const target = join(this.root, account);
    if (await renameIfPresent(former, target)) return [];
    for (const name of left) await renameIfPresent(join(former, name), join(target, name));
    const kept = (await entries(former)).map((entry) => entry.name);
    if (kept.length === 0) await rmdir(former);
    return kept;
  }

  /** A new root is created with its marker, whole (rename), so that it is never taken for the former layout. */
  async ensureRoot(): Promise<void> {
    if (await statOrUndefined(this.root)) return;
    await mkdir(dirname(this.root), { recursive: true });
    const temp = `${this.root}.${randomUUID()}.part`;
    try {
      await mkdir(temp);
      await writeFile(join(temp, LAYOUT_MARKER), LAYOUT_TEXT);
      await rename(temp, this.root);
    } catch (error) {
      // Created meanwhile by another writer: theirs stands.
      if (!['EEXIST', 'ENOTEMPTY'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }
}

/** The buckets of one namespace: `<root>/<namespace>/<bucket>/<key>`. */
class LocalNamespace implements ObjectStore {
  readonly kind = 'local';
  private readonly dir: string;

  constructor(
    private readonly store: LocalObjectStore,
    namespace: string,
  ) {
    this.dir = join(store.root, namespace);
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
    const uploads = join(this.store.root, UPLOADS_DIR);
    try {
      await this.store.ensureRoot();
      await mkdir(dirname(path), { recursive: true });
      await mkdir(uploads, { recursive: true });
      await writeAtomically(path, (temp) => copyFile(fromFile, temp), uploads);
    } catch (error) {
      // S3 allows both `a` and `a/b`; a directory tree cannot hold a file and a folder of the same name.
      const { code, path: failed } = error as NodeJS.ErrnoException;
      if (['EEXIST', 'ENOTDIR', 'EISDIR'].includes(code ?? '') && failed?.startsWith(this.store.root + sep)) {
        throw new Error(`cannot store ${obsUrl(bucket, key)}: the local store cannot hold both an object and a folder at one path`);
      }
      throw error;
    }
  }

  async list(bucket?: string, prefix = ''): Promise<ObjectInfo[]> {
    if (bucket !== undefined) checkObjectName(bucket);
    const buckets = bucket !== undefined ? [bucket] : (await entries(this.dir)).map((e) => e.name).filter(isValidBucketName);
    const found: ObjectInfo[] = [];
    for (const name of buckets) await this.walk(name, join(this.dir, name), '', prefix, found);
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
    const bucketDir = resolve(this.dir, bucket);
    const path = resolve(bucketDir, key);
    if (dirname(this.dir) !== this.store.root || dirname(bucketDir) !== this.dir || !path.startsWith(bucketDir + sep)) {
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

/** Renames unless `from` is gone or `to` is taken (a run before this one, or another process, got there); whether it did. */
async function renameIfPresent(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if (['ENOENT', 'EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
