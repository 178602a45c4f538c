import { afterCommit, type Db } from '../store/db.ts';
import type { Job, NewJob } from '../store/schema.ts';
import type { EnqueueOptions, JobEnd, JobPayloads, JobQueue, JobRow, JobTarget, JobType } from '../core/job-types.ts';
import type { Clock, Ids } from '../core/runtime.ts';
import { chargeAccount } from '../core/quotas.ts';
import { JOB_STATUS } from '../core/model.ts';

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters a statement. */
const INSERT_SLICE = 1000;

/**
 * The job queue core writes through (core/job-types.ts): typed jobs, admitted to the account's jobs quota in
 * the transaction that writes them, the engine woken once that transaction has committed.
 */
export class Enqueue implements JobQueue {
  constructor(private readonly options: { ids: Ids; clock: Clock; wake: () => void }) {}

  job<T extends JobType>(type: T, params: JobPayloads[T], target: JobTarget): JobRow {
    return this.row(type, params, target);
  }

  ended(type: JobType, target: JobTarget, end: JobEnd): JobRow {
    const now = this.options.clock.now();
    const failure = end.ok ? {} : { error_code: end.errorCode, error_msg: end.errorMsg };
    return { ...this.row(type, {}, target), state: 'done', status: end.ok ? JOB_STATUS.succeeded : JOB_STATUS.failed, end_time: now, ...failure };
  }

  async enqueue(db: Db, jobs: JobRow[], options: EnqueueOptions = {}): Promise<void> {
    if (jobs.length === 0) return;
    const queued = jobs.filter((job) => job.state !== 'done').length;
    const change = { ...options.charge, ...(!options.unchecked && queued > 0 && { jobs: queued }) };
    if (Object.values(change).some(Boolean)) await chargeAccount(db, jobs[0].project_id, change, options.family);
    await writeJobs(db, jobs);
    if (queued > 0) afterCommit(db, this.options.wake);
  }

  private row(type: JobType, params: object, target: JobTarget): JobRow {
    const id = this.options.ids.hex32();
    const lockKey = target.alone ? `${type}:${id}` : (target.lockKey ?? target.phoneId ?? target.serverId);
    if (!lockKey) throw new Error(`a ${type} job needs a lock key`);
    return {
      id,
      project_id: target.projectId,
      request_id: target.requestId,
      type,
      phone_id: target.phoneId ?? null,
      server_id: target.serverId ?? null,
      lock_key: lockKey,
      params: JSON.stringify(params),
      state: 'queued',
      status: JOB_STATUS.running,
      begin_time: this.options.clock.now(),
    };
  }
}

/**
 * Inserts job rows as they are given: queued by `Enqueue`, or running under the engine's lease (its
 * synchronous runs, which ask for the rows as written).
 */
export async function writeJobs(db: Db, rows: NewJob[], returning?: 'rows'): Promise<Job[]> {
  const written: Job[] = [];
  for (let i = 0; i < rows.length; i += INSERT_SLICE) {
    const insert = db.insertInto('jobs').values(rows.slice(i, i + INSERT_SLICE));
    if (returning) written.push(...(await insert.returningAll().execute()));
    else await insert.execute();
  }
  return written;
}
