import { sql } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../store/db.ts';
import type { Job, NewJob } from '../store/schema.ts';
import type { Clock, Ids } from '../core/runtime.ts';
import { JOB_STATUS } from '../core/model.ts';
import { applyJobEffects, type JobEffects } from '../core/lifecycle.ts';
import { cpsMessage, isKooPhoneCode, kpMessage, type CpsCode, type KooPhoneCode } from '../core/errors.ts';
import { writeJobs } from './enqueue.ts';
import { asOwner } from '../store/turns.ts';

/**
 * How a job ended. Its status effects (the phone and server lifecycle, core/lifecycle.ts) are applied in
 * the same transaction that closes the job.
 */
export interface JobResult extends JobEffects {
  ok: boolean;
  /** A CPS code, or a KooPhone one on KooPhone-only jobs (install). */
  errorCode?: CpsCode | KooPhoneCode;
  /** Replaces the catalogue message where a code means something else on jobs (CPS.0191 "Run command failed."). */
  errorMsg?: string;
  executeMsg?: string;
}

/** Runs the jobs of one type; `params` is the job's payload (its type's entry in core/job-types.ts). */
export interface JobHandler<P = unknown> {
  run(job: Job, params: P): Promise<JobResult>;
  /** Whether a job left behind by a dead worker may simply run again (the handler is idempotent). */
  retryable: boolean;
  /** The failure that closes a job that cannot run again, with the status effects that leave nothing transitional. */
  abandoned(job: Job, params: P): JobResult;
}
/** A job abandoned this many times ends failed instead of running again. */
const MAX_ATTEMPTS = 3;
const EXECUTE_MSG_LIMIT = 1024;
/** Most job closings committed in one transaction. */
const CLOSE_GROUP_LIMIT = 500;

interface Closing {
  job: Job;
  result: JobResult;
  /** With the closed row; undefined when the job was no longer this process's to close (lease lost). */
  resolve(closed: Job | undefined): void;
  reject(error: unknown): void;
}

export interface EngineOptions {
  db: Db;
  clock: Clock;
  ids: Ids;
  log: FastifyBaseLogger;
  /** By job type; each is given its jobs' params as they were queued. */
  handlers: Readonly<Record<string, JobHandler<never>>>;
  leaseSeconds: number;
  /** Most jobs this process runs at once. */
  concurrency?: number;
}

/**
 * Durable job engine. Jobs are rows; workers claim the oldest queued job of each lock key (a phone or a
 * server) that has nothing running, so one phone runs one job at a time and the rest wait in order.
 * A claim is a lease: the owner renews it while the job runs; a lease that runs out (the process died)
 * is taken back and the job retried or failed, so no job stays running forever.
 */
export class JobEngine {
  readonly owner: string;
  private readonly inFlight = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private polling?: Promise<void>;
  private pollAgain = false;
  private closing: Closing[] = [];
  private flushing?: Promise<void>;
  private stopped = true;
  private readonly concurrency: number;

  constructor(private readonly options: EngineOptions) {
    this.owner = options.ids.hex32();
    this.concurrency = options.concurrency ?? 512;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.reclaimExpiredLeases();
    const leaseMs = this.options.leaseSeconds * 1000;
    this.timers.push(
      setInterval(() => this.wake(), 250),
      setInterval(() => void this.renewLeases().catch((e) => this.options.log.error(e, 'lease renewal failed')), leaseMs / 3),
      setInterval(() => void this.reclaimExpiredLeases().catch((e) => this.options.log.error(e, 'lease recovery failed')), leaseMs / 2),
    );
    for (const timer of this.timers) timer.unref();
    this.wake();
  }

  /** Stops claiming; waits for the jobs in flight to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.polling;
    while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Asks for a claim round soon (after new jobs are committed). */
  wake(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = this.claimAndRun()
      .catch((error) => this.options.log.error(error, 'job claim failed'))
      .finally(() => {
        this.polling = undefined;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.wake();
        }
      });
  }

  private async claimAndRun(): Promise<void> {
    const room = this.concurrency - this.inFlight.size;
    if (room <= 0) return;
    const now = this.options.clock.now();
    const leaseUntil = new Date(now.getTime() + this.options.leaseSeconds * 1000);
    // The queue is walked oldest first (index jobs_queue_order) until `room` jobs are found whose lock key has
    // nothing running and nothing queued before them (index jobs_pending). OFFSET 0 keeps that check a lookup
    // per job, whatever the statistics say; ARRAY() has the claimed rows updated by id, not by a join.
    const claimed = await sql<Job>`
      UPDATE jobs SET state = 'running', lease_owner = ${this.owner}, lease_until = ${leaseUntil}
      WHERE id = ANY(ARRAY(
        SELECT q.id FROM jobs q
        WHERE q.state = 'queued'
          AND NOT EXISTS (
            SELECT 1 FROM jobs o
            WHERE o.lock_key = q.lock_key AND o.state <> 'done' AND (o.state = 'running' OR o.seq < q.seq)
            OFFSET 0)
        ORDER BY q.seq
        LIMIT ${room}
        FOR UPDATE SKIP LOCKED))
      RETURNING *`.execute(this.options.db);
    for (const job of claimed.rows) this.runClaimed(job);
    if (claimed.rows.length === room) this.pollAgain = true;
  }

  /**
   * Runs jobs at once, beside the queue (synchronous APIs): they are recorded as running under this
   * worker's lease, so a crash still ends them, and closed like any other job. Returns them closed.
   */
  async runNow(jobs: NewJob[], run: (job: Job) => Promise<JobResult>): Promise<Job[]> {
    if (jobs.length === 0) return [];
    const leaseUntil = new Date(this.options.clock.now().getTime() + this.options.leaseSeconds * 1000);
    const rows = await writeJobs(this.options.db, jobs.map((job) => ({ ...job, state: 'running' as const, lease_owner: this.owner, lease_until: leaseUntil })), 'rows');
    for (const row of rows) this.inFlight.add(row.id);
    try {
      // The caller answers when the last one ends: closed together, they cost one transaction.
      const results = await Promise.all(rows.map((row) => run(row).catch((error): JobResult => this.crashed(row, error))));
      const closed = await this.finish(rows.map((job, index) => ({ job, result: results[index] })));
      if (closed.every((job) => job !== undefined)) return closed as Job[];
    } finally {
      for (const row of rows) this.inFlight.delete(row.id);
    }
    return this.options.db.selectFrom('jobs').selectAll().where('id', 'in', rows.map((row) => row.id)).orderBy('seq').execute();
  }

  private crashed(job: Job, error: unknown): JobResult {
    this.options.log.error({ err: error, job: job.id, type: job.type }, 'job handler threw');
    return { ok: false, errorCode: 'CPS.0003' };
  }

  private runClaimed(job: Job): void {
    this.inFlight.add(job.id);
    const handler = this.options.handlers[job.type];
    // The params were written by Enqueue from the payload its type declares, which is what the handler takes.
    // The job's store connections are its project's turns, shared fairly with other tenants' work (src/store/turns.ts).
    const running = handler ? asOwner(job.project_id, () => handler.run(job, job.params as never)) : Promise.resolve<JobResult>({ ok: false, errorCode: 'CPS.0003' });
    running
      .catch((error): JobResult => this.crashed(job, error))
      .then((result) => this.finish([{ job, result }]))
      .catch((error) => this.options.log.error({ err: error, job: job.id }, 'could not record job result'))
      .finally(() => {
        this.inFlight.delete(job.id);
        this.wake();
      });
  }

  /**
   * Closes the jobs and applies their status effects atomically; only the lease owner may close a job.
   * Closings are committed in groups: while one group is being written the next gathers, so a burst of
   * jobs ending together costs a few transactions instead of one each.
   */
  private finish(ended: { job: Job; result: JobResult }[]): Promise<Array<Job | undefined>> {
    const closed = Promise.all(ended.map(({ job, result }) => new Promise<Job | undefined>((resolve, reject) => this.closing.push({ job, result, resolve, reject }))));
    this.flushClosings();
    return closed;
  }

  private flushClosings(): void {
    if (this.flushing || this.closing.length === 0) return;
    const group = this.closing.splice(0, CLOSE_GROUP_LIMIT);
    this.flushing = this.close(group)
      .then(
        (closed) => group.forEach((closing) => closing.resolve(closed.get(closing.job.id))),
        // One bad closing must not fail the others: retry them one by one.
        async () => {
          await Promise.all(group.map((closing) => this.close([closing]).then((closed) => closing.resolve(closed.get(closing.job.id)), closing.reject)));
        },
      )
      .finally(() => {
        this.flushing = undefined;
        this.flushClosings();
      });
  }

  /** The rows closed, by id. */
  private async close(group: Closing[]): Promise<Map<string, Job>> {
    const now = this.options.clock.now();
    return this.options.db.transaction().execute(async (trx) => {
      const rows = group.map(({ job, result }) => {
        const f = closeFields(result, now);
        return sql`(${job.id}::text, ${f.status}::integer, ${f.error_code}::text, ${f.error_msg}::text, ${f.execute_msg}::text)`;
      });
      const closed = await sql<Job>`
        UPDATE jobs SET state = 'done', status = v.status, end_time = ${now}, lease_owner = NULL, lease_until = NULL,
          error_code = v.error_code, error_msg = v.error_msg, execute_msg = v.execute_msg
        FROM (VALUES ${sql.join(rows)}) AS v (id, status, error_code, error_msg, execute_msg)
        WHERE jobs.id = v.id AND jobs.state = 'running' AND jobs.lease_owner = ${this.owner}
        RETURNING jobs.*`.execute(trx);
      // A job whose lease was lost is not closed here: its new owner decides.
      const byId = new Map(closed.rows.map((row) => [row.id, row]));
      await applyEffects(trx, group.filter(({ job }) => byId.has(job.id)), now);
      return byId;
    });
  }

  private async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const until = new Date(this.options.clock.now().getTime() + this.options.leaseSeconds * 1000);
    await this.options.db
      .updateTable('jobs')
      .set({ lease_until: until })
      .where('state', '=', 'running')
      .where('lease_owner', '=', this.owner)
      .execute();
  }

  /** Takes back jobs whose worker stopped renewing: retried when safe, else failed with their effects. */
  async reclaimExpiredLeases(): Promise<void> {
    const now = this.options.clock.now();
    const expired = await this.options.db
      .selectFrom('jobs')
      .selectAll()
      .where('state', '=', 'running')
      .where('lease_until', '<', now)
      .execute();
    // A job this process still runs is its own, however late its renewal (a busy event loop): never taken back.
    for (const job of expired.filter((job) => !this.inFlight.has(job.id))) {
      const handler = this.options.handlers[job.type];
      const decision: 'retry' | JobResult =
        handler?.retryable && job.attempts + 1 < MAX_ATTEMPTS ? 'retry' : (handler?.abandoned(job, job.params as never) ?? { ok: false, errorCode: 'CPS.0054' });
      await this.options.db.transaction().execute(async (trx) => {
        const stillExpired = trx
          .updateTable('jobs')
          .where('id', '=', job.id)
          .where('state', '=', 'running')
          .where('lease_until', '<', now);
        if (decision === 'retry') {
          await stillExpired.set({ state: 'queued', lease_owner: null, lease_until: null, attempts: job.attempts + 1 }).execute();
          return;
        }
        const closed = await stillExpired.set(closeFields(decision, now)).executeTakeFirst();
        if (closed.numUpdatedRows > 0n) await applyEffects(trx, [{ job, result: decision }], now);
      });
      this.options.log.warn({ job: job.id, type: job.type, decision: decision === 'retry' ? 'retry' : 'failed' }, 'took back an abandoned job');
    }
    if (expired.length > 0) this.wake();
  }
}

function closeFields(result: JobResult, now: Date) {
  const errorCode = result.ok ? null : (result.errorCode ?? 'CPS.0003');
  return {
    state: 'done' as const,
    status: result.ok ? JOB_STATUS.succeeded : JOB_STATUS.failed,
    end_time: now,
    lease_owner: null,
    lease_until: null,
    error_code: errorCode,
    error_msg: errorCode ? (result.errorMsg ?? (isKooPhoneCode(errorCode) ? kpMessage(errorCode) : cpsMessage(errorCode))) : null,
    execute_msg: result.executeMsg === undefined ? null : truncateUtf8(result.executeMsg, EXECUTE_MSG_LIMIT),
  };
}

/** The lifecycle's status changes of the closed jobs (core/lifecycle.ts). */
function applyEffects(trx: Db, closed: { job: Job; result: JobResult }[], now: Date): Promise<void> {
  return applyJobEffects(trx, closed.map(({ job, result }) => ({ phoneId: job.phone_id, serverId: job.server_id, effects: result })), now);
}

/** Cuts a string to at most `limit` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, limit: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= limit) return text;
  return bytes.subarray(0, limit).toString().replace(/\uFFFD$/, '');
}
