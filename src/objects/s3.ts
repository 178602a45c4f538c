import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  checkAccountName,
  checkObjectName,
  INTERNAL_NAMESPACE,
  isValidObjectKey,
  ObjectNotFoundError,
  writeAtomically,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreRoot,
} from './store.ts';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key`; what MinIO and Ceph expect by default. */
  pathStyle: boolean;
}

/**
 * Any S3-compatible store: Huawei OBS, MinIO, Ceph RGW, AWS S3. Bodies are streamed, never held whole.
 * An account's bucket `b` is the S3 bucket `b`, its keys under the prefix `<account>/` (the platform's own
 * under `@opencph/`): accounts share the operator's buckets, never a key.
 */
export class S3ObjectStore implements ObjectStoreRoot {
  readonly kind = 's3';
  readonly client: S3Client;
  readonly internal: ObjectStore;

  constructor(settings: S3Settings) {
    this.client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.pathStyle,
      credentials: { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey },
      // Servers older than the SDK's default CRC32 trailers (`aws-chunked` uploads) refuse them, S3rver
      // among them; checksums only where the S3 API requires one is what such servers have always accepted.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.internal = new S3Namespace(this.client, INTERNAL_NAMESPACE);
  }

  forAccount(account: string): ObjectStore {
    checkAccountName(account);
    return new S3Namespace(this.client, account);
  }

  /** Keys written before namespaces existed are not moved: a bucket may hold other data than OpenCPH's (see README). */
  async adoptFormerLayout(): Promise<string[]> {
    return [];
  }
}

/** The keys of one namespace: `<namespace>/<key>` in each bucket. */
class S3Namespace implements ObjectStore {
  readonly kind = 's3';
  private readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    namespace: string,
  ) {
    this.prefix = `${namespace}/`;
  }

  async stat(bucket: string, key: string): Promise<{ size: number } | undefined> {
    checkObjectName(bucket, key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: this.prefix + key }));
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async download(bucket: string, key: string, toFile: string): Promise<void> {
    checkObjectName(bucket, key);
    let body: Readable;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: this.prefix + key }))).Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(bucket, key);
      throw error;
    }
    await writeAtomically(resolve(toFile), (temp) => pipeline(body, createWriteStream(temp)));
  }

  /** Multipart above 5 MiB, as a single PUT is capped at 5 GB and a phone's tar may reach 6 GB. */
  async upload(bucket: string, key: string, fromFile: string): Promise<void> {
    checkObjectName(bucket, key);
    // Opened first so that a missing file fails here rather than halfway through a multipart upload.
    const file = await open(fromFile);
    try {
      const body = file.createReadStream({ autoClose: false });
      await new Upload({ client: this.client, params: { Bucket: bucket, Key: this.prefix + key, Body: body } }).done();
    } finally {
      await file.close();
    }
  }

  async list(bucket?: string, prefix = ''): Promise<ObjectInfo[]> {
    if (bucket !== undefined) checkObjectName(bucket);
    const buckets =
      bucket !== undefined ? [bucket] : ((await this.client.send(new ListBucketsCommand({}))).Buckets ?? []).flatMap((b) => (b.Name ? [b.Name] : []));
    const found: ObjectInfo[] = [];
    for (const name of buckets) {
      try {
        for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: name, Prefix: this.prefix + prefix })) {
          for (const object of page.Contents ?? []) {
            const key = object.Key?.slice(this.prefix.length);
            // Skips what cannot be fetched by key here, such as the `folder/` markers that consoles create.
            if (key && isValidObjectKey(key)) found.push({ bucket: name, key, size: object.Size ?? 0 });
          }
        }
      } catch (error) {
        // As in the local store: a bucket that does not exist has no objects.
        if (!isNotFound(error)) throw error;
      }
    }
    return found;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404;
}
