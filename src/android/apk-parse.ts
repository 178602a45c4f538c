// Reads what a package manager needs from an APK: identity, version, label, SDK levels, split name.
// yauzl reads the zip; binary-resources.ts decodes Android's binary XML (AndroidManifest.xml) and resource
// table (resources.arsc). This runs inside a worker thread (apk-worker.ts), with the memory and time
// limits of apk.ts: callers use readApk there, never parseApk itself.
import yauzl from 'yauzl';
import { MalformedResources, ResourceReference, ResourceTable, XmlDocument, type ResourceValue, type XmlElement } from './binary-resources.ts';

export interface ApkInfo {
  packageName: string;
  versionCode: number;
  versionName: string;
  label: string;
  minSdk: number;
  targetSdk: number;
  split?: string;
}

export class ApkParseError extends Error {
  override name = 'ApkParseError';
}

const MANIFEST = 'AndroidManifest.xml';
const RESOURCES = 'resources.arsc';
/**
 * The entries read, and the most each may declare, checked before inflating, so a zip bomb cannot
 * exhaust memory: real manifests are KBs and the largest resource tables tens of MBs.
 */
const ENTRY_LIMITS = new Map([
  [MANIFEST, 16 * 1024 * 1024],
  [RESOURCES, 128 * 1024 * 1024],
]);
// A string resource may alias another (@string/a = @string/b); a cycle must not loop forever.
const MAX_REFERENCE_HOPS = 8;

/** Throws ApkParseError when the file is not a zip, has no manifest, or its manifest cannot be decoded. */
export async function parseApk(file: string): Promise<ApkInfo> {
  const entries = await readZipEntries(file);
  const manifestData = entries.get(MANIFEST);
  if (!manifestData) throw new ApkParseError(`${file}: no ${MANIFEST}`);
  const manifest = decode(`${file}: ${MANIFEST}`, () => XmlDocument.read(manifestData).root);
  if (!manifest?.is('manifest')) throw new ApkParseError(`${file}: ${MANIFEST} has no <manifest> element`);

  // The package and split names are literals; other attributes may reference resources, as Android resolves them.
  const literal = (element: XmlElement | undefined, name: string) => decode(`${file}: ${MANIFEST}`, () => element?.attribute(name));
  const follow = resolver(entries.get(RESOURCES), `${file}: ${RESOURCES}`);
  const resolved = (element: XmlElement | undefined, name: string) => follow(literal(element, name));
  const packageName = literal(manifest, 'package');
  if (typeof packageName !== 'string' || packageName === '') {
    throw new ApkParseError(`${file}: ${MANIFEST} has no package name`);
  }
  const usesSdk = manifest.child('uses-sdk');
  // Android's defaults for absent attributes: versionCode 0, minSdk 1, targetSdk = minSdk.
  const minSdk = integer(resolved(usesSdk, 'minSdkVersion'), 1, `${file}: minSdkVersion`);
  const info: ApkInfo = {
    packageName,
    versionCode: integer(resolved(manifest, 'versionCode'), 0, `${file}: versionCode`),
    versionName: text(resolved(manifest, 'versionName')) ?? '',
    // Android shows the package name for an app without a label; a label that cannot be resolved to
    // text here (no resources.arsc, a framework string, a non-string resource) gets the same fallback.
    label: text(resolved(manifest.child('application'), 'label')) ?? packageName,
    minSdk,
    targetSdk: integer(resolved(usesSdk, 'targetSdkVersion'), minSdk, `${file}: targetSdkVersion`),
  };
  const split = literal(manifest, 'split');
  if (typeof split === 'string') info.split = split;
  return info;
}

/** The entries of ENTRY_LIMITS that the zip has, each whole. */
function readZipEntries(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(new ApkParseError(`${file}: not a readable zip: ${err.message}`, { cause: err }));
    yauzl.open(file, { lazyEntries: true }, (openErr, zip) => {
      if (openErr) return fail(openErr);
      const found = new Map<string, Buffer>();
      zip.on('error', fail);
      zip.on('end', () => resolve(found));
      zip.on('entry', (entry: yauzl.Entry) => {
        const limit = ENTRY_LIMITS.get(entry.fileName);
        // A name given twice makes a malformed APK; keep the first rather than guess.
        if (limit === undefined || found.has(entry.fileName)) return zip.readEntry();
        if (entry.uncompressedSize > limit) {
          zip.close();
          return fail(new Error(`${entry.fileName} declares ${entry.uncompressedSize} bytes, over ${limit}`));
        }
        readEntry(zip, entry).then((data) => {
          found.set(entry.fileName, data);
          if (found.size < ENTRY_LIMITS.size) return zip.readEntry();
          // Everything wanted is in hand: skip the rest of a possibly large central directory.
          zip.close();
          resolve(found);
        }, fail);
      });
      zip.readEntry();
    });
  });
}

/**
 * One entry's bytes, in one buffer of its declared size: yauzl fails a stream that inflates to more or to
 * less than that, so nothing past the limit is ever held.
 */
function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(err);
      const data = Buffer.allocUnsafe(entry.uncompressedSize);
      let filled = 0;
      stream.on('data', (chunk: Buffer) => (filled += chunk.copy(data, filled)));
      stream.on('error', reject);
      stream.on('end', () => resolve(data.subarray(0, filled)));
    });
  });
}

/**
 * Follows resource references through resources.arsc to their values (in the default configuration);
 * any other value is returned as is, and so is a reference that cannot be followed (no resources.arsc, a
 * framework resource). The table is decoded on first need only: most manifests use literals for all but the label.
 */
function resolver(tableData: Buffer | undefined, what: string): (value: ResourceValue | undefined) => ResourceValue | undefined {
  let table: ResourceTable | undefined;
  return (value) => {
    for (let hop = 0; value instanceof ResourceReference && tableData && hop < MAX_REFERENCE_HOPS; hop++) {
      const reference = value;
      table ??= decode(what, () => ResourceTable.read(tableData));
      const target = decode(what, () => table!.value(reference.id));
      if (target === undefined) break;
      value = target;
    }
    return value;
  };
}

/** A value as text: a non-empty string, else undefined. */
function text(value: ResourceValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An integer attribute. A string in its place is a preview SDK's codename (minSdkVersion="Baklava"), which only that preview accepts. */
function integer(value: ResourceValue | undefined, absent: number, what: string): number {
  if (value === undefined) return absent;
  if (typeof value === 'number') return value;
  throw new ApkParseError(`${what} is not an integer: ${String(value)}`);
}

/** Runs a decoder over tenant bytes: whatever it throws makes the APK invalid. */
function decode<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof MalformedResources) throw new ApkParseError(`${what}: ${err.message}`, { cause: err });
    throw new ApkParseError(`${what}: unreadable binary resource data`, { cause: err });
  }
}
