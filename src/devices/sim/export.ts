// Export of a phone's data as a tar (BatchExportCloudPhoneData), read with the privileges of the system:
// every entry at or under the `include` paths with its owner, mode and mtime, symbolic links as links.
// Members are named without the leading `/` (`data/local/tmp/a.txt`), as `tar -C /` would name them, so
// that unpacking the tar over `/` (push.ts, keepOwners) puts everything back where it was.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import * as tar from 'tar';
import type { CommandResult } from '../driver.ts';
import type { DeviceFs } from './fs.ts';
import { FsError, joinPath, type FsNode } from './fs-nodes.ts';
import { ROOT } from './users.ts';
import { RE2JS } from 're2js';

const TYPES = { dir: 'Directory', file: 'File', link: 'SymbolicLink' } as const;

/**
 * Writes the tar to `tarFile`. An entry matching an `exclude` pattern is left out with everything under it;
 * `*` matches any run of characters, `/` included (GNU tar's rule for --exclude). Include paths that do not
 * exist are skipped and named in the output, as tar warns about them. Device nodes are not archived.
 */
export async function packTar(fs: DeviceFs, include: string[], exclude: string[], tarFile: string): Promise<CommandResult> {
  const excluded = excluder(exclude);
  const warnings: string[] = [];
  const archived = new Set<string>();
  const out = createWriteStream(tarFile);
  const written = finished(out);
  // Awaited at the end; a write error that comes earlier must not count as unhandled meanwhile.
  written.catch(() => {});
  const pack = new tar.Pack();
  pack.on('error', (error) => out.destroy(error as Error));
  pack.pipe(out);

  const add = async (path: string, node: FsNode): Promise<void> => {
    if (node.type === 'chr') return;
    // A file with bytes on the host (up to the size of the data volume) is streamed; one made on demand is small.
    const hostPath = node.type === 'file' ? fs.hostPath(path, ROOT) : undefined;
    const body = node.type === 'file' && !hostPath ? await fs.readFile(path, ROOT) : undefined;
    const entry = new tar.ReadEntry(
      new tar.Header({
        path: node.type === 'dir' ? `${path.slice(1)}/` : path.slice(1),
        type: TYPES[node.type],
        linkpath: node.type === 'link' ? node.target : undefined,
        mode: node.mode & 0o7777,
        uid: node.uid,
        gid: node.gid,
        size: hostPath && node.type === 'file' ? node.size : (body?.length ?? 0),
        mtime: new Date(node.mtime),
      }),
    );
    const flowing = pack.write(entry);
    if (hostPath) {
      for await (const chunk of createReadStream(hostPath)) if (!entry.write(chunk as Buffer)) await once(entry, 'drain');
    }
    if (body) entry.end(body);
    else entry.end();
    if (!flowing) await once(pack, 'drain');
  };

  const visit = async (path: string): Promise<void> => {
    if (archived.has(path) || excluded(path)) return;
    archived.add(path);
    const { node } = fs.lstat(path, ROOT);
    await add(path, node);
    if (node.type === 'dir') for (const name of fs.readdir(path, ROOT)) await visit(joinPath(path, name));
  };

  try {
    for (const path of include) {
      if (!exists(fs, path)) warnings.push(`tar: ${path}: Cannot stat: No such file or directory`);
      else await visit(path);
    }
  } finally {
    pack.end();
  }
  await written;
  return { output: warnings.map((line) => `${line}\n`).join(''), exitCode: 0 };
}

/**
 * Whether a path is excluded: a pattern matches it or one of the directories above it. The patterns are the
 * tenant's: RE2 matches them in time linear in the path, where a backtracking engine would take time
 * exponential in their number of stars.
 */
export function excluder(patterns: string[]): (path: string) => boolean {
  const rules = patterns.map((pattern) => {
    const body = pattern.replace(/\/+$/, '').split('*').map((part) => RE2JS.quote(part)).join('.*');
    return RE2JS.compile(`${body}(/.*)?`, RE2JS.DOTALL);
  });
  return (path) => rules.some((rule) => rule.matches(path));
}

function exists(fs: DeviceFs, path: string): boolean {
  try {
    fs.lstat(path, ROOT);
    return true;
  } catch (err) {
    if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return false;
    throw err;
  }
}
