// What the commands share: toybox-style option parsing (single-letter flags that combine (`-la`), options
// anywhere among the operands, `--` to end them, letters followed by `:` in the spec taking a value (`-n 5`,
// `-n5`)), their failure messages and the reading of their input files.
import { FsError } from '../fs-nodes.ts';
import type { CommandContext } from './command.ts';

export interface Parsed {
  flags: Set<string>;
  values: Map<string, string>;
  args: string[];
}

/** Parses `ctx.argv`; on an unknown option prints toybox's complaint and returns undefined. */
export function options(ctx: CommandContext, spec: string): Parsed | undefined {
  const takesValue = new Set<string>();
  const known = new Set<string>();
  for (let i = 0; i < spec.length; i++) {
    known.add(spec[i]);
    if (spec[i + 1] === ':') takesValue.add(spec[i++]);
  }
  const parsed: Parsed = { flags: new Set(), values: new Map(), args: [] };
  const argv = ctx.argv.slice(1);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      parsed.args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      parsed.args.push(arg);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j];
      if (!known.has(letter)) {
        ctx.stderr.write(`${ctx.argv[0]}: Unknown option '${letter}' (see "${ctx.argv[0]} --help")\n`);
        return undefined;
      }
      if (takesValue.has(letter)) {
        const value = arg.slice(j + 1) || argv[++i];
        if (value === undefined) {
          ctx.stderr.write(`${ctx.argv[0]}: Missing argument to -${letter}\n`);
          return undefined;
        }
        parsed.values.set(letter, value);
        break;
      }
      parsed.flags.add(letter);
    }
  }
  return parsed;
}

/** Writes `cmd: message` to stderr and returns 1, the usual failure of a toybox command. */
export function fail(ctx: CommandContext, message: string): number {
  ctx.stderr.write(`${ctx.argv[0]}: ${message}\n`);
  return 1;
}

/** Prints `cmd: path: error` (toybox quotes the path for some commands) for file-system errors. */
export function report(ctx: CommandContext, path: string, err: unknown, quote = false): number {
  if (!(err instanceof FsError)) throw err;
  return fail(ctx, `${quote ? `'${path}'` : path}: ${err.message}`);
}

/**
 * Calls `use` with the content of each named file in order ('-' or no names: stdin). A file that cannot
 * be read is reported as `cmd: name: error` and skipped; returns whether every file could be read.
 */
export async function eachInput(ctx: CommandContext, names: string[], use: (name: string, data: Buffer) => void | Promise<void>): Promise<boolean> {
  let ok = true;
  for (const name of names.length ? names : ['-']) {
    if (name === '-') {
      await use(name, ctx.stdin);
      continue;
    }
    let data: Buffer;
    try {
      data = await ctx.shell.readFile(ctx.shell.path(name));
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      fail(ctx, `${name}: ${err.message}`);
      ok = false;
      continue;
    }
    await use(name, data);
  }
  return ok;
}
