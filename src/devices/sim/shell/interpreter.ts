// One file past 400 lines: expansion, redirections and the runner of scripts call one another (a command
// substitution runs a script, a script expands words), so they are one class.
// Runs parsed shell scripts on a simulated phone: expansion (variables, command substitution, field
// splitting, globs), redirections, pipelines (each stage runs to completion before the next reads its
// output), `&&`/`||`, exit statuses and mksh's error messages. Every step is paid for from the command's
// Budget (limits.ts): the work is sliced so the event loop stays free, and stops when time runs out.
import type { SimDevice } from '../device.ts';
import { absolutePath, allowed, baseName, FsError, joinPath } from '../fs-nodes.ts';
import type { Cred } from '../users.ts';
import type { CommandShell, Io, Sink } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { MAX_FILE_BYTES, MAX_SHELL_DEPTH, type Budget } from './limits.ts';
import { parseScript, ShellSyntaxError, type Pipeline, type Script, type SimpleCommand, type Word } from './parser.ts';
import { wildcard } from './regex.ts';

export const SH = '/system/bin/sh';

/**
 * Collects output in order; `adb shell` shows stdout and stderr interleaved as they were written. With a
 * `limit`, bytes past it are dropped; with a `budget`, every byte kept is charged to it.
 */
export class Collector implements Sink {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly options: { limit?: number; budget?: Budget } = {}) {}

  write(data: string | Buffer): void {
    const room = (this.options.limit ?? Infinity) - this.size;
    if (room <= 0) return;
    let bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.length > room) bytes = bytes.subarray(0, room);
    this.options.budget?.charge(bytes.length);
    this.size += bytes.length;
    this.chunks.push(bytes);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const DISCARD: Sink = { write() {} };

/** `exit N` unwinds to the top of the script. */
class ExitSignal {
  constructor(readonly status: number) {}
}

/** A shell nested MAX_SHELL_DEPTH deep cannot start another, as fork fails once a pid limit is reached. */
class ForkFailed extends Error {}

export interface ShellOptions {
  cwd?: string;
  env?: Map<string, string>;
}

export class Shell implements CommandShell {
  cwd: string;
  readonly env: Map<string, string>;
  lastStatus = 0;

  constructor(
    readonly device: SimDevice,
    readonly cred: Cred,
    /** What the whole command may still spend; every shell nested in it shares it. */
    readonly budget: Budget,
    options: ShellOptions = {},
    /** Shells this one is nested in. */
    private readonly depth = 0,
  ) {
    this.cwd = options.cwd ?? '/';
    this.env = new Map(options.env ?? defaultEnv(cred));
  }

  /** Parses and runs `source`; a syntax error runs nothing, as in mksh. */
  async execute(source: string, io: Io): Promise<number> {
    let script: Script;
    try {
      script = parseScript(source);
    } catch (err) {
      if (!(err instanceof ShellSyntaxError)) throw err;
      io.stderr.write(`${SH}: ${err.message}\n`);
      return 1;
    }
    return this.unwinding(() => this.runScript(script, io), io);
  }

  /** Runs a script to its end, an `exit`, or a failed fork (which mksh reports, then exits with 1). */
  private async unwinding(run: () => Promise<number>, io: Io): Promise<number> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof ExitSignal) return err.status;
      if (!(err instanceof ForkFailed)) throw err;
      io.stderr.write(`${SH}: can't fork - try again\n`);
      return (this.lastStatus = 1);
    }
  }

  /** A child shell (command substitution, `sh -c`, `su`): same phone, its own directory and variables. */
  child(cred: Cred = this.cred): Shell {
    if (this.depth >= MAX_SHELL_DEPTH) throw new ForkFailed();
    return new Shell(this.device, cred, this.budget, { cwd: this.cwd, env: cred === this.cred ? this.env : undefined }, this.depth + 1);
  }

  /** A file's content for a command; one past MAX_FILE_BYTES is not read into memory (EFBIG). */
  async readFile(path: string): Promise<Buffer> {
    const { node } = this.device.fs.stat(path, this.cred);
    if (node.type === 'file' && node.size > MAX_FILE_BYTES) throw new FsError('EFBIG');
    const data = await this.device.fs.readFile(path, this.cred);
    await this.budget.tick();
    return data;
  }

  /** Absolute, lexically normalised form of a path given to a command; a trailing `/` (follow the link) stays. */
  path(path: string): string {
    const absolute = absolutePath(this.cwd, path);
    return path.endsWith('/') && absolute !== '/' ? `${absolute}/` : absolute;
  }

  /** `sleep`: the phone's time scale applies, and the caller's timeout interrupts it. */
  async sleep(seconds: number): Promise<void> {
    const ms = seconds * 1000 * this.device.timeScale;
    await this.budget.tick();
    if (ms <= 0) return;
    const signal = this.budget.signal;
    await this.budget.idle(
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        // The budget's check after the wait throws CommandAborted.
        const onAbort = () => {
          clearTimeout(timer);
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    );
  }

  private async runScript(script: Script, io: Io): Promise<number> {
    for (const andOr of script) {
      this.lastStatus = await this.runPipeline(andOr.first, io);
      for (const { op, pipeline } of andOr.rest) {
        if ((op === '&&') === (this.lastStatus === 0)) this.lastStatus = await this.runPipeline(pipeline, io);
      }
    }
    return this.lastStatus;
  }

  private async runPipeline(pipeline: Pipeline, io: Io): Promise<number> {
    let stdin = io.stdin;
    let status = 0;
    for (const [index, command] of pipeline.commands.entries()) {
      const last = index === pipeline.commands.length - 1;
      const out = last ? io.stdout : new Collector({ budget: this.budget });
      status = await this.runCommand(command, { stdin, stdout: out, stderr: io.stderr });
      if (!last) stdin = (out as Collector).toBuffer();
    }
    return pipeline.negate ? Number(status === 0) : status;
  }

  private async runCommand(command: SimpleCommand, io: Io): Promise<number> {
    await this.budget.tick();
    const argv: string[] = [];
    for (const word of command.words) argv.push(...(await this.expand(word, io)));
    const fds: Io = { ...io };
    const outputs: { fd: 1 | 2; path: string; append: boolean; sink: Collector }[] = [];
    for (const redirect of command.redirects) {
      const [target = ''] = await this.expand(redirect.target, io);
      const fd = redirect.fd;
      if (fd > 2) continue;
      if (redirect.op === '>&' || redirect.op === '<&') {
        if (target === '-') setFd(fds, fd, DISCARD);
        else if (target === '1' || target === '2') setFd(fds, fd, target === '1' ? fds.stdout : fds.stderr);
        continue;
      }
      const path = this.path(target);
      const fs = this.device.fs;
      try {
        if (redirect.op === '<') {
          fds.stdin = await this.readFile(path);
          continue;
        }
        if (fs.exists(path, this.cred) && fs.stat(path, this.cred).node.type === 'chr') {
          setFd(fds, fd, DISCARD);
          continue;
        }
        if (redirect.op === '>') await fs.writeFile(path, Buffer.alloc(0), this.cred);
        else fs.checkWritable(path, this.cred);
      } catch (err) {
        if (!(err instanceof FsError)) throw err;
        io.stderr.write(`${SH}: ${redirect.op === '<' ? "can't open" : "can't create"} ${target}: ${err.message}\n`);
        return 1;
      }
      const sink = new Collector({ budget: this.budget });
      outputs.push({ fd: fd as 1 | 2, path, append: redirect.op === '>>', sink });
      setFd(fds, fd, sink);
    }

    let status: number;
    if (argv.length === 0) {
      for (const { name, value } of command.assignments) this.env.set(name, (await this.expand(value, io, false)).join(''));
      status = 0;
    } else {
      status = await this.invoke(argv, fds);
    }

    for (const output of outputs) {
      const data = output.sink.toBuffer();
      try {
        // Appending reads the file: a file may not grow past MAX_FILE_BYTES (RLIMIT_FSIZE).
        if (output.append && this.fileSize(output.path) + data.length > MAX_FILE_BYTES) throw new FsError('EFBIG');
        if (output.append) await this.device.fs.appendFile(output.path, data, this.cred);
        else await this.device.fs.writeFile(output.path, data, this.cred);
      } catch (err) {
        if (!(err instanceof FsError)) throw err;
        io.stderr.write(`${SH}: ${output.path}: ${err.message}\n`);
        status = 1;
      }
    }
    return status;
  }

  private fileSize(path: string): number {
    if (!this.device.fs.exists(path, this.cred)) return 0;
    const { node } = this.device.fs.stat(path, this.cred);
    return node.type === 'file' ? node.size : 0;
  }

  /** Runs a builtin, a known command, or a script file named by path. */
  private async invoke(argv: string[], io: Io): Promise<number> {
    const [name] = argv;
    const builtin = BUILTINS[name];
    if (builtin) return builtin(this, argv, io);
    if (name.includes('/')) return this.invokePath(argv, io);
    const command = COMMANDS.get(name);
    if (!command) {
      io.stderr.write(`${SH}: ${name}: inaccessible or not found\n`);
      return 127;
    }
    return command({ ...io, argv, shell: this });
  }

  private async invokePath(argv: string[], io: Io): Promise<number> {
    const fs = this.device.fs;
    const path = this.path(argv[0]);
    let stat;
    try {
      stat = fs.stat(path, this.cred);
    } catch {
      io.stderr.write(`${SH}: ${argv[0]}: inaccessible or not found\n`);
      return 127;
    }
    const known = COMMANDS.get(baseName(argv[0]));
    if (stat.path.startsWith('/system/') && known) return known({ ...io, argv: [baseName(argv[0]), ...argv.slice(1)], shell: this });
    if (stat.node.type !== 'file' || (stat.node.mode & 0o111) === 0) {
      io.stderr.write(`${SH}: ${argv[0]}: can't execute: Permission denied\n`);
      return 126;
    }
    return this.runFile(path, argv.slice(1), io);
  }

  /** Runs a file of shell commands (`sh FILE`, or an executable script). */
  async runFile(path: string, args: string[], io: Io): Promise<number> {
    const source = (await this.readFile(path)).toString('utf8');
    const child = this.child();
    args.forEach((arg, i) => child.env.set(String(i + 1), arg));
    return child.execute(source, io);
  }

  /** Expands a word into fields; `split` false keeps one field (assignments). */
  private async expand(word: Word, io: Io, split = true): Promise<string[]> {
    const fields: Field[] = [];
    let current: Field | undefined;
    // Expansions are charged to the budget as they grow: `A=$A$A` repeated must not double for ever.
    const add = (text: string, quoted: boolean) => {
      this.budget.charge(text.length);
      current ??= newField();
      current.text += text;
      current.pattern += quoted ? text.replace(/[*?[\]\\]/g, '\\$&') : text;
      if (quoted) current.quoted = true;
      else if (/[*?[]/.test(text)) current.glob = true;
    };
    const finish = () => {
      if (current) fields.push(current);
      current = undefined;
    };
    for (const part of word) {
      if (part.kind === 'text') {
        add(part.value, part.quoted);
        continue;
      }
      const value = part.kind === 'var' ? this.variable(part.name) : await this.substitute(part.script, io);
      if (part.quoted || !split) {
        add(value, true);
        continue;
      }
      // Unquoted expansions split on blanks and newlines.
      const pieces = value.split(/[ \t\n]+/);
      pieces.forEach((piece, i) => {
        if (i > 0) finish();
        if (piece) add(piece, false);
      });
    }
    finish();
    const out: string[] = [];
    for (const field of fields) {
      if (!field.text && !field.quoted) continue;
      const matches = field.glob ? await this.glob(field.pattern) : [];
      out.push(...(matches.length ? matches : [field.text]));
    }
    return split ? out : [out.join(' ')];
  }

  private variable(name: string): string {
    if (name === '?') return String(this.lastStatus);
    if (name === '$') return String(this.device.shellPid);
    if (name === '#') return '0';
    if (name === '0') return SH;
    return this.env.get(name) ?? '';
  }

  private async substitute(script: Script, io: Io): Promise<string> {
    const out = new Collector({ budget: this.budget });
    const child = this.child();
    const childIo = { stdin: Buffer.alloc(0), stdout: out, stderr: io.stderr };
    await child.unwinding(() => child.runScript(script, childIo), childIo);
    this.lastStatus = child.lastStatus;
    return out.toBuffer().toString('utf8').replace(/\n+$/, '');
  }

  /** Paths matching a glob pattern, sorted; none when nothing matches (the word then stays as written). */
  private async glob(pattern: string): Promise<string[]> {
    const absolute = pattern.startsWith('/');
    const segments = pattern.split('/').filter(Boolean);
    let candidates = [absolute ? '/' : ''];
    for (const segment of segments) {
      const next: string[] = [];
      const hasMagic = /(^|[^\\])[*?[]/.test(segment);
      for (const dir of candidates) {
        const at = (name: string) => (dir === '' ? name : joinPath(dir, name));
        if (!hasMagic) {
          next.push(at(segment.replace(/\\(.)/g, '$1')));
          continue;
        }
        const regex = wildcard(segment);
        let names: string[] = [];
        try {
          names = this.device.fs.readdir(this.path(dir || '.'), this.cred);
        } catch {
          continue;
        }
        for (const name of names) {
          if ((!name.startsWith('.') || segment.startsWith('.')) && regex.test(name)) next.push(at(name));
          await this.budget.tick();
        }
      }
      candidates = next;
    }
    return candidates.filter((p) => this.device.fs.exists(this.path(p), this.cred) || p === '/').sort();
  }
}

interface Field {
  text: string;
  pattern: string;
  quoted: boolean;
  glob: boolean;
}

const newField = (): Field => ({ text: '', pattern: '', quoted: false, glob: false });

function setFd(io: Io, fd: number, sink: Sink): void {
  if (fd === 1) io.stdout = sink;
  else if (fd === 2) io.stderr = sink;
}

function defaultEnv(cred: Cred): Map<string, string> {
  return new Map([
    ['ANDROID_DATA', '/data'],
    ['ANDROID_ROOT', '/system'],
    ['EXTERNAL_STORAGE', '/sdcard'],
    ['HOME', '/'],
    ['HOSTNAME', 'localhost'],
    ['LOGNAME', cred.uid === 0 ? 'root' : 'shell'],
    ['PATH', '/sbin:/system/sbin:/system/bin:/system/xbin:/vendor/bin:/vendor/xbin'],
    ['SHELL', SH],
    ['TMPDIR', '/data/local/tmp'],
    ['USER', cred.uid === 0 ? 'root' : 'shell'],
  ]);
}

type Builtin = (shell: Shell, argv: string[], io: Io) => number | Promise<number>;

/** Commands mksh runs itself, because they change the shell. */
const BUILTINS: Record<string, Builtin> = {
  cd(shell, argv, io) {
    const target = shell.path(argv[1] ?? shell.env.get('HOME') ?? '/');
    try {
      const { node } = shell.device.fs.stat(target, shell.cred);
      if (node.type !== 'dir') throw new FsError('ENOTDIR');
      if (!allowed(node, shell.cred, 1)) throw new FsError('EACCES');
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      io.stderr.write(`${SH}: cd: ${argv[1]}: ${err.message}\n`);
      return 1;
    }
    shell.cwd = target;
    return 0;
  },
  pwd(shell, _argv, io) {
    io.stdout.write(`${shell.cwd}\n`);
    return 0;
  },
  exit(shell, argv) {
    throw new ExitSignal(argv[1] === undefined ? shell.lastStatus : Number(argv[1]) & 0xff);
  },
  export(shell, argv) {
    for (const arg of argv.slice(1)) {
      const eq = arg.indexOf('=');
      if (eq > 0) shell.env.set(arg.slice(0, eq), arg.slice(eq + 1));
    }
    return 0;
  },
  unset(shell, argv) {
    for (const name of argv.slice(1)) shell.env.delete(name);
    return 0;
  },
};
