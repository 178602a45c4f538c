import { baseName, joinPath, parentOf, type FsNode } from './fs-nodes.ts';

/** The last layout number given to an overlay: no two layouts of any overlays share one. */
let layouts = 0;

/**
 * The overlay's entries, with an index of children so directories list without a scan, and running totals
 * kept as entries change (the bytes of the files under each top-level directory, the files using each blob),
 * so that neither space nor garbage is found by a scan of a tree that may hold a hundred thousand entries.
 */
export class Overlay {
  readonly entries = new Map<string, FsNode | null>();
  private readonly children = new Map<string, Set<string>>();
  private readonly bytesByTop = new Map<string, number>();
  private readonly blobUses = new Map<string, number>();
  /** Paths set or deleted since the last `takeChanges` (what a save of the phone appends). */
  private changes = new Set<string>();
  /** Changes when a directory, link or whiteout is set or anything is deleted: files added or replaced leave it. */
  layout = ++layouts;

  /** An overlay of saved entries: none of them counts as a change. */
  static fromJSON(entries: Record<string, FsNode | null>): Overlay {
    const overlay = new Overlay();
    for (const [path, node] of Object.entries(entries)) overlay.set(path, node);
    overlay.changes.clear();
    return overlay;
  }

  get size(): number {
    return this.entries.size;
  }

  get(path: string): FsNode | null | undefined {
    return this.entries.get(path);
  }

  set(path: string, node: FsNode | null): void {
    const previous = this.entries.get(path);
    if (node?.type !== 'file' || (previous !== undefined && previous?.type !== 'file')) this.layout = ++layouts;
    this.count(previous, -1, path);
    this.entries.set(path, node);
    this.count(node, 1, path);
    this.changes.add(path);
    if (path === '/') return;
    const parent = parentOf(path);
    let names = this.children.get(parent);
    if (!names) this.children.set(parent, (names = new Set()));
    names.add(baseName(path));
  }

  delete(path: string): void {
    this.layout = ++layouts;
    this.count(this.entries.get(path), -1, path);
    this.entries.delete(path);
    this.changes.add(path);
    this.children.get(parentOf(path))?.delete(baseName(path));
  }

  childNames(path: string): Iterable<string> {
    return this.children.get(path) ?? [];
  }

  /** Bytes of the files under a top-level directory (`/data`). */
  bytesUnder(top: string): number {
    return this.bytesByTop.get(top) ?? 0;
  }

  /** Bytes of all the files. */
  get bytes(): number {
    let total = 0;
    for (const bytes of this.bytesByTop.values()) total += bytes;
    return total;
  }

  /** Whether a file uses the blob. */
  uses(blob: string): boolean {
    return this.blobUses.has(blob);
  }

  /** The paths set or deleted since the last call. */
  takeChanges(): Set<string> {
    const changes = this.changes;
    this.changes = new Set();
    return changes;
  }

  /** Every overlay path below `path`, deepest last. */
  descendants(path: string): string[] {
    const out: string[] = [];
    const visit = (dir: string) => {
      for (const name of this.childNames(dir)) {
        const child = joinPath(dir, name);
        out.push(child);
        visit(child);
      }
    };
    visit(path);
    return out;
  }

  private count(node: FsNode | null | undefined, sign: 1 | -1, path: string): void {
    if (node?.type !== 'file') return;
    const end = path.indexOf('/', 1);
    const top = end < 0 ? path : path.slice(0, end);
    this.bytesByTop.set(top, (this.bytesByTop.get(top) ?? 0) + sign * node.size);
    if (!node.blob) return;
    const uses = (this.blobUses.get(node.blob) ?? 0) + sign;
    if (uses > 0) this.blobUses.set(node.blob, uses);
    else this.blobUses.delete(node.blob);
  }
}
