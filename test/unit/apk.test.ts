import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { ApkParseError, readApk, type ApkInfo } from '../../src/devices/sim/apk.ts';

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
