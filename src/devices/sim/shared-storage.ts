// The shared storage of a server's sim phones, kept under `<dataDir>/servers/<serverId>/share/` in the
// layout of a phone's store (store.ts: atomic writes):
//   state.json      `files`: the shared files, an overlay of the image at the paths the phones see;
//                   `apps`: each shared app's unpacked tar and whether it is pre-installed
//   blobs/<sha256>  their contents
// Every server's shared files are loaded at start (`load`), so phones look them up without waiting.
// A change is made on a copy of the tree that replaces the live one only when it succeeded: a refused tar
// changes nothing and phones never see half a push. Blobs no tree refers to are deleted after each change.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../../core/runtime.ts';
import type { CommandResult } from '../driver.ts';
import type { AppPushResult, ShareEntry, ShareServer, SharedStorage, ShareUsage } from '../shared-storage.ts';
import { ApkParseError, readApk } from '../../android/apk.ts';
import type { SimSharedLayer } from './driver.ts';
import { DeviceFs } from './fs.ts';
import { absolutePath, FsError, joinPath, type FsNode, type Mount } from './fs-nodes.ts';
import { Overlay } from './overlay.ts';
import { baseImage } from './image.ts';
import { unpackTar } from './push.ts';
import { PhoneStore } from './store.ts';
import { ROOT } from './users.ts';

interface ShareState {
  version: 1;
  files: Record<string, FsNode | null>;
  apps: Record<string, { preinstall: boolean; fs: Record<string, FsNode | null> }>;
}

interface SharedApp {
  preinstall: boolean;
  tree: Overlay;
}

/** Entries copied, or blobs swept, between two turns of the event loop. */
const ENTRIES_PER_TURN = 1000;
/** Longest name of one path component (ext4's NAME_MAX). */
const NAME_MAX = 255;
/** ListShareFiles prints one name a line: names with control characters are refused. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** One server's shared storage; its phones see the shared files through it. */
class ServerShare implements SimSharedLayer {
  files: Overlay;
  readonly apps: Map<string, SharedApp>;

  constructor(
    readonly store: PhoneStore,
    state?: ShareState,
  ) {
    this.files = Overlay.fromJSON(state?.files ?? {});
    this.apps = new Map(Object.entries(state?.apps ?? {}).map(([name, app]) => [name, { preinstall: app.preinstall, tree: Overlay.fromJSON(app.fs) }]));
  }

  /** A shared file as a phone sees it: its content is read from this store. */
  get(path: string): FsNode | null | undefined {
    const node = this.files.get(path);
    if (node?.type !== 'file' || !node.blob) return node;
    const { blob, ...rest } = node;
    return { ...rest, sharedBlob: { hash: blob, path: this.store.blobPath(blob) } };
  }

  childNames(path: string): Iterable<string> {
    return this.files.childNames(path);
  }

  get layout(): number {
    return this.files.layout;
  }

  /** The APKs of each pre-installed app, which a new or reset phone of the server gets (sim/driver.ts). */
  preinstalledApps(): string[][] {
    return [...this.apps].flatMap(([name, app]) => {
      const apks = app.preinstall ? appApks(app.tree, name) : undefined;
      return apks ? [apks.map((apk) => this.store.blobPath(apk.blob))] : [];
    });
  }

  /** Bytes held by the shared apps, leaving out one (the one a push replaces). */
  appBytes(except?: string): number {
    let used = 0;
    for (const [name, app] of this.apps) if (name !== except) used += app.tree.bytes;
    return used;
  }

  trees(): Overlay[] {
    return [this.files, ...[...this.apps.values()].map((app) => app.tree)];
  }

  /** The state to save: trees as their Maps, which the store serialises a slice at a time. */
  toState(): unknown {
    const apps = new Map([...this.apps].map(([name, app]) => [name, { preinstall: app.preinstall, fs: app.tree.entries }]));
    return { version: 1, files: this.files.entries, apps };
  }
}

export interface SimSharedStorageOptions {
  /** The server's data directory; shared storage lives in its `servers/` folder. */
  dataDir: string;
  clock: Clock;
}

export class SimSharedStorage implements SharedStorage {
  private readonly root: string;
  private readonly shares = new Map<string, ServerShare>();
  /** The tail of each server's queue of operations. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly options: SimSharedStorageOptions) {
    this.root = join(options.dataDir, 'servers');
  }

  /** Reads every server's shared storage from disk; call once before phones run. */
  async load(): Promise<void> {
    let serverIds: string[];
    try {
      serverIds = await readdir(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const serverId of serverIds) {
      const store = this.store(serverId);
      const state = await store.readState<ShareState>();
      if (state) this.shares.set(serverId, new ServerShare(store, state));
    }
  }

  /** What the phones of a server see between the image and their own changes (SimDriver's `sharedLayer`). */
  layer(serverId: string): SimSharedLayer | undefined {
    return this.shares.get(serverId);
  }

  pushFiles(server: ShareServer, tarFile: string): Promise<CommandResult> {
    return this.change(server.id, async (share) => {
      const tree = await copyOf(share.files);
      const result = await this.unpack(server, share, tree, share.appBytes(), tarFile);
      if (result.exitCode === 0) share.files = tree;
      return result;
    });
  }

  async listFiles(server: ShareServer, path: string): Promise<ShareEntry[] | undefined> {
    const share = this.shares.get(server.id) ?? new ServerShare(this.store(server.id));
    const fs = this.view(server, share, share.files, 0);
    let dir: string;
    try {
      const found = fs.stat(path, ROOT);
      if (found.node.type !== 'dir') return undefined;
      dir = found.path;
    } catch (err) {
      if (err instanceof FsError) return undefined;
      throw err;
    }
    // A directory of the image that holds shared files is listed too, as the host's copy of the tree has it.
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const names = new Set<string>();
    for (const [entry, node] of share.files.entries) if (node && entry.startsWith(prefix)) names.add(entry.slice(prefix.length).split('/')[0]);
    return [...names].sort().map((name) => shareEntry(name, fs.lstat(joinPath(dir, name), ROOT).node));
  }

  deleteFiles(server: ShareServer, paths: string[]): Promise<void> {
    return this.change(server.id, async (share) => {
      const tree = await copyOf(share.files);
      const fs = this.view(server, share, tree, 0);
      for (const path of paths) {
        let at: string;
        try {
          at = fs.lstat(absolutePath('/', path), ROOT).path;
        } catch (err) {
          if (err instanceof FsError) continue;
          throw err;
        }
        // Only what the shared storage holds goes: the image's own entries stay, and no deletion is recorded.
        for (const entry of [...tree.entries.keys()]) if (entry === at || entry.startsWith(`${at}/`)) tree.delete(entry);
      }
      share.files = tree;
    });
  }

  async usage(server: ShareServer): Promise<ShareUsage> {
    const share = this.shares.get(server.id);
    return { totalBytes: server.capacityBytes, usedBytes: share ? share.files.bytes + share.appBytes() : 0 };
  }

  pushApp(server: ShareServer, packageName: string, tarFile: string, preinstall: boolean): Promise<AppPushResult> {
    return this.change(server.id, async (share): Promise<AppPushResult> => {
      const tree = new Overlay();
      const unpacked = await this.unpack(server, share, tree, share.files.bytes + share.appBytes(packageName), tarFile);
      if (unpacked.exitCode !== 0) return { ok: false, reason: 'tar', output: unpacked.output };
      const apks = appApks(tree, packageName);
      if (!apks) return { ok: false, reason: 'package', output: `No /data/app/${packageName}-*/base.apk in the archive.\n` };
      const files = apks.map((apk) => share.store.blobPath(apk.blob));
      try {
        const base = await readApk(files[0]);
        if (base.packageName !== packageName) {
          return { ok: false, reason: 'package', output: `${apks[0].path}: package ${base.packageName}, not ${packageName}.\n` };
        }
      } catch (err) {
        if (!(err instanceof ApkParseError)) throw err;
        return { ok: false, reason: 'package', output: `${apks[0].path}: not an APK.\n` };
      }
      share.apps.set(packageName, { preinstall, tree });
      return { ok: true, apks: files };
    });
  }

  async app(server: ShareServer, packageName: string): Promise<{ preinstall: boolean } | undefined> {
    const app = this.shares.get(server.id)?.apps.get(packageName);
    return app && { preinstall: app.preinstall };
  }

  deleteApp(server: ShareServer, packageName: string): Promise<void> {
    return this.change(server.id, async (share) => void share.apps.delete(packageName));
  }

  destroy(serverId: string): Promise<void> {
    return this.serially(serverId, async () => {
      this.shares.delete(serverId);
      await rm(join(this.root, serverId), { recursive: true, force: true });
    });
  }

  private store(serverId: string): PhoneStore {
    return new PhoneStore(join(this.root, serverId, 'share'));
  }

  /** Runs a change of a server's shared storage after the ones before it, then saves it and frees what it let go. */
  private change<T>(serverId: string, work: (share: ServerShare) => Promise<T>): Promise<T> {
    return this.serially(serverId, async () => {
      let share = this.shares.get(serverId);
      if (!share) this.shares.set(serverId, (share = new ServerShare(this.store(serverId))));
      try {
        const result = await work(share);
        await share.store.writeState(share.toState());
        return result;
      } finally {
        await sweep(share);
      }
    });
  }

  private serially<T>(serverId: string, work: () => Promise<T>): Promise<T> {
    const result = (this.queues.get(serverId) ?? Promise.resolve()).then(work);
    const tail = result.then(() => {}, () => {});
    this.queues.set(serverId, tail);
    void tail.then(() => {
      if (this.queues.get(serverId) === tail) this.queues.delete(serverId);
    });
    return result;
  }

  /** The server's shared volume as a file system: `tree` over the image, writable under /data and /cache. */
  private view(server: ShareServer, share: ServerShare, tree: Overlay, usedElsewhere: number): DeviceFs {
    const now = () => this.options.clock.now().getTime();
    return new DeviceFs(baseImage(server.image, server.phoneModel), tree, share.store, shareMounts(server.capacityBytes, usedElsewhere), { now, uptimeSeconds: () => 0 });
  }

  /**
   * Unpacks a tar into `tree` as root would (push.ts, whose limits apply), refusing names the listing cannot
   * show among the entries it made (`tree` comes with no changes of its own).
   */
  private async unpack(server: ShareServer, share: ServerShare, tree: Overlay, usedElsewhere: number, tarFile: string): Promise<CommandResult> {
    const fs = this.view(server, share, tree, usedElsewhere);
    const result = await unpackTar(tarFile, { fs, cred: ROOT, importBlob: (source) => share.store.importBlob(source) });
    if (result.exitCode !== 0) return result;
    const refused: string[] = [];
    for (const [i, path] of [...tree.takeChanges()].entries()) {
      const problem = tree.get(path) === undefined ? undefined : nameProblem(path);
      if (problem) refused.push(`tar: ${path.slice(1)}: ${problem}`);
      if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
    }
    return refused.length ? { output: `${refused.join('\n')}\n`, exitCode: 1 } : result;
  }
}

/** The shared volume: one size for /data and /cache together; the rest of the tree cannot be written. */
function shareMounts(totalBytes: number, usedElsewhere: number): Mount[] {
  const volume = { device: 'share', readOnly: false, totalBytes, baseUsedBytes: usedElsewhere, storage: ['/data', '/cache'], dev: 0xfd10 };
  return [
    { dir: '/', device: 'rootfs', readOnly: true, totalBytes: 0, baseUsedBytes: 0, storage: [], dev: 1 },
    { ...volume, dir: '/data' },
    { ...volume, dir: '/cache' },
  ];
}

/**
 * A tree to change on the side, copied a slice at a time (it may hold a hundred thousand entries). Nodes are
 * never changed in place (fs.ts replaces them), so they can be shared.
 */
async function copyOf(tree: Overlay): Promise<Overlay> {
  const copy = new Overlay();
  for (const [path, node] of tree.entries) {
    copy.set(path, node);
    if (copy.size % ENTRIES_PER_TURN === 0) await nextTurn();
  }
  copy.takeChanges();
  return copy;
}

function shareEntry(name: string, node: FsNode): ShareEntry {
  if (node.type === 'dir') return { name, type: 'dir', size: 4096, mtime: node.mtime };
  if (node.type === 'link') return { name, type: 'link', size: Buffer.byteLength(node.target), mtime: node.mtime };
  return { name, type: 'file', size: node.type === 'file' ? node.size : 0, mtime: node.mtime };
}

function nameProblem(path: string): string | undefined {
  for (const name of path.split('/')) {
    if (Buffer.byteLength(name) > NAME_MAX) return 'File name too long';
    if (CONTROL.test(name)) return 'Invalid argument';
  }
  return undefined;
}

/**
 * The APKs of `packageName` in an app tree, as an export of the phone's data holds them:
 * /data/app/<package>-<suffix>/base.apk and split_*.apk (Android 11 nests that directory one level deeper).
 */
function appApks(tree: Overlay, packageName: string): Array<{ path: string; blob: string }> | undefined {
  const pattern = new RegExp(`^(/data/app/(?:[^/]+/)?${packageName.replaceAll('.', '\\.')}-[^/]+)/(base|split_[^/]+)\\.apk$`);
  const byDir = new Map<string, Array<{ path: string; blob: string }>>();
  for (const [path, node] of [...tree.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const match = pattern.exec(path);
    if (!match || node?.type !== 'file' || !node.blob) continue;
    const apks = byDir.get(match[1]) ?? [];
    const apk = { path, blob: node.blob };
    if (match[2] === 'base') apks.unshift(apk);
    else apks.push(apk);
    byDir.set(match[1], apks);
  }
  return [...byDir.values()].find((apks) => apks[0].path.endsWith('/base.apk'));
}

/** Deletes the blobs no tree of the share refers to (and what an interrupted import left), some per turn of the event loop. */
async function sweep(share: ServerShare): Promise<void> {
  const trees = share.trees();
  let names: string[];
  try {
    names = await readdir(share.store.blobDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const [i, name] of names.entries()) {
    if (!trees.some((tree) => tree.uses(name))) share.store.removeBlobSync(name);
    if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
  }
}
