// The entries of a simulated phone's file system (fs.ts), the paths that name them, the mounts they lie on,
// and Linux's permission rule for them.
import type { PhoneModel } from '../../core/catalogue.ts';
import { ERRNO_MESSAGES, type Errno } from '../../android/errno.ts';
import type { Cred } from './users.ts';

export interface Meta {
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, ms since the epoch. */
  mtime: number;
}
export interface DirNode extends Meta {
  type: 'dir';
  opaque?: boolean;
}
export interface FileNode extends Meta {
  type: 'file';
  size: number;
  /** Content stored in the phone's blob store (overlay files). */
  blob?: string;
  /** Content of a shared file: a blob of the server's shared storage, by hash and host path. */
  sharedBlob?: { hash: string; path: string };
  /** Content generated on demand (image files; /proc files, whose size is 0 as in procfs). */
  source?: (view: SystemView) => Buffer;
}
export interface LinkNode extends Meta {
  type: 'link';
  target: string;
}
export interface CharNode extends Meta {
  type: 'chr';
  major: number;
  minor: number;
}
export type FsNode = DirNode | FileNode | LinkNode | CharNode;

/**
 * A server's shared storage as its phones see it: `get` is the entry at a path (`null`: hidden), `childNames`
 * the names the layer itself holds in a directory, `layout` a number that changes whenever a directory, a
 * link or a deletion does (what a path resolves to may then differ). An Overlay has this shape.
 */
export interface SharedLayer {
  get(path: string): FsNode | null | undefined;
  childNames(path: string): Iterable<string>;
  readonly layout: number;
}

/** What /proc files show of the running system. */
export interface SystemView {
  uptimeSeconds(): number;
}

export interface Stat {
  node: FsNode;
  /** Canonical path (symlinks resolved, except the last one for lstat). */
  path: string;
  ino: number;
  nlink: number;
  mount: Mount;
}

/** A failed file-system call; the message is strerror's, as commands print it. */
export class FsError extends Error {
  constructor(readonly code: Errno) {
    super(ERRNO_MESSAGES[code]);
  }
}

export interface Mount {
  dir: string;
  device: string;
  readOnly: boolean;
  totalBytes: number;
  baseUsedBytes: number;
  /** Overlay files under these top-level directories count as used space of this mount. */
  storage: string[];
  /** sdcardfs: whatever is created there belongs to root:sdcard_rw with fixed modes. */
  forced?: { fileMode: number; dirMode: number };
  dev: number;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * Entries a phone (or a server's shared storage) holds of its own: files, directories, links and deletions
 * of the image's, as ext4 has a number of inodes. Past it a new entry fails with ENOSPC. Each costs the
 * server about 400 bytes of memory while the phone is loaded, and empty files no byte of its volumes.
 */
export const MAX_OWN_ENTRIES = 200_000;

/** The mounts of a phone of this flavor with a data volume of `dataGiB`, in the order `df` lists them. */
export function mountTable(model: PhoneModel, dataGiB: number): Mount[] {
  const ram = model.memory * MiB;
  const data = dataGiB * GiB;
  const dataStorage = ['/data', '/storage'];
  return [
    { dir: '/', device: 'rootfs', readOnly: true, totalBytes: 0, baseUsedBytes: 0, storage: [], dev: 1 },
    { dir: '/dev', device: 'tmpfs', readOnly: false, totalBytes: ram / 2, baseUsedBytes: 512 * 1024, storage: ['/dev'], dev: 14 },
    { dir: '/mnt', device: 'tmpfs', readOnly: false, totalBytes: ram / 2, baseUsedBytes: 0, storage: ['/mnt'], dev: 15 },
    { dir: '/proc', device: 'proc', readOnly: true, totalBytes: 0, baseUsedBytes: 0, storage: [], dev: 4 },
    { dir: '/system', device: '/dev/block/dm-0', readOnly: true, totalBytes: 2.5 * GiB, baseUsedBytes: 1.9 * GiB, storage: [], dev: 0xfd00 },
    { dir: '/data', device: '/dev/block/dm-1', readOnly: false, totalBytes: data, baseUsedBytes: 1.1 * GiB, storage: dataStorage, dev: 0xfd01 },
    { dir: '/cache', device: '/dev/block/dm-2', readOnly: false, totalBytes: 512 * MiB, baseUsedBytes: 8 * MiB, storage: ['/cache'], dev: 0xfd02 },
    {
      dir: '/storage/emulated', device: '/dev/fuse', readOnly: false, totalBytes: data, baseUsedBytes: 1.1 * GiB,
      storage: dataStorage, forced: { fileMode: 0o660, dirMode: 0o771 }, dev: 0x1f,
    },
  ];
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Lexical normalisation of `path` against `cwd` (`.`, `..`, repeated slashes); symlinks are not followed. */
export function absolutePath(cwd: string, path: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith('/') ? path : `${cwd}/${path}`).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** Linux permission check: `want` is a mask of 4 read, 2 write, 1 execute/search. */
export function allowed(node: FsNode, cred: Cred, want: number): boolean {
  if (cred.uid === 0) return (want & 1) === 0 || node.type === 'dir' || (node.mode & 0o111) !== 0;
  let bits = node.mode & 0o7;
  if (node.uid === cred.uid) bits = (node.mode >> 6) & 0o7;
  else if (node.gid === cred.gid || cred.groups.includes(node.gid)) bits = (node.mode >> 3) & 0o7;
  return (bits & want) === want;
}

/** `ls -l`'s mode string, e.g. `drwxrwx--x`. */
export function modeString(node: FsNode): string {
  const type = { dir: 'd', file: '-', link: 'l', chr: 'c' }[node.type];
  const m = node.mode;
  const rwx = (shift: number, special: number, ch: string) => {
    const r = m & (4 << shift) ? 'r' : '-';
    const w = m & (2 << shift) ? 'w' : '-';
    const x = m & (1 << shift);
    const s = m & special ? (x ? ch : ch.toUpperCase()) : x ? 'x' : '-';
    return r + w + s;
  };
  return type + rwx(6, 0o4000, 's') + rwx(3, 0o2000, 's') + rwx(0, 0o1000, 't');
}
