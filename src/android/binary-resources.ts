// One file past 400 lines: binary XML and the resource table share the chunk walker, the string pool and
// typed values, and their checks are read against androidfw's side by side.
// Android's compiled resource formats: binary XML (AndroidManifest.xml, ResXMLTree) and the resource table
// (resources.arsc, ResTable). They come from tenants, so they are read as frameworks/base/libs/androidfw
// reads them: every size, count and offset is checked against the bytes that hold it before it is used
// (ResourceTypes.cpp: validate_chunk, ResStringPool::setTo and stringAt, ResXMLTree::validateNode;
// LoadedArsc.cpp: VerifyResTableType, VerifyResTableEntry). Chunks are walked in loops, never by
// recursion, and a string is decoded only when it is read: what a document costs to read is bounded by
// its size, whatever counts it declares.

export class MalformedResources extends Error {
  override name = 'MalformedResources';
}

const STRING_POOL_TYPE = 0x0001;
const TABLE_TYPE = 0x0002;
const XML_TYPE = 0x0003;
const XML_FIRST_NODE_TYPE = 0x0100;
const XML_START_ELEMENT_TYPE = 0x0102;
const XML_END_ELEMENT_TYPE = 0x0103;
const XML_LAST_NODE_TYPE = 0x017f;
const TABLE_PACKAGE_TYPE = 0x0200;
const TABLE_TYPE_TYPE = 0x0201;

/** Fixed header sizes (ResourceTypes.h). */
const CHUNK_HEADER = 8;
const STRING_POOL_HEADER = 28;
const XML_NODE_HEADER = 16;
const XML_ATTRIBUTE_EXT = 20;
const XML_ATTRIBUTE = 20;
const TABLE_HEADER = 12;
/** ResTable_package without typeIdOffset, which older aapt versions did not write (LoadedArsc's kMinPackageSize). */
const PACKAGE_HEADER = 284;
/** ResTable_type up to its configuration, and the configuration's bytes up to its locale's end. */
const TYPE_HEADER = 20;
const CONFIG_LOCALE_END = 12;
const TABLE_ENTRY = 8;
const RES_VALUE = 8;

const UTF8_FLAG = 0x100;
const NO_ENTRY = 0xffffffff;
const TYPE_FLAG_SPARSE = 0x01;
const TYPE_FLAG_OFFSET16 = 0x02;
const ENTRY_FLAG_COMPLEX = 0x01;
const ENTRY_FLAG_COMPACT = 0x08;

interface Chunk {
  type: number;
  start: number;
  headerSize: number;
  end: number;
}

/** A reference to another resource (`@string/app_name`), by its id. */
export class ResourceReference {
  constructor(readonly id: number) {}

  toString(): string {
    return `@0x${this.id.toString(16).padStart(8, '0')}`;
  }
}

/** A typed value (Res_value) as an app reads it; null for the types nothing here needs (floats, dimensions, colours...). */
export type ResourceValue = string | number | boolean | ResourceReference | null;

/** The chunk at `at`, checked as validate_chunk does: a header of at least `minHeader` bytes, a size at least the header's, both multiples of 4, all before `end`. */
function chunkAt(data: Buffer, at: number, end: number, minHeader: number): Chunk {
  if (end - at < CHUNK_HEADER) throw new MalformedResources(`chunk at ${at} is truncated`);
  const type = data.readUInt16LE(at);
  const headerSize = data.readUInt16LE(at + 2);
  const size = data.readUInt32LE(at + 4);
  if (headerSize < minHeader) throw new MalformedResources(`chunk 0x${type.toString(16)} at ${at}: header of ${headerSize} bytes, under ${minHeader}`);
  if (size < headerSize) throw new MalformedResources(`chunk 0x${type.toString(16)} at ${at}: size ${size} under its header's ${headerSize}`);
  if ((headerSize | size) % 4 !== 0) throw new MalformedResources(`chunk 0x${type.toString(16)} at ${at}: size ${size} or header ${headerSize} not a multiple of 4`);
  if (size > end - at) throw new MalformedResources(`chunk 0x${type.toString(16)} at ${at}: size ${size} past the ${end - at} bytes left`);
  return { type, start: at, headerSize, end: at + size };
}

/**
 * The chunks directly inside `parent`, in order (their own children are not visited). Bytes too few to
 * hold a chunk header at the end are ignored, as ResXMLTree ignores them.
 */
function* childChunks(data: Buffer, parent: Chunk): Generator<Chunk> {
  for (let at = parent.start + parent.headerSize; parent.end - at >= CHUNK_HEADER; ) {
    const chunk = chunkAt(data, at, parent.end, CHUNK_HEADER);
    yield chunk;
    at = chunk.end;
  }
}

/** The document's root chunk, which must be of `type`; bytes after it are ignored, as Android ignores them. */
function rootChunk(data: Buffer, type: number, minHeader: number, what: string): Chunk {
  const root = chunkAt(data, 0, data.length, CHUNK_HEADER);
  if (root.type !== type) throw new MalformedResources(`not ${what} (chunk type 0x${root.type.toString(16)})`);
  if (root.headerSize < minHeader) throw new MalformedResources(`${what} header of ${root.headerSize} bytes, under ${minHeader}`);
  return root;
}

/**
 * A string pool (ResStringPool). Reading it checks what ResStringPool::setTo checks, and also every string's
 * offset, length and terminator, which Android checks when a string is first read: after that, reading any
 * string costs no more than the string's own bytes. Strings are decoded when read, never all at once, so
 * a pool whose many indexes all point at one long string costs its size, not the sum of its strings.
 */
export class StringPool {
  private constructor(
    private readonly data: Buffer,
    /** Where the string offsets start, absolute. */
    private readonly entries: number,
    readonly count: number,
    /** Where the string data starts, absolute, and how many bytes it holds. */
    private readonly strings: number,
    private readonly poolBytes: number,
    private readonly utf8: boolean,
  ) {}

  static read(data: Buffer, chunk: Chunk): StringPool {
    if (chunk.headerSize < STRING_POOL_HEADER) throw new MalformedResources(`string pool header of ${chunk.headerSize} bytes, under ${STRING_POOL_HEADER}`);
    const size = chunk.end - chunk.start;
    const stringCount = data.readUInt32LE(chunk.start + 8);
    const styleCount = data.readUInt32LE(chunk.start + 12);
    const utf8 = (data.readUInt32LE(chunk.start + 16) & UTF8_FLAG) !== 0;
    const stringsStart = data.readUInt32LE(chunk.start + 20);
    const stylesStart = data.readUInt32LE(chunk.start + 24);
    // Every count must fit in the bytes that hold its offsets.
    if (chunk.headerSize + 4 * (stringCount + styleCount) > size) {
      throw new MalformedResources(`string pool of ${size} bytes cannot hold ${stringCount} string and ${styleCount} style offsets`);
    }
    let poolBytes = 0;
    if (stringCount > 0) {
      // At least room for the smallest string: a length and a terminator.
      if (stringsStart >= size - 2) throw new MalformedResources(`string data starts at ${stringsStart}, past the pool's ${size} bytes`);
      let stringsEnd = size;
      if (styleCount > 0) {
        if (stylesStart >= size - 2) throw new MalformedResources(`style data starts at ${stylesStart}, past the pool's ${size} bytes`);
        if (stylesStart <= stringsStart) throw new MalformedResources(`style data starts at ${stylesStart}, before the strings at ${stringsStart}`);
        stringsEnd = stylesStart;
      }
      poolBytes = stringsEnd - stringsStart;
      const charSize = utf8 ? 1 : 2;
      poolBytes -= poolBytes % charSize;
      if (poolBytes === 0) throw new MalformedResources(`${stringCount} strings in no string data`);
      const last = chunk.start + stringsStart + poolBytes - charSize;
      if ((utf8 ? data[last] : data.readUInt16LE(last)) !== 0) throw new MalformedResources('the last string is not 0-terminated');
    }
    if (styleCount > 0) {
      // Styles end with a span list terminator and two more END markers (ResStringPool::setTo's endSpan).
      if (stylesStart >= size || size - stylesStart < 12) throw new MalformedResources(`style data starts at ${stylesStart}, past the pool's ${size} bytes`);
      const stylesEnd = chunk.start + stylesStart + 4 * Math.floor((size - stylesStart) / 4);
      for (let at = stylesEnd - 12; at < stylesEnd; at += 4) {
        if (data.readUInt32LE(at) !== 0xffffffff) throw new MalformedResources('the last style is not 0xFFFFFFFF-terminated');
      }
    }
    const pool = new StringPool(data, chunk.start + chunk.headerSize, stringCount, chunk.start + stringsStart, poolBytes, utf8);
    for (let index = 0; index < stringCount; index++) pool.locate(index);
    return pool;
  }

  /** The string at `index`; undefined for an index past the pool (Android gives no string either). */
  string(index: number): string | undefined {
    if (index >= this.count) return undefined;
    const { start, end } = this.locate(index);
    return this.data.toString(this.utf8 ? 'utf8' : 'utf16le', start, end);
  }

  /** Whether the string at `index` is `text`; a string of another length is not decoded. */
  equals(index: number, text: string): boolean {
    if (index >= this.count) return false;
    const { start, end } = this.locate(index);
    if (end - start !== (this.utf8 ? Buffer.byteLength(text) : 2 * text.length)) return false;
    return this.data.toString(this.utf8 ? 'utf8' : 'utf16le', start, end) === text;
  }

  /**
   * Where the string at `index` (< count) lies, absolute, checked as ResStringPool::stringAt checks it: the
   * offset inside the pool, the lengths and the characters inside the pool, a terminator after them.
   */
  private locate(index: number): { start: number; end: number } {
    const offset = this.data.readUInt32LE(this.entries + 4 * index);
    const unit = this.utf8 ? 1 : 2;
    const units = this.poolBytes / unit;
    const read = (at: number) => (this.utf8 ? this.data[this.strings + at] : this.data.readUInt16LE(this.strings + 2 * at));
    // A length takes one unit, or two when the first has its high bit set (ResStringPool's decodeLength).
    const high = this.utf8 ? 0x80 : 0x8000;
    let at = Math.floor(offset / unit);
    const length = () => {
      if (at >= units) throw new MalformedResources(`string #${index} has no room for its length`);
      let value = read(at++);
      if (value & high) {
        if (at >= units) throw new MalformedResources(`string #${index} has no room for its length`);
        value = (value & (high - 1)) * (high << 1) + read(at++);
      }
      return value;
    };
    if (at >= units - 1) throw new MalformedResources(`string #${index} is at ${offset}, past the pool's end at ${this.poolBytes}`);
    // UTF-8 strings give their length in UTF-16 units, then in bytes: only the bytes matter here.
    if (this.utf8) length();
    const count = length();
    if (at + count >= units) throw new MalformedResources(`string #${index} extends to ${(at + count) * unit}, past the pool's end at ${this.poolBytes}`);
    if (read(at + count) !== 0) throw new MalformedResources(`string #${index} is not 0-terminated`);
    return { start: this.strings + at * unit, end: this.strings + (at + count) * unit };
  }
}

/** A Res_value: type at byte 3, data at bytes 4-7. */
function typedValue(data: Buffer, at: number, strings: StringPool): ResourceValue {
  const value = data.readUInt32LE(at + 4);
  switch (data[at + 3]) {
    case 0x01: // TYPE_REFERENCE
      return new ResourceReference(value);
    case 0x03: // TYPE_STRING
      return strings.string(value) ?? null;
    case 0x10: // TYPE_INT_DEC
    case 0x11: // TYPE_INT_HEX
      return value | 0;
    case 0x12: // TYPE_INT_BOOLEAN
      return value !== 0;
    default:
      return null;
  }
}

/**
 * A binary XML document, read as ResXMLTree::setTo reads it: its string pool before any node, every node
 * checked (validateNode: each start element's attributes inside the node). Elements are remembered by
 * position and depth only; names and attributes are decoded when asked for.
 */
export class XmlDocument {
  /** Every element's start node, in document order, and its depth (0 for the root). */
  private readonly elements: number[] = [];
  private readonly depths: number[] = [];

  private constructor(
    readonly data: Buffer,
    readonly strings: StringPool,
  ) {}

  static read(data: Buffer): XmlDocument {
    const root = rootChunk(data, XML_TYPE, CHUNK_HEADER, 'a binary XML document');
    let document: XmlDocument | undefined;
    let depth = 0;
    for (const chunk of childChunks(data, root)) {
      if (chunk.type === STRING_POOL_TYPE && !document) {
        document = new XmlDocument(data, StringPool.read(data, chunk));
      } else if (chunk.type >= XML_FIRST_NODE_TYPE && chunk.type <= XML_LAST_NODE_TYPE) {
        if (!document) throw new MalformedResources('an XML node before the string pool');
        if (chunk.headerSize < XML_NODE_HEADER) throw new MalformedResources(`XML node at ${chunk.start}: header of ${chunk.headerSize} bytes, under ${XML_NODE_HEADER}`);
        if (chunk.type === XML_START_ELEMENT_TYPE) {
          checkAttributes(data, chunk);
          document.elements.push(chunk.start);
          document.depths.push(depth++);
        } else if (chunk.type === XML_END_ELEMENT_TYPE && --depth < 0) {
          throw new MalformedResources(`XML node at ${chunk.start} ends an element that never started`);
        }
      }
      // Anything else (a resource map, a chunk type Android does not know) is skipped, as ResXMLTree skips it.
    }
    if (!document) throw new MalformedResources('no string pool');
    return document;
  }

  /** The root element; undefined for a document without elements. */
  get root(): XmlElement | undefined {
    return this.elements.length > 0 ? new XmlElement(this, 0) : undefined;
  }

  /** The first element after element `index` at `depth`, before the first one above it. */
  childOf(index: number, name: string): XmlElement | undefined {
    const depth = this.depths[index] + 1;
    for (let next = index + 1; next < this.elements.length && this.depths[next] >= depth; next++) {
      if (this.depths[next] !== depth) continue;
      const element = new XmlElement(this, next);
      if (element.is(name)) return element;
    }
    return undefined;
  }

  nodeAt(index: number): number {
    return this.elements[index];
  }
}

/** ResXMLTree::validateNode for a start element: its attribute extension and all its attributes inside the node. */
function checkAttributes(data: Buffer, node: Chunk): void {
  const ext = node.start + node.headerSize;
  const bodySize = node.end - ext;
  if (bodySize < XML_ATTRIBUTE_EXT) throw new MalformedResources(`start element at ${node.start} has no room for its attributes' header`);
  const attributeStart = data.readUInt16LE(ext + 8);
  const attributeSize = data.readUInt16LE(ext + 10);
  const attributeCount = data.readUInt16LE(ext + 12);
  // Android reads 20 bytes per attribute whatever size the node declares; a smaller one would overlap.
  if (attributeCount > 0 && (attributeSize < XML_ATTRIBUTE || attributeStart + attributeSize * attributeCount > bodySize)) {
    throw new MalformedResources(`start element at ${node.start}: ${attributeCount} attributes of ${attributeSize} bytes from ${attributeStart} do not fit in ${bodySize} bytes`);
  }
}

/** An element of an XmlDocument. */
export class XmlElement {
  constructor(
    private readonly document: XmlDocument,
    private readonly index: number,
  ) {}

  /** Whether the element is named `name`. */
  is(name: string): boolean {
    const { data, strings } = this.document;
    const node = this.document.nodeAt(this.index);
    return strings.equals(data.readUInt32LE(node + data.readUInt16LE(node + 2) + 4), name);
  }

  /** The first child element named `name`. */
  child(name: string): XmlElement | undefined {
    return this.document.childOf(this.index, name);
  }

  /**
   * The typed value of the attribute named `name` (any namespace), the last one when the name repeats;
   * undefined when there is none. Only that attribute's value is decoded.
   */
  attribute(name: string): ResourceValue | undefined {
    const { data, strings } = this.document;
    const node = this.document.nodeAt(this.index);
    const ext = node + data.readUInt16LE(node + 2);
    const start = ext + data.readUInt16LE(ext + 8);
    const size = data.readUInt16LE(ext + 10);
    let found: number | undefined;
    for (let i = 0, count = data.readUInt16LE(ext + 12); i < count; i++) {
      if (strings.equals(data.readUInt32LE(start + i * size + 4), name)) found = start + i * size;
    }
    return found === undefined ? undefined : typedValue(data, found + 12, strings);
  }
}

/** A table type chunk (ResTable_type): one type's entries for one configuration. */
interface TableType {
  chunk: Chunk;
  flags: number;
  entryCount: number;
  /** Where the entries start, absolute. */
  entries: number;
  hasLocale: boolean;
}

/**
 * A resource table, read as LoadedArsc reads it: its value string pool, its packages, and every type
 * chunk's header (VerifyResTableType: the entry count, the offsets inside the chunk before the entries).
 * An entry is checked as VerifyResTableEntry does when it is looked up.
 */
export class ResourceTable {
  /** Type chunks by package id, then type id, in file order. */
  private readonly packages = new Map<number, Map<number, TableType[]>>();

  private constructor(
    private readonly data: Buffer,
    private readonly strings: StringPool,
  ) {}

  static read(data: Buffer): ResourceTable {
    const root = rootChunk(data, TABLE_TYPE, TABLE_HEADER, 'a resource table');
    const packageCount = data.readUInt32LE(8);
    let table: ResourceTable | undefined;
    let packagesSeen = 0;
    for (const chunk of childChunks(data, root)) {
      if (chunk.type === STRING_POOL_TYPE && !table) {
        table = new ResourceTable(data, StringPool.read(data, chunk));
      } else if (chunk.type === TABLE_PACKAGE_TYPE) {
        if (!table) throw new MalformedResources('a package before the value string pool');
        if (++packagesSeen > packageCount) throw new MalformedResources(`more packages than the ${packageCount} declared`);
        table.readPackage(chunk);
      }
    }
    if (!table) throw new MalformedResources('no value string pool');
    return table;
  }

  private readPackage(chunk: Chunk): void {
    if (chunk.headerSize < PACKAGE_HEADER) throw new MalformedResources(`package at ${chunk.start}: header of ${chunk.headerSize} bytes, under ${PACKAGE_HEADER}`);
    const id = this.data.readUInt32LE(chunk.start + 8);
    let types = this.packages.get(id);
    if (!types) this.packages.set(id, (types = new Map()));
    for (const child of childChunks(this.data, chunk)) {
      // The package's type and key names are pools too: checked, though nothing here reads them.
      if (child.type === STRING_POOL_TYPE) StringPool.read(this.data, child);
      if (child.type !== TABLE_TYPE_TYPE) continue;
      const type = this.readType(child);
      const typeId = this.data[child.start + 8];
      const configs = types.get(typeId);
      if (configs) configs.push(type);
      else types.set(typeId, [type]);
    }
  }

  /** VerifyResTableType. */
  private readType(chunk: Chunk): TableType {
    const { data } = this;
    const at = chunk.start;
    if (chunk.headerSize < TYPE_HEADER + 4) throw new MalformedResources(`type at ${at}: header of ${chunk.headerSize} bytes, under ${TYPE_HEADER + 4}`);
    if (data[at + 8] === 0) throw new MalformedResources(`type at ${at} has id 0`);
    const flags = data[at + 9];
    const entryCount = data.readUInt32LE(at + 12);
    const entriesStart = data.readUInt32LE(at + 16);
    if (entryCount > 0xffff) throw new MalformedResources(`type at ${at} has ${entryCount} entries, over 65535`);
    const offsetsBytes = entryCount * (flags & TYPE_FLAG_OFFSET16 ? 2 : 4);
    if (entriesStart < chunk.headerSize || entriesStart - chunk.headerSize < offsetsBytes) {
      throw new MalformedResources(`type at ${at}: ${entryCount} entry offsets overlap the entries at ${entriesStart}`);
    }
    if (entriesStart > chunk.end - at) throw new MalformedResources(`type at ${at}: entries start at ${entriesStart}, past the chunk`);
    if (entriesStart % 4 !== 0) throw new MalformedResources(`type at ${at}: entries start at unaligned ${entriesStart}`);
    // The locale: language and region, two bytes each at bytes 8-11 of the configuration, zero when absent.
    const configSize = Math.min(data.readUInt32LE(at + TYPE_HEADER), chunk.headerSize - TYPE_HEADER);
    const hasLocale = configSize >= CONFIG_LOCALE_END && data.readUInt32LE(at + TYPE_HEADER + 8) !== 0;
    return { chunk, flags, entryCount, entries: at + entriesStart, hasLocale };
  }

  /**
   * The value of resource `id`: that of the first configuration without a locale that has one (aapt and
   * aapt2 write the default configuration first), else that of the first configuration that has one.
   * Undefined when no configuration has a value (a missing resource, a bag such as a style).
   */
  value(id: number): ResourceValue | undefined {
    const types = this.packages.get(id >>> 24)?.get((id >>> 16) & 0xff) ?? [];
    let found: ResourceValue | undefined;
    for (const type of types) {
      const value = this.entryValue(type, id & 0xffff);
      if (value === undefined || value === null || value === '') continue;
      if (!type.hasLocale) return value;
      found ??= value;
    }
    return found;
  }

  /** VerifyResTableEntry, then the entry's value. */
  private entryValue(type: TableType, index: number): ResourceValue | undefined {
    const { data } = this;
    // Sparse and 16-bit offset tables (aapt2 options for recent SDKs) and compact entries are not read: their values count as absent.
    if (index >= type.entryCount || type.flags & (TYPE_FLAG_SPARSE | TYPE_FLAG_OFFSET16)) return undefined;
    const offset = data.readUInt32LE(type.chunk.start + type.chunk.headerSize + 4 * index);
    if (offset === NO_ENTRY) return undefined;
    const what = `entry ${index} of the type at ${type.chunk.start}`;
    const at = type.entries + offset;
    if (offset % 4 !== 0) throw new MalformedResources(`${what} is at unaligned offset ${offset}`);
    if (at + TABLE_ENTRY > type.chunk.end) throw new MalformedResources(`${what} is past the chunk`);
    const flags = data.readUInt16LE(at + 2);
    if (flags & (ENTRY_FLAG_COMPLEX | ENTRY_FLAG_COMPACT)) return undefined;
    const size = data.readUInt16LE(at);
    if (size < TABLE_ENTRY || at + size + RES_VALUE > type.chunk.end) throw new MalformedResources(`${what}: ${size} bytes and a value do not fit in the chunk`);
    const valueSize = data.readUInt16LE(at + size);
    if (valueSize < RES_VALUE || at + size + valueSize > type.chunk.end) throw new MalformedResources(`${what}: value of ${valueSize} bytes does not fit in the chunk`);
    return typedValue(data, at + size, this.strings);
  }
}
