// What a command of the shell sees: its arguments, its input and output, and the shell that runs it
// (interpreter.ts's Shell). The commands (commands/) are written against this contract, so the interpreter
// can hold their table without the commands knowing the interpreter.
import type { SimDevice } from '../device.ts';
import type { Cred } from '../users.ts';
import type { Budget } from './limits.ts';

export interface Sink {
  write(data: string | Buffer): void;
}

export interface Io {
  stdin: Buffer;
  stdout: Sink;
  stderr: Sink;
}

/** The shell running a command. */
export interface CommandShell {
  readonly device: SimDevice;
  readonly cred: Cred;
  /** What the whole command may still spend; every shell nested in it shares it. */
  readonly budget: Budget;
  readonly cwd: string;
  /** Parses and runs `source`; a syntax error runs nothing, as in mksh. */
  execute(source: string, io: Io): Promise<number>;
  /** A child shell (command substitution, `sh -c`, `su`): same phone, its own directory and variables. */
  child(cred?: Cred): CommandShell;
  /** A file's content for a command; one past MAX_FILE_BYTES is not read into memory (EFBIG). */
  readFile(path: string): Promise<Buffer>;
  /** Absolute, lexically normalised form of a path given to a command; a trailing `/` (follow the link) stays. */
  path(path: string): string;
  /** `sleep`: the phone's time scale applies, and the caller's timeout interrupts it. */
  sleep(seconds: number): Promise<void>;
  /** Runs a script file with its arguments as $1…; `sh FILE`. */
  runFile(path: string, args: string[], io: Io): Promise<number>;
}

export interface CommandContext extends Io {
  argv: string[];
  shell: CommandShell;
}

/** A command: writes to its sinks and returns its exit status. */
export type Command = (ctx: CommandContext) => Promise<number> | number;
