/**
 * SyncCommand and AsyncCommand (spec §2.1, §2.2): an ADB shell command on instances, run as CPH command jobs
 * on their phones (the same checks, handler and limits as RunShellCommand / RunSyncCommand).
 */
import { transaction, type Db } from '../../store/db.ts';
import type { CommandPlan, JobRow } from '../job-types.ts';
import { planCommand, type CommandService } from '../commands.ts';
import type { BoundInstance, InstanceService } from './instances.ts';
import { DomainError, kpError } from '../errors.ts';

export type ShellPlan = Extract<CommandPlan, { command: 'shell' }>;

/** One instance's job: `runnable` when it is to run, else it is already closed with the reason it could not. */
export interface InstanceJob {
  instance: BoundInstance;
  job: JobRow;
  runnable: boolean;
}

export class InstanceCommands {
  constructor(
    private readonly db: Db,
    private readonly instances: InstanceService,
    private readonly commands: CommandService,
  ) {}

  /** The shell plan of a KooPhone command; content CPH would refuse is a bad parameter here (1000). */
  plan(command: string): ShellPlan {
    try {
      return planCommand('shell', command) as ShellPlan;
    } catch (error) {
      if (error instanceof DomainError) throw kpError('KOOPHONE.API.1000');
      throw error;
    }
  }

  /**
   * A job per instance (request order, each once) under `requestId`, to be queued or run at once. Instances
   * without a phone (3009) or whose phone cannot run commands (CPH's code) get a closed failed job instead.
   */
  async jobs(projectId: string, requestId: string, plan: ShellPlan, instanceIds: string[]): Promise<InstanceJob[]> {
    const found = await this.instances.requireAll(projectId, instanceIds);
    const bound = found.filter((instance) => instance.phone_id !== null);
    const phoneIds = bound.map((instance) => instance.phone_id!);
    const limits = { phones: phoneIds.length, fanOut: phoneIds.length };
    const { entries, jobs } = phoneIds.length
      ? await this.commands.jobs(projectId, requestId, { command: 'shell', content: plan.script, phone_ids: phoneIds }, plan, limits)
      : { entries: [], jobs: [] };
    const entryOf = new Map(entries.map((entry) => [entry.phone_id, entry]));
    const jobOf = new Map(jobs.map((job) => [job.id, job]));
    return found.map((instance) => {
      if (instance.phone_id === null) return { instance, job: this.instances.refusedJob(instance, requestId, 'phone.command', 'KOOPHONE.API.3009'), runnable: false };
      const entry = entryOf.get(instance.phone_id)!;
      if ('job_id' in entry) return { instance, job: jobOf.get(entry.job_id)!, runnable: true };
      return { instance, job: this.instances.refusedJob(instance, requestId, 'phone.command', { code: entry.error_code, message: entry.error_msg }), runnable: false };
    });
  }

  /** AsyncCommand: the jobs become a task (32 hex id) in one transaction. */
  async enqueue(projectId: string, plan: ShellPlan, instanceIds: string[]) {
    const taskId = this.instances.newTaskId('command');
    const jobs = await this.jobs(projectId, taskId, plan, instanceIds);
    await transaction(this.db, (trx) => this.instances.createTask(trx, projectId, taskId, 'command', jobs.map(({ job }) => job)));
    return { task_id: taskId, cmd_jobs: jobs.map(({ instance, job }) => ({ instance_id: instance.id, job_id: job.id })) };
  }
}
