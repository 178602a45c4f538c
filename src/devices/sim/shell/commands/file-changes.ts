// File commands that change files, formatted as Android's toybox prints them: cp, mv, rm, mkdir, rmdir,
// touch, ln, chmod.
import { absolutePath, baseName, FsError, joinPath, type Stat } from '../../fs-nodes.ts';
import type { Command, CommandContext } from '../command.ts';
import { fail, options, report } from '../options.ts';

/** Where `source` goes for cp/mv: into `dest` when it is a directory. */
function destination(ctx: CommandContext, source: string, dest: string): string {
  const fs = ctx.shell.device.fs;
  const target = ctx.shell.path(dest);
  try {
    if (fs.stat(target, ctx.shell.cred).node.type === 'dir') return joinPath(target, baseName(absolutePath(ctx.shell.cwd, source)));
  } catch {
    // A missing destination is the new name.
  }
  return target;
}

function sourcesAndDest(ctx: CommandContext, args: string[]): { sources: string[]; dest: string } | undefined {
  if (args.length < 2) {
    fail(ctx, 'Needs 2 arguments');
    return undefined;
  }
  const dest = args[args.length - 1];
  const sources = args.slice(0, -1);
  const fs = ctx.shell.device.fs;
  if (sources.length > 1) {
    let isDir = false;
    try {
      isDir = fs.stat(ctx.shell.path(dest), ctx.shell.cred).node.type === 'dir';
    } catch {
      // handled below
    }
    if (!isDir) {
      fail(ctx, `'${dest}' not directory`);
      return undefined;
    }
  }
  return { sources, dest };
}

const cp: Command = async (ctx) => {
  const opts = options(ctx, 'rRpfaH');
  if (!opts) return 1;
  const recursive = opts.flags.has('r') || opts.flags.has('R') || opts.flags.has('a');
  const preserve = opts.flags.has('p') || opts.flags.has('a');
  const plan = sourcesAndDest(ctx, opts.args);
  if (!plan) return 1;
  const fs = ctx.shell.device.fs;
  const cred = ctx.shell.cred;
  let status = 0;
  const copy = async (from: string, to: string, shown: string): Promise<void> => {
    await ctx.shell.budget.tick();
    const { node } = fs.stat(from, cred);
    if (node.type !== 'dir') {
      await fs.copyFile(from, to, cred, preserve);
      return;
    }
    if (!recursive) {
      status = fail(ctx, `Skipped dir '${shown}'`);
      return;
    }
    if (to === from || to.startsWith(`${from}/`)) {
      status = fail(ctx, `'${shown}' is '${to}'`);
      return;
    }
    if (!fs.exists(to, cred)) fs.mkdir(to, cred, node.mode);
    for (const name of fs.readdir(from, cred)) await copy(joinPath(from, name), joinPath(to, name), `${shown}/${name}`);
  };
  for (const source of plan.sources) {
    try {
      await copy(ctx.shell.path(source), destination(ctx, source, plan.dest), source);
    } catch (err) {
      status = report(ctx, source, err, true);
    }
  }
  return status;
};

const mv: Command = async (ctx) => {
  const opts = options(ctx, 'fin');
  if (!opts) return 1;
  const plan = sourcesAndDest(ctx, opts.args);
  if (!plan) return 1;
  let status = 0;
  for (const source of plan.sources) {
    try {
      await ctx.shell.device.fs.rename(ctx.shell.path(source), destination(ctx, source, plan.dest), ctx.shell.cred);
    } catch (err) {
      status = report(ctx, source, err, true);
    }
  }
  return status;
};

const rm: Command = async (ctx) => {
  const opts = options(ctx, 'fiRr');
  if (!opts) return 1;
  const force = opts.flags.has('f');
  const recursive = opts.flags.has('r') || opts.flags.has('R');
  if (opts.args.length === 0 && !force) return fail(ctx, 'Needs 1 argument');
  const fs = ctx.shell.device.fs;
  const cred = ctx.shell.cred;
  let status = 0;
  const remove = async (path: string, shown: string): Promise<boolean> => {
    await ctx.shell.budget.tick();
    let stat: Stat;
    try {
      stat = fs.lstat(path, cred);
    } catch (err) {
      if (!(force && err instanceof FsError && err.code === 'ENOENT')) status = report(ctx, shown, err);
      return false;
    }
    if (stat.node.type === 'dir') {
      if (!recursive) {
        status = report(ctx, shown, new FsError('EISDIR'));
        return false;
      }
      let names: string[] = [];
      try {
        names = fs.readdir(path, cred);
      } catch (err) {
        status = report(ctx, shown, err);
        return false;
      }
      let emptied = true;
      for (const name of names) emptied = (await remove(joinPath(path, name), name)) && emptied;
      if (!emptied) return false;
    }
    try {
      fs.remove(path, cred, stat.node.type === 'dir');
      return true;
    } catch (err) {
      status = report(ctx, shown, err);
      return false;
    }
  };
  for (const arg of opts.args) {
    if (ctx.shell.path(arg) === '/') {
      status = fail(ctx, 'rm /. if you mean it');
      continue;
    }
    await remove(ctx.shell.path(arg), arg);
  }
  return status;
};

const mkdir: Command = (ctx) => {
  const opts = options(ctx, 'pm:v');
  if (!opts) return 1;
  if (opts.args.length === 0) return fail(ctx, 'Needs 1 argument');
  const mode = opts.values.has('m') ? parseInt(opts.values.get('m')!, 8) : 0o777;
  const fs = ctx.shell.device.fs;
  let status = 0;
  for (const arg of opts.args) {
    try {
      if (opts.flags.has('p')) fs.mkdirs(ctx.shell.path(arg), ctx.shell.cred, mode);
      else fs.mkdir(ctx.shell.path(arg), ctx.shell.cred, mode);
    } catch (err) {
      status = report(ctx, arg, err, true);
    }
  }
  return status;
};

const rmdir: Command = (ctx) => {
  const opts = options(ctx, 'p');
  if (!opts) return 1;
  let status = 0;
  for (const arg of opts.args) {
    try {
      ctx.shell.device.fs.remove(ctx.shell.path(arg), ctx.shell.cred, true);
    } catch (err) {
      status = report(ctx, arg, err, true);
    }
  }
  return status;
};

const touch: Command = async (ctx) => {
  const opts = options(ctx, 'acmht:d:');
  if (!opts) return 1;
  if (opts.args.length === 0) return fail(ctx, 'Needs 1 argument');
  const fs = ctx.shell.device.fs;
  const now = ctx.shell.device.now();
  let status = 0;
  for (const arg of opts.args) {
    const path = ctx.shell.path(arg);
    try {
      if (fs.exists(path, ctx.shell.cred)) fs.touch(path, ctx.shell.cred, now);
      else if (!opts.flags.has('c')) await fs.writeFile(path, Buffer.alloc(0), ctx.shell.cred);
    } catch (err) {
      status = report(ctx, arg, err, true);
    }
  }
  return status;
};

const ln: Command = (ctx) => {
  const opts = options(ctx, 'sfnv');
  if (!opts) return 1;
  if (!opts.flags.has('s')) return fail(ctx, 'hard links are not supported; use -s');
  if (opts.args.length !== 2) return fail(ctx, 'Needs 2 arguments');
  const [target, name] = opts.args;
  const fs = ctx.shell.device.fs;
  let path = ctx.shell.path(name);
  try {
    if (fs.exists(path, ctx.shell.cred) && fs.stat(path, ctx.shell.cred).node.type === 'dir' && !opts.flags.has('n')) {
      path = joinPath(fs.realPath(path, ctx.shell.cred), baseName(target));
    }
    if (opts.flags.has('f') && fs.exists(path, ctx.shell.cred)) fs.remove(path, ctx.shell.cred, false);
    fs.symlink(target, path, ctx.shell.cred);
    return 0;
  } catch (err) {
    return report(ctx, name, err, true);
  }
};

const chmod: Command = async (ctx) => {
  const opts = options(ctx, 'Rfv');
  if (!opts) return 1;
  const [spec, ...paths] = opts.args;
  if (!spec || paths.length === 0) return fail(ctx, 'Needs 2 arguments');
  const fs = ctx.shell.device.fs;
  let status = 0;
  const apply = async (path: string, shown: string): Promise<void> => {
    await ctx.shell.budget.tick();
    try {
      const { node } = fs.stat(path, ctx.shell.cred);
      const mode = applyMode(node.mode, spec);
      if (mode === undefined) {
        status = fail(ctx, `bad mode '${spec}'`);
        return;
      }
      fs.chmod(path, mode, ctx.shell.cred);
      if (opts.flags.has('R') && node.type === 'dir') {
        for (const name of fs.readdir(path, ctx.shell.cred)) await apply(joinPath(path, name), `${shown}/${name}`);
      }
    } catch (err) {
      status = report(ctx, shown, err, true);
    }
  };
  for (const p of paths) await apply(ctx.shell.path(p), p);
  return status;
};

/** An octal mode, or symbolic clauses like `u+x,go-w`. */
function applyMode(current: number, spec: string): number | undefined {
  if (/^[0-7]{1,4}$/.test(spec)) return parseInt(spec, 8);
  let mode = current;
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)([+=-])([rwxst]*)$/.exec(clause);
    if (!m) return undefined;
    const who = m[1] === '' || m[1].includes('a') ? 'ugo' : m[1];
    let bits = 0;
    for (const w of who) {
      const shift = { u: 6, g: 3, o: 0 }[w as 'u' | 'g' | 'o'];
      for (const p of m[3]) {
        if (p === 'r') bits |= 4 << shift;
        if (p === 'w') bits |= 2 << shift;
        if (p === 'x') bits |= 1 << shift;
        if (p === 's' && w !== 'o') bits |= w === 'u' ? 0o4000 : 0o2000;
        if (p === 't') bits |= 0o1000;
      }
    }
    if (m[2] === '+') mode |= bits;
    else if (m[2] === '-') mode &= ~bits;
    else {
      let mask = 0;
      for (const w of who) mask |= 0o7 << { u: 6, g: 3, o: 0 }[w as 'u' | 'g' | 'o'];
      mode = (mode & ~mask) | bits;
    }
  }
  return mode;
}

export const FILE_CHANGE_COMMANDS: Record<string, Command> = { cp, mv, rm, mkdir, rmdir, touch, ln, chmod };
