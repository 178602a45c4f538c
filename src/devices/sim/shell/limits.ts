// What one command (one `adb shell` call) may cost the server that simulates the phone: tenants are
// untrusted, so their scripts run in short slices between which the event loop serves everyone else,
// and stop when their time, CPU or memory is spent, as cgroups and rlimits stop a real phone's processes.
import { Slices } from '../slices.ts';

/** Nested shells (`sh FILE`, `sh -c`, `su`, scripts, `$(…)`) one command may have at once, like a pid limit. */
export const MAX_SHELL_DEPTH = 64;
/** Output a command returns; the rest is dropped as it is written (a job's `execute_msg` keeps 1,024 bytes). */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/**
 * Bytes a command may hold in memory over its life besides its output: pipes between stages, `$(…)`,
 * redirections, expanded words and variables. Past it the command is stopped ("out of memory").
 */
export const MAX_DATA_BYTES = 16 * 1024 * 1024;
/** Largest file a command reads into memory or writes (RLIMIT_FSIZE): beyond, EFBIG "File too large". */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** CPU time a command may use, whatever its wall-clock limit: past it, it stops as timed out. */
export const CPU_BUDGET_MS = 10_000;

export const TIME_LIMIT_PASSED = 'The command\'s time limit passed.';

/** The command was stopped: its caller's time limit passed, or its CPU budget ran out. */
export class CommandAborted extends Error {}

/** The command held more than MAX_DATA_BYTES: the kernel's OOM killer would have ended it. */
export class OutOfMemory extends Error {}

/** Time and memory accounting of one command, shared by every shell nested in it. */
export class Budget extends Slices {
  private cpuMs = 0;
  private dataBytes = 0;

  constructor(
    readonly signal: AbortSignal,
    private readonly cpuBudgetMs = CPU_BUDGET_MS,
  ) {
    super();
  }

  /**
   * Called between steps of work: gives the event loop a turn at the end of each slice (src/devices/sim/
   * slices.ts). Throws CommandAborted once the caller's deadline or the CPU budget has passed.
   */
  async tick(): Promise<void> {
    this.check();
    if (await this.next()) this.check();
  }

  /** Waits for something that uses no CPU of this thread (a timer, a worker): not counted as CPU time. */
  async idle<T>(wait: Promise<T>): Promise<T> {
    this.sliceEnded();
    try {
      return await wait;
    } finally {
      this.sliceStart = performance.now();
      this.check();
    }
  }

  /** Counts `bytes` the command now holds; throws OutOfMemory past MAX_DATA_BYTES. */
  charge(bytes: number): void {
    this.dataBytes += bytes;
    if (this.dataBytes > MAX_DATA_BYTES) throw new OutOfMemory();
  }

  check(): void {
    if (this.signal.aborted) throw new CommandAborted(TIME_LIMIT_PASSED);
    if (this.remainingCpuMs() <= 0) throw new CommandAborted(this.cpuSpent);
  }

  remainingCpuMs(): number {
    return this.cpuBudgetMs - this.cpuMs - (performance.now() - this.sliceStart);
  }

  get cpuSpent(): string {
    return `Command used more than ${this.cpuBudgetMs / 1000} s of CPU time.`;
  }

  protected override sliceEnded(): void {
    this.cpuMs += performance.now() - this.sliceStart;
  }
}
