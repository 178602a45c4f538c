import type { CommandResult } from '../../driver.ts';
import type { SimDevice } from '../device.ts';
import { SHELL } from '../users.ts';
import { Collector, Shell, SH } from './interpreter.ts';
import { Budget, MAX_OUTPUT_BYTES, OutOfMemory } from './limits.ts';

/**
 * `adb shell <command>` on a device, as the shell user; `signal` stops it (the caller's timeout), as does its
 * CPU budget (CommandAborted). Output past MAX_OUTPUT_BYTES is dropped; a command that holds more memory
 * than its budget is killed as the OOM killer kills (exit status 137).
 */
export async function runShell(device: SimDevice, command: string, signal: AbortSignal): Promise<CommandResult> {
  const output = new Collector({ limit: MAX_OUTPUT_BYTES });
  device.shellPid++;
  const shell = new Shell(device, SHELL, new Budget(signal));
  let exitCode: number;
  try {
    exitCode = await shell.execute(command, { stdin: Buffer.alloc(0), stdout: output, stderr: output });
  } catch (err) {
    if (!(err instanceof OutOfMemory)) throw err;
    output.write(`${SH}: out of memory\n`);
    exitCode = 137;
  }
  return { output: output.toBuffer().toString('utf8'), exitCode };
}
