// Tenant-supplied patterns (grep's regular expressions, shell and `find` wildcards) run on RE2 (re2js),
// whose matching time is linear in the text: no pattern can backtrack for ever, as `^(a+)+$` does in
// JavaScript's engine. POSIX basic and extended syntax, as toybox hands it to bionic's regcomp, is
// translated to RE2's; matches are leftmost-longest as POSIX wants. RE2 cannot match backreferences
// (`\(a\)\1`): such a pattern is refused as bionic refuses a bad one. Linear is not cheap: the cost is
// the text's length times the program's size, so a text too long to match within a few milliseconds is
// matched in a worker thread, and the command's time limit ends that worker.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { RE2JS } from 're2js';
import { CommandAborted, OutOfMemory, TIME_LIMIT_PASSED, type Budget } from './limits.ts';

/** Pattern bytes compiled at most (an argument of Linux's exec may hold 128 KiB; bionic runs out of memory far sooner). */
const MAX_PATTERN_BYTES = 8 * 1024;
/** Program size at most: `(a?){255}…` style patterns compile to thousands of instructions. */
const MAX_INSTRUCTIONS = 20_000;
/** Text length × program size matched on the event loop (about 3 ms at worst); longer goes to a worker. */
const INLINE_MATCH_STEPS = 250_000;
/** Repetition counts bionic accepts (RE_DUP_MAX). */
const RE_DUP_MAX = 255;
/** No file name is longer on Android's file systems (NAME_MAX); longer wildcards match nothing. */
const NAME_MAX = 255;
const MAX_WILDCARD_LENGTH = 4096;
/** Memory of a matching worker, in MB. */
const WORKER_HEAP_MB = 128;

/** A pattern bionic's regcomp would refuse; the message is regerror's. */
export class RegexError extends Error {}

const ERRORS = {
  paren: 'parentheses not balanced',
  bracket: 'brackets ([ ]) not balanced',
  brace: 'braces not balanced',
  badbr: 'invalid repetition count(s)',
  badrpt: 'repetition-operator operand invalid',
  range: 'invalid character range',
  ctype: 'invalid character class',
  collate: 'invalid collating element',
  escape: 'trailing backslash (\\)',
  subreg: 'invalid backreference number',
  space: 'out of memory',
  badpat: 'invalid regular expression',
} as const;

const CLASSES = new Set(['alnum', 'alpha', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'xdigit']);
/** GNU escapes bionic's regcomp also knows, in RE2's spelling (`\<`, `\>` become word boundaries). */
const GNU_ESCAPES: Record<string, string> = { '<': '\\b', '>': '\\b', b: '\\b', B: '\\B', w: '\\w', W: '\\W', s: '\\s', S: '\\S' };

export interface RegexOptions {
  /** `-E`: extended syntax; otherwise basic. */
  extended?: boolean;
  /** `-F`: the pattern is a fixed string. */
  fixed?: boolean;
  ignoreCase?: boolean;
  /** `-w`: matches only whole words. */
  word?: boolean;
}

/** grep's pattern (newlines separate alternatives, as in toybox), compiled; throws RegexError. */
export function compileRegex(pattern: string, options: RegexOptions = {}): ShellRegex {
  if (Buffer.byteLength(pattern) > MAX_PATTERN_BYTES) throw new RegexError(ERRORS.space);
  const alternatives = pattern.split('\n').map((one) => (options.fixed ? RE2JS.quote(one) : translate(one, options.extended ?? false)));
  let source = alternatives.length === 1 ? alternatives[0] : alternatives.map((a) => `(?:${a})`).join('|');
  if (options.word) source = `\\b(?:${source})\\b`;
  return new ShellRegex(source, RE2JS.LONGEST_MATCH | (options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0));
}

/** A shell wildcard (`*`, `?`, `[…]`, `\` escapes) matching whole names. */
export function wildcard(pattern: string, ignoreCase = false): { test(name: string): boolean } {
  if (pattern.length > MAX_WILDCARD_LENGTH) return { test: () => false };
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const bracket = tryBracket(pattern, i, true);
      if (bracket) {
        source += bracket.source;
        i = bracket.end;
      } else source += literal(c);
    } else if (c === '\\' && i + 1 < pattern.length) source += literal(pattern[++i]);
    else source += literal(c);
  }
  let regex: RE2JS;
  try {
    regex = compile(source, RE2JS.DOTALL | (ignoreCase ? RE2JS.CASE_INSENSITIVE : 0));
  } catch (err) {
    // fnmatch fails such a pattern: it matches nothing.
    if (err instanceof RegexError) return { test: () => false };
    throw err;
  }
  return { test: (name) => Buffer.byteLength(name) <= NAME_MAX && regex.testExact(name) };
}

/** A compiled pattern; matching yields to the event loop and stops when the command's budget does. */
export class ShellRegex {
  private readonly regex: RE2JS;
  private readonly instructions: number;

  constructor(
    private readonly source: string,
    private readonly flags: number,
  ) {
    this.regex = compile(source, flags);
    this.instructions = this.regex.re2().numberOfInstructions();
    if (this.instructions > MAX_INSTRUCTIONS) throw new RegexError(ERRORS.space);
  }

  /** Whether each text holds a match. */
  test(texts: string[], budget: Budget): Promise<boolean[]> {
    return this.scan(texts, false, budget) as Promise<boolean[]>;
  }

  /** The non-empty matches in each text, left to right (`grep -o`). */
  matches(texts: string[], budget: Budget): Promise<string[][]> {
    return this.scan(texts, true, budget) as Promise<string[][]>;
  }

  private async scan(texts: string[], all: boolean, budget: Budget): Promise<Array<boolean | string[]>> {
    const results: Array<boolean | string[]> = new Array(texts.length);
    const long: number[] = [];
    for (const [i, text] of texts.entries()) {
      if (text.length * this.instructions > INLINE_MATCH_STEPS) {
        long.push(i);
        continue;
      }
      results[i] = all ? matchesOf(this.regex, text) : this.regex.test(text);
      await budget.tick();
    }
    if (long.length) {
      const found = await inWorker({ source: this.source, flags: this.flags, texts: long.map((i) => texts[i]), all }, budget);
      long.forEach((index, j) => (results[index] = found[j]));
    }
    return results;
  }
}

function matchesOf(regex: RE2JS, text: string): string[] {
  const found: string[] = [];
  for (const match of regex.matchAll(text)) if (match[0]) found.push(match[0]);
  return found;
}

function compile(source: string, flags: number): RE2JS {
  try {
    return RE2JS.compile(source, flags);
  } catch (err) {
    throw new RegexError(re2Error(err));
  }
}

/** regerror's words for what RE2 found wrong. */
function re2Error(err: unknown): string {
  const description = (err as { error?: string }).error ?? '';
  if (/closing \)|unexpected \)/.test(description)) return ERRORS.paren;
  if (description.includes('closing ]')) return ERRORS.bracket;
  if (description.includes('repeat count')) return ERRORS.badbr;
  if (description.includes('repetition')) return ERRORS.badrpt;
  if (description.includes('range')) return ERRORS.range;
  if (/too large|too deeply/.test(description)) return ERRORS.space;
  return ERRORS.badpat;
}

/** A POSIX basic or extended regular expression in RE2's syntax. */
function translate(pattern: string, extended: boolean): string {
  let out = '';
  // Where a `*` (basic) has nothing to repeat and is an ordinary character, or (extended) is an error.
  let atStart = true;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const wasStart = atStart;
    atStart = false;
    if (c === '[') {
      const bracket = tryBracket(pattern, i, false);
      if (!bracket) throw new RegexError(ERRORS.bracket);
      out += bracket.source;
      i = bracket.end;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= pattern.length) throw new RegexError(ERRORS.escape);
      const next = pattern[++i];
      if (/[1-9]/.test(next)) throw new RegexError(ERRORS.subreg);
      if (!extended && next === '(') {
        out += '(';
        atStart = true;
      } else if (!extended && next === ')') out += ')';
      else if (!extended && next === '|') {
        out += '|';
        atStart = true;
      } else if (!extended && (next === '+' || next === '?')) out += repeat(next, wasStart, extended);
      else if (!extended && next === '{') {
        const interval = readInterval(pattern, i + 1, '\\}');
        if (wasStart) throw new RegexError(ERRORS.badrpt);
        out += interval.source;
        i = interval.end;
      } else out += GNU_ESCAPES[next] ?? literal(next);
      continue;
    }
    if (extended) {
      if (c === '(' || c === '|') {
        out += c;
        atStart = true;
      } else if (c === ')' || c === '.' || c === '^' || c === '$') out += c;
      else if (c === '*' || c === '+' || c === '?') out += repeat(c, wasStart, extended);
      else if (c === '{' && /^\d/.test(pattern.slice(i + 1, i + 2))) {
        if (wasStart) throw new RegexError(ERRORS.badrpt);
        const interval = readInterval(pattern, i + 1, '}');
        out += interval.source;
        i = interval.end;
      } else out += literal(c);
      continue;
    }
    // Basic: `^` anchors only first, `$` only last (of the pattern or of a group), `*` first is literal.
    if (c === '^' && wasStart) {
      out += '^';
      atStart = true;
    } else if (c === '$' && (i === pattern.length - 1 || pattern.startsWith('\\)', i + 1) || pattern.startsWith('\\|', i + 1))) out += '$';
    else if (c === '.') out += '.';
    else if (c === '*') out += wasStart ? '\\*' : '*';
    else out += literal(c);
  }
  return out;
}

function repeat(op: string, wasStart: boolean, extended: boolean): string {
  if (!wasStart) return op;
  if (extended) throw new RegexError(ERRORS.badrpt);
  return literal(op);
}

/** `{m}`, `{m,}`, `{m,n}` from `start` (just after the brace) to `close`. */
function readInterval(pattern: string, start: number, close: string): { source: string; end: number } {
  const stop = pattern.indexOf(close, start);
  if (stop < 0) throw new RegexError(ERRORS.brace);
  const body = /^(\d+)(,(\d*))?$/.exec(pattern.slice(start, stop));
  if (!body) throw new RegexError(ERRORS.badbr);
  const min = Number(body[1]);
  const max = body[3] ? Number(body[3]) : body[2] ? Infinity : min;
  if (min > RE_DUP_MAX || (max !== Infinity && (max > RE_DUP_MAX || max < min))) throw new RegexError(ERRORS.badbr);
  return { source: `{${min}${body[2] ? `,${body[3]}` : ''}}`, end: stop + close.length - 1 };
}

/**
 * A bracket expression at `start` in RE2's syntax, and the index of its `]`; undefined when it has none.
 * POSIX rules: `]` first is literal, backslash is literal, `[:class:]`, `[=c=]`, `[.c.]`; a wildcard
 * also negates with `!`.
 */
function tryBracket(pattern: string, start: number, isWildcard: boolean): { source: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === '^' || (isWildcard && pattern[i] === '!')) {
    negate = true;
    i++;
  }
  let items = '';
  let first = true;
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === ']' && !first) return { source: `[${negate ? '^' : ''}${items}]`, end: i };
    first = false;
    let low = c;
    if (c === '[' && ':=.'.includes(pattern[i + 1] ?? '')) {
      const kind = pattern[i + 1];
      const close = pattern.indexOf(`${kind}]`, i + 2);
      if (close < 0) return undefined;
      const name = pattern.slice(i + 2, close);
      i = close + 1;
      if (kind === ':') {
        if (!CLASSES.has(name)) throw new RegexError(ERRORS.ctype);
        items += `[:${name}:]`;
        continue;
      }
      if ([...name].length !== 1) throw new RegexError(ERRORS.collate);
      low = name;
    }
    if (pattern[i + 1] === '-' && pattern[i + 2] !== undefined && pattern[i + 2] !== ']') {
      const high = pattern[i + 2];
      if (high < low) throw new RegexError(ERRORS.range);
      items += `${classLiteral(low)}-${classLiteral(high)}`;
      i += 2;
    } else items += classLiteral(low);
  }
  return undefined;
}

function literal(c: string): string {
  return /[\\.+*?()|[\]{}^$]/.test(c) ? `\\${c}` : c;
}

function classLiteral(c: string): string {
  return /[\\\]\[^-]/.test(c) ? `\\${c}` : c;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { RE2JS } = require(workerData.re2js);
parentPort.once('message', ({ source, flags, texts, all }) => {
  const regex = RE2JS.compile(source, flags);
  parentPort.postMessage(texts.map((text) => all ? [...regex.matchAll(text)].map((m) => m[0]).filter(Boolean) : regex.test(text)));
});`;

/** re2js's CommonJS build, which a worker loads (from source and from the bundle alike). */
const RE2JS_PATH = createRequire(import.meta.url).resolve('re2js');

/** Matching workers running at once, whatever the number of commands wanting one; the others wait their turn. */
const MAX_WORKERS = 2;
let workersRunning = 0;
const waitingForWorker: Array<() => void> = [];

/** Waits (using no CPU; the time limit still applies) until fewer than MAX_WORKERS workers run. */
async function workerTurn(budget: Budget): Promise<void> {
  budget.check();
  if (workersRunning < MAX_WORKERS) {
    workersRunning++;
    return;
  }
  const signal = budget.signal;
  let handedOver = false;
  const turn = () => {
    handedOver = true;
    signal.removeEventListener('abort', leave);
    resolveTurn();
  };
  let resolveTurn = () => {};
  const leave = () => {
    waitingForWorker.splice(waitingForWorker.indexOf(turn), 1);
    resolveTurn();
  };
  waitingForWorker.push(turn);
  signal.addEventListener('abort', leave, { once: true });
  try {
    await budget.idle(new Promise<void>((resolve) => (resolveTurn = resolve)));
  } catch (err) {
    if (handedOver) endTurn();
    throw err;
  }
}

/** A finished worker's turn goes to the first command waiting. */
function endTurn(): void {
  const next = waitingForWorker.shift();
  if (next) next();
  else workersRunning--;
}

/**
 * Matches texts in a worker of its own, ended when the command's time limit passes or its CPU budget runs
 * out (a worker is never shared: ending it stops nobody else's work).
 */
async function inWorker(job: { source: string; flags: number; texts: string[]; all: boolean }, budget: Budget): Promise<Array<boolean | string[]>> {
  await workerTurn(budget);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { re2js: RE2JS_PATH },
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  });
  let timer: NodeJS.Timeout | undefined;
  let stop = () => {};
  try {
    // The worker's time is this command's CPU time: check() after it counts it.
    return await new Promise<Array<boolean | string[]>>((resolve, reject) => {
      stop = () => reject(new CommandAborted(TIME_LIMIT_PASSED));
      timer = setTimeout(() => reject(new CommandAborted(budget.cpuSpent)), budget.remainingCpuMs());
      budget.signal.addEventListener('abort', stop, { once: true });
      if (budget.signal.aborted) stop();
      worker.once('message', resolve);
      worker.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new OutOfMemory() : err));
      worker.postMessage(job);
    });
  } finally {
    clearTimeout(timer);
    budget.signal.removeEventListener('abort', stop);
    void worker.terminate();
    endTurn();
    budget.check();
  }
}
