import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../store/db.ts';
import { HEX32, type Clock } from './runtime.ts';
import { cpsError, notFound } from './errors.ts';

export const MAX_REQUEST_IDS = 20;
/** How often finished jobs past the retention period are deleted. */
const PRUNE_INTERVAL_MS = 10 * 60 * 1000;
/** Rows one statement deletes: each statement is one short turn on PGlite's single session. */
const PRUNE_BATCH = 1000;

/** Read side of jobs: QueryJobs and ListJobs. */
export class JobQueries {
  constructor(private readonly db: Db) {}

  async get(projectId: string, jobId: string) {
    const job = await this.db.selectFrom('jobs').selectAll().where('project_id', '=', projectId).where('id', '=', jobId).executeTakeFirst();
    if (!job) throw notFound('CPS.0011');
    return job;
  }

  /** Jobs created by the given requests, oldest first. `request_ids` (comma-separated) wins over `request_id`. */
  async byRequest(projectId: string, query: { request_id?: string; request_ids?: string; offset: number; limit: number }) {
    const requestIds = query.request_ids !== undefined ? query.request_ids.split(',').map((id) => id.trim()) : query.request_id !== undefined ? [query.request_id] : [];
    if (requestIds.length === 0 || requestIds.every((id) => id === '')) throw cpsError('CPS.0049');
    if (requestIds.length > MAX_REQUEST_IDS) throw cpsError('CPS.0161');
    if (requestIds.some((id) => !HEX32.test(id))) throw cpsError('CPS.0264');
    const jobs = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('request_id', 'in', requestIds)
      .orderBy('seq')
      .offset(query.offset)
      .limit(query.limit)
      .execute();
    if (jobs.length === 0 && (query.offset === 0 || !(await this.anyJobOf(projectId, requestIds)))) throw cpsError('CPS.0050');
    return jobs;
  }

  private async anyJobOf(projectId: string, requestIds: string[]): Promise<boolean> {
    const job = await this.db.selectFrom('jobs').select('id').where('project_id', '=', projectId).where('request_id', 'in', requestIds).limit(1).executeTakeFirst();
    return job !== undefined;
  }
}

/**
 * Keeps job history bounded: a finished job is deleted `retentionHours` after it ended (QueryJobs then
 * answers CPS.0011 and ListJobs CPS.0050, as for an unknown id), and a KooPhone task once it is as old and
 * its jobs are gone (GetTask then answers 1323). Jobs still queued or running are never deleted. Without
 * this, a busy server's jobs table grows without end, and with it every vacuum of it.
 */
export class JobHistory {
  private timer?: NodeJS.Timeout;
  private pruning: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly retentionHours: number,
    private readonly noteBulkWrite: () => void,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Prunes now, then every 10 minutes. */
  start(): void {
    const prune = () => {
      this.pruning = this.pruning.then(() => this.prune()).catch((error) => this.log.error(error, 'pruning job history failed'));
    };
    prune();
    this.timer = setInterval(prune, PRUNE_INTERVAL_MS).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pruning;
  }

  /** Deletes what is past the retention period, oldest first; how many jobs and tasks went. */
  async prune(): Promise<{ jobs: number; tasks: number }> {
    if (this.retentionHours === 0) return { jobs: 0, tasks: 0 };
    const cutoff = new Date(this.clock.now().getTime() - this.retentionHours * 3_600_000);
    const jobs = await deleteInBatches(() =>
      this.db
        .deleteFrom('jobs')
        .where('id', 'in', (eb) => eb.selectFrom('jobs').select('id').where('state', '=', 'done').where('end_time', '<', cutoff).orderBy('end_time').limit(PRUNE_BATCH))
        .executeTakeFirst(),
    );
    const tasks = await deleteInBatches(() =>
      this.db
        .deleteFrom('koophone_tasks')
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('koophone_tasks as task')
            .select('task.id')
            .where('task.created_at', '<', cutoff)
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom('jobs').select('jobs.id').whereRef('jobs.project_id', '=', 'task.project_id').whereRef('jobs.request_id', '=', 'task.id'))),
            )
            .orderBy('task.created_at')
            .limit(PRUNE_BATCH),
        )
        .executeTakeFirst(),
    );
    if (jobs + tasks > 0) {
      this.noteBulkWrite();
      this.log.info({ jobs, tasks, before: cutoff.toISOString() }, 'job history pruned');
    }
    return { jobs, tasks };
  }
}

async function deleteInBatches(deleteBatch: () => Promise<{ numDeletedRows: bigint }>): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = Number((await deleteBatch()).numDeletedRows);
    total += deleted;
    if (deleted < PRUNE_BATCH) return total;
  }
}
