// One file past 400 lines: DeviceFs is one class, every call of which walks the same layers with the same
// permission and mount checks (the entries and paths are in fs-nodes.ts, the overlay in overlay.ts).
// The file system of a simulated phone: the image's files (a base tree shared by every phone of the same
// image and flavor, never copied) under an overlay holding only what this phone changed: written files,
// changed owners or modes, and deletions (a `null` entry hides the base entry at that path and below).
// A directory recreated where the base had one is `opaque`: the base's old children stay hidden.
// Between the two, like a second lower layer of overlayfs, may lie the shared storage of the phone's server:
// files every phone of the server sees. A phone that changes a shared file gets its own copy (copy-up);
// one that deletes it hides it from itself only.
// Permissions are checked as Linux does for the calling identity; mounts give read-only file systems,
// sizes and free space.
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  allowed, FsError, joinPath, MAX_OWN_ENTRIES, parentOf,
  type DirNode, type FileNode, type FsNode, type Meta, type Mount, type SharedLayer, type Stat, type SystemView,
} from './fs-nodes.ts';
import type { BaseImage } from './image.ts';
import type { Overlay } from './overlay.ts';
import type { PhoneStore } from './store.ts';
import { AID, type Cred } from './users.ts';

const MAX_SYMLINKS = 40;

/** Where a walk is: a canonical path, its entry, and which lower layers show inside it. */
interface Place {
  path: string;
  node: FsNode | undefined;
  /** The shared layer and the image show here: nothing above, this included, is hidden, replaced or recreated by the phone. */
  lower: boolean;
  /** The image shows here as far as the shared layer goes. */
  image: boolean;
}

export interface WriteOptions {
  /** Owner and mode of a file that does not exist yet; default: the caller's, mode 0666. */
  owner?: { uid: number; gid: number; mode: number };
  /** Modification time; default: now. */
  mtime?: number;
}

export class DeviceFs {
  /** Blobs that files no longer reference; deleted once the state that dropped them is saved. */
  private readonly released = new Set<string>();
  private lastDir?: { path: string; layouts: number[]; place: Place; plain: boolean };

  constructor(
    private base: BaseImage,
    readonly overlay: Overlay,
    private readonly store: PhoneStore,
    public mounts: Mount[],
    private readonly view: SystemView & { now(): number },
    /** The shared storage of the phone's server, looked up at each access (the phone may move). */
    private readonly shared: () => SharedLayer | undefined = () => undefined,
  ) {}

  /** A restart onto another image or flavor: the phone's own changes stay, the image's files are the new ones. */
  rebase(base: BaseImage, mounts: Mount[]): void {
    this.base = base;
    this.mounts = mounts;
    this.lastDir = undefined;
  }

  // ---- lookups ----

  /** The visible entry at a canonical path. */
  private entry(path: string): FsNode | undefined {
    const own = this.overlay.get(path);
    if (own !== undefined) return own ?? undefined;
    return showsBelow(this.overlay, path) ? this.lowerEntry(path) : undefined;
  }

  /** The entry of the layers under the phone's own changes: the server's shared storage, then the image. */
  private lowerEntry(path: string): FsNode | undefined {
    const shared = this.shared();
    if (shared) {
      const node = shared.get(path);
      if (node !== undefined) return node ?? undefined;
      if (!showsBelow(shared, path)) return undefined;
    }
    return this.base.nodes.get(path);
  }

  /** `/` as a walk starts from it. */
  private rootPlace(): Place {
    return this.placeAt('/', { lower: true, image: true });
  }

  /**
   * The entry at a canonical path, told by its directory's place which layers show there: one look per
   * layer, none at the directories above (`entry` looks at every one of them).
   */
  private placeAt(path: string, dir: { lower: boolean; image: boolean }): Place {
    const own = this.overlay.get(path);
    const lower = dir.lower && (own === undefined || isOpenDir(own));
    const shared = lower ? this.shared()?.get(path) : undefined;
    let node: FsNode | undefined;
    if (own !== undefined) node = own ?? undefined;
    else if (lower) node = shared !== undefined ? (shared ?? undefined) : dir.image ? this.base.nodes.get(path) : undefined;
    return { path, node, lower, image: dir.image && (shared === undefined || isOpenDir(shared)) };
  }

  /** The place of a canonical path, found from the root without following links. */
  private placeOf(path: string): Place {
    let place = this.rootPlace();
    for (const name of path.split('/').filter(Boolean)) place = this.placeAt(joinPath(place.path, name), place);
    return place;
  }

  /**
   * Resolves `path` (absolute, lexically normalised) component by component, following symlinks in the
   * middle and, with `followLast`, at the end; directories on the way need search permission.
   * The last component may be missing (node undefined); a missing directory on the way is ENOENT.
   */
  private walk(path: string, cred: Cred, followLast: boolean): Place {
    // `dir/` names the directory a symlink points to, not the link.
    if (path.length > 1 && path.endsWith('/')) followLast = true;
    const names = path.split('/').filter((p) => p !== '' && p !== '.');
    // Root searches every directory: one reached through directories alone is where the path says.
    if (cred.uid === 0 && names.length > 1 && !names.includes('..')) {
      const dir = this.dirPlace(`/${names.slice(0, -1).join('/')}`);
      if (dir.plain) return this.walkFrom(dir.place, names.slice(-1), cred, followLast);
    }
    return this.walkFrom(this.rootPlace(), names, cred, followLast);
  }

  /**
   * The place of a canonical path found without following links, and whether every entry on the way is a
   * directory (`plain`). The last one found is kept while the layers' layouts stay (many files go to one
   * directory in a row), so deep directories are not looked up again for each.
   */
  private dirPlace(path: string): { place: Place; plain: boolean } {
    const layouts = [this.overlay.layout, this.shared()?.layout ?? 0];
    const last = this.lastDir;
    if (last?.path === path && last.layouts[0] === layouts[0] && last.layouts[1] === layouts[1]) return last;
    let place = this.rootPlace();
    let plain = true;
    for (const name of path.split('/').filter(Boolean)) {
      place = this.placeAt(joinPath(place.path, name), place);
      plain &&= place.node?.type === 'dir';
    }
    this.lastDir = { path, layouts, place, plain };
    return this.lastDir;
  }

  /** `walk` of the components `names` from a directory reached before. */
  private walkFrom(from: Place, names: string[], cred: Cred, followLast: boolean): Place {
    // The components still to resolve, the next one last (a link's target is pushed in front of the rest).
    const pending = names.reverse();
    let place = from;
    let links = 0;
    while (pending.length) {
      const name = pending.pop()!;
      const { node } = place;
      if (!node || node.type !== 'dir') throw new FsError(node ? 'ENOTDIR' : 'ENOENT');
      if (!allowed(node, cred, 1)) throw new FsError('EACCES');
      if (name === '..') {
        place = this.placeOf(parentOf(place.path));
        continue;
      }
      const child = this.placeAt(joinPath(place.path, name), place);
      if (child.node?.type === 'link' && (pending.length > 0 || followLast)) {
        if (++links > MAX_SYMLINKS) throw new FsError('ELOOP');
        pending.push(...child.node.target.split('/').filter((p) => p !== '' && p !== '.').reverse());
        if (child.node.target.startsWith('/')) place = this.rootPlace();
        continue;
      }
      if (!child.node && pending.length > 0) throw new FsError('ENOENT');
      place = child;
    }
    return place;
  }

  private existing(path: string, cred: Cred, follow: boolean): { path: string; node: FsNode } {
    const found = this.walk(path, cred, follow);
    if (!found.node) throw new FsError('ENOENT');
    return found as { path: string; node: FsNode };
  }

  stat(path: string, cred: Cred): Stat {
    return this.describe(this.existing(path, cred, true));
  }

  lstat(path: string, cred: Cred): Stat {
    return this.describe(this.existing(path, cred, false));
  }

  /** The entry at `path` (a symbolic link itself unless `follow`) and where it is, without a stat's counts; undefined when missing. */
  lookup(path: string, cred: Cred, follow = false): { path: string; node: FsNode } | undefined {
    try {
      const found = this.walk(path, cred, follow);
      return found.node ? (found as { path: string; node: FsNode }) : undefined;
    } catch (err) {
      if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  /** The entry at a canonical path (the directories above it resolved), itself not followed; no permission is checked. */
  nodeAt(path: string): FsNode | undefined {
    return path === '/' ? this.entry(path) : this.placeAt(path, this.dirPlace(parentOf(path)).place).node;
  }

  /** Whether `path` is a directory that shows no entry. */
  isEmptyDir(path: string, cred: Cred): boolean {
    const found = this.existing(path, cred, true);
    return found.node.type === 'dir' && this.isEmpty(found.path);
  }

  exists(path: string, cred: Cred): boolean {
    try {
      return this.walk(path, cred, true).node !== undefined;
    } catch {
      return false;
    }
  }

  /**
   * Where a write to `path` lands: the longest part that exists resolved (symlinks followed), the rest
   * appended. Resolved one component after the other, in one walk whatever the depth.
   */
  landing(path: string, cred: Cred): string {
    const parts = path.split('/').filter(Boolean);
    let at = this.rootPlace();
    for (let i = 0; i < parts.length; i++) {
      const next = this.step(at, parts[i], cred);
      if (!next) return parts.slice(i).reduce((dir, name) => joinPath(dir, name), at.path);
      at = next;
    }
    return at.path;
  }

  /** The existing entry `name` of the directory `at`, symlinks followed; undefined when missing or not reached (ENOENT, ENOTDIR). */
  private step(at: Place, name: string, cred: Cred): Place | undefined {
    try {
      const found = this.walkFrom(at, [name], cred, true);
      return found.node ? found : undefined;
    } catch (err) {
      if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  /** Canonical path of an existing file (symlinks resolved). */
  realPath(path: string, cred: Cred): string {
    return this.existing(path, cred, true).path;
  }

  private describe({ path, node }: { path: string; node: FsNode }): Stat {
    let nlink = 1;
    if (node.type === 'dir') {
      nlink = 2;
      for (const name of this.childNames(path)) if (this.entry(joinPath(path, name))?.type === 'dir') nlink++;
    }
    return { node, path, ino: inode(path), nlink, mount: this.mountOf(path) };
  }

  mountOf(path: string): Mount {
    let best = this.mounts[0];
    for (const m of this.mounts) {
      if ((path === m.dir || path.startsWith(m.dir === '/' ? '/' : `${m.dir}/`)) && m.dir.length >= best.dir.length) best = m;
    }
    return best;
  }

  private childNames(dir: string): string[] {
    const names = new Set(this.overlay.childNames(dir));
    if (this.lowerShowsIn(dir)) {
      // Names a lower layer hides (an opaque shared directory over the image's) are filtered out below.
      for (const name of this.shared()?.childNames(dir) ?? []) names.add(name);
      for (const name of this.base.children.get(dir) ?? []) names.add(name);
    }
    return [...names].filter((name) => this.entry(joinPath(dir, name)) !== undefined).sort();
  }

  /** Whether a directory shows no entry, found without listing it (it may hold a hundred thousand). */
  private isEmpty(dir: string): boolean {
    const shows = (name: string) => this.entry(joinPath(dir, name)) !== undefined;
    for (const name of this.overlay.childNames(dir)) if (shows(name)) return false;
    if (!this.lowerShowsIn(dir)) return true;
    for (const name of this.shared()?.childNames(dir) ?? []) if (shows(name)) return false;
    for (const name of this.base.children.get(dir) ?? []) if (shows(name)) return false;
    return true;
  }

  /** Whether the layers under the phone's own changes show their entries in a directory. */
  private lowerShowsIn(dir: string): boolean {
    const own = this.overlay.get(dir);
    return own === undefined ? showsBelow(this.overlay, dir) : own !== null && own.type === 'dir' && !own.opaque;
  }

  /** Names in a directory, sorted by byte value as toybox sorts them. */
  readdir(path: string, cred: Cred): string[] {
    const { path: dir, node } = this.existing(path, cred, true);
    if (node.type !== 'dir') throw new FsError('ENOTDIR');
    if (!allowed(node, cred, 4)) throw new FsError('EACCES');
    return this.childNames(dir);
  }

  readlink(path: string, cred: Cred): string {
    const { node } = this.existing(path, cred, false);
    if (node.type !== 'link') throw new FsError('EINVAL');
    return node.target;
  }

  async readFile(path: string, cred: Cred): Promise<Buffer> {
    const { node } = this.existing(path, cred, true);
    if (node.type === 'dir') throw new FsError('EISDIR');
    if (!allowed(node, cred, 4)) throw new FsError('EACCES');
    return this.content(node);
  }

  private async content(node: FsNode): Promise<Buffer> {
    if (node.type !== 'file') return Buffer.alloc(0);
    if (node.blob) return this.store.readBlob(node.blob);
    if (node.sharedBlob) return readFile(node.sharedBlob.path);
    return node.source ? node.source(this.view) : Buffer.alloc(0);
  }

  /** Where a file's bytes are on the host, if it has any (APK parsing reads them there). */
  hostPath(path: string, cred: Cred): string | undefined {
    const { node } = this.existing(path, cred, true);
    if (node.type === 'dir') throw new FsError('EISDIR');
    if (!allowed(node, cred, 4)) throw new FsError('EACCES');
    if (node.type !== 'file') return undefined;
    return node.blob ? this.store.blobPath(node.blob) : node.sharedBlob?.path;
  }

  // ---- changes ----

  /** Checks that `cred` may create or remove entries in the directory that holds `path` (canonical). */
  private checkDirWritable(path: string, cred: Cred): DirNode {
    if (this.mountOf(path).readOnly) throw new FsError('EROFS');
    const parent = this.dirPlace(parentOf(path)).place.node;
    if (!parent) throw new FsError('ENOENT');
    if (parent.type !== 'dir') throw new FsError('ENOTDIR');
    if (!allowed(parent, cred, 3)) throw new FsError('EACCES');
    return parent;
  }

  private checkSpace(path: string, bytes: number): void {
    const mount = this.mountOf(path);
    if (mount.totalBytes > 0 && bytes > mount.totalBytes - this.usedBytes(mount)) throw new FsError('ENOSPC');
  }

  /** Bytes used on a mount: what the image uses plus the phone's own files. */
  usedBytes(mount: Mount): number {
    let used = mount.baseUsedBytes;
    for (const dir of mount.storage) used += this.overlay.bytesUnder(dir);
    return used;
  }

  /** Places a node in the overlay; a directory where the base had something hides the base's children. */
  private put(path: string, node: FsNode): void {
    const previous = this.overlay.get(path);
    if (previous === undefined && this.overlay.size >= MAX_OWN_ENTRIES) throw new FsError('ENOSPC');
    if (previous?.type === 'file' && previous.blob) this.released.add(previous.blob);
    if (node.type === 'dir' && previous === null) node.opaque = true;
    if (this.shared()) this.copyUpParents(path);
    this.overlay.set(path, node.type === 'file' && node.sharedBlob ? this.copyUp(node) : node);
  }

  /**
   * The shared directories above an entry the phone writes become the phone's too (as overlayfs creates
   * them in its upper layer), so that the entry stays when the shared storage drops them.
   */
  private copyUpParents(path: string): void {
    for (let dir = parentOf(path); dir !== '/' && this.overlay.get(dir) === undefined && !this.base.nodes.has(dir); dir = parentOf(dir)) {
      const node = this.entry(dir);
      if (node?.type !== 'dir') return;
      // Opaque hid the image from the shared directory; the phone's copy lets the shared one show through.
      const { opaque: _hidesImage, ...copy } = node;
      this.overlay.set(dir, copy);
    }
  }

  /**
   * A shared file the phone changes (owner, mode, time) becomes its own: the shared blob is linked into the
   * phone's store under the same hash, so that the phone keeps it when the shared storage lets it go.
   */
  private copyUp({ sharedBlob, ...node }: FileNode): FileNode {
    const { hash, path } = sharedBlob!;
    const target = this.store.blobPath(hash);
    if (!existsSync(target)) {
      mkdirSync(this.store.blobDir, { recursive: true });
      try {
        linkSync(path, target);
      } catch {
        // Another file system: a copy, renamed into place so that no torn blob ever carries the hash.
        const temp = `${target}.${process.pid}.copy`;
        copyFileSync(path, temp);
        renameSync(temp, target);
      }
    }
    return { ...node, blob: hash };
  }

  /** The blob of the phone's own store holding a file's content (stored there first if needed). */
  private async ownBlob(node: FileNode): Promise<string> {
    if (node.blob) return node.blob;
    if (node.sharedBlob) return this.copyUp(node).blob!;
    return this.store.putBlob(await this.content(node));
  }

  /** Owner and mode of a new entry: sdcardfs decides on its mount, else `owner`, else the caller. */
  private newMeta(path: string, cred: Cred, mode: number, isDir: boolean, owner?: { uid: number; gid: number }): Meta {
    const forced = this.mountOf(path).forced;
    if (forced) return { mode: isDir ? forced.dirMode : forced.fileMode, uid: AID.root, gid: AID.sdcard_rw, mtime: this.view.now() };
    return { mode, uid: owner?.uid ?? cred.uid, gid: owner?.gid ?? cred.gid, mtime: this.view.now() };
  }

  /** Throws what opening `path` for writing would fail with (a shell's `>>` checks before the command runs). */
  checkWritable(path: string, cred: Cred): void {
    const target = this.walk(path, cred, true);
    if (!target.node) {
      this.checkDirWritable(target.path, cred);
      return;
    }
    if (target.node.type === 'dir') throw new FsError('EISDIR');
    if (target.node.type === 'chr') return;
    if (this.mountOf(target.path).readOnly) throw new FsError('EROFS');
    if (!allowed(target.node, cred, 2)) throw new FsError('EACCES');
  }

  async writeFile(path: string, data: Buffer, cred: Cred, options: WriteOptions = {}): Promise<void> {
    const blob = await this.store.putBlob(data);
    this.writeBlob(path, blob, data.length, cred, options);
  }

  /** Writes content already in the blob store (imported from the host). */
  writeBlob(path: string, blob: string, size: number, cred: Cred, options: WriteOptions = {}): void {
    const target = this.walk(path, cred, true);
    const existing = target.node;
    if (existing) {
      if (existing.type === 'dir') throw new FsError('EISDIR');
      if (this.mountOf(target.path).readOnly) throw new FsError('EROFS');
      if (!allowed(existing, cred, 2)) throw new FsError('EACCES');
      if (existing.type === 'chr') return; // /dev/null swallows everything
    } else {
      this.checkDirWritable(target.path, cred);
    }
    const oldSize = existing?.type === 'file' ? existing.size : 0;
    this.checkSpace(target.path, size - oldSize);
    const meta = existing
      ? { mode: existing.mode, uid: existing.uid, gid: existing.gid, mtime: this.view.now() }
      : this.newMeta(target.path, cred, options.owner?.mode ?? 0o666, false, options.owner);
    this.put(target.path, { type: 'file', ...meta, mtime: options.mtime ?? meta.mtime, size, blob });
  }

  async appendFile(path: string, data: Buffer, cred: Cred): Promise<void> {
    let before: Buffer = Buffer.alloc(0);
    try {
      const { node } = this.existing(path, cred, true);
      if (node.type === 'file') before = await this.content(node);
    } catch (err) {
      if (!(err instanceof FsError && err.code === 'ENOENT')) throw err;
    }
    await this.writeFile(path, Buffer.concat([before, data]), cred);
  }

  mkdir(path: string, cred: Cred, mode = 0o777, owner?: { uid: number; gid: number }): void {
    const target = this.walk(path, cred, false);
    if (target.node) throw new FsError('EEXIST');
    this.checkDirWritable(target.path, cred);
    this.put(target.path, { type: 'dir', ...this.newMeta(target.path, cred, mode, true, owner) });
  }

  /**
   * `mkdir -p`: creates missing directories on the way; existing ones are fine. One walk whatever the depth.
   * Returns where the directory is (symbolic links on the way resolved).
   */
  mkdirs(path: string, cred: Cred, mode = 0o777, owner?: { uid: number; gid: number }): string {
    let at = this.rootPlace();
    for (const name of path.split('/').filter(Boolean)) {
      const found = this.walkFrom(at, [name], cred, true);
      if (found.node && found.node.type !== 'dir') throw new FsError('ENOTDIR');
      if (!found.node) {
        this.mkdir(joinPath(at.path, name), cred, mode, owner);
        at = this.walkFrom(at, [name], cred, false);
      } else at = found;
    }
    return at.path;
  }

  symlink(target: string, path: string, cred: Cred): void {
    const at = this.walk(path, cred, false);
    if (at.node) throw new FsError('EEXIST');
    this.checkDirWritable(at.path, cred);
    this.put(at.path, { type: 'link', mode: 0o777, uid: cred.uid, gid: cred.gid, mtime: this.view.now(), target });
  }

  /** Removes a file, symlink or (with `dir`) an empty directory. */
  remove(path: string, cred: Cred, dir: boolean): void {
    const { path: at, node } = this.existing(path, cred, false);
    if (node.type === 'dir' && !dir) throw new FsError('EISDIR');
    if (node.type !== 'dir' && dir) throw new FsError('ENOTDIR');
    if (at === '/') throw new FsError('EPERM');
    this.checkDirWritable(at, cred);
    if (node.type === 'dir' && !this.isEmpty(at)) throw new FsError('ENOTEMPTY');
    this.drop(at);
  }

  /** Removes whatever is at a canonical path, and below it, from view. */
  private drop(path: string): void {
    for (const p of this.overlay.descendants(path)) {
      const node = this.overlay.get(p);
      if (node?.type === 'file' && node.blob) this.released.add(node.blob);
      this.overlay.delete(p);
    }
    const own = this.overlay.get(path);
    if (own?.type === 'file' && own.blob) this.released.add(own.blob);
    if (this.lowerEntry(path) && showsBelow(this.overlay, path)) this.overlay.set(path, null);
    else this.overlay.delete(path);
  }

  /** Removes a whole tree with the privileges of the system (package manager, reset of app data). */
  removeTree(path: string): void {
    if (this.entry(path)) this.drop(path);
  }

  /** `rename(2)`: moves a file or a whole directory. */
  async rename(from: string, to: string, cred: Cred): Promise<void> {
    const source = this.existing(from, cred, false);
    const target = this.walk(to, cred, false);
    if (source.path === target.path) return;
    if (target.path.startsWith(`${source.path}/`)) throw new FsError('EINVAL');
    this.checkDirWritable(source.path, cred);
    this.checkDirWritable(target.path, cred);
    if (target.node) {
      if (source.node.type === 'dir' && target.node.type !== 'dir') throw new FsError('ENOTDIR');
      if (source.node.type !== 'dir' && target.node.type === 'dir') throw new FsError('EISDIR');
      if (target.node.type === 'dir' && !this.isEmpty(target.path)) throw new FsError('ENOTEMPTY');
      this.drop(target.path);
    }
    await this.copyTree(source.path, target.path);
    this.drop(source.path);
  }

  /** Copies the visible tree at `from` to `to` (both canonical) with owners, modes and times. */
  private async copyTree(from: string, to: string): Promise<void> {
    const node = this.entry(from)!;
    const meta = pickMeta(node);
    if (node.type === 'file') {
      this.put(to, { type: 'file', ...meta, size: node.size, blob: await this.ownBlob(node) });
    } else if (node.type === 'dir') {
      this.put(to, { type: 'dir', ...meta });
      for (const name of this.childNames(from)) await this.copyTree(joinPath(from, name), joinPath(to, name));
    } else {
      this.put(to, { ...node, ...meta });
    }
  }

  /** `cp` of one file: the copy belongs to the caller unless `preserve`. */
  async copyFile(from: string, to: string, cred: Cred, preserve: boolean): Promise<void> {
    const source = this.existing(from, cred, true);
    if (source.node.type === 'dir') throw new FsError('EISDIR');
    if (!allowed(source.node, cred, 4)) throw new FsError('EACCES');
    const data = source.node.type === 'file' ? source.node : undefined;
    const blob = data ? await this.ownBlob(data) : await this.store.putBlob(await this.content(source.node));
    const size = data?.size ?? 0;
    const owner = preserve ? { uid: source.node.uid, gid: source.node.gid, mode: source.node.mode } : undefined;
    this.writeBlob(to, blob, size, cred, { owner });
    if (preserve) this.setMeta(to, cred, { mtime: source.node.mtime });
  }

  chmod(path: string, mode: number, cred: Cred): void {
    const { path: at, node } = this.existing(path, cred, true);
    if (this.mountOf(at).readOnly) throw new FsError('EROFS');
    if (cred.uid !== 0 && cred.uid !== node.uid) throw new FsError('EPERM');
    this.put(at, { ...node, mode: mode & 0o7777 });
  }

  /** Changes owner, mode or time of an existing entry with the privileges of the system; `follow`: of a link's target. */
  setMeta(path: string, cred: Cred, meta: Partial<Meta>, follow = true): void {
    const { path: at, node } = this.existing(path, cred, follow);
    this.put(at, { ...node, ...meta });
  }

  /** `touch` of an existing file: owner or write permission needed. */
  touch(path: string, cred: Cred, mtime: number): void {
    const { path: at, node } = this.existing(path, cred, true);
    if (this.mountOf(at).readOnly) throw new FsError('EROFS');
    if (cred.uid !== 0 && cred.uid !== node.uid && !allowed(node, cred, 2)) throw new FsError('EACCES');
    this.put(at, { ...node, mtime });
  }

  /** Marks a blob as possibly unreferenced (imported for a change that may not happen). */
  release(hash: string): void {
    this.released.add(hash);
  }

  /** Blobs no file refers to any more; the caller deletes them after saving the state. */
  takeReleasedBlobs(): string[] {
    const free = [...this.released].filter((hash) => !this.overlay.uses(hash));
    this.released.clear();
    return free;
  }

  /** Whether a file of the phone uses the blob (one released a moment ago may be in use again). */
  usesBlob(hash: string): boolean {
    return this.overlay.uses(hash);
  }
}

/** A directory of a layer that lets the layers under it show through. */
function isOpenDir(node: FsNode | null): boolean {
  return node !== null && node.type === 'dir' && !node.opaque;
}

/** Whether the layers under `layer` show at `path`: no ancestor is hidden, replaced or recreated in `layer`. */
function showsBelow(layer: SharedLayer, path: string): boolean {
  for (let p = path; p !== '/'; ) {
    p = parentOf(p);
    const own = layer.get(p);
    if (own === null || (own && (own.type !== 'dir' || own.opaque))) return false;
  }
  return true;
}

function pickMeta(node: FsNode): Meta {
  return { mode: node.mode, uid: node.uid, gid: node.gid, mtime: node.mtime };
}

/** A stable inode number per path (FNV-1a). */
function inode(path: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) hash = Math.imul(hash ^ path.charCodeAt(i), 0x01000193) >>> 0;
  return (hash % 900_000) + 1000;
}
