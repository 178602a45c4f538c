// `push` of a tar (CPH PushFile): the archive is unpacked over the phone's root `/`, its member paths
// deciding where files land (`data/local/tmp/a.txt` → /data/local/tmp/a.txt; a leading `/` changes
// nothing). The whole archive is checked before anything is written, so a refused push changes nothing.
// Refused: `..` in a path, symbolic links climbing above `/`, hard links to anything but an earlier
// member, members reached through a symbolic link of the same archive, devices, FIFOs and sparse files,
// anything landing on a read-only file system (/system), more than the free space or the free inodes.
// Directories that already exist keep their owner and mode (`tar --no-overwrite-dir`): a tar built on a
// workstation must not make /data/local/tmp unwritable for the shell. New files belong to root.
// A restore of exported data (`keepOwners`) is `tar -xp` as root instead: every entry, existing directories
// included, gets the owner, mode and mtime the tar holds, so app data is its app's again.
// What is in the way is handled as GNU tar extracts: symbolic links on the way to a member are followed, the
// member's own name is not. A file or link replaces the file or link it finds, and an empty directory; over
// a directory with entries it is refused ("File exists"). A directory member keeps the directory it finds
// and replaces anything else, a symbolic link to a directory included (tar without --keep-directory-symlink).
// Archives are hostile until bounded (TAR_LIMITS and the member rules every driver shares, src/android/tar.ts):
// members, names, depth, declared sizes and the bytes read (compressed archives included) are counted as the
// archive is read, which stops at the first limit passed; bodies are stored one at a time; the work runs in short slices between which the event loop serves others.
import type * as tar from 'tar';
import { memberPath, pathProblem, TAR_LIMITS, TAR_TOO_LARGE, tarEntries, TarError, tarMember, type TarMember } from '../../android/tar.ts';
import type { CommandResult } from '../driver.ts';
import type { DeviceFs } from './fs.ts';
import { baseName, FsError, joinPath, MAX_OWN_ENTRIES, parentOf, type Mount } from './fs-nodes.ts';
import { Slices } from './slices.ts';
import type { Cred } from './users.ts';

/** Bodies up to this size are read into memory and stored in one write; larger ones are streamed to their blob. */
const SMALL_BODY = 64 * 1024;
/** Small bodies being stored at once (each holds a file open for a moment); a large one is stored alone. */
const STORES_AT_ONCE = 8;
/** Bytes of refusals kept for the output (a job's execute_msg keeps 1,024); tar goes on counting the rest. */
const MAX_OUTPUT = 4096;

export interface PushTarget {
  fs: DeviceFs;
  cred: Cred;
  importBlob(source: Buffer | AsyncIterable<Buffer>): Promise<{ hash: string; size: number }>;
  /** Owners, modes and mtimes from the tar for every entry (a data restore), not root's for new files. */
  keepOwners?: boolean;
}

interface Member extends TarMember {
  blob?: { hash: string; size: number };
}

export async function unpackTar(tarFile: string, target: PushTarget): Promise<CommandResult> {
  const refusals = new Refusals();
  const slices = new Slices();
  const members = await read(tarFile, target, refusals);
  if (refusals.none) await check(members, target, refusals, slices);
  if (refusals.none) await apply(members, target, refusals, slices);
  return refusals.none ? { output: '', exitCode: 0 } : { output: refusals.output, exitCode: 1 };
}

/** tar's complaints, one a line, as many as the output keeps. */
class Refusals {
  private lines: string[] = [];
  private bytes = 0;
  none = true;

  add(path: string, why: string): void {
    this.line(`tar: ${shown(path)}: ${why}`);
  }

  line(text: string): void {
    this.none = false;
    if (this.bytes > MAX_OUTPUT) return;
    this.lines.push(text);
    this.bytes += text.length + 1;
  }

  get output(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** A path as a complaint shows it: one past any sensible length is cut. */
function shown(path: string): string {
  return path.length > 256 ? `${path.slice(0, 256)}...` : path;
}


/**
 * Reads the archive's members, storing file bodies as they come. Past the first refusal bodies are skipped
 * (the push fails anyway) and reading goes on to name the other problems; a limit of the whole archive
 * (members, bytes, space) ends it.
 */
async function read(tarFile: string, target: PushTarget, refusals: Refusals): Promise<Member[]> {
  const members: Member[] = [];
  const files = new Set<string>();
  const storing = new Pool(STORES_AT_ONCE);
  const room = spaceLeft(target.fs);
  let count = 0;
  let declared = 0;
  const refuse = (path: string, why: string) => refusals.add(path, why);
  try {
    for await (const entry of tarEntries(tarFile)) {
      if (++count > TAR_LIMITS.members) {
        refusals.line(`tar: Archive has more than ${TAR_LIMITS.members} members`);
        break;
      }
      // What the headers declare is known before any body is read: a bomb says what it is first.
      declared += entry.size ?? 0;
      if (declared > TAR_LIMITS.tarBytes) {
        refusals.line(`tar: ${TAR_TOO_LARGE}`);
        break;
      }
      if (declared > room) {
        refuse(entry.path, `Cannot write: ${new FsError('ENOSPC').message}`);
        break;
      }
      const path = memberPath(entry);
      const problem = entry.ignore ? `${entry.type} entries are not supported` : path && pathProblem(path, entry.linkpath);
      const member: Member | undefined = !problem && path ? tarMember(entry, path, files, refuse) : undefined;
      if (problem) refuse(entry.path, problem);
      if (member?.kind === 'file' && refusals.none) await store(entry, member, target, storing);
      else entry.resume();
      if (!member) continue;
      members.push(member);
      if (member.kind === 'file') files.add(member.path);
    }
  } catch (err) {
    if (!(err instanceof TarError)) throw err;
    refusals.line(`tar: ${err.message}`);
  }
  await storing.done();
  return members;
}

/**
 * Stores a file's body as the member's blob: a large one streamed, the archive waiting; a small one read into
 * memory and written while the archive is read on.
 */
async function store(entry: tar.ReadEntry, member: Member, target: PushTarget, storing: Pool): Promise<void> {
  if ((entry.size ?? 0) > SMALL_BODY) {
    member.blob = await target.importBlob(entry);
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  await storing.run(async () => void (member.blob = await target.importBlob(Buffer.concat(chunks))));
}

/** Work done `size` at a time: `run` waits for a free place; the first failure is thrown by `run` or `done`. */
class Pool {
  private readonly running = new Set<Promise<void>>();
  private failure?: { error: unknown };

  constructor(private readonly size: number) {}

  async run(work: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.size) await Promise.race(this.running);
    if (this.failure) throw this.failure.error;
    const job: Promise<void> = work()
      .catch((error: unknown) => void (this.failure ??= { error }))
      .finally(() => this.running.delete(job));
    this.running.add(job);
  }

  async done(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure.error;
  }
}

/** Free bytes of the writable volumes together: an archive declaring more cannot fit. */
function spaceLeft(fs: DeviceFs): number {
  const volumes = new Map<string, number>();
  for (const mount of fs.mounts) {
    if (mount.readOnly) continue;
    if (mount.totalBytes === 0) return Number.POSITIVE_INFINITY;
    volumes.set(mount.storage.join() || mount.dir, Math.max(0, mount.totalBytes - fs.usedBytes(mount)));
  }
  let free = 0;
  for (const bytes of volumes.values()) free += bytes;
  return free;
}

/**
 * The archive's member paths as a tree of names, so that what lies above a member (a symbolic link of the
 * archive, a directory it creates) is found in one descent, whatever the depth.
 */
class PathTree {
  private readonly root: PathNode = { children: new Map() };

  /** The node of `path`, created with the nodes above it; `above` sees each node on the way, the root's child first. */
  node(path: string, above?: (node: PathNode, depth: number) => void): PathNode {
    let node = this.root;
    const names = path.split('/');
    for (const [depth, name] of names.entries()) {
      if (depth > 0) above?.(node, depth);
      let child = node.children.get(name);
      if (!child) node.children.set(name, (child = { children: new Map() }));
      node = child;
    }
    return node;
  }
}

interface PathNode {
  children: Map<string, PathNode>;
  /** A symbolic link of the archive. */
  link?: boolean;
  /** A directory the archive creates where nothing or something else was: where it lands. */
  landing?: string;
}

async function check(members: Member[], { fs, cred }: PushTarget, refusals: Refusals, slices: Slices): Promise<void> {
  const tree = new PathTree();
  for (const m of members) if (m.kind === 'symlink') tree.node(m.path).link = true;
  // Where the directories above members land, each found once while the phone does not change.
  const dirs = new Map<string, string>();
  const bytes = new Map<Mount, number>();
  let added = 0;
  for (const m of members) {
    if (await slices.next()) dirs.clear();
    let throughLink = false;
    let below: { landing: string; depth: number } | undefined;
    // Directories the archive creates where nothing or something else was (their `landing`): what lies
    // below them is new, not what the phone has at that path now.
    const node = tree.node(m.path, (above, depth) => {
      throughLink ||= above.link === true;
      if (above.landing) below = { landing: above.landing, depth };
    });
    if (throughLink) {
      refusals.add(m.path, 'path goes through a symbolic link of the archive');
      continue;
    }
    try {
      const landing = below ? [below.landing, ...m.path.split('/').slice(below.depth)].join('/') : ownPath(fs, `/${m.path}`, cred, dirs);
      const mount = fs.mountOf(landing);
      if (mount.readOnly) {
        refusals.add(m.path, new FsError('EROFS').message);
        continue;
      }
      const existing = below ? undefined : fs.nodeAt(landing);
      if (below || fs.overlay.get(landing) === undefined) added++;
      if (m.kind === 'dir' && existing?.type !== 'dir') node.landing = landing;
      if (m.kind !== 'dir' && existing?.type === 'dir' && !fs.isEmptyDir(landing, cred)) refusals.add(m.path, inTheWay(m));
      if (m.blob) bytes.set(mount, (bytes.get(mount) ?? 0) + m.blob.size);
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      refusals.add(m.path, `Cannot open: ${err.message}`);
    }
  }
  for (const [mount, size] of bytes) {
    if (mount.totalBytes > 0 && size > mount.totalBytes - fs.usedBytes(mount)) refusals.add(mount.dir, new FsError('ENOSPC').message);
  }
  if (fs.overlay.size + added > MAX_OWN_ENTRIES) refusals.line(`tar: Cannot create ${added} entries: ${new FsError('ENOSPC').message} (no free inodes)`);
}

/** GNU tar's complaint about a directory with entries where a file or link is to be created. */
function inTheWay(m: Member): string {
  const exists = new FsError('EEXIST').message;
  if (m.kind === 'symlink') return `Cannot create symlink to '${m.linkpath}': ${exists}`;
  if (m.kind === 'hardlink') return `Cannot hard link to '${m.linkpath}': ${exists}`;
  return `Cannot open: ${exists}`;
}

/**
 * Puts the members in place. What changed on the phone since the check (a command running meanwhile)
 * can still refuse one, as it would refuse tar: that member is named and the others are unpacked.
 */
async function apply(members: Member[], { fs, cred, keepOwners }: PushTarget, refusals: Refusals, slices: Slices): Promise<void> {
  const root = { uid: 0, gid: 0 };
  const blobs = new Map<string, { hash: string; size: number }>();
  // Where the directories above members are (made if missing), each found once while nothing but files is added.
  const dirs = new Map<string, string>();
  for (const m of members) {
    if (await slices.next()) dirs.clear();
    try {
      const owner = keepOwners ? { uid: m.uid, gid: m.gid } : root;
      const above = parentOf(`/${m.path}`);
      const dir = dirs.get(above) ?? fs.mkdirs(above, cred, 0o755, root);
      dirs.set(above, dir);
      const landing = joinPath(dir, baseName(m.path));
      const existing = fs.nodeAt(landing);
      // A directory or link put here, or what it replaces, changes where paths through it lead.
      if (m.kind === 'dir' || m.kind === 'symlink' || existing) dirs.clear();
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
      fs.writeBlob(landing, blob.hash, blob.size, cred, { owner: { ...owner, mode: m.mode }, mtime: m.mtime });
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      refusals.add(m.path, `Cannot open: ${err.message}`);
    }
  }
}

/**
 * A member's path on the phone: the directories above it resolved (symbolic links followed), its own name
 * not. `dirs` keeps each directory's resolution for the next members in it.
 */
function ownPath(fs: DeviceFs, path: string, cred: Cred, dirs: Map<string, string>): string {
  const above = parentOf(path);
  let dir = dirs.get(above);
  if (dir === undefined) dirs.set(above, (dir = fs.landing(above, cred)));
  return joinPath(dir, baseName(path));
}
