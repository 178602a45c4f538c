import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { APK_READ_LIMITS, ApkParseError, ApkReader, readApk, type ApkInfo } from '../../src/android/apk.ts';
import { APK_BOMBS, LABEL_ID, VALID_INFO, manifest, mutatedApk, mutation, reference, resourceTable, stringPoolBomb, table, tableType, xmlDocument, zipApk } from '../helpers/hostile-apk.ts';

// Built by scripts/make-apk-fixtures.sh from test/fixtures/apk/src/.
const FIXTURES = join(import.meta.dirname, '../fixtures/apk');
const fixture = (name: string) => join(FIXTURES, name);

const expected: Record<string, ApkInfo> = {
  'hello-v1.apk': {
    packageName: 'com.opencph.hello', versionCode: 1, versionName: '1.0', label: 'Hello', minSdk: 21, targetSdk: 30,
  },
  // Also has a French label: the default-configuration string must win.
  'hello-v2.apk': {
    packageName: 'com.opencph.hello', versionCode: 2, versionName: '2.0', label: 'Hello', minSdk: 21, targetSdk: 30,
  },
  // A literal label in the manifest, and no resources.arsc.
  'other.apk': {
    packageName: 'com.opencph.other', versionCode: 1, versionName: '1.0', label: 'Other', minSdk: 21, targetSdk: 30,
  },
  'splitapp-base.apk': {
    packageName: 'com.opencph.splitapp', versionCode: 1, versionName: '1.0', label: 'Split App', minSdk: 21, targetSdk: 30,
  },
  // Config splits carry no label: the package name stands in.
  'splitapp-config.xhdpi.apk': {
    packageName: 'com.opencph.splitapp', versionCode: 1, versionName: '1.0', label: 'com.opencph.splitapp',
    minSdk: 21, targetSdk: 30, split: 'config.xhdpi',
  },
  'foreign-split.apk': {
    packageName: 'com.opencph.foreign', versionCode: 1, versionName: '1.0', label: 'com.opencph.foreign',
    minSdk: 21, targetSdk: 30, split: 'config.xhdpi',
  },
};

/** One entry of a zip, to build variants of a fixture. */
function zipEntry(file: string, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      zip.on('error', reject);
      zip.on('end', () => reject(new Error(`${file} has no ${name}`)));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== name) return zip.readEntry();
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr) return reject(streamErr);
          buffer(stream).then((data) => {
            zip.close();
            resolve(data);
          }, reject);
        });
      });
      zip.readEntry();
    });
  });
}

describe('readApk', () => {
  let dir: string;
  let helloManifest: Buffer;

  /** Writes a zip holding the given entries and returns its path. */
  async function makeZip(name: string, entries: Record<string, Buffer>): Promise<string> {
    const zip = new yazl.ZipFile();
    for (const [entryName, data] of Object.entries(entries)) zip.addBuffer(data, entryName);
    zip.end();
    const file = join(dir, name);
    await writeFile(file, await buffer(zip.outputStream));
    return file;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opencph-apk-'));
    helloManifest = await zipEntry(fixture('hello-v1.apk'), 'AndroidManifest.xml');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const [name, info] of Object.entries(expected)) {
    test(`${name} parses to its manifest's values`, async () => {
      assert.deepEqual(await readApk(fixture(name)), info);
    });
  }

  test('a split names its split and the package it belongs to', async () => {
    const split = await readApk(fixture('splitapp-config.xhdpi.apk'));
    const base = await readApk(fixture('splitapp-base.apk'));
    assert.equal(split.split, 'config.xhdpi');
    assert.equal(split.packageName, base.packageName);
    assert.equal('split' in base, false);
  });

  test('a label referencing a missing resources.arsc falls back to the package name', async () => {
    const file = await makeZip('no-resources.apk', { 'AndroidManifest.xml': helloManifest });
    assert.equal((await readApk(file)).label, 'com.opencph.hello');
  });

  test('a text file is not an APK', async () => {
    await assert.rejects(readApk(fixture('not-an-apk.apk')), ApkParseError);
  });

  test('a zip without AndroidManifest.xml is not an APK', async () => {
    const file = await makeZip('no-manifest.apk', { 'classes.dex': Buffer.from('dex\n035\0') });
    await assert.rejects(readApk(file), (err) => err instanceof ApkParseError && /no AndroidManifest\.xml/.test(err.message));
  });

  test('a manifest in text XML is not an APK', async () => {
    const file = await makeZip('text-manifest.apk', {
      'AndroidManifest.xml': Buffer.from('<manifest package="com.opencph.text"/>\n'),
    });
    await assert.rejects(readApk(file), ApkParseError);
  });

  test('a binary XML document with nothing inside is not an APK', async () => {
    // A well-formed XML chunk header (type 3, header 8 bytes, size 8) without the string pool it needs.
    const empty = Buffer.from([0x03, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00]);
    const file = await makeZip('empty-manifest.apk', { 'AndroidManifest.xml': empty });
    await assert.rejects(readApk(file), ApkParseError);
  });

  test('a zero-sized chunk is rejected rather than looped on', async () => {
    const manifest = Buffer.from(helloManifest);
    // The chunk after the string pool (which starts at offset 8) gets size 0.
    const next = 8 + manifest.readUInt32LE(12);
    manifest.writeUInt32LE(0, next + 4);
    const file = await makeZip('zero-chunk.apk', { 'AndroidManifest.xml': manifest });
    await assert.rejects(readApk(file), ApkParseError);
  });

  test('a missing file is an I/O error, not an invalid APK', async () => {
    await assert.rejects(readApk(join(dir, 'absent.apk')), (err) => !(err instanceof ApkParseError) && /ENOENT/.test(String(err)));
  });
});

describe('readApk on APKs built byte by byte', () => {
  let dir: string;
  let count = 0;
  async function apk(entries: Record<string, Buffer>): Promise<string> {
    const file = join(dir, `built-${count++}.apk`);
    await writeFile(file, await zipApk(entries));
    return file;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opencph-apk-built-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the valid APK the bombs are made from reads as its manifest says, the default label before the French one', async () => {
    assert.deepEqual(await readApk(await apk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': table() })), VALID_INFO);
    assert.deepEqual(await readApk(await apk({ 'AndroidManifest.xml': manifest({}, { utf8: true }), 'resources.arsc': table() })), VALID_INFO);
  });

  test('strings with two-unit lengths (over 127 UTF-8 bytes, over 32,767 UTF-16 units) read whole', async () => {
    const long = 'L'.repeat(40_000);
    assert.equal((await readApk(await apk({ 'AndroidManifest.xml': manifest({ application: { label: long } }) }))).label, long);
    const accented = 'é'.repeat(200);
    assert.equal((await readApk(await apk({ 'AndroidManifest.xml': manifest({ application: { label: accented } }, { utf8: true }) }))).label, accented);
  });

  test('a hexadecimal versionCode is an integer, as Android reads it', async () => {
    const file = await apk({ 'AndroidManifest.xml': manifest({ manifest: { versionCode: { type: 0x11, data: 0x10 } } }) });
    assert.equal((await readApk(file)).versionCode, 16);
  });

  test('a label resource that refers to itself, or that the table lacks, falls back to the package name', async () => {
    const loop = resourceTable({ strings: ['x'], types: [tableType({ id: 1, values: [reference(LABEL_ID)] })] });
    assert.equal((await readApk(await apk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': loop }))).label, VALID_INFO.packageName);
    const absent = manifest({ application: { label: reference(LABEL_ID + 1) } });
    assert.equal((await readApk(await apk({ 'AndroidManifest.xml': absent, 'resources.arsc': table() }))).label, VALID_INFO.packageName);
  });

  test('the string-pool bomb of issue 13 fits in 1 KB and is refused for what it lacks, not read string by string', async () => {
    const bomb = await zipApk({ 'AndroidManifest.xml': xmlDocument(stringPoolBomb(), []) });
    assert.ok(bomb.length < 1024, `${bomb.length} bytes`);
    const file = join(dir, 'bomb.apk');
    await writeFile(file, bomb);
    // Its pool passes every check Android makes: decoding its 100,000 strings of 64 Ki characters is what killed the process.
    await assert.rejects(readApk(file), (err) => err instanceof ApkParseError && /has no <manifest> element/.test(err.message));
  });
});

describe('readApk on hostile APKs', () => {
  let dir: string;
  const files = new Map<string, string>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opencph-apk-hostile-'));
    for (const [name, make] of Object.entries(APK_BOMBS)) {
      const file = join(dir, `${files.size}.apk`);
      await writeFile(file, await make());
      files.set(name, file);
    }
    // A worker started before the clock runs: its start is not what is measured below.
    await readApk(fixture('hello-v1.apk'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const name of Object.keys(APK_BOMBS)) {
    test(`${name}: not an APK, found out in well under the read deadline`, async () => {
      const started = Date.now();
      await assert.rejects(readApk(files.get(name)!), ApkParseError);
      assert.ok(Date.now() - started < APK_READ_LIMITS.deadlineMs / 2, `${Date.now() - started} ms`);
    });
  }

  test('reading every bomb leaves the memory of the process about where it was', async () => {
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    for (const file of files.values()) await readApk(file).catch(() => undefined);
    clearInterval(sampler);
    assert.ok(peak - baseline < 128 * 1024 * 1024, `RSS grew by ${Math.round((peak - baseline) / 1024 / 1024)} MB`);
  });

  test('valid APKs with random numbers changed read as APKs or fail as invalid APKs, never otherwise, and quickly', async () => {
    const file = join(dir, 'mutated.apk');
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        await writeFile(file, await mutatedApk(mutations));
        const started = Date.now();
        await readApk(file).catch((err) => assert.ok(err instanceof ApkParseError, String(err)));
        assert.ok(Date.now() - started < APK_READ_LIMITS.deadlineMs / 2, `${Date.now() - started} ms`);
      }),
      { seed: 13, numRuns: 300 },
    );
  });

  test('an APK that takes longer than the deadline to read is not an APK, and the reader carries on', async () => {
    const hurried = new ApkReader({ ...APK_READ_LIMITS, deadlineMs: 1 });
    await assert.rejects(hurried.read(fixture('hello-v1.apk')), (err) => err instanceof ApkParseError && /takes more than 1 ms to read/.test(err.message));
    assert.deepEqual(await readApk(fixture('hello-v1.apk')), expected['hello-v1.apk']);
  });
});
