// Hostile APKs, for the tests that attack the APK reader (CPH install, KooPhone InstallApp, PushShareApps)
// and for the fuzzing suite. Android's binary XML and resource tables are written here byte by byte, so a
// document can declare what no aapt writes: counts its bytes cannot hold, offsets past its end, a hundred
// thousand strings that are all the same long one, chunks nested two hundred thousand deep. Most bombs are
// the valid APK below (`manifest()`, `table()`) with one thing changed, so a test that sees one refused knows
// what was refused.
import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import yazl from 'yazl';

export const CHUNK = {
  STRING_POOL: 0x0001,
  TABLE: 0x0002,
  XML: 0x0003,
  XML_START_NAMESPACE: 0x0100,
  XML_END_NAMESPACE: 0x0101,
  XML_START_ELEMENT: 0x0102,
  XML_END_ELEMENT: 0x0103,
  TABLE_PACKAGE: 0x0200,
  TABLE_TYPE: 0x0201,
  TABLE_TYPE_SPEC: 0x0202,
} as const;

const NONE = 0xffffffff;

/** A chunk: type, header size and size, then the rest of its header (`header`), then its body. */
export function chunk(type: number, header: Buffer, ...body: Buffer[]): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(type, 0);
  head.writeUInt16LE(8 + header.length, 2);
  head.writeUInt32LE(8 + header.length + body.reduce((sum, part) => sum + part.length, 0), 4);
  return Buffer.concat([head, header, ...body]);
}

function u32(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => out.writeUInt32LE(value >>> 0, 4 * i));
  return out;
}

function padded(data: Buffer): Buffer {
  return data.length % 4 ? Buffer.concat([data, Buffer.alloc(4 - (data.length % 4))]) : data;
}

export interface PoolOptions {
  utf8?: boolean;
  /** What the header declares, when it is not the truth. */
  stringCount?: number;
  styleCount?: number;
  stringsStart?: number;
  /** The string offsets written (default: one per string, where each is). */
  offsets?: number[];
}

/** One string as a pool stores it: its length (in one unit, or two past 0x7F / 0x7FFF), its characters, a terminator. */
function encodeString(text: string, utf8: boolean): Buffer {
  if (utf8) {
    const bytes = Buffer.from(text, 'utf8');
    const length = (n: number) => (n > 0x7f ? Buffer.from([0x80 | (n >> 8), n & 0xff]) : Buffer.from([n]));
    return Buffer.concat([length(text.length), length(bytes.length), bytes, Buffer.from([0])]);
  }
  const units = Buffer.from(text, 'utf16le');
  const n = text.length;
  const length = Buffer.alloc(n > 0x7fff ? 4 : 2);
  if (n > 0x7fff) {
    length.writeUInt16LE(0x8000 | (n >>> 16), 0);
    length.writeUInt16LE(n & 0xffff, 2);
  } else {
    length.writeUInt16LE(n, 0);
  }
  return Buffer.concat([length, units, Buffer.alloc(2)]);
}

/** A string pool (ResStringPool_header, offsets, strings), as aapt writes it unless `options` say otherwise. */
export function stringPool(strings: string[], options: PoolOptions = {}): Buffer {
  const utf8 = options.utf8 ?? false;
  const encoded = strings.map((text) => encodeString(text, utf8));
  const offsets = options.offsets ?? encoded.map((_, i) => encoded.slice(0, i).reduce((sum, e) => sum + e.length, 0));
  const styleCount = options.styleCount ?? 0;
  const entries = u32(...offsets, ...new Array(styleCount).fill(0));
  const stringsStart = options.stringsStart ?? 28 + entries.length;
  const header = u32(options.stringCount ?? strings.length, styleCount, utf8 ? 0x100 : 0, stringsStart, 0);
  return chunk(CHUNK.STRING_POOL, header, entries, padded(Buffer.concat(encoded)));
}

/** A typed value (Res_value). */
export interface Value {
  type: number;
  data: number;
}
export const int = (data: number): Value => ({ type: 0x10, data });
export const reference = (id: number): Value => ({ type: 0x01, data: id });

export interface Element {
  name: string;
  /** A string is a literal, stored in the document's pool. */
  attributes?: Record<string, string | Value>;
  children?: Element[];
}

/** The start node of an element: its name, then its attributes of `attributeSize` bytes each (20 unless told). */
export function startElement(name: number, attributes: Array<{ name: number; raw: number; value: Value }>, attributeSize = 20): Buffer {
  const ext = Buffer.alloc(20);
  ext.writeUInt32LE(NONE, 0);
  ext.writeUInt32LE(name, 4);
  ext.writeUInt16LE(20, 8);
  ext.writeUInt16LE(attributeSize, 10);
  ext.writeUInt16LE(attributes.length, 12);
  const body = attributes.map(({ name: attributeName, raw, value }) => {
    const attribute = Buffer.alloc(attributeSize);
    attribute.writeUInt32LE(NONE, 0);
    attribute.writeUInt32LE(attributeName, 4);
    attribute.writeUInt32LE(raw, 8);
    attribute.writeUInt16LE(8, 12);
    attribute[15] = value.type;
    attribute.writeUInt32LE(value.data >>> 0, 16);
    return attribute;
  });
  return chunk(CHUNK.XML_START_ELEMENT, u32(1, NONE), ext, ...body);
}

export function endElement(name: number): Buffer {
  return chunk(CHUNK.XML_END_ELEMENT, u32(1, NONE), u32(NONE, name));
}

/** A binary XML document: its string pool, then its nodes. */
export function xmlDocument(pool: Buffer, nodes: Buffer[]): Buffer {
  return chunk(CHUNK.XML, Buffer.alloc(0), pool, ...nodes);
}

/** `root` compiled as aapt compiles an XML file (without the resource map and namespaces, which readers need not). */
export function binaryXml(root: Element, pool: PoolOptions = {}): Buffer {
  const strings: string[] = [];
  const index = (text: string) => (strings.includes(text) ? strings.indexOf(text) : strings.push(text) - 1);
  const nodes: Buffer[] = [];
  const visit = (element: Element) => {
    const name = index(element.name);
    const attributes = Object.entries(element.attributes ?? {}).map(([name, value]) =>
      typeof value === 'string'
        ? { name: index(name), raw: index(value), value: { type: 0x03, data: index(value) } }
        : { name: index(name), raw: NONE, value },
    );
    nodes.push(startElement(name, attributes));
    for (const child of element.children ?? []) visit(child);
    nodes.push(endElement(name));
  };
  visit(root);
  return xmlDocument(stringPool(strings, pool), nodes);
}

export interface TypeOptions {
  /** The type id: resource ids 0xPPTTEEEE carry it as TT. */
  id: number;
  /** A locale's language, e.g. 'fr'; none for the default configuration. */
  language?: string;
  /** Entry i holds value i; null leaves a hole. */
  values: Array<Value | null>;
  /** What the header declares, when it is not the truth. */
  entryCount?: number;
  entriesStart?: number;
  offsets?: number[];
}

/** A type chunk (ResTable_type) for one configuration. */
export function tableType(options: TypeOptions): Buffer {
  const config = Buffer.alloc(64);
  config.writeUInt32LE(64, 0);
  if (options.language) config.write(options.language, 8, 'latin1');
  const entries = options.values.map((value, key) => {
    if (!value) return Buffer.alloc(0);
    const entry = Buffer.alloc(16);
    entry.writeUInt16LE(8, 0);
    entry.writeUInt32LE(key, 4);
    entry.writeUInt16LE(8, 8);
    entry[11] = value.type;
    entry.writeUInt32LE(value.data >>> 0, 12);
    return entry;
  });
  let at = 0;
  const offsets = options.offsets ?? entries.map((entry) => (entry.length ? (at += entry.length) - entry.length : NONE));
  const offsetBytes = u32(...offsets);
  const headerSize = 8 + 12 + config.length;
  const header = Buffer.concat([
    Buffer.from([options.id, 0, 0, 0]),
    u32(options.entryCount ?? options.values.length, options.entriesStart ?? headerSize + offsetBytes.length),
    config,
  ]);
  return chunk(CHUNK.TABLE_TYPE, header, offsetBytes, ...entries);
}

export interface TableOptions {
  /** The value strings; a string value is { type: 0x03, data: its index }. */
  strings: string[];
  packageId?: number;
  types: Buffer[];
  /** What the header declares, when it is not the truth. */
  packageCount?: number;
}

/** A resource table (resources.arsc) with one package. */
export function resourceTable(options: TableOptions): Buffer {
  const name = Buffer.alloc(256);
  name.write('com.opencph.hostile', 'utf16le');
  const typeStrings = stringPool(['string']);
  const keyStrings = stringPool(['app_name']);
  const headerSize = 8 + 4 + 256 + 16 + 4;
  const packageHeader = Buffer.concat([u32(options.packageId ?? 0x7f), name, u32(headerSize, 0, headerSize + typeStrings.length, 0, 0)]);
  const pkg = chunk(CHUNK.TABLE_PACKAGE, packageHeader, typeStrings, keyStrings, ...options.types);
  return chunk(CHUNK.TABLE, u32(options.packageCount ?? 1), stringPool(options.strings), pkg);
}

export const string = (index: number): Value => ({ type: 0x03, data: index });

/** An APK: a zip holding the given entries, deflated. */
export async function zipApk(entries: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(entries)) zip.addBuffer(data, name);
  zip.end();
  return buffer(zip.outputStream);
}

/** The label's resource id in the tables below. */
export const LABEL_ID = 0x7f010000;

/** A manifest that reads as com.opencph.hostile 3 ("3.0"), label @string/app_name, SDK 21-30. */
export function manifest(changes: { application?: Element['attributes']; manifest?: Element['attributes'] } = {}, pool: PoolOptions = {}): Buffer {
  return binaryXml(
    {
      name: 'manifest',
      attributes: { package: 'com.opencph.hostile', versionCode: int(3), versionName: '3.0', ...changes.manifest },
      children: [
        { name: 'uses-sdk', attributes: { minSdkVersion: int(21), targetSdkVersion: int(30) } },
        { name: 'application', attributes: { label: reference(LABEL_ID), ...changes.application } },
      ],
    },
    pool,
  );
}

/** The resource table of `manifest()`: app_name is "Hostile", and "Hostile FR" in French. */
export function table(): Buffer {
  return resourceTable({
    strings: ['Hostile', 'Hostile FR'],
    types: [tableType({ id: 1, values: [string(0)] }), tableType({ id: 1, language: 'fr', values: [string(1)] })],
  });
}

/** What readApk gives for `manifest()` with `table()`. */
export const VALID_INFO = {
  packageName: 'com.opencph.hostile',
  versionCode: 3,
  versionName: '3.0',
  label: 'Hostile',
  minSdk: 21,
  targetSdk: 30,
};

/**
 * The string-pool bomb of issue 13: a manifest whose UTF-16 pool declares `count` strings that all point at
 * one string of 0xFFFF characters. Every offset, length and terminator is valid (Android would accept the
 * pool); a reader that decodes every string holds count × 128 KB. Deflated, the APK is under 1 KB.
 */
export function stringPoolBomb(count = 100_000): Buffer {
  return stringPool(['A'.repeat(0xffff)], { offsets: new Array(count).fill(0), stringCount: count });
}

/** `depth` container chunks, each the only content of the one before (a reader that recurses overflows its stack). */
export function nestedChunks(type: number, depth: number, headerSize = 8): Buffer {
  const out = Buffer.alloc(headerSize * depth);
  for (let level = 0; level < depth; level++) {
    out.writeUInt16LE(type, headerSize * level);
    out.writeUInt16LE(headerSize, headerSize * level + 2);
    out.writeUInt32LE(headerSize * (depth - level), headerSize * level + 4);
  }
  return out;
}

/** `depth` elements, each inside the one before, none closed. */
export function nestedElements(depth: number): Buffer {
  const node = startElement(0, []);
  return xmlDocument(stringPool(['manifest']), [Buffer.concat(new Array(depth).fill(node))]);
}

/**
 * The catalogue of bombs for the fuzzing suite, each a whole APK: every one must be refused as an invalid
 * APK, quickly and within bounded memory.
 */
export const APK_BOMBS: Record<string, () => Promise<Buffer>> = {
  'string pool bomb (UTF-16)': () => zipApk({ 'AndroidManifest.xml': xmlDocument(stringPoolBomb(), []) }),
  'string pool bomb (UTF-8)': () =>
    zipApk({ 'AndroidManifest.xml': xmlDocument(stringPool(['A'.repeat(0x7fff)], { utf8: true, offsets: new Array(100_000).fill(0) }), []) }),
  'string count past the pool': () => zipApk({ 'AndroidManifest.xml': manifest({}, { stringCount: 0x3fffffff }) }),
  // The manifest's string pool is at 8: its string count at 16, its style count at 20, its strings at 8 + the value at 28.
  'style count past the pool': () => zipApk({ 'AndroidManifest.xml': patched(manifest(), 20, 0x3fffffff) }),
  'string offset past the pool': () => zipApk({ 'AndroidManifest.xml': manifest({}, { offsets: [0, 0x7ffffff0] }) }),
  'strings start past the pool': () => zipApk({ 'AndroidManifest.xml': manifest({}, { stringsStart: 0x7ffffff0 }) }),
  'string length past the pool': () => zipApk({ 'AndroidManifest.xml': patched(manifest(), 8 + manifest().readUInt32LE(28), 0x7fff, 2) }),
  // The first string, "manifest", gets a character where its terminator was.
  'string without terminator': () => zipApk({ 'AndroidManifest.xml': patched(manifest(), 8 + manifest().readUInt32LE(28) + 2 + 2 * 'manifest'.length, 0x41, 2) }),
  'nested chunks': () => zipApk({ 'AndroidManifest.xml': nestedChunks(CHUNK.XML, 200_000) }),
  'nested table chunks': () => zipApk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': nestedChunks(CHUNK.TABLE, 200_000, 12) }),
  'nested elements': () => zipApk({ 'AndroidManifest.xml': nestedElements(200_000) }),
  // The element's attribute size (at 16 + 10) becomes 0 and its count (at 16 + 12) 65535: every attribute is the same 20 bytes.
  'overlapping attributes': () =>
    zipApk({ 'AndroidManifest.xml': xmlDocument(stringPool(['manifest', 'package']), [patched(patched(startElement(0, [{ name: 1, raw: 1, value: string(1) }]), 26, 0, 2), 28, 0xffff, 2)]) }),
  'type entry count past the chunk': () =>
    zipApk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': resourceTable({ strings: ['x'], types: [tableType({ id: 1, values: [string(0)], entryCount: 0xffff })] }) }),
  'type entries past the chunk': () =>
    zipApk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': resourceTable({ strings: ['x'], types: [tableType({ id: 1, values: [string(0)], entriesStart: 0x7ffffff0 })] }) }),
  'entry offset past the chunk': () =>
    zipApk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': resourceTable({ strings: ['x'], types: [tableType({ id: 1, values: [string(0)], offsets: [0x7ffffff0] })] }) }),
  'more packages than declared': () => zipApk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': patched(table(), 8, 0) }),
  'truncated manifest': () => zipApk({ 'AndroidManifest.xml': manifest().subarray(0, 200) }),
  'truncated table': () => zipApk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': table().subarray(0, 500) }),
  // The chunk after the string pool (which starts at 8) gets size 0.
  'zero-sized chunk': () => zipApk({ 'AndroidManifest.xml': patched(manifest(), 8 + manifest().readUInt32LE(12) + 4, 0) }),
  'zip bomb: manifest over its size limit': () => zipApk({ 'AndroidManifest.xml': Buffer.alloc(17 * 1024 * 1024) }),
  'zip bomb: manifest larger than declared': async () => declaringSize(await zipApk({ 'AndroidManifest.xml': Buffer.alloc(1024 * 1024) }), 1000),
  'truncated zip': async () => (await zipApk({ 'AndroidManifest.xml': manifest(), 'resources.arsc': table() })).subarray(0, 300),
};

/** A change of one number in the manifest or resource table of the valid APK (`manifest()`, `table()`). */
export interface Mutation {
  entry: 'AndroidManifest.xml' | 'resources.arsc';
  /** Taken modulo the entry's length. */
  at: number;
  bytes: 1 | 2 | 4;
  value: number;
}

/** Mutations for property-based tests, biased towards the values that break readers: 0, signs, unit limits. */
export const mutation: fc.Arbitrary<Mutation> = fc.record({
  entry: fc.constantFrom('AndroidManifest.xml' as const, 'resources.arsc' as const),
  at: fc.nat(),
  bytes: fc.constantFrom(1 as const, 2 as const, 4 as const),
  value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0xffffffff), fc.nat()),
});

/** The valid APK with `mutations` applied, one after the other. */
export function mutatedApk(mutations: Mutation[]): Promise<Buffer> {
  const entries = { 'AndroidManifest.xml': manifest(), 'resources.arsc': table() };
  for (const { entry, at, bytes, value } of mutations) {
    const data = entries[entry];
    const offset = at % (data.length - bytes + 1);
    data.writeUIntLE(value % 2 ** (8 * bytes), offset, bytes);
  }
  return zipApk(entries);
}

/** A copy of `data` with the little-endian number of `bytes` bytes at `at` replaced by `value`. */
export function patched(data: Buffer, at: number, value: number, bytes: 2 | 4 = 4): Buffer {
  const copy = Buffer.from(data);
  if (bytes === 2) copy.writeUInt16LE(value, at);
  else copy.writeUInt32LE(value >>> 0, at);
  return copy;
}

/** A one-entry zip whose headers (local and central) declare `size` uncompressed bytes, whatever the entry inflates to. */
export function declaringSize(zip: Buffer, size: number): Buffer {
  const copy = Buffer.from(zip);
  copy.writeUInt32LE(size, 22);
  const central = copy.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  copy.writeUInt32LE(size, central + 24);
  return copy;
}
