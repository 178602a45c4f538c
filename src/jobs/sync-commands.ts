/**
 * Synchronous shell commands: CPH RunSyncCommand (spec §3.38) and KooPhone SyncCommand (spec §2.1), one path.
 * Each phone's command is a durable command job, opened and closed within the request (the engine's runNow),
 * so ListJobs and GetTask see it like any other; the call answers with every phone's closed job.
 */
import type { Job, NewJob, Phone } from '../store/schema.ts';
import type { DomainError, ItemError } from '../core/errors.ts';
import type { SlidingWindowLimiter } from '../core/rate-limit.ts';
import type { JobRow } from '../core/job-types.ts';
import { cpsError } from '../core/errors.ts';
import { planCommand, type CommandRequest, type CommandService } from '../core/commands.ts';
import type { InstanceCommands, ShellPlan } from '../core/koophone/commands.ts';
import type { BoundInstance } from '../core/koophone/instances.ts';
import type { JobEngine } from './engine.ts';
import { runCommandJob, type CommandDeps } from './commands.ts';

/** At most 15 phones a call, named or through their servers (spec §3.38 [ext, README], §8 row 34). */
const SYNC_LIMITS = { phones: 15, fanOut: 15 };
/** 2 s a phone; the phones run side by side, so a call stays within its 30 s (spec §3.38). */
const SYNC_PHONE_TIMEOUT_MS = 2000;

/** Who calls: the rate limit counts the user's calls, the jobs belong to the project and the request. */
export interface SyncCaller {
  userId: string;
  projectId: string;
  requestId: string;
}

/** A phone's answer: its closed job, or why no job was made for it. */
export type PhoneOutcome = { phone_id: string; job: Job } | ({ phone_id: string } & ItemError);

export interface SyncCommandDeps {
  commands: CommandService;
  instanceCommands: InstanceCommands;
  engine: JobEngine;
  /** Per user: calls a minute (spec §3.38: 6; OPENCPH_SYNC_COMMANDS_PER_MINUTE), counted across both API families. */
  perUser: SlidingWindowLimiter;
  commandDeps: CommandDeps;
}

export class SyncCommands {
  constructor(private readonly deps: SyncCommandDeps) {}

  /**
   * RunSyncCommand: `shell` only (else CPS.0117), checked before the call is counted. `throttled` is the
   * caller's API family's error for a user past the rate limit.
   */
  async onPhones(caller: SyncCaller, request: CommandRequest, throttled: () => DomainError): Promise<PhoneOutcome[]> {
    if (request.command !== 'shell') throw cpsError('CPS.0117');
    const plan = planCommand('shell', request.content) as ShellPlan;
    this.count(caller, throttled);
    const { entries, jobs, phones } = await this.deps.commands.jobs(caller.projectId, caller.requestId, request, plan, SYNC_LIMITS);
    const closed = await this.run(jobs, plan, phones);
    return entries.map((entry) => ('job_id' in entry ? { phone_id: entry.phone_id, job: closed.get(entry.job_id)! } : entry));
  }

  /** SyncCommand: each instance's job, closed; an instance that could not run it has its refused job. */
  async onInstances(caller: SyncCaller, command: string, instanceIds: string[], throttled: () => DomainError): Promise<Array<{ instance: BoundInstance; job: Job | NewJob }>> {
    const plan = this.deps.instanceCommands.plan(command);
    this.count(caller, throttled);
    const jobs = await this.deps.instanceCommands.jobs(caller.projectId, caller.requestId, plan, instanceIds);
    const closed = await this.run(jobs.filter((entry) => entry.runnable).map((entry) => entry.job), plan);
    return jobs.map(({ instance, job }) => ({ instance, job: closed.get(job.id) ?? job }));
  }

  private count(caller: SyncCaller, throttled: () => DomainError): void {
    if (!this.deps.perUser.take(caller.userId)) throw throttled();
  }

  /** Runs the jobs side by side in this request; `phones` are their rows as just read, when the caller has them. */
  private async run(jobs: JobRow[], plan: ShellPlan, phones?: Map<string, Phone>): Promise<Map<string, Job>> {
    const ran = await this.deps.engine.runNow(jobs, (job) => runCommandJob(job, plan, this.deps.commandDeps, SYNC_PHONE_TIMEOUT_MS, phones?.get(job.phone_id!)));
    return new Map(ran.map((job) => [job.id, job]));
  }
}
