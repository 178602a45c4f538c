import { randomUUID } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError, type Config } from '../config.ts';
import { LocalObjectStore } from './local.ts';
import type { S3ObjectStore } from './s3.ts';

/** The files that CPH APIs name as `obs://bucket/key` or `bucket_name` + `object_path`. */
export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
}

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
export const KEY_RULE = 'up to 1,024 bytes, no leading "/", no empty, "." or ".." path segments, no control characters';

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
 * through (`a//b`, `./a`, `../a`, a trailing `/`) are refused.
 */
export function isValidObjectKey(key: string): boolean {
  if (key === '' || Buffer.byteLength(key) > 1024 || /[\x00-\x1f\x7f]/.test(key)) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
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

/** The local directory store unless an S3-compatible endpoint is configured. */
export function createObjectStore(config: Config): ObjectStore {
  const { endpoint, accessKey, secretKey, region, pathStyle } = config.objects;
  if (!endpoint) return new LocalObjectStore(join(config.dataDir, 'objects'));
  if (!accessKey || !secretKey) {
    throw new ConfigError('OPENCPH_OBJECTS_ENDPOINT needs OPENCPH_OBJECTS_ACCESS_KEY and OPENCPH_OBJECTS_SECRET_KEY');
  }
  // The AWS SDK costs ~0.25 s and ~30 MB to load: only a process that actually talks to S3 pays for it.
  let loaded: Promise<S3ObjectStore> | undefined;
  const s3 = () => (loaded ??= import('./s3.ts').then((m) => new m.S3ObjectStore({ endpoint, accessKey, secretKey, region, pathStyle })));
  return {
    kind: 's3',
    stat: async (bucket, key) => (await s3()).stat(bucket, key),
    download: async (bucket, key, toFile) => (await s3()).download(bucket, key, toFile),
    upload: async (bucket, key, fromFile) => (await s3()).upload(bucket, key, fromFile),
    list: async (bucket, prefix) => (await s3()).list(bucket, prefix),
  };
}
