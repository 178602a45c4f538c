// `push` of a tar (CPH PushFile): the archive is unpacked over the phone's root `/`, its member paths
// deciding where files land (`data/local/tmp/a.txt` → /data/local/tmp/a.txt; a leading `/` changes
// nothing). The whole archive is checked before anything is written, so a refused push changes nothing.
// Refused: `..` in a path, symbolic links climbing above `/`, hard links to anything but an earlier
// member, members reached through a symbolic link of the same archive, devices and FIFOs, anything
// landing on a read-only file system (/system), more than the free space.
// Directories that already exist keep their owner and mode (`tar --no-overwrite-dir`): a tar built on a
// workstation must not make /data/local/tmp unwritable for the shell. New files belong to root.
// A restore of exported data (`keepOwners`) is `tar -xp` as root instead: every entry, existing directories
// included, gets the owner, mode and mtime the tar holds, so app data is its app's again.
// What is in the way is handled as GNU tar extracts: symbolic links on the way to a member are followed, the
// member's own name is not. A file or link replaces the file or link it finds, and an empty directory; over
// a directory with entries it is refused ("File exists"). A directory member keeps the directory it finds
// and replaces anything else, a symbolic link to a directory included (tar without --keep-directory-symlink).
import { PassThrough } from 'node:stream';
import * as tar from 'tar';
import type { CommandResult } from '../driver.ts';
import { baseName, FsError, joinPath, parentOf, type DeviceFs, type FsNode } from './fs.ts';
import type { Cred } from './users.ts';

export interface PushTarget {
  fs: DeviceFs;
  cred: Cred;
  importBlob(source: AsyncIterable<Buffer>): Promise<{ hash: string; size: number }>;
  /** Owners, modes and mtimes from the tar for every entry (a data restore), not root's for new files. */
  keepOwners?: boolean;
}

interface Member {
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkpath?: string;
  blob?: { hash: string; size: number };
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

export async function unpackTar(tarFile: string, target: PushTarget): Promise<CommandResult> {
  const members: Member[] = [];
  const errors: string[] = [];
  const imports: Promise<void>[] = [];
  const refuse = (path: string, why: string) => errors.push(`tar: ${path}: ${why}`);
  try {
    await tar.t({
      file: tarFile,
      strict: true,
      onReadEntry: (entry) => {
        const path = entry.path.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
        if (!path) return;
        if (path.split('/').includes('..')) return refuse(entry.path, "path contains '..'");
        const base = { path, mode: (entry.mode ?? 0o644) & 0o7777, uid: entry.uid ?? 0, gid: entry.gid ?? 0, mtime: entry.mtime?.getTime() ?? Date.now() };
        if (entry.type === 'Directory') {
          members.push({ ...base, kind: 'dir' });
        } else if (FILE_TYPES.has(entry.type)) {
          const member: Member = { ...base, kind: 'file' };
          members.push(member);
          const body = new PassThrough();
          entry.pipe(body);
          imports.push(target.importBlob(body).then((blob) => void (member.blob = blob)));
        } else if (entry.type === 'SymbolicLink') {
          const linkpath = entry.linkpath ?? '';
          if (climbsAboveRoot(parentOf(`/${path}`), linkpath)) refuse(entry.path, `link target '${linkpath}' is outside the phone's root`);
          else members.push({ ...base, kind: 'symlink', linkpath });
        } else if (entry.type === 'Link') {
          const linkpath = (entry.linkpath ?? '').replace(/^(\.?\/)+/, '');
          if (linkpath.split('/').includes('..') || !members.some((m) => m.kind === 'file' && m.path === linkpath)) {
            refuse(entry.path, `hard link target '${entry.linkpath}' is not a file of the archive`);
          } else members.push({ ...base, kind: 'hardlink', linkpath });
        } else {
          refuse(entry.path, `${entry.type} entries are not supported`);
        }
      },
    });
  } catch (err) {
    errors.push(`tar: ${(err as Error).message}`);
  }
  await Promise.all(imports);
  if (errors.length === 0) check(members, target, refuse);
  if (errors.length) return { output: `${errors.join('\n')}\n`, exitCode: 1 };
  await apply(members, target);
  return { output: '', exitCode: 0 };
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

function check(members: Member[], { fs, cred }: PushTarget, refuse: (path: string, why: string) => void): void {
  const links = new Set(members.filter((m) => m.kind === 'symlink').map((m) => m.path));
  // Directories the archive creates where nothing or something else was (by member path, to their landing):
  // what lies below them is new, not what the phone has at that path now.
  const created = new Map<string, string>();
  const bytes = new Map<string, number>();
  for (const m of members) {
    const parts = m.path.split('/');
    if (parts.slice(1).some((_, i) => links.has(parts.slice(0, i + 1).join('/')))) {
      refuse(m.path, 'path goes through a symbolic link of the archive');
      continue;
    }
    const below = landingBelow(created, m.path);
    const landing = below ?? ownPath(fs, `/${m.path}`, cred);
    const mount = fs.mountOf(landing);
    if (mount.readOnly) {
      refuse(m.path, new FsError('EROFS').message);
      continue;
    }
    const existing = below ? undefined : present(fs, landing, cred);
    if (m.kind === 'dir' && existing?.type !== 'dir') created.set(m.path, landing);
    if (m.kind !== 'dir' && existing?.type === 'dir' && fs.readdir(landing, cred).length > 0) refuse(m.path, inTheWay(m));
    if (m.blob) bytes.set(mount.dir, (bytes.get(mount.dir) ?? 0) + m.blob.size);
  }
  for (const [dir, size] of bytes) {
    const mount = fs.mounts.find((m) => m.dir === dir)!;
    if (mount.totalBytes > 0 && size > mount.totalBytes - fs.usedBytes(mount)) refuse(dir, new FsError('ENOSPC').message);
  }
}

/** Where a member lands when a directory the archive creates lies above it (see `check`). */
function landingBelow(created: Map<string, string>, path: string): string | undefined {
  for (let dir = parentOf(`/${path}`).slice(1); dir; dir = parentOf(`/${dir}`).slice(1)) {
    const landing = created.get(dir);
    if (landing) return landing + path.slice(dir.length);
  }
  return undefined;
}

/** GNU tar's complaint about a directory with entries where a file or link is to be created. */
function inTheWay(m: Member): string {
  const exists = new FsError('EEXIST').message;
  if (m.kind === 'symlink') return `Cannot create symlink to '${m.linkpath}': ${exists}`;
  if (m.kind === 'hardlink') return `Cannot hard link to '${m.linkpath}': ${exists}`;
  return `Cannot open: ${exists}`;
}

async function apply(members: Member[], { fs, cred, keepOwners }: PushTarget): Promise<void> {
  const root = { uid: 0, gid: 0 };
  const blobs = new Map<string, { hash: string; size: number }>();
  for (const m of members) {
    const owner = keepOwners ? { uid: m.uid, gid: m.gid } : root;
    const landing = ownPath(fs, `/${m.path}`, cred);
    fs.mkdirs(parentOf(landing), cred, 0o755, root);
    const existing = present(fs, landing, cred);
    if (m.kind === 'dir') {
      if (existing && existing.type !== 'dir') fs.remove(landing, cred, false);
      if (existing?.type !== 'dir') fs.mkdir(landing, cred, m.mode, owner);
      if (keepOwners) fs.setMeta(landing, cred, { ...owner, mode: m.mode, mtime: m.mtime });
      continue;
    }
    if (existing) fs.remove(landing, cred, existing.type === 'dir');
    if (m.kind === 'symlink') {
      fs.symlink(m.linkpath!, landing, cred);
      // As `tar -xp` does with lchown and lutimes (a link's mode means nothing).
      if (keepOwners) fs.setMeta(landing, cred, { ...owner, mtime: m.mtime }, false);
      continue;
    }
    const blob = m.kind === 'file' ? m.blob! : blobs.get(m.linkpath!)!;
    blobs.set(m.path, blob);
    fs.writeBlob(landing, blob.hash, blob.size, cred, { owner: { ...owner, mode: m.mode } });
    fs.setMeta(landing, cred, { mtime: m.mtime });
  }
}

/** A member's path on the phone: the directories above it resolved (symbolic links followed), its own name not. */
function ownPath(fs: DeviceFs, path: string, cred: Cred): string {
  return joinPath(fs.landing(parentOf(path), cred), baseName(path));
}

/** The entry at `path` itself (a symlink is not followed), if any. */
function present(fs: DeviceFs, path: string, cred: Cred): FsNode | undefined {
  try {
    return fs.lstat(path, cred).node;
  } catch {
    return undefined;
  }
}

