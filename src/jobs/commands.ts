import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CommandPlan } from '../core/job-types.ts';
import { PHONE_STATUS } from '../core/model.ts';
import { CommandTimeoutError, PhoneDeletedError, PhoneNotRunningError, PhoneOperationError, type CommandResult, type PhoneSpec } from '../devices/driver.ts';
import type { AccountObjects } from '../core/account-objects.ts';
import type { ObjectStore } from '../objects/store.ts';
import type { HttpDownloads } from '../objects/http-download.ts';
import type { Job, Phone } from '../store/schema.ts';
import type { JobHandler, JobResult } from './engine.ts';
import type { Scratch } from './scratch.ts';
import { phoneSpec } from '../core/phone-spec.ts';
import type { HandlerDeps } from './handlers.ts';

/** Documented size limits, checked before anything is downloaded (spec §3.34, §3.35). */
export const MAX_TAR_BYTES = 6 * 1024 ** 3;
export const MAX_APK_BYTES = 2 * 1024 ** 3;

/** The job-level failure of a command that ran and failed (spec §8 row 31). */
const COMMAND_FAILED = { errorCode: 'CPS.0191', errorMsg: 'Run command failed.' } as const;

export interface CommandDeps extends HandlerDeps {
  /** Wall-clock limit of a queued shell command (OPENCPH_COMMAND_TIMEOUT_SECONDS): past it, CPS.0054. */
  commandTimeoutMs: number;
  /** Objects as each project's account sees them, and the platform's own. */
  objects: AccountObjects;
  /** HTTP(S) downloads of tenant-supplied URLs, under the destination policy. */
  downloads: HttpDownloads;
  /** Private working folders of jobs, emptied at start. */
  scratch: Scratch;
}

/** Queued ADB commands: one job per phone, run in order with the phone's other jobs. */
export function commandHandler(deps: CommandDeps): JobHandler<CommandPlan> {
  return {
    run: (job, plan) => runCommandJob(job, plan, deps, deps.commandTimeoutMs),
    // A command may have had effects before the worker died (an install, a push): never run it twice.
    retryable: false,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}

/** `known` is the phone's row as a synchronous caller read it a moment ago (one query for its batch, not one per job). */
export async function runCommandJob(job: Job, plan: CommandPlan, deps: CommandDeps, timeoutMs?: number, known?: Phone): Promise<JobResult> {
  const phone = known ?? (await deps.phones.load(job.phone_id!));
  if (!phone) return { ok: false, errorCode: 'CPS.0005' };
  if (phone.status !== PHONE_STATUS.running) return { ok: false, errorCode: 'CPS.0141' };
  const spec = await phoneSpec(phone, deps);
  try {
    return outcome(await execute(plan, job.project_id, spec, deps, timeoutMs));
  } catch (error) {
    if (error instanceof CommandTimeoutError) return { ok: false, errorCode: 'CPS.0054', executeMsg: error.message };
    if (error instanceof CommandRefused) return { ok: false, errorCode: error.code };
    if (error instanceof PhoneDeletedError) return { ok: false, errorCode: 'CPS.0005' };
    // Found off when the command came to run (a synchronous command does not wait for the phone's other jobs).
    if (error instanceof PhoneNotRunningError) return { ok: false, errorCode: 'CPS.0141' };
    // The phone could not run it at all (not up, or a fault injected for it).
    if (error instanceof PhoneOperationError) return { ok: false, errorCode: 'CPS.0022', executeMsg: error.message };
    throw error;
  }
}

export class CommandRefused extends Error {
  constructor(readonly code: 'CPS.0104' | 'CPS.0118') {
    super(code);
  }
}

function outcome(result: CommandResult): JobResult {
  return result.exitCode === 0 ? { ok: true, executeMsg: result.output } : { ok: false, ...COMMAND_FAILED, executeMsg: result.output };
}

async function execute(plan: CommandPlan, projectId: string, phone: PhoneSpec, deps: CommandDeps, timeoutMs?: number): Promise<CommandResult> {
  switch (plan.command) {
    case 'shell':
      return deps.driver.shell(phone, plan.script, { timeoutMs });
    case 'uninstall':
      return deps.driver.uninstall(phone, plan.packageName, []);
    case 'push':
      return withDownloads([plan], { maxBytes: MAX_TAR_BYTES, store: await deps.objects.forProject(projectId), scratch: deps.scratch }, ([tar]) => deps.driver.pushTar(phone, tar));
    default:
      return withDownloads(plan.apks, { maxBytes: MAX_APK_BYTES, store: await deps.objects.forProject(projectId), scratch: deps.scratch }, (apks) => deps.driver.install(phone, apks, plan.flags));
  }
}

/**
 * Fetches the objects of one account's `store` into a scratch folder of the job's own (missing, or another
 * account's: CPS.0104; too large: CPS.0118), runs `use`, cleans up.
 */
export async function withDownloads<T>(
  objects: Array<{ bucket: string; key: string }>,
  { maxBytes, store, scratch }: { maxBytes: number; store: ObjectStore; scratch: Scratch },
  use: (files: string[]) => Promise<T>,
): Promise<T> {
  for (const object of objects) {
    const stat = await store.stat(object.bucket, object.key);
    if (!stat) throw new CommandRefused('CPS.0104');
    if (stat.size > maxBytes) throw new CommandRefused('CPS.0118');
  }
  return scratch.using('objects-', async (dir) => {
    // One folder per object keeps each file's own name, which may be as long as a file system allows.
    const files = objects.map((object, index) => join(dir, String(index), object.key.split('/').pop()!));
    for (const [index, object] of objects.entries()) {
      await mkdir(dirname(files[index]));
      await store.download(object.bucket, object.key, files[index]);
    }
    return use(files);
  });
}
