// Reads what a package manager needs from an APK: identity, version, label, SDK levels, split name.
// yauzl reads the zip; node-apk decodes Android's binary XML (AndroidManifest.xml) and resource
// table (resources.arsc).
import { access } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import yauzl from 'yauzl';
import nodeApk from 'node-apk';
import nodeApkSource from 'node-apk/build/lib/source.js';

// node-apk is CommonJS with exports Node cannot detect statically: take them from the module object.
const { Resources, XmlElement } = nodeApk;
type Resources = InstanceType<typeof Resources>;
// Its parsers read from a Source cursor, which the package index does not re-export.
const Source = nodeApkSource.default;
type Source = InstanceType<typeof Source>;

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
// The declared size is checked before inflating, so a zip bomb cannot exhaust memory;
// real manifests are KBs and the largest resource tables tens of MBs.
const MAX_ENTRY_BYTES = 128 * 1024 * 1024;
// A string resource may alias another (@string/a = @string/b); a cycle must not loop forever.
const MAX_REFERENCE_HOPS = 8;

/** Throws ApkParseError when the file is not a zip, has no manifest, or its manifest cannot be decoded. */
export async function readApk(file: string): Promise<ApkInfo> {
  // A missing or unreadable file is an I/O problem, not an invalid APK: let that error through as is.
  await access(file);
  const entries = await readZipEntries(file, [MANIFEST, RESOURCES]);
  const manifestData = entries.get(MANIFEST);
  if (!manifestData) throw new ApkParseError(`${file}: no ${MANIFEST}`);
  const document = decode(manifestData, `${file}: ${MANIFEST}`, (source) => new XmlElement(source));
  const manifest = document.children.manifest?.[0];
  if (!manifest) throw new ApkParseError(`${file}: ${MANIFEST} has no <manifest> element`);

  const attrs = manifest.attributes;
  const packageName = attrs.package;
  if (typeof packageName !== 'string' || packageName === '') {
    throw new ApkParseError(`${file}: ${MANIFEST} has no package name`);
  }
  const resolveText = textResolver(entries.get(RESOURCES), `${file}: ${RESOURCES}`);
  const usesSdk = manifest.children['uses-sdk']?.[0]?.attributes ?? {};
  // Android's defaults for absent attributes: versionCode 0, minSdk 1, targetSdk = minSdk.
  const minSdk = integer(usesSdk.minSdkVersion, 1, `${file}: minSdkVersion`);
  const info: ApkInfo = {
    packageName,
    versionCode: integer(attrs.versionCode, 0, `${file}: versionCode`),
    versionName: resolveText(attrs.versionName) ?? '',
    // Android shows the package name for an app without a label; a label that cannot be resolved to
    // text here (no resources.arsc, a framework string, a non-string resource) gets the same fallback.
    label: resolveText(manifest.children.application?.[0]?.attributes.label) ?? packageName,
    minSdk,
    targetSdk: integer(usesSdk.targetSdkVersion, minSdk, `${file}: targetSdkVersion`),
  };
  if (typeof attrs.split === 'string') info.split = attrs.split;
  return info;
}

/** The named root entries of a zip; a name the archive lacks is absent from the map. */
function readZipEntries(file: string, names: readonly string[]): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(new ApkParseError(`${file}: not a readable zip: ${err.message}`, { cause: err }));
    yauzl.open(file, { lazyEntries: true }, (openErr, zip) => {
      if (openErr) return fail(openErr);
      const found = new Map<string, Buffer>();
      zip.on('error', fail);
      zip.on('end', () => resolve(found));
      zip.on('entry', (entry: yauzl.Entry) => {
        // A name given twice makes a malformed APK; keep the first rather than guess.
        if (!names.includes(entry.fileName) || found.has(entry.fileName)) return zip.readEntry();
        if (entry.uncompressedSize > MAX_ENTRY_BYTES) {
          zip.close();
          return fail(new Error(`${entry.fileName} declares ${entry.uncompressedSize} bytes, over ${MAX_ENTRY_BYTES}`));
        }
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr) return fail(streamErr);
          buffer(stream).then((data) => {
            found.set(entry.fileName, data);
            if (found.size < names.length) return zip.readEntry();
            // Everything wanted is in hand: skip the rest of a possibly large central directory.
            zip.close();
            resolve(found);
          }, fail);
        });
      });
      zip.readEntry();
    });
  });
}

/**
 * Resolves an attribute value to text: a literal string as is, a resource reference through
 * resources.arsc to its default-configuration string. Undefined when there is no text to be had.
 * The resource table is decoded on first need only: most manifests use literals for everything but the label.
 */
function textResolver(tableData: Buffer | undefined, what: string): (value: unknown) => string | undefined {
  let table: Resources | undefined;
  return (value) => {
    for (let hop = 0; typeof value === 'number' && tableData && hop < MAX_REFERENCE_HOPS; hop++) {
      table ??= decode(tableData, what, (source) => new Resources(source));
      const candidates = table.resolve(value);
      // node-apk reports only each value's locale; aapt and aapt2 write the default configuration
      // first, so the first value without a locale is the default one.
      value = (candidates.find((candidate) => !candidate.locale) ?? candidates[0])?.value;
    }
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
}

/**
 * An integer attribute. A string in its place is a preview SDK's codename (minSdkVersion="Baklava"),
 * which only that preview accepts; node-apk gives null for hexadecimal integers, which it cannot decode.
 */
function integer(value: unknown, absent: number, what: string): number {
  if (value === undefined) return absent;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  throw new ApkParseError(`${what} is not an integer: ${String(value)}`);
}

function decode<T>(data: Buffer, what: string, parse: (source: Source) => T): T {
  // node-apk trusts chunk sizes and loops forever on a zero-sized chunk, so check the structure first.
  if (chunkEnd(data, 0, data.length) < 0) throw new ApkParseError(`${what}: malformed binary resource chunks`);
  try {
    return parse(new Source(data));
  } catch (err) {
    throw new ApkParseError(`${what}: unreadable binary resource data`, { cause: err });
  }
}

// Chunk types that contain other chunks: the resource table, an XML document, a table package.
const CONTAINER_CHUNKS = new Set([0x0002, 0x0003, 0x0200]);

/**
 * The offset where the chunk at `at` ends, or -1 when it, or a chunk inside it, does not fit:
 * a header shorter than 8 bytes, a size shorter than its header, or a size past `end`.
 * These are the checks Android's own resource loader makes (validate_chunk in ResourceTypes.cpp);
 * bytes after the root chunk are ignored, as Android ignores them.
 */
function chunkEnd(data: Buffer, at: number, end: number): number {
  if (end - at < 8) return -1;
  const type = data.readUInt16LE(at);
  const headerSize = data.readUInt16LE(at + 2);
  const size = data.readUInt32LE(at + 4);
  if (headerSize < 8 || size < headerSize || size > end - at) return -1;
  if (CONTAINER_CHUNKS.has(type)) {
    for (let child = at + headerSize; child < at + size; ) {
      child = chunkEnd(data, child, at + size);
      if (child < 0) return -1;
    }
  }
  return at + size;
}
