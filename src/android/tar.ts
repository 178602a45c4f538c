// Tar archives as phones receive them (PushFile, PushShareFiles and PushShareApps, data restores), whichever
// driver unpacks them: what one archive may hold (TAR_LIMITS), the members refused whatever the phone holds
// (`..` in a path, symbolic links climbing above `/`, hard links to anything but an earlier file of the
// archive, devices, FIFOs and sparse files), and a reader that counts the bytes it expands (compressed
// archives included) and stops at the first limit passed. Where each member lands on a phone, and whether
// it fits, is the driver's to check.
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { ERRNO_MESSAGES } from './errno.ts';

/** What one archive may hold, whoever unpacks it (PushFile, PushShareFiles and PushShareApps, data restores). */
export const TAR_LIMITS = {
  /** Members (headers of files, directories, links and anything else). */
  members: 100_000,
  /** Bytes of a member's path or a link's target (Linux PATH_MAX). */
  pathBytes: 4096,
  /** Bytes of one name in a path (NAME_MAX of ext4). */
  nameBytes: 255,
  /** Directories above a member (each costs every later step on the member's path). */
  depth: 64,
  /** Bytes of tar read, after decompression: a pushed tar is at most 6 GB (spec §3.34), and so is what a compressed one expands to. */
  tarBytes: 6 * 1024 ** 3,
} as const;

/** Bytes of the archive read at a time: the headers of one read are parsed together. */
const READ_BYTES = 64 * 1024;

const TOO_LONG = ERRNO_MESSAGES.ENAMETOOLONG;
export const TAR_TOO_LARGE = `Archive is larger than ${TAR_LIMITS.tarBytes / 1024 ** 3} GiB once decompressed`;

/** A failure of the archive itself (not of one member): tar's message. */
export class TarError extends Error {}

/** A member of an archive that may be unpacked, as its header describes it. */
export interface TarMember {
  /** Relative to the phone's root, without a leading or trailing `/`. */
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** A symbolic link's target, or the archive path of the file a hard link names. */
  linkpath?: string;
}

/** An entry's path on the phone, relative to its root: a leading `/` or `./` changes nothing; '' is the root itself. */
export function memberPath(entry: tar.ReadEntry): string {
  return entry.path.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** Why a member's path cannot be unpacked, as tar says it, if it cannot. */
export function pathProblem(path: string, linkpath: string | undefined): string | undefined {
  const names = path.split('/');
  if (names.includes('..')) return "path contains '..'";
  if (Buffer.byteLength(path) > TAR_LIMITS.pathBytes || names.some((name) => Buffer.byteLength(name) > TAR_LIMITS.nameBytes)) return `Cannot open: ${TOO_LONG}`;
  if (linkpath && Buffer.byteLength(linkpath) > TAR_LIMITS.pathBytes) return `Cannot create link: ${TOO_LONG}`;
  if (names.length - 1 > TAR_LIMITS.depth) return `Cannot open: more than ${TAR_LIMITS.depth} directories deep`;
  return undefined;
}

/**
 * The member an entry makes (`path` as memberPath gives it), or undefined when `refuse` was told why not.
 * `files`: the paths of the archive's files read so far, the only targets a hard link may have.
 */
export function tarMember(entry: tar.ReadEntry, path: string, files: Set<string>, refuse: (path: string, why: string) => void): TarMember | undefined {
  const base = { path, mode: (entry.mode ?? 0o644) & 0o7777, uid: entry.uid ?? 0, gid: entry.gid ?? 0, mtime: entry.mtime?.getTime() ?? Date.now() };
  if (entry.type === 'Directory') return { ...base, kind: 'dir' };
  if (FILE_TYPES.has(entry.type)) return { ...base, kind: 'file' };
  if (entry.type === 'SymbolicLink') {
    const linkpath = entry.linkpath ?? '';
    if (!climbsAboveRoot(path.slice(0, Math.max(0, path.lastIndexOf('/'))), linkpath)) return { ...base, kind: 'symlink', linkpath };
    refuse(entry.path, `link target '${linkpath}' is outside the phone's root`);
  } else if (entry.type === 'Link') {
    const linkpath = (entry.linkpath ?? '').replace(/^(\.?\/)+/, '');
    if (!linkpath.split('/').includes('..') && files.has(linkpath)) return { ...base, kind: 'hardlink', linkpath };
    refuse(entry.path, `hard link target '${entry.linkpath}' is not a file of the archive`);
  } else {
    refuse(entry.path, `${entry.type} entries are not supported`);
  }
  return undefined;
}

/** Whether a symlink in `dir` with this target leaves `/` when resolved lexically. */
function climbsAboveRoot(dir: string, linkpath: string): boolean {
  if (linkpath.startsWith('/')) return false;
  let depth = dir.split('/').filter(Boolean).length;
  for (const part of linkpath.split('/')) {
    if (part === '..') depth--;
    else if (part && part !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

/**
 * The entries of an archive, those tar skips (`entry.ignore`, e.g. sparse files) included, one at a time:
 * the next is read once the caller has taken this one's body or skipped it (`resume`). A gzip-compressed
 * archive is decompressed here, where the bytes it expands to are counted; the parser then gets no
 * compressed data it could expand uncounted (its own decompression is held to a ratio of 1).
 */
export async function* tarEntries(tarFile: string): AsyncGenerator<tar.ReadEntry> {
  const parser = new tar.Parser({ strict: true, maxDecompressionRatio: 1 });
  const queue: tar.ReadEntry[] = [];
  let current: tar.ReadEntry | undefined;
  let failure: TarError | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const take = (entry: tar.ReadEntry) => {
    queue.push(entry);
    notify();
  };
  // The entry being read gets no more of its body: its reader learns why.
  const fail = (err: Error) => {
    failure ??= err instanceof TarError ? err : new TarError(err.message);
    current?.destroy(failure);
    notify();
  };
  parser.on('entry', take);
  parser.on('ignoredEntry', take);
  parser.on('error', fail);
  parser.on('end', () => {
    ended = true;
    notify();
  });
  const stop = new AbortController();
  const feeding = feed(tarFile, parser, stop.signal).catch((err: Error) => {
    if (!stop.signal.aborted) fail(err);
  });
  try {
    for (;;) {
      if (queue.length) yield (current = queue.shift()!);
      else if (failure) throw failure;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stop.abort();
    await feeding;
  }
}

/** Writes the archive into the parser as fast as the parser takes it, counting the bytes of tar. */
async function feed(tarFile: string, parser: tar.Parser, signal: AbortSignal): Promise<void> {
  const file = createReadStream(tarFile, { highWaterMark: READ_BYTES });
  let bytes = 0;
  try {
    for await (const chunk of gunzipped(file)) {
      bytes += chunk.length;
      if (bytes > TAR_LIMITS.tarBytes) throw new TarError(TAR_TOO_LARGE);
      if (!parser.write(chunk)) await once(parser, 'drain', { signal });
      if (signal.aborted) return;
    }
    parser.end();
  } finally {
    file.destroy();
  }
}

/** The archive's bytes, decompressed when they are gzip's (GNU tar recognizes gzip whatever the file's name). */
async function* gunzipped(file: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const chunks = file[Symbol.asyncIterator]();
  const first = await chunks.next();
  if (first.done) return;
  const all = async function* () {
    yield first.value;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  };
  if (first.value[0] !== 0x1f || first.value[1] !== 0x8b) return yield* all();
  const gunzip = createGunzip();
  const pumping = pipeline(all(), gunzip);
  pumping.catch(() => {}); // its failure is the output's, seen below
  for await (const chunk of gunzip) yield chunk as Buffer;
  await pumping;
}
