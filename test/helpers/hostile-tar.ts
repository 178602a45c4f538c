// Hostile tar archives, for the tests that attack the archive readers (PushFile, PushShareFiles, PushShareApps,
// BatchImportCloudPhoneData and KooPhone restores) and for the fuzzing suite. Headers are written here byte by
// byte, so an archive can say what no honest tool writes (sizes past its own end, names longer than any file
// system takes, as many members as asked) and is streamed to its file without touching the disk per member.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';

export interface Member {
  /** The member's name; longer than the 100 bytes of a ustar header, it goes in a pax `path` record. */
  path: string;
  /** Type flag: '0' file (default), '5' directory, '2' symbolic link, '1' hard link, 'S' GNU sparse file, ... */
  type?: string;
  body?: Buffer | string;
  /** The size the header declares, when it is not the body's (the archive then lies). */
  declaredSize?: number;
  linkpath?: string;
  mode?: number;
  /** Pax records written in an extended header before the member, e.g. `{ size: '1099511627776' }`. */
  pax?: Record<string, string>;
  /** GNU sparse header: the size the file claims to expand to (`realsize`, offset 483). */
  realSize?: number;
}

const BLOCK = 512;

/** One member: its pax header if it needs one, its header, its body padded to whole blocks. */
export function memberBlocks(member: Member): Buffer[] {
  const body = typeof member.body === 'string' ? Buffer.from(member.body) : (member.body ?? Buffer.alloc(0));
  const pax = { ...member.pax };
  if (Buffer.byteLength(member.path) > 100) pax.path = member.path;
  if (member.linkpath && Buffer.byteLength(member.linkpath) > 100) pax.linkpath = member.linkpath;
  const blocks: Buffer[] = [];
  if (Object.keys(pax).length > 0) {
    const records = Buffer.from(Object.entries(pax).map(([key, value]) => paxRecord(key, value)).join(''));
    blocks.push(header({ path: 'PaxHeader/member', type: 'x', declaredSize: records.length }), padded(records));
  }
  blocks.push(header({ ...member, declaredSize: member.declaredSize ?? body.length }));
  if (body.length) blocks.push(padded(body));
  return blocks;
}

/** A 512-byte ustar header (sizes past 8 GiB in GNU base-256, as GNU tar writes them). */
export function header(member: Member): Buffer {
  const block = Buffer.alloc(BLOCK);
  const type = member.type ?? '0';
  Buffer.from(member.path).copy(block, 0, 0, 100);
  block.write(octal(member.mode ?? (type === '5' ? 0o755 : 0o644), 8), 100);
  block.write(octal(0, 8), 108);
  block.write(octal(0, 8), 116);
  writeNumber(block, 124, 12, member.declaredSize ?? 0);
  block.write(octal(1767261600, 12), 136);
  block.write(type, 156);
  if (member.linkpath) Buffer.from(member.linkpath).copy(block, 157, 0, 100);
  block.write('ustar\u000000', 257);
  if (member.realSize !== undefined) writeNumber(block, 483, 12, member.realSize);
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148);
  return block;
}

/** The whole archive, block by block, ended by the two zero blocks. */
export function* tarChunks(members: Iterable<Member>): Generator<Buffer> {
  for (const member of members) yield* memberBlocks(member);
  yield Buffer.alloc(2 * BLOCK);
}

/** Writes an archive to `file` (gzip-compressed with `gzip`: every 1 MiB of the tar one gzip member); returns `file`. */
export async function writeTar(file: string, members: Iterable<Member>, options: { gzip?: boolean } = {}): Promise<string> {
  const out = createWriteStream(file);
  const done = finished(out);
  const write = async (chunk: Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const chunk = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    await write(options.gzip ? gzipSync(chunk) : chunk);
  };
  for (const chunk of tarChunks(members)) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= 1024 * 1024) await flush();
  }
  await flush();
  out.end();
  await done;
  return file;
}

// ---- bombs ----

/** `count` files of `bytes` bytes each, `perDir` to a directory under `dir` (one member per directory too). */
export function* manyFiles(count: number, { dir = 'data/local/tmp/many', bytes = 1, perDir = 1000 } = {}): Generator<Member> {
  yield { path: `${dir}/`, type: '5' };
  for (let i = 0; i < count; i++) {
    const sub = `${dir}/d${Math.floor(i / perDir)}`;
    if (i % perDir === 0) yield { path: `${sub}/`, type: '5' };
    yield { path: `${sub}/f${i}`, body: Buffer.alloc(bytes, 0x61) };
  }
}

/** `count` members in total, each an empty file in one directory: the cheapest archive per member. */
export function* manyMembers(count: number, dir = 'data/local/tmp/members'): Generator<Member> {
  for (let i = 0; i < count; i++) yield { path: `${dir}/m${i}` };
}

/** Directories nested `depth` deep under `dir` (`d/d/d/...`, one member each) and a file at the bottom. */
export function* deepNesting(depth: number, { dir = 'data/local/tmp/deep', name = 'd' } = {}): Generator<Member> {
  let path = dir;
  for (let i = 0; i < depth; i++) {
    path += `/${name}`;
    yield { path: `${path}/`, type: '5' };
  }
  yield { path: `${path}/bottom.txt`, body: 'bottom\n' };
}

/** A file whose name is `bytes` long under `dir`, in one component (`component`) or in 100-byte components. */
export function longName(bytes: number, { dir = 'data/local/tmp', component = false } = {}): Member {
  const room = bytes - dir.length - 1;
  const parts = Math.ceil(room / 101);
  const name = component ? 'n'.repeat(room) : Array.from({ length: parts }, (_, i) => 'n'.repeat(i === parts - 1 ? room - 101 * i : 100)).join('/');
  return { path: `${dir}/${name}`, body: 'long\n' };
}

/** A file whose header declares `bytes` (base-256 past 8 GiB) but holds one block: the archive ends long before. */
export function hugeDeclaredSize(bytes: number, path = 'data/local/tmp/huge.bin'): Member {
  return { path, body: Buffer.alloc(BLOCK, 0x7a), declaredSize: bytes };
}

/** The same lie in a pax `size` record, which overrides the header's honest size. */
export function paxDeclaredSize(bytes: number, path = 'data/local/tmp/pax-huge.bin'): Member {
  return { path, body: 'small\n', pax: { size: String(bytes) } };
}

/** A GNU sparse member claiming to expand to `realSize` bytes from one stored block. */
export function sparseFile(realSize: number, path = 'data/local/tmp/sparse.bin'): Member {
  return { path, type: 'S', body: Buffer.alloc(BLOCK, 0x73), realSize };
}

/**
 * A gzip bomb: a tar holding one file of `bytes` zero bytes, compressed 1 MiB of zeros to one gzip member
 * (about 1 KiB each; gzip members may be concatenated), so a 1 GiB file costs 1 MiB of archive and no time
 * to build.
 */
export async function writeGzipBomb(file: string, bytes: number, path = 'data/local/tmp/zeros.bin'): Promise<string> {
  const out = createWriteStream(file);
  const done = finished(out);
  const MiB = 1024 * 1024;
  const zeros = gzipSync(Buffer.alloc(MiB));
  out.write(gzipSync(header({ path, declaredSize: bytes })));
  for (let left = bytes; left > 0; left -= MiB) {
    const chunk = left >= MiB ? zeros : gzipSync(Buffer.alloc(left));
    if (!out.write(chunk)) await once(out, 'drain');
  }
  const tail = (BLOCK - (bytes % BLOCK)) % BLOCK;
  out.end(gzipSync(Buffer.alloc(tail + 2 * BLOCK)));
  await done;
  return file;
}

/**
 * The catalogue of bombs for the fuzzing suite: each writes its archive to `file` (its path is returned).
 * With the limits of src/devices/sim/push.ts every one is refused within seconds, at its first header past a
 * limit, but the 50,000 tiny files, which unpack; without them each held the event loop for seconds,
 * exhausted file descriptors or filled the disk.
 */
export const TAR_BOMBS: Record<string, (file: string) => Promise<string>> = {
  'many members': (file) => writeTar(file, manyMembers(200_000)),
  'many tiny files': (file) => writeTar(file, manyFiles(50_000)),
  'deep nesting': (file) => writeTar(file, deepNesting(2_000)),
  'long path': (file) => writeTar(file, [longName(64 * 1024)]),
  'long name component': (file) => writeTar(file, [longName(1_000, { component: true })]),
  'huge declared size': (file) => writeTar(file, [hugeDeclaredSize(2 ** 40)]),
  'huge pax size': (file) => writeTar(file, [paxDeclaredSize(2 ** 40)]),
  'sparse file': (file) => writeTar(file, [sparseFile(2 ** 40)]),
  'gzip bomb': (file) => writeGzipBomb(file, 64 * 1024 ** 3),
};

function paxRecord(key: string, value: string): string {
  const text = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(text);
  while (Buffer.byteLength(`${length}${text}`) !== length) length = Buffer.byteLength(`${length}${text}`);
  return `${length}${text}`;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest ? Buffer.concat([data, Buffer.alloc(BLOCK - rest)]) : data;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\u0000`;
}

/** Octal when it fits the field, else GNU base-256: 0x80, then the value big-endian. */
function writeNumber(block: Buffer, offset: number, width: number, value: number): void {
  if (value < 8 ** (width - 1)) {
    block.write(octal(value, width), offset);
    return;
  }
  block[offset] = 0x80;
  let rest = BigInt(value);
  for (let i = offset + width - 1; i > offset; i--) {
    block[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}
