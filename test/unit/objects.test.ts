import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createObjectStore } from '../../src/objects/factory.ts';
import {
  InvalidObjectNameError,
  isValidBucketName,
  isValidObjectKey,
  ObjectNotFoundError,
  parseObsUrl,
  type ObjectStore,
  type ObjectStoreRoot,
} from '../../src/objects/store.ts';
import { LocalObjectStore } from '../../src/objects/local.ts';
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
    [`obs://bucket/dir/${'k'.repeat(252)}.tar`, 'segment over 255 bytes (no file system holds that name)'],
    [`obs://bucket/${'é'.repeat(128)}/a.tar`, 'segment over 255 bytes in UTF-8'],
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
    assert.equal(isValidObjectKey(Array.from({ length: 4 }, () => 'k'.repeat(255)).join('/')), true);
    assert.equal(isValidObjectKey(`${'k'.repeat(255)}/${'é'.repeat(127)}`), true);
    assert.equal(isValidObjectKey('k'.repeat(256)), false);
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
  let root: ObjectStoreRoot;
  let store: ObjectStore;
  /** The account's folder: `<data dir>/objects/tenant-a`. */
  let objects: string;
  before(() => {
    dataDir = join(work, 'data');
    objects = join(dataDir, 'objects', 'tenant-a');
    root = createObjectStore(loadConfig({ OPENCPH_DATA_DIR: dataDir }));
    store = root.forAccount('tenant-a');
  });

  test('round trip: a key is a nested file under <data dir>/objects/<account>/<bucket>/', async () => {
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
    assert.deepEqual(readdirSync(join(dataDir, 'objects', '@uploads')), []);
    await store.download('push-bucket', 'my_apps/test.tar', join(work, 'downloaded.tar'));
    assert.equal(readFileSync(join(work, 'downloaded.tar'), 'utf8'), 'second version');
    assert.deepEqual(readdirSync(work).filter((name) => name.endsWith('.part')), []);
  });

  test('a file placed by hand is an object of its account: listed, sized and downloadable', async () => {
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

  test('each account has its own buckets: the same name holds different objects, another account\'s are missing', async () => {
    const other = root.forAccount('tenant-b');
    assert.equal(await other.stat('push-bucket', 'my_apps/test.tar'), undefined);
    await assert.rejects(other.download('push-bucket', 'my_apps/test.tar', join(work, 'never')), ObjectNotFoundError);
    assert.deepEqual(await other.list(), []);
    await other.upload('push-bucket', 'my_apps/test.tar', file('b.tar', 'tenant-b'));
    assert.equal(readFileSync(join(dataDir, 'objects', 'tenant-b', 'push-bucket', 'my_apps', 'test.tar'), 'utf8'), 'tenant-b');
    assert.equal(readFileSync(join(objects, 'push-bucket', 'my_apps', 'test.tar'), 'utf8'), 'second version');
    assert.deepEqual(await other.list(), [{ bucket: 'push-bucket', key: 'my_apps/test.tar', size: 8 }]);
    rmSync(join(dataDir, 'objects', 'tenant-b'), { recursive: true });
  });

  test('the internal namespace is one no account name can be', async () => {
    await root.internal.upload('opencph-koophone', 'backups/p/i.tar', file('backup.tar', 'backup'));
    assert.equal(readFileSync(join(dataDir, 'objects', '@opencph', 'opencph-koophone', 'backups', 'p', 'i.tar'), 'utf8'), 'backup');
    assert.equal(await store.stat('opencph-koophone', 'backups/p/i.tar'), undefined);
    for (const account of ['@opencph', '@uploads', '@layout', '.', '..', '', 'a/b', 'a'.repeat(65), '../tenant-a']) {
      assert.throws(() => root.forAccount(account), InvalidObjectNameError, JSON.stringify(account));
    }
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
      ['..', 'tenant-b/push-bucket/a.tar'],
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

  test('names over 255 bytes are refused before any file is touched', async () => {
    const long = `${'k'.repeat(252)}.tar`;
    await assert.rejects(store.stat('push-bucket', long), InvalidObjectNameError);
    await assert.rejects(store.upload('push-bucket', `dir/${long}`, file('x', 'x')), InvalidObjectNameError);
    assert.equal(existsSync(join(objects, 'push-bucket', 'dir')), false);
  });

  test('an object and a folder cannot share a path', async () => {
    await assert.rejects(store.upload('push-bucket', 'my_apps/test.tar/inner', file('x', 'x')), /cannot hold both an object and a folder/);
    await assert.rejects(store.upload('push-bucket', 'my_apps', file('x', 'x')), /cannot hold both an object and a folder/);
    assert.equal(readFileSync(join(objects, 'push-bucket', 'my_apps', 'test.tar'), 'utf8'), 'second version');
  });
});

describe('local store: objects of the former single namespace', () => {
  /** Writes files under `dir`: path → content. */
  function tree(dir: string, files: Record<string, string>) {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  }
  const files = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
      .sort();

  test('move under the first account once, KooPhone backups to the internal namespace', async () => {
    const dir = join(work, 'former', 'objects');
    // A bucket named like the account, a backup, a temporary file of an upload that died, a name that was never a bucket.
    tree(dir, {
      'push-bucket/my_apps/test.tar': 'tar',
      'opencph/own.tar': 'own',
      'opencph-koophone/backups/p1/i1.tar': 'backup',
      '_uploads/.opencph-1.part': 'partial',
      'a_b/stray': 'stray',
    });
    const store = new LocalObjectStore(dir);
    assert.equal(await store.hasFormerLayout(), true);
    assert.deepEqual(await store.adoptFormerLayout('opencph', ['opencph-koophone']), []);
    assert.deepEqual(files(dir), ['@layout', '@opencph/opencph-koophone/backups/p1/i1.tar', 'a_b/stray', 'opencph/opencph/own.tar', 'opencph/push-bucket/my_apps/test.tar']);
    assert.equal(await store.hasFormerLayout(), false);
    assert.deepEqual(await store.forAccount('opencph').list(), [
      { bucket: 'opencph', key: 'own.tar', size: 3 },
      { bucket: 'push-bucket', key: 'my_apps/test.tar', size: 3 },
    ]);
    assert.deepEqual(await store.internal.stat('opencph-koophone', 'backups/p1/i1.tar'), { size: 6 });
    // Once: a later start leaves the new layout as it is, folders placed by hand too.
    tree(dir, { 'tenant-b/bucket-b/x.tar': 'x' });
    await store.adoptFormerLayout('opencph', ['opencph-koophone']);
    assert.ok(files(dir).includes('tenant-b/bucket-b/x.tar'));
  });

  test('a bucket the account already has stays aside, reported; the rest moves', async () => {
    const dir = join(work, 'former-conflict', 'objects');
    // A run that died after moving the buckets aside and marking the layout, the account's folder made meanwhile.
    tree(dir, { '@former/push-bucket/old.tar': 'old', '@former/opencph/x.tar': 'x', '@layout': '', 'opencph/push-bucket/c.tar': 'c' });
    const store = new LocalObjectStore(dir);
    assert.deepEqual(await store.adoptFormerLayout('opencph', []), ['push-bucket']);
    assert.deepEqual(files(dir), ['@former/push-bucket/old.tar', '@layout', 'opencph/opencph/x.tar', 'opencph/push-bucket/c.tar']);
  });

  test('a store the new layout creates is marked at once: never taken for the former layout', async () => {
    const fresh = new LocalObjectStore(join(work, 'fresh', 'objects'));
    assert.equal(await fresh.hasFormerLayout(), false);
    await fresh.forAccount('tenant-x').upload('bucket-x', 'a.tar', file('x', 'x'));
    assert.equal(await fresh.hasFormerLayout(), false);
    await fresh.adoptFormerLayout('opencph', []);
    assert.deepEqual(files(fresh.root), ['@layout', 'tenant-x/bucket-x/a.tar']);
    const empty = new LocalObjectStore(join(work, 'empty', 'objects'));
    await empty.adoptFormerLayout('opencph', []);
    assert.deepEqual(files(empty.root), ['@layout']);
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
  let root: S3ObjectStore;
  let store: ObjectStore;
  const settings = { accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', pathStyle: true };

  before(async () => {
    ({ server: s3rver, endpoint } = await startS3rver(join(work, 's3rver'), ['push-bucket', 'bucketA', 'opencph-koophone']));
    root = new S3ObjectStore({ endpoint, ...settings });
    signBucketPathsAsS3rverDoes(root);
    store = root.forAccount('tenant-a');
  });
  const s3Size = async (bucket: string, key: string) => (await root.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength;
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

  test('an account\'s keys are under <account>/ in the S3 bucket of the same name; other accounts do not see them', async () => {
    assert.equal(await s3Size('push-bucket', 'tenant-a/my_apps/test.tar'), 11);
    const other = root.forAccount('tenant-b');
    assert.equal(await other.stat('push-bucket', 'my_apps/test.tar'), undefined);
    await assert.rejects(other.download('push-bucket', 'my_apps/test.tar', join(work, 'never')), ObjectNotFoundError);
    assert.deepEqual(await other.list(), []);
    await other.upload('push-bucket', 'my_apps/test.tar', file('b.tar', 'tenant-b'));
    assert.deepEqual(await store.stat('push-bucket', 'my_apps/test.tar'), { size: 11 });
    assert.deepEqual(await other.list('push-bucket'), [{ bucket: 'push-bucket', key: 'my_apps/test.tar', size: 8 }]);
    // The platform's own objects: under a prefix no account name can be.
    await root.internal.upload('opencph-koophone', 'backups/p/i.tar', file('i.tar', 'backup'));
    assert.equal(await s3Size('opencph-koophone', '@opencph/backups/p/i.tar'), 6);
    assert.deepEqual(await store.list('opencph-koophone'), []);
    assert.throws(() => root.forAccount('@opencph'), InvalidObjectNameError);
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
    await assert.rejects(wrong.forAccount('tenant-a').upload('push-bucket', 'my_apps/forged.tar', file('x', 'x')), /signature/i);
  });

  test('the store made from the configuration talks to it', async () => {
    const configured = createObjectStore(
      loadConfig({ OPENCPH_OBJECTS_ENDPOINT: endpoint, OPENCPH_OBJECTS_ACCESS_KEY: 'S3RVER', OPENCPH_OBJECTS_SECRET_KEY: 'S3RVER' }),
    ).forAccount('tenant-a');
    await configured.upload('bucketA', 'from/config.txt', file('config.txt', 'configured'));
    assert.deepEqual(await configured.stat('bucketA', 'from/config.txt'), { size: 10 });
    assert.equal(await s3Size('bucketA', 'tenant-a/from/config.txt'), 10);
    await configured.download('bucketA', 'from/config.txt', join(work, 'config-downloaded.txt'));
    assert.equal(readFileSync(join(work, 'config-downloaded.txt'), 'utf8'), 'configured');
  });
});
