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
import { checkObjectName, isValidObjectKey, ObjectNotFoundError, writeAtomically, type ObjectInfo, type ObjectStore } from './store.ts';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key`; what MinIO and Ceph expect by default. */
  pathStyle: boolean;
}

/** Any S3-compatible store: Huawei OBS, MinIO, Ceph RGW, AWS S3. Bodies are streamed, never held whole. */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  readonly client: S3Client;

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
  }

  async stat(bucket: string, key: string): Promise<{ size: number } | undefined> {
    checkObjectName(bucket, key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
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
      body = (await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable;
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
      await new Upload({ client: this.client, params: { Bucket: bucket, Key: key, Body: body } }).done();
    } finally {
      await file.close();
    }
  }

  async list(bucket?: string, prefix?: string): Promise<ObjectInfo[]> {
    if (bucket !== undefined) checkObjectName(bucket);
    const buckets =
      bucket !== undefined ? [bucket] : ((await this.client.send(new ListBucketsCommand({}))).Buckets ?? []).flatMap((b) => (b.Name ? [b.Name] : []));
    const found: ObjectInfo[] = [];
    for (const name of buckets) {
      try {
        for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: name, Prefix: prefix || undefined })) {
          for (const object of page.Contents ?? []) {
            // Skips what cannot be fetched by key here, such as the `folder/` markers that consoles create.
            if (object.Key && isValidObjectKey(object.Key)) found.push({ bucket: name, key: object.Key, size: object.Size ?? 0 });
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
