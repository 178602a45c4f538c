import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli, spawnServer, stop } from '../helpers/process.ts';

/** `opencph objects …` run as users run it: its own process, configured by the environment. */
let work: string;
let env: Record<string, string>;
/** The account's folder of the local store. */
let objects: string;
const as = ['--account', 'tenant-a'];

before(() => {
  work = mkdtempSync(join(tmpdir(), 'opencph-objects-cli-'));
  env = { OPENCPH_DATA_DIR: join(work, 'data') };
  objects = join(work, 'data', 'objects', 'tenant-a');
  writeFileSync(join(work, 'test.tar'), 'tar content');
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('opencph objects, local store', { concurrency: false }, () => {
  test('put stores the file under <data dir>/objects/<account>/<bucket>/<key>', async () => {
    const { code, output } = await runCli(['objects', 'put', ...as, join(work, 'test.tar'), 'obs://push-bucket/my_apps/test.tar'], env);
    assert.equal(code, 0, output);
    assert.match(output, /uploaded .*test\.tar to obs:\/\/push-bucket\/my_apps\/test\.tar \(11 bytes\)/);
    assert.equal(readFileSync(join(objects, 'push-bucket', 'my_apps', 'test.tar'), 'utf8'), 'tar content');
  });

  test('ls lists objects, including files placed by hand; a URL narrows it to a bucket or prefix', async () => {
    mkdirSync(join(objects, 'bucketA', 'apps'), { recursive: true });
    writeFileSync(join(objects, 'bucketA', 'apps', 'app.apk'), 'apk');
    const all = await runCli(['objects', 'ls', ...as], env);
    assert.equal(all.code, 0, all.output);
    assert.deepEqual(all.output.trim().split('\n').map((line) => line.trim().split(/\s+/)), [
      ['3', 'obs://bucketA/apps/app.apk'],
      ['11', 'obs://push-bucket/my_apps/test.tar'],
    ]);
    for (const url of ['obs://push-bucket', 'obs://push-bucket/', 'obs://push-bucket/my_', 'obs://push-bucket/my_apps/']) {
      const one = await runCli(['objects', 'ls', ...as, url], env);
      assert.equal(one.code, 0, one.output);
      assert.equal(one.output.trim(), '11  obs://push-bucket/my_apps/test.tar', url);
    }
    const none = await runCli(['objects', 'ls', ...as, 'obs://push-bucket/other/'], env);
    assert.deepEqual([none.code, none.output], [0, '']);
  });

  test('get downloads to a file, or into a directory under the key\'s last name', async () => {
    const toFile = await runCli(['objects', 'get', ...as, 'obs://bucketA/apps/app.apk', join(work, 'copy.apk')], env);
    assert.equal(toFile.code, 0, toFile.output);
    assert.equal(readFileSync(join(work, 'copy.apk'), 'utf8'), 'apk');
    mkdirSync(join(work, 'downloads'));
    const toDir = await runCli(['objects', 'get', ...as, 'obs://push-bucket/my_apps/test.tar', join(work, 'downloads')], env);
    assert.equal(toDir.code, 0, toDir.output);
    assert.equal(readFileSync(join(work, 'downloads', 'test.tar'), 'utf8'), 'tar content');
  });

  test('another account has buckets of its own: it sees none of these', async () => {
    const ls = await runCli(['objects', 'ls', '--account', 'tenant-b'], env);
    assert.deepEqual([ls.code, ls.output], [0, '']);
    const get = await runCli(['objects', 'get', '--account', 'tenant-b', 'obs://push-bucket/my_apps/test.tar', join(work, 'stolen.tar')], env);
    assert.equal(get.code, 1, get.output);
    assert.match(get.output, /^opencph: obs:\/\/push-bucket\/my_apps\/test\.tar does not exist\n$/);
    assert.equal(existsSync(join(work, 'stolen.tar')), false);
  });

  test('without --account: the account of <data dir>/credentials.json, which the server wrote at its first start', async () => {
    const missing = await runCli(['objects', 'ls'], env);
    assert.equal(missing.code, 1, missing.output);
    assert.match(missing.output, /^opencph: no --account given, and no .*credentials\.json names a default account\n$/);
    writeFileSync(join(work, 'data', 'credentials.json'), JSON.stringify({ domain_name: 'tenant-a' }));
    const ls = await runCli(['objects', 'ls', 'obs://push-bucket'], env);
    assert.deepEqual([ls.code, ls.output.trim()], [0, '11  obs://push-bucket/my_apps/test.tar']);
    rmSync(join(work, 'data', 'credentials.json'));
  });

  test('a data dir of the former layout (one namespace for all accounts): the first start moves it under the first account, once', async () => {
    const data = join(work, 'former');
    const former = { 'push-bucket/a.tar': 'a', 'opencph-koophone/backups/p1/i1.tar': 'backup' };
    for (const [path, content] of Object.entries(former)) {
      mkdirSync(dirname(join(data, 'objects', path)), { recursive: true });
      writeFileSync(join(data, 'objects', path), content);
    }
    const refused = await runCli(['objects', 'ls', ...as], { OPENCPH_DATA_DIR: data });
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /^opencph: .*objects holds objects of the former layout \(one namespace for every account\): start "opencph serve" once/);

    const serverEnv = { OPENCPH_DATA_DIR: data, OPENCPH_SIM_TIME_SCALE: '0', OPENCPH_DOMAIN_NAME: 'first' };
    await stop(await spawnServer(serverEnv));
    assert.equal(readFileSync(join(data, 'objects', 'first', 'push-bucket', 'a.tar'), 'utf8'), 'a');
    // KooPhone backups go where no account's requests reach.
    assert.equal(readFileSync(join(data, 'objects', '@opencph', 'opencph-koophone', 'backups', 'p1', 'i1.tar'), 'utf8'), 'backup');
    const listed = await runCli(['objects', 'ls'], { OPENCPH_DATA_DIR: data });
    assert.deepEqual([listed.code, listed.output.trim()], [0, '1  obs://push-bucket/a.tar']);
    // Once: a folder placed later in the new layout stays that account's.
    mkdirSync(join(data, 'objects', 'tenant-b', 'bucket-b'), { recursive: true });
    writeFileSync(join(data, 'objects', 'tenant-b', 'bucket-b', 'b.tar'), 'b');
    await stop(await spawnServer(serverEnv));
    const theirs = await runCli(['objects', 'ls', '--account', 'tenant-b'], { OPENCPH_DATA_DIR: data });
    assert.deepEqual([theirs.code, theirs.output.trim()], [0, '1  obs://bucket-b/b.tar']);
  });

  test('a missing object, a malformed URL, account or name, or a missing file: a clear message and exit code 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['get', ...as, 'obs://push-bucket/my_apps/none.tar', join(work, 'none.tar')], /^opencph: obs:\/\/push-bucket\/my_apps\/none\.tar does not exist\n$/],
      [['get', ...as, 'obs://push-bucket/../data/secret', join(work, 'none.tar')], /^opencph: malformed object URL "obs:\/\/push-bucket\/\.\.\/data\/secret": expected obs:\/\/bucket\/key/],
      [['put', ...as, join(work, 'test.tar'), 'obs://ab/key'], /^opencph: malformed object URL "obs:\/\/ab\/key": expected obs:\/\/bucket\/key \(bucket: 3 to 63/],
      [['put', ...as, join(work, 'test.tar'), `obs://push-bucket/${'k'.repeat(256)}`], /^opencph: malformed object URL .*segments of at most 255 bytes/],
      [['put', ...as, join(work, 'test.tar'), 'push-bucket/key'], /^opencph: malformed object URL/],
      [['put', ...as, join(work, 'absent.tar'), 'obs://push-bucket/absent.tar'], /^opencph: .*absent\.tar: no such file\n$/],
      [['ls', ...as, 'obs://a_b'], /^opencph: malformed URL "obs:\/\/a_b": expected obs:\/\/bucket or obs:\/\/bucket\/prefix/],
      [['ls', '--account', '..'], /^opencph: invalid account name "\.\."\n$/],
      [['put', '--account', '@opencph', join(work, 'test.tar'), 'obs://opencph-koophone/backups/x.tar'], /^opencph: invalid account name "@opencph"\n$/],
    ];
    for (const [args, message] of cases) {
      const { code, output } = await runCli(['objects', ...args], env);
      assert.equal(code, 1, output);
      assert.match(output, message);
    }
    assert.equal(existsSync(join(work, 'none.tar')), false);
    assert.equal(existsSync(join(objects, 'push-bucket', 'absent.tar')), false);
    assert.equal(existsSync(join(work, 'data', 'objects', '@opencph')), false);
  });

  test('invalid S3 settings are reported before anything is done', async () => {
    const { code, output } = await runCli(['objects', 'ls', ...as], { ...env, OPENCPH_OBJECTS_ENDPOINT: 'http://127.0.0.1:1' });
    assert.equal(code, 1, output);
    assert.match(output, /^opencph: OPENCPH_OBJECTS_ENDPOINT needs OPENCPH_OBJECTS_ACCESS_KEY and OPENCPH_OBJECTS_SECRET_KEY\n$/);
  });
});

/** The S3rver API surface used here (the package ships no types). */
interface S3rver {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

describe('opencph objects, S3 store', () => {
  let s3rver: S3rver;
  let s3env: Record<string, string>;

  before(async () => {
    // S3rver: an S3-compatible server on 127.0.0.1 that checks signatures with its key pair S3RVER / S3RVER.
    const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as new (options: object) => S3rver;
    s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(work, 's3rver'), configureBuckets: [{ name: 'push-bucket' }] });
    const { port } = await s3rver.run();
    s3env = {
      ...env,
      OPENCPH_OBJECTS_ENDPOINT: `http://127.0.0.1:${port}`,
      OPENCPH_OBJECTS_ACCESS_KEY: 'S3RVER',
      OPENCPH_OBJECTS_SECRET_KEY: 'S3RVER',
    };
  });
  after(() => s3rver.close());

  // `ls` is left to the unit tests: S3rver refuses the SDK's bucket-level requests, which need a client-side shim.
  test('put and get go through the configured endpoint, not the data dir; accounts do not share keys', async () => {
    const put = await runCli(['objects', 'put', ...as, join(work, 'test.tar'), 'obs://push-bucket/s3/test.tar'], s3env);
    assert.equal(put.code, 0, put.output);
    assert.equal(existsSync(join(objects, 'push-bucket', 's3')), false);
    const get = await runCli(['objects', 'get', ...as, 'obs://push-bucket/s3/test.tar', join(work, 's3-copy.tar')], s3env);
    assert.equal(get.code, 0, get.output);
    assert.equal(readFileSync(join(work, 's3-copy.tar'), 'utf8'), 'tar content');
    const theirs = await runCli(['objects', 'get', '--account', 'tenant-b', 'obs://push-bucket/s3/test.tar', join(work, 'none.tar')], s3env);
    assert.equal(theirs.code, 1, theirs.output);
    const missing = await runCli(['objects', 'get', ...as, 'obs://push-bucket/s3/none.tar', join(work, 'none.tar')], s3env);
    assert.equal(missing.code, 1, missing.output);
    assert.match(missing.output, /opencph: obs:\/\/push-bucket\/s3\/none\.tar does not exist\n$/);
  });
});
