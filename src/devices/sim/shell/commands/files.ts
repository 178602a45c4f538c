// File commands that read, formatted as Android's toybox prints them: ls, cat, md5sum, stat, du, df, find
// (the ones that change files are in file-changes.ts).
import { createHash } from 'node:crypto';
import { humanReadable, lsTime, statTime } from '../../format.ts';
import { baseName, joinPath, modeString, parentOf, type FsNode, type Stat } from '../../fs-nodes.ts';
import { idName } from '../../users.ts';
import type { Command } from '../command.ts';
import { eachInput, fail, options, report } from '../options.ts';
import { wildcard } from '../regex.ts';

/** Space a file takes on an ext4 disk, in KiB (4 KiB blocks; symlinks, devices and /proc take none). */
function blocksKb(node: FsNode): number {
  if (node.type === 'dir') return 4;
  if (node.type !== 'file') return 0;
  return Math.ceil(node.size / 4096) * 4;
}

function sizeOf(node: FsNode): number {
  if (node.type === 'file') return node.size;
  if (node.type === 'dir') return 4096;
  if (node.type === 'link') return Buffer.byteLength(node.target);
  return 0;
}

interface Listed {
  name: string;
  stat: Stat;
}

const ls: Command = async (ctx) => {
  const opts = options(ctx, 'aAdlRhn1trSs');
  if (!opts) return 1;
  const { flags } = opts;
  const long = flags.has('l') || flags.has('n');
  const fs = ctx.shell.device.fs;
  const cred = ctx.shell.cred;
  const args = opts.args.length ? opts.args : ['.'];
  let status = 0;
  let printed = false;
  const line = (text: string) => ctx.stdout.write(`${text}\n`);

  const sort = (entries: Listed[]) => {
    entries.sort((a, b) => {
      let order = 0;
      if (flags.has('S')) order = sizeOf(b.stat.node) - sizeOf(a.stat.node);
      if (flags.has('t')) order = b.stat.node.mtime - a.stat.node.mtime;
      if (!order) order = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      return flags.has('r') ? -order : order;
    });
    return entries;
  };

  const render = (entries: Listed[], withTotal: boolean) => {
    if (long) {
      const rows = entries.map(({ name, stat }) => {
        const node = stat.node;
        const size = node.type === 'chr' ? undefined : flags.has('h') ? humanReadable(sizeOf(node)) : String(sizeOf(node));
        return {
          mode: modeString(node),
          links: String(stat.nlink),
          user: flags.has('n') ? String(node.uid) : idName(node.uid),
          group: flags.has('n') ? String(node.gid) : idName(node.gid),
          size,
          device: node.type === 'chr' ? [node.major, node.minor] : undefined,
          rest: `${lsTime(node.mtime)} ${name}${node.type === 'link' ? ` -> ${node.target}` : ''}`,
        };
      });
      const width = (pick: (r: (typeof rows)[number]) => number) => Math.max(0, ...rows.map(pick));
      const wLinks = width((r) => r.links.length);
      const wUser = width((r) => r.user.length);
      const wGroup = width((r) => r.group.length);
      const wSize = width((r) => (r.device ? String(r.device[0]).length + 5 : r.size!.length));
      if (withTotal) {
        const total = entries.reduce((sum, e) => sum + blocksKb(e.stat.node), 0);
        line(`total ${flags.has('h') ? humanReadable(total * 1024) : total}`);
      }
      for (const r of rows) {
        const size = r.device
          ? ` ${String(r.device[0]).padStart(wSize - 5)},${String(r.device[1]).padStart(4)}`
          : r.size!.padStart(wSize + 1);
        line(`${r.mode}${r.links.padStart(wLinks + 1)} ${r.user.padEnd(wUser)} ${r.group.padEnd(wGroup)}${size} ${r.rest}`);
      }
    } else {
      for (const e of entries) line(e.name);
    }
    if (entries.length) printed = true;
  };

  const listDir = async (shown: string, dir: string, title: boolean): Promise<void> => {
    await ctx.shell.budget.tick();
    let names: string[];
    try {
      names = fs.readdir(dir, cred);
    } catch (err) {
      status = report(ctx, shown, err);
      return;
    }
    if (title) {
      if (printed) line('');
      line(`${shown}:`);
      printed = true;
    }
    const entries: Listed[] = [];
    if (flags.has('a')) {
      entries.push({ name: '.', stat: fs.stat(dir, cred) }, { name: '..', stat: fs.stat(parentOf(dir), cred) });
    }
    for (const name of names) {
      if (name.startsWith('.') && !flags.has('a') && !flags.has('A')) continue;
      try {
        entries.push({ name, stat: fs.lstat(joinPath(dir, name), cred) });
      } catch {
        // An entry that cannot be stat'ed is skipped.
      }
    }
    render(sort(entries), true);
    if (!flags.has('R')) return;
    for (const { name, stat } of entries) {
      if (stat.node.type === 'dir' && name !== '.' && name !== '..') {
        await listDir(shown === '/' ? `/${name}` : `${shown}/${name}`, stat.path, true);
      }
    }
  };

  const files: Listed[] = [];
  const dirs: Listed[] = [];
  for (const arg of args) {
    const path = ctx.shell.path(arg);
    try {
      // -l and -d show a symlink named on the command line; otherwise it is followed.
      const stat = long || flags.has('d') ? fs.lstat(path, cred) : fs.stat(path, cred);
      (stat.node.type === 'dir' && !flags.has('d') ? dirs : files).push({ name: arg, stat });
    } catch (err) {
      status = report(ctx, arg, err);
    }
  }
  render(sort(files), false);
  const single = files.length === 0 && dirs.length === 1 && args.length === 1 && !flags.has('R');
  for (const dir of sort(dirs)) await listDir(dir.name, dir.stat.path, !single);
  return status;
};

const cat: Command = async (ctx) => {
  const opts = options(ctx, 'uv');
  if (!opts) return 1;
  return (await eachInput(ctx, opts.args, (_name, data) => ctx.stdout.write(data))) ? 0 : 1;
};

const md5sum: Command = async (ctx) => {
  const opts = options(ctx, 'b');
  if (!opts) return 1;
  const ok = await eachInput(ctx, opts.args, (name, data) => {
    const hash = createHash('md5').update(data).digest('hex');
    ctx.stdout.write(opts.flags.has('b') ? `${hash}\n` : `${hash}  ${name}\n`);
  });
  return ok ? 0 : 1;
};

const STAT_DEFAULT =
  '  File: %N\n  Size: %s\t Blocks: %b\t IO Blocks: %B\t%F\nDevice: %Dh/%dd\t Inode: %i\t Links: %h\n' +
  'Access: (%a/%A)\tUid: (%u/%U)\tGid: (%g/%G)\nAccess: %x\nModify: %y\nChange: %z';

const stat: Command = (ctx) => {
  const opts = options(ctx, 'c:Lt');
  if (!opts) return 1;
  if (opts.args.length === 0) return fail(ctx, 'Needs 1 argument');
  const format = opts.values.get('c') ?? (opts.flags.has('t') ? '%n %s %b %f %u %g %D %i %h %t %T %X %Y %Z %o' : STAT_DEFAULT);
  const fs = ctx.shell.device.fs;
  let status = 0;
  for (const arg of opts.args) {
    let st: Stat;
    try {
      st = opts.flags.has('L') ? fs.stat(ctx.shell.path(arg), ctx.shell.cred) : fs.lstat(ctx.shell.path(arg), ctx.shell.cred);
    } catch (err) {
      status = report(ctx, arg, err, true);
      continue;
    }
    const node = st.node;
    const typeBits = { file: 0o100000, dir: 0o040000, link: 0o120000, chr: 0o020000 }[node.type];
    const fileType =
      node.type === 'file' ? (node.size === 0 ? 'regular empty file' : 'regular file')
        : { dir: 'directory', link: 'symbolic link', chr: 'character device' }[node.type];
    const field: Record<string, () => string> = {
      a: () => node.mode.toString(8),
      A: () => modeString(node),
      b: () => String(blocksKb(node) * 2),
      B: () => '4096',
      d: () => String(st.mount.dev),
      D: () => st.mount.dev.toString(16),
      f: () => (typeBits | node.mode).toString(16),
      F: () => fileType,
      g: () => String(node.gid),
      G: () => idName(node.gid).padStart(8),
      h: () => String(st.nlink),
      i: () => String(st.ino),
      m: () => st.mount.dir,
      n: () => arg,
      N: () => `\`${arg}'${node.type === 'link' ? ` -> \`${node.target}'` : ''}`,
      o: () => '4096',
      s: () => String(sizeOf(node)),
      t: () => (node.type === 'chr' ? node.major.toString(16) : '0'),
      T: () => (node.type === 'chr' ? node.minor.toString(16) : '0'),
      u: () => String(node.uid),
      U: () => idName(node.uid).padStart(8),
      x: () => statTime(node.mtime),
      X: () => String(Math.floor(node.mtime / 1000)),
      y: () => statTime(node.mtime),
      Y: () => String(Math.floor(node.mtime / 1000)),
      z: () => statTime(node.mtime),
      Z: () => String(Math.floor(node.mtime / 1000)),
    };
    ctx.stdout.write(`${format.replace(/%(.)/g, (_, c: string) => (c === '%' ? '%' : (field[c]?.() ?? '?')))}\n`);
  }
  return status;
};

const du: Command = async (ctx) => {
  const opts = options(ctx, 'ashkcd:x');
  if (!opts) return 1;
  const { flags } = opts;
  const fs = ctx.shell.device.fs;
  const cred = ctx.shell.cred;
  const maxDepth = opts.values.has('d') ? Number(opts.values.get('d')) : Infinity;
  const show = (kb: number, name: string) => ctx.stdout.write(`${flags.has('h') ? humanReadable(kb * 1024) : kb}\t${name}\n`);
  let status = 0;
  let total = 0;
  const walk = async (path: string, shown: string, depth: number): Promise<number> => {
    await ctx.shell.budget.tick();
    const { node } = fs.lstat(path, cred);
    if (node.type !== 'dir') {
      if (depth === 0 || (flags.has('a') && !flags.has('s') && depth <= maxDepth)) show(blocksKb(node), shown);
      return blocksKb(node);
    }
    let kb = blocksKb(node);
    try {
      for (const name of fs.readdir(path, cred)) kb += await walk(joinPath(path, name), `${shown === '/' ? '' : shown}/${name}`, depth + 1);
    } catch (err) {
      status = report(ctx, shown, err);
    }
    if ((!flags.has('s') && depth <= maxDepth) || depth === 0) show(kb, shown);
    return kb;
  };
  for (const arg of opts.args.length ? opts.args : ['.']) {
    try {
      total += await walk(ctx.shell.path(arg), arg, 0);
    } catch (err) {
      status = report(ctx, arg, err);
    }
  }
  if (flags.has('c')) show(total, 'total');
  return status;
};

const df: Command = (ctx) => {
  const opts = options(ctx, 'hkPa');
  if (!opts) return 1;
  const device = ctx.shell.device;
  const fs = device.fs;
  let status = 0;
  let mounts = fs.mounts.filter((m) => m.totalBytes > 0);
  if (opts.args.length) {
    mounts = [];
    for (const arg of opts.args) {
      try {
        mounts.push(fs.stat(ctx.shell.path(arg), ctx.shell.cred).mount);
      } catch (err) {
        status = report(ctx, arg, err, true);
      }
    }
  }
  const rows = mounts.map((m) => {
    const used = Math.min(fs.usedBytes(m), m.totalBytes);
    const avail = m.totalBytes - used;
    const percent = used + avail === 0 ? 0 : Math.ceil((used * 100) / (used + avail));
    return { m, size: m.totalBytes, used, avail, percent };
  });
  const width0 = Math.max(14, ...rows.map((r) => r.m.device.length));
  const lines: string[] = [];
  if (opts.flags.has('h')) {
    lines.push(`${'Filesystem'.padEnd(width0)} Size  Used Avail Use% Mounted on`);
    for (const r of rows) {
      const h = (n: number) => humanReadable(n).padStart(4);
      lines.push(`${r.m.device.padEnd(width0)} ${h(r.size)}  ${h(r.used)}  ${h(r.avail)} ${String(r.percent).padStart(3)}% ${r.m.dir}`);
    }
  } else {
    const kb = (n: number) => String(Math.floor(n / 1024));
    const cells = rows.map((r) => [kb(r.size), kb(r.used), kb(r.avail), String(r.percent)]);
    const headers = ['1K-blocks', 'Used', 'Available', 'Use%'];
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    lines.push(`${'Filesystem'.padEnd(width0)} ${headers.map((h, i) => h.padStart(widths[i])).join(' ')} Mounted on`);
    rows.forEach((r, j) => {
      const c = cells[j];
      lines.push(`${r.m.device.padEnd(width0)} ${c[0].padStart(widths[0])} ${c[1].padStart(widths[1])} ${c[2].padStart(widths[2])} ${c[3].padStart(widths[3] - 1)}% ${r.m.dir}`);
    });
  }
  if (rows.length) ctx.stdout.write(`${lines.join('\n')}\n`);
  return status;
};

const find: Command = async (ctx) => {
  const argv = ctx.argv.slice(1);
  const starts: string[] = [];
  while (argv.length && !argv[0].startsWith('-') && argv[0] !== '!' && argv[0] !== '(') starts.push(argv.shift()!);
  const tests: ((name: string, node: FsNode, depth: number) => boolean)[] = [];
  let maxDepth = Infinity;
  let minDepth = 0;
  let negate = false;
  while (argv.length) {
    const arg = argv.shift()!;
    const value = () => {
      const v = argv.shift();
      if (v === undefined) throw new Error(`'${arg}' needs 1 arg`);
      return v;
    };
    let test: ((name: string, node: FsNode, depth: number) => boolean) | undefined;
    try {
      if (arg === '!' || arg === '-not') {
        negate = !negate;
        continue;
      } else if (arg === '-name' || arg === '-iname') {
        const re = wildcard(value(), arg === '-iname');
        test = (name) => re.test(name);
      } else if (arg === '-type') {
        const t = value();
        const type = { f: 'file', d: 'dir', l: 'link', c: 'chr' }[t];
        if (!type) return fail(ctx, `bad -type '${t}'`);
        test = (_name, node) => node.type === type;
      } else if (arg === '-maxdepth') {
        maxDepth = Number(value());
        continue;
      } else if (arg === '-mindepth') {
        minDepth = Number(value());
        continue;
      } else if (arg === '-print' || arg === '-a' || arg === '-and') {
        continue;
      } else {
        return fail(ctx, `Unknown option '${arg}'`);
      }
    } catch (err) {
      return fail(ctx, (err as Error).message);
    }
    const inverted = negate;
    tests.push(inverted ? (n, node, d) => !test(n, node, d) : test);
    negate = false;
  }
  const fs = ctx.shell.device.fs;
  const cred = ctx.shell.cred;
  let status = 0;
  const visit = async (path: string, shown: string, depth: number): Promise<void> => {
    await ctx.shell.budget.tick();
    const { node } = fs.lstat(path, cred);
    if (depth >= minDepth && tests.every((t) => t(baseName(shown), node, depth))) ctx.stdout.write(`${shown}\n`);
    if (node.type !== 'dir' || depth >= maxDepth) return;
    let names: string[];
    try {
      names = fs.readdir(path, cred);
    } catch (err) {
      status = report(ctx, shown, err);
      return;
    }
    for (const name of names) await visit(joinPath(path, name), shown.endsWith('/') ? `${shown}${name}` : `${shown}/${name}`, depth + 1);
  };
  for (const start of starts.length ? starts : ['.']) {
    try {
      await visit(ctx.shell.path(start), start, 0);
    } catch (err) {
      status = report(ctx, start, err);
    }
  }
  return status;
};

export const FILE_COMMANDS: Record<string, Command> = { ls, cat, stat, du, df, find, md5sum };
