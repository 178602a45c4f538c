import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';
import {
  createObjectStore,
  InvalidObjectNameError,
  isValidBucketName,
  isValidObjectKey,
  ObjectNotFoundError,
  parseObsUrl,
  type ObjectStore,
} from '../../src/objects/store.ts';
import { S3ObjectStore } from '../../src/objects/s3.ts';

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'opencph-objects-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

describe('obs:// URLs, bucket names and keys', () => {
  test('documented examples parse', () => {
    assert.deepEqual(parseObsUrl('obs://push-bucket/my_apps/test.tar'), { bucket: 'push-bucket', key: 'my_apps/test.tar' });
    assert.deepEqual(parseObsUrl('obs://push-bucket/my_apps/test_part_2.apk'), { bucket: 'push-bucket', key: 'my_apps/test_part_2.apk' });
    assert.deepEqual(parseObsUrl('obs://mybucket/myimage/v1/xxxxx.tar'), { bucket: 'mybucket', key: 'myimage/v1/xxxxx.tar' });
    assert.deepEqual(parseObsUrl('obs://bucketA/my_apps/test.tar'), { bucket: 'bucketA', key: 'my_apps/test.tar' });
  });

  const malformed: Array<[string, string]> = [
    ['obs://ab/key', 'bucket too short'],
    [`obs://${'b'.repeat(64)}/key`, 'bucket too long'],
    ['obs://my_bucket/key', '"_" in bucket'],
    ['obs://my bucket/key', 'space in bucket'],
    ['obs:///key', 'no bucket'],
    ['obs://bucket', 'no key'],
    ['obs://bucket/', 'empty key'],
    ['obs://bucket//a.tar', 'key with a leading "/"'],
    ['obs://bucket/a//b.tar', 'empty segment'],
    ['obs://bucket/a/', 'trailing "/"'],
    ['obs://bucket/../a.tar', '".." segment'],
    ['obs://bucket/a/../../b.tar', 'climbing ".." segments'],
    ['obs://bucket/./a.tar', '"." segment'],
    ['obs://bucket/a\nb.tar', 'control character'],
    ['obs://bucket/a\u0000b.tar', 'NUL'],
    [`obs://bucket/${'k'.repeat(1025)}`, 'key over 1,024 bytes'],
    [`obs://bucket/${'é'.repeat(513)}`, 'key over 1,024 bytes in UTF-8'],
    ['s3://bucket/key', 'other scheme'],
    ['OBS://bucket/key', 'upper-case scheme'],
    ['bucket/key', 'no scheme'],
  ];
  for (const [url, why] of malformed) {
    test(`refuses ${why}`, () => assert.equal(parseObsUrl(url), undefined));
  }

  test('bucket names: spec §8 row 30, [A-Za-z0-9.-]{3,63}', () => {
    for (const name of ['bucketA', 'abc', 'push-bucket', 'my.bucket-1', 'b'.repeat(63), 'ABC']) assert.equal(isValidBucketName(name), true, name);
    for (const name of ['ab', 'b'.repeat(64), 'my_bucket', 'a b', 'a/b', '', 'bück']) assert.equal(isValidBucketName(name), false, name);
  });

  test('keys: limits counted in bytes; any other character is allowed, as in OBS', () => {
    assert.equal(isValidObjectKey('k'.repeat(1024)), true);
    assert.equal(isValidObjectKey('é'.repeat(512)), true);
    for (const key of ['a b+c#d=e.tar', 'dir/.hidden', 'a..b/c...d', '中文/文件.apk']) assert.equal(isValidObjectKey(key), true, key);
    for (const key of ['', '/a', 'a/', '..', 'a/..', 'a/./b', 'a\tb', 'a\x7fb']) assert.equal(isValidObjectKey(key), false, JSON.stringify(key));
  });
});

describe('object store settings', () => {
  const s3 = { OPENCPH_OBJECTS_ENDPOINT: 'http://127.0.0.1:9000', OPENCPH_OBJECTS_ACCESS_KEY: 'ak', OPENCPH_OBJECTS_SECRET_KEY: 'sk' };

  test('local by default, under the data dir', () => {
    const config = loadConfig({ OPENCPH_DATA_DIR: work });
    assert.deepEqual(config.objects, { endpoint: undefined, accessKey: undefined, secretKey: undefined, region: 'us-east-1', pathStyle: true });
    assert.equal(createObjectStore(config).kind, 'local');
  });

  test('S3 when an endpoint and keys are set', () => {
    const config = loadConfig({ ...s3, OPENCPH_OBJECTS_REGION: 'cn-north-4', OPENCPH_OBJECTS_PATH_STYLE: 'FALSE' });
    assert.deepEqual(config.objects, { endpoint: 'http://127.0.0.1:9000', accessKey: 'ak', secretKey: 'sk', region: 'cn-north-4', pathStyle: false });
    assert.equal(createObjectStore(config).kind, 's3');
  });

  const invalid: Array<[Record<string, string>, RegExp]> = [
    [{ OPENCPH_OBJECTS_ENDPOINT: 'http://127.0.0.1:9000' }, /needs OPENCPH_OBJECTS_ACCESS_KEY and OPENCPH_OBJECTS_SECRET_KEY/],
    [{ ...s3, OPENCPH_OBJECTS_SECRET_KEY: '' }, /needs OPENCPH_OBJECTS_ACCESS_KEY and OPENCPH_OBJECTS_SECRET_KEY/],
    [{ OPENCPH_OBJECTS_ACCESS_KEY: 'ak', OPENCPH_OBJECTS_SECRET_KEY: 'sk' }, /OPENCPH_OBJECTS_ENDPOINT is not/],
    [{ ...s3, OPENCPH_OBJECTS_ENDPOINT: '127.0.0.1:9000' }, /OPENCPH_OBJECTS_ENDPOINT must be an http/],
    [{ ...s3, OPENCPH_OBJECTS_ENDPOINT: 'ftp://host' }, /OPENCPH_OBJECTS_ENDPOINT must be an http/],
    [{ OPENCPH_OBJECTS_PATH_STYLE: 'yes' }, /OPENCPH_OBJECTS_PATH_STYLE must be true or false; got "yes"/],
  ];
  for (const [env, message] of invalid) {
    test(`refuses ${JSON.stringify(env)}`, () => {
      assert.throws(() => loadConfig(env), (error: Error) => error instanceof ConfigError && message.test(error.message));
    });
  }
});

describe('local store', () => {
  let dataDir: string;
  let store: ObjectStore;
  let objects: string;
  before(() => {
    dataDir = join(work, 'data');
    objects = join(dataDir, 'objects');
    store = createObjectStore(loadConfig({ OPENCPH_DATA_DIR: dataDir }));
  });

  test('round trip: a key is a nested file under <data dir>/objects/<bucket>/', async () => {
    const content = Buffer.from('a tar, or anything');
    await store.upload('push-bucket', 'my_apps/test.tar', file('upload.tar', content));
    assert.deepEqual(readFileSync(join(objects, 'push-bucket', 'my_apps', 'test.tar')), content);
    assert.deepEqual(await store.stat('push-bucket', 'my_apps/test.tar'), { size: content.length });
    await store.download('push-bucket', 'my_apps/test.tar', join(work, 'downloaded.tar'));
    assert.deepEqual(readFileSync(join(work, 'downloaded.tar')), content);
    assert.deepEqual(await store.list('push-bucket'), [{ bucket: 'push-bucket', key: 'my_apps/test.tar', size: content.length }]);
  });

  test('an upload replaces the object whole and leaves no temporary file behind', async () => {
    await store.upload('push-bucket', 'my_apps/test.tar', file('v2.tar', 'second version'));
    assert.equal(readFileSync(join(objects, 'push-bucket', 'my_apps', 'test.tar'), 'utf8'), 'second version');
    assert.deepEqual(readdirSync(join(objects, '_uploads')), []);
    await store.download('push-bucket', 'my_apps/test.tar', join(work, 'downloaded.tar'));
    assert.equal(readFileSync(join(work, 'downloaded.tar'), 'utf8'), 'second version');
    assert.deepEqual(readdirSync(work).filter((name) => name.endsWith('.part')), []);
  });

  test('a file placed by hand is an object: listed, sized and downloadable', async () => {
    mkdirSync(join(objects, 'bucketA', 'by', 'hand'), { recursive: true });
    writeFileSync(join(objects, 'bucketA', 'by', 'hand', 'app.apk'), 'apk bytes');
    assert.deepEqual(await store.stat('bucketA', 'by/hand/app.apk'), { size: 9 });
    await store.download('bucketA', 'by/hand/app.apk', join(work, 'app.apk'));
    assert.equal(readFileSync(join(work, 'app.apk'), 'utf8'), 'apk bytes');
    assert.deepEqual(await store.list('bucketA'), [{ bucket: 'bucketA', key: 'by/hand/app.apk', size: 9 }]);
  });

  test('a symbolic link placed by hand is followed', async () => {
    const elsewhere = file('elsewhere.tar', 'linked');
    mkdirSync(join(objects, 'linked-bucket'), { recursive: true });
    symlinkSync(elsewhere, join(objects, 'linked-bucket', 'link.tar'));
    assert.deepEqual(await store.list('linked-bucket'), [{ bucket: 'linked-bucket', key: 'link.tar', size: 6 }]);
    rmSync(join(objects, 'linked-bucket'), { recursive: true });
  });

  test('lists every bucket in key order, or only keys under a prefix, which may end mid-name', async () => {
    for (const key of ['b/1.tar', 'b/2.tar', 'a-c.tar', 'a/b/c.tar', 'ab.tar']) await store.upload('list-bucket', key, file('x', 'x'));
    const keys = async (bucket?: string, prefix?: string) => (await store.list(bucket, prefix)).map((o) => `${o.bucket}/${o.key}`);
    assert.deepEqual(await keys('list-bucket'), ['a-c.tar', 'a/b/c.tar', 'ab.tar', 'b/1.tar', 'b/2.tar'].map((k) => `list-bucket/${k}`));
    assert.deepEqual(await keys('list-bucket', 'a'), ['list-bucket/a-c.tar', 'list-bucket/a/b/c.tar', 'list-bucket/ab.tar']);
    assert.deepEqual(await keys('list-bucket', 'a/'), ['list-bucket/a/b/c.tar']);
    assert.deepEqual(await keys('list-bucket', 'b/1'), ['list-bucket/b/1.tar']);
    assert.deepEqual(await keys('list-bucket', 'zzz'), []);
    assert.deepEqual(await keys(), ['bucketA/by/hand/app.apk', 'list-bucket/a-c.tar', 'list-bucket/a/b/c.tar', 'list-bucket/ab.tar', 'list-bucket/b/1.tar', 'list-bucket/b/2.tar', 'push-bucket/my_apps/test.tar']);
    assert.deepEqual(await store.list('no-such-bucket'), []);
  });

  test('a missing object: stat says undefined, download throws ObjectNotFoundError', async () => {
    assert.equal(await store.stat('push-bucket', 'my_apps/none.tar'), undefined);
    assert.equal(await store.stat('no-such-bucket', 'a.tar'), undefined);
    assert.equal(await store.stat('push-bucket', 'my_apps'), undefined, 'a folder is not an object');
    assert.equal(await store.stat('push-bucket', 'my_apps/test.tar/deeper'), undefined);
    for (const key of ['my_apps/none.tar', 'my_apps']) {
      await assert.rejects(store.download('push-bucket', key, join(work, 'never')), (error) => {
        assert.ok(error instanceof ObjectNotFoundError);
        assert.equal(error.message, `obs://push-bucket/${key} does not exist`);
        return true;
      });
    }
    assert.equal(readdirSync(work).includes('never'), false);
  });

  test('refuses to leave its root: traversal in keys or buckets', async () => {
    writeFileSync(join(dataDir, 'secret'), 'outside');
    const attempts: Array<[string, string]> = [
      ['push-bucket', '../../secret'],
      ['push-bucket', 'my_apps/../../../secret'],
      ['push-bucket', '/etc/passwd'],
      ['..', 'secret'],
      ['../objects', 'secret'],
      ['push-bucket/..', 'secret'],
    ];
    for (const [bucket, key] of attempts) {
      await assert.rejects(store.stat(bucket, key), InvalidObjectNameError);
      await assert.rejects(store.download(bucket, key, join(work, 'stolen')), InvalidObjectNameError);
      await assert.rejects(store.upload(bucket, key, file('evil', 'overwritten')), InvalidObjectNameError);
    }
    await assert.rejects(store.list('..'), InvalidObjectNameError);
    assert.equal(readFileSync(join(dataDir, 'secret'), 'utf8'), 'outside');
    assert.equal(readdirSync(work).includes('stolen'), false);
  });

  test('an object and a folder cannot share a path', async () => {
    await assert.rejects(store.upload('push-bucket', 'my_apps/test.tar/inner', file('x', 'x')), /cannot hold both an object and a folder/);
    await assert.rejects(store.upload('push-bucket', 'my_apps', file('x', 'x')), /cannot hold both an object and a folder/);
    assert.equal(readFileSync(join(objects, 'push-bucket', 'my_apps', 'test.tar'), 'utf8'), 'second version');
  });
});

/** The S3rver API surface used here (the package ships no types). */
interface S3rver {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string }>;
}) => S3rver;

/**
 * An S3-compatible server in this process (S3rver, on 127.0.0.1 only), which checks SigV4 signatures
 * with its built-in key pair S3RVER / S3RVER.
 */
async function startS3rver(directory: string, buckets: string[]): Promise<{ server: S3rver; endpoint: string }> {
  const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as S3rverClass;
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  return { server, endpoint: `http://127.0.0.1:${port}` };
}

/**
 * S3rver signs bucket-level requests over `/bucket` while the SDK (correctly) sends and signs
 * `/bucket/`; real stores accept the SDK's form. Only the test client drops that slash, before signing.
 */
function signBucketPathsAsS3rverDoes(store: S3ObjectStore): void {
  store.client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { path?: string };
      if (request.path) request.path = request.path.replace(/^(\/[^/]+)\/$/, '$1');
      return next(args);
    },
    { step: 'build' },
  );
}

describe('S3 store against a local S3-compatible server', () => {
  let s3rver: S3rver;
  let endpoint: string;
  let store: S3ObjectStore;
  const settings = { accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', pathStyle: true };

  before(async () => {
    ({ server: s3rver, endpoint } = await startS3rver(join(work, 's3rver'), ['push-bucket', 'bucketA']));
    store = new S3ObjectStore({ endpoint, ...settings });
    signBucketPathsAsS3rverDoes(store);
  });
  after(() => s3rver.close());

  test('upload, stat, download, list', async () => {
    await store.upload('push-bucket', 'my_apps/test.tar', file('s3.tar', 'tar over S3'));
    await store.upload('push-bucket', 'other/readme.txt', file('s3.txt', 'text'));
    assert.deepEqual(await store.stat('push-bucket', 'my_apps/test.tar'), { size: 11 });
    await store.download('push-bucket', 'my_apps/test.tar', join(work, 's3-downloaded.tar'));
    assert.equal(readFileSync(join(work, 's3-downloaded.tar'), 'utf8'), 'tar over S3');
    assert.deepEqual(await store.list('push-bucket', 'my_apps/'), [{ bucket: 'push-bucket', key: 'my_apps/test.tar', size: 11 }]);
    assert.deepEqual(await store.list(), [
      { bucket: 'push-bucket', key: 'my_apps/test.tar', size: 11 },
      { bucket: 'push-bucket', key: 'other/readme.txt', size: 4 },
    ]);
    assert.deepEqual(await store.list('no-such-bucket'), []);
  });

  test('a file larger than one part goes up in parts and comes back byte for byte', async () => {
    const big = Buffer.alloc(12 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    await store.upload('bucketA', 'big/data.tar', file('big.tar', big));
    assert.deepEqual(await store.stat('bucketA', 'big/data.tar'), { size: big.length });
    await store.download('bucketA', 'big/data.tar', join(work, 'big-downloaded.tar'));
    assert.ok(readFileSync(join(work, 'big-downloaded.tar')).equals(big));
  });

  test('a missing object or bucket: stat says undefined, download throws ObjectNotFoundError', async () => {
    assert.equal(await store.stat('push-bucket', 'my_apps/none.tar'), undefined);
    assert.equal(await store.stat('no-such-bucket', 'a.tar'), undefined);
    await assert.rejects(store.download('push-bucket', 'my_apps/none.tar', join(work, 'never')), ObjectNotFoundError);
    await assert.rejects(store.download('no-such-bucket', 'a.tar', join(work, 'never')), ObjectNotFoundError);
    assert.equal(readdirSync(work).includes('never'), false);
  });

  test('names are checked before any request', async () => {
    await assert.rejects(store.stat('push-bucket', '../a'), InvalidObjectNameError);
    await assert.rejects(store.upload('a_b', 'key', file('x', 'x')), InvalidObjectNameError);
  });

  test('requests are signed: a wrong secret key is refused', async () => {
    const wrong = new S3ObjectStore({ endpoint, ...settings, secretKey: 'wrong' });
    await assert.rejects(wrong.upload('push-bucket', 'my_apps/forged.tar', file('x', 'x')), /signature/i);
  });

  test('the store made from the configuration talks to it', async () => {
    const configured = createObjectStore(
      loadConfig({ OPENCPH_OBJECTS_ENDPOINT: endpoint, OPENCPH_OBJECTS_ACCESS_KEY: 'S3RVER', OPENCPH_OBJECTS_SECRET_KEY: 'S3RVER' }),
    );
    await configured.upload('bucketA', 'from/config.txt', file('config.txt', 'configured'));
    assert.deepEqual(await configured.stat('bucketA', 'from/config.txt'), { size: 10 });
    await configured.download('bucketA', 'from/config.txt', join(work, 'config-downloaded.txt'));
    assert.equal(readFileSync(join(work, 'config-downloaded.txt'), 'utf8'), 'configured');
  });
});
