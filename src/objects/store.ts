import { randomUUID } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The files that CPH APIs name as `obs://bucket/key` or `bucket_name` + `object_path`. */
export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
}

/** The buckets of one namespace: one account's, or the platform's own. */
export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** Size of the object, or undefined when it does not exist. */
  stat(bucket: string, key: string): Promise<{ size: number } | undefined>;
  /** Copies the object to a local file; throws ObjectNotFoundError when it does not exist. */
  download(bucket: string, key: string, toFile: string): Promise<void>;
  upload(bucket: string, key: string, fromFile: string): Promise<void>;
  /** Objects of one bucket (or of all buckets), optionally only keys starting with `prefix`, in key order. */
  list(bucket?: string, prefix?: string): Promise<ObjectInfo[]>;
}

/**
 * The whole store, one namespace of buckets per account: as in OBS, where a bucket belongs to an account,
 * `obs://b/k` in a request of one account names that account's bucket `b`, which no other account reaches,
 * and no bucket name is taken for everyone by whoever used it first.
 */
export interface ObjectStoreRoot {
  readonly kind: 'local' | 's3';
  /** The buckets of one account (IAM domain): what its requests and the operator's CLI name. */
  forAccount(account: string): ObjectStore;
  /** The platform's own objects (KooPhone backups), in a namespace that no account name can be. */
  readonly internal: ObjectStore;
  /**
   * Moves the objects of the former single namespace (`<bucket>/<key>`) under `account`, and the buckets
   * named in `internalBuckets` into the internal namespace, once; returns the buckets it had to leave
   * (the account has buckets of those names already). The S3 store does nothing: keys there are not moved.
   */
  adoptFormerLayout(account: string, internalBuckets: string[]): Promise<string[]>;
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`${obsUrl(bucket, key)} does not exist`);
  }
}

/** A bucket name or key that breaks the rules below; raised before any I/O. */
export class InvalidObjectNameError extends Error {}

export const BUCKET_RULE = '3 to 63 letters, digits, "." or "-"';
/** Longest path segment of a key: what file systems allow in one name (ext4's NAME_MAX), checked before any I/O. */
export const MAX_KEY_SEGMENT_BYTES = 255;
export const KEY_RULE = `up to 1,024 bytes, segments of at most ${MAX_KEY_SEGMENT_BYTES} bytes, no leading "/", no empty, "." or ".." segments, no control characters`;
/** Names that core/iam.ts gives accounts, less "." and "..": each is a path segment of the local store. */
const ACCOUNT_NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,64}$/;
/** The platform's own namespace: "@" is in no account name. */
export const INTERNAL_NAMESPACE = '@opencph';

/**
 * The spec says lowercase only, but its own PushShareFiles example uses `bucketA`;
 * the project reading (spec §8 row 30) accepts upper case too.
 */
export function isValidBucketName(name: string): boolean {
  return /^[A-Za-z0-9.-]{3,63}$/.test(name);
}

/**
 * OBS allows any UTF-8 key up to 1,024 bytes. Keys here also name files (the local store maps
 * `a/b.tar` to a nested directory), so segments that a file system would collapse or climb out
 * through (`a//b`, `./a`, `../a`, a trailing `/`), or could not hold (over 255 bytes), are refused:
 * every operation then answers a bad name with its own documented code before anything is written.
 */
export function isValidObjectKey(key: string): boolean {
  if (key === '' || Buffer.byteLength(key) > 1024 || /[\x00-\x1f\x7f]/.test(key)) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..' && Buffer.byteLength(segment) <= MAX_KEY_SEGMENT_BYTES);
}


/** `obs://bucket/key` → parts, validated as the spec says; undefined when malformed. */
export function parseObsUrl(url: string): { bucket: string; key: string } | undefined {
  const match = /^obs:\/\/([^/]*)\/(.*)$/s.exec(url);
  if (!match) return undefined;
  const [, bucket, key] = match;
  return isValidBucketName(bucket) && isValidObjectKey(key) ? { bucket, key } : undefined;
}

export function obsUrl(bucket: string, key: string): string {
  return `obs://${bucket}/${key}`;
}

export function checkAccountName(account: string): void {
  if (!ACCOUNT_NAME.test(account)) throw new InvalidObjectNameError(`invalid account name "${account}"`);
}

export function checkObjectName(bucket: string, key?: string): void {
  if (!isValidBucketName(bucket)) throw new InvalidObjectNameError(`invalid bucket name "${bucket}": ${BUCKET_RULE}`);
  if (key !== undefined && !isValidObjectKey(key)) throw new InvalidObjectNameError(`invalid object key "${key}": ${KEY_RULE}`);
}

/**
 * Writes `target` through a temporary file that is renamed over it at the end, so nobody ever
 * reads a half-written file, and a failed write leaves the previous one intact.
 * `tempDir` must be on the same file system as `target`.
 */
export async function writeAtomically(target: string, write: (temp: string) => Promise<void>, tempDir = dirname(target)): Promise<void> {
  const temp = join(tempDir, `.opencph-${randomUUID()}.part`);
  try {
    await write(temp);
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
}
