// Text commands on files or stdin: echo, wc, head, tail, grep, sort, uniq.
import type { Command, CommandContext } from '../command.ts';
import { eachInput, fail, options } from '../options.ts';
import { compileRegex, RegexError, type ShellRegex } from '../regex.ts';

/** Lines of a text without the final newline's empty remainder. */
function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

/** `head -5` is `head -n 5`. */
function numericShorthand(ctx: CommandContext): CommandContext {
  return { ...ctx, argv: ctx.argv.flatMap((a, i) => (i > 0 && /^-\d+$/.test(a) ? ['-n', a.slice(1)] : [a])) };
}

const echo: Command = (ctx) => {
  const args = ctx.argv.slice(1);
  let newline = true;
  let escapes = false;
  while (args.length && /^-[neE]+$/.test(args[0])) {
    const flag = args.shift()!;
    if (flag.includes('n')) newline = false;
    if (flag.includes('e')) escapes = true;
    if (flag.includes('E')) escapes = false;
  }
  let text = args.join(' ');
  if (escapes) {
    const cut = text.indexOf('\\c');
    if (cut >= 0) {
      text = text.slice(0, cut);
      newline = false;
    }
    text = text.replace(/\\([\\abfnrtv]|0[0-7]{0,3})/g, (_, e: string) =>
      e.startsWith('0') ? String.fromCharCode(parseInt(e, 8) || 0) : ({ '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' })[e]!,
    );
  }
  ctx.stdout.write(newline ? `${text}\n` : text);
  return 0;
};

const wc: Command = async (ctx) => {
  const opts = options(ctx, 'lwcm');
  if (!opts) return 1;
  const chosen = ['l', 'w', 'c'].filter((f) => opts.flags.has(f) || (f === 'c' && opts.flags.has('m')));
  const show = chosen.length ? chosen : ['l', 'w', 'c'];
  const totals = { l: 0, w: 0, c: 0 };
  const print = (counts: typeof totals, name: string | undefined) =>
    ctx.stdout.write(`${show.map((f) => counts[f as keyof typeof totals]).join(' ')}${name ? ` ${name}` : ''}\n`);
  const ok = await eachInput(ctx, opts.args, (name, data) => {
    const text = data.toString('utf8');
    const counts = {
      l: (text.match(/\n/g) ?? []).length,
      w: (text.match(/\S+/g) ?? []).length,
      c: opts.flags.has('m') ? [...text].length : data.length,
    };
    for (const k of ['l', 'w', 'c'] as const) totals[k] += counts[k];
    print(counts, opts.args.length ? name : undefined);
  });
  if (opts.args.length > 1) print(totals, 'total');
  return ok ? 0 : 1;
};

function headOrTail(tail: boolean): Command {
  return async (ctx) => {
    const opts = options(numericShorthand(ctx), 'n:c:qv');
    if (!opts) return 1;
    const count = opts.values.get('n') ?? '10';
    const bytes = opts.values.get('c');
    let index = 0;
    const ok = await eachInput(ctx, opts.args, (name, data) => {
      if (opts.args.length > 1) ctx.stdout.write(`${index++ > 0 ? '\n' : ''}==> ${name} <==\n`);
      if (bytes !== undefined) {
        const n = Number(bytes);
        ctx.stdout.write(tail ? data.subarray(Math.max(0, data.length - n)) : data.subarray(0, n));
        return;
      }
      const text = data.toString('utf8');
      const all = lines(text);
      const n = Number(count.replace(/^[+-]/, ''));
      const picked = !tail ? all.slice(0, n) : count.startsWith('+') ? all.slice(Math.max(0, n - 1)) : all.slice(Math.max(0, all.length - n));
      const keepsLastNewline = text.endsWith('\n') || picked[picked.length - 1] !== all[all.length - 1];
      if (picked.length) ctx.stdout.write(picked.join('\n') + (keepsLastNewline ? '\n' : ''));
    });
    return ok ? 0 : 1;
  };
}

const grep: Command = async (ctx) => {
  const opts = options(ctx, 'ivcnlqEFwHhe:o');
  if (!opts) return 2;
  const { flags } = opts;
  const args = [...opts.args];
  const pattern = opts.values.get('e') ?? args.shift();
  if (pattern === undefined) {
    fail(ctx, 'no pattern');
    return 2;
  }
  let regex: ShellRegex;
  try {
    regex = compileRegex(pattern, { extended: flags.has('E'), fixed: flags.has('F'), ignoreCase: flags.has('i'), word: flags.has('w') });
  } catch (err) {
    if (!(err instanceof RegexError)) throw err;
    // toybox's xregcomp: "bad regex 'PATTERN': regerror's words".
    fail(ctx, `bad regex '${pattern}': ${err.message}`);
    return 2;
  }
  const prefixNames = (args.length > 1 || flags.has('H')) && !flags.has('h');
  const budget = ctx.shell.budget;
  let matched = false;
  const ok = await eachInput(ctx, args, async (name, data) => {
    const shown = name === '-' ? '(standard input)' : name;
    const all = lines(data.toString('utf8'));
    const showMatches = flags.has('o') && !flags.has('v');
    const found = showMatches ? await regex.matches(all, budget) : await regex.test(all, budget);
    let count = 0;
    for (const [i, line] of all.entries()) {
      const hit = showMatches ? (found[i] as string[]).length > 0 : (found[i] as boolean);
      if (hit === flags.has('v')) continue;
      count++;
      matched = true;
      if (flags.has('c') || flags.has('l') || flags.has('q')) continue;
      const prefix = `${prefixNames ? `${shown}:` : ''}${flags.has('n') ? `${i + 1}:` : ''}`;
      if (showMatches) for (const m of found[i] as string[]) ctx.stdout.write(`${prefix}${m}\n`);
      else ctx.stdout.write(`${prefix}${line}\n`);
    }
    if (flags.has('q')) return;
    if (flags.has('c')) ctx.stdout.write(`${prefixNames ? `${shown}:` : ''}${count}\n`);
    else if (flags.has('l') && count) ctx.stdout.write(`${shown}\n`);
  });
  if (!ok && !flags.has('q')) return 2;
  return matched ? 0 : 1;
};

const sort: Command = async (ctx) => {
  const opts = options(ctx, 'rnufb');
  if (!opts) return 1;
  const { flags } = opts;
  const all: string[] = [];
  const ok = await eachInput(ctx, opts.args, (_name, data) => {
    all.push(...lines(data.toString('utf8')));
  });
  const key = (s: string) => (flags.has('b') ? s.trimStart() : s);
  const byText = (a: string, b: string) => {
    const [x, y] = flags.has('f') ? [key(a).toUpperCase(), key(b).toUpperCase()] : [key(a), key(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  };
  const compare = flags.has('n')
    ? (a: string, b: string) => (parseFloat(a) || 0) - (parseFloat(b) || 0) || byText(a, b)
    : byText;
  all.sort((a, b) => (flags.has('r') ? -compare(a, b) : compare(a, b)));
  const out = flags.has('u') ? all.filter((line, i) => i === 0 || compare(all[i - 1], line) !== 0) : all;
  if (out.length) ctx.stdout.write(`${out.join('\n')}\n`);
  return ok ? 0 : 1;
};

const uniq: Command = async (ctx) => {
  const opts = options(ctx, 'cdui');
  if (!opts) return 1;
  const { flags } = opts;
  let text = '';
  if (!(await eachInput(ctx, opts.args.slice(0, 1), (_name, data) => {
    text = data.toString('utf8');
  }))) return 1;
  const same = (a: string, b: string) => (flags.has('i') ? a.toLowerCase() === b.toLowerCase() : a === b);
  const groups: { line: string; count: number }[] = [];
  for (const line of lines(text)) {
    const last = groups[groups.length - 1];
    if (last && same(last.line, line)) last.count++;
    else groups.push({ line, count: 1 });
  }
  for (const { line, count } of groups) {
    if ((flags.has('d') && count === 1) || (flags.has('u') && count > 1)) continue;
    ctx.stdout.write(flags.has('c') ? `${String(count).padStart(7)} ${line}\n` : `${line}\n`);
  }
  return 0;
};

export const TEXT_COMMANDS: Record<string, Command> = {
  echo, wc, head: headOrTail(false), tail: headOrTail(true), grep, sort, uniq,
};
