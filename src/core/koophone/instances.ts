/**
 * KooPhone instances: cloud phones as a KooPhone tenant sees them. An instance row points at the phone
 * it runs on (`phone_id`); the phone's own status is the instance's running status, so an operation made
 * through either API shows through the other. Tenancy is the credential's project: an instance of another
 * project is treated exactly as one that does not exist.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../../store/db.ts';
import type { Instance } from '../../store/schema.ts';
import { PHONE_STATUS } from '../model.ts';
import type { Clock, Ids } from '../runtime.ts';
import type { EnqueueOptions, JobPayloads, JobQueue, JobRow, JobTarget, JobType } from '../job-types.ts';
import { kpError, kpMessage, type KooPhoneCode } from '../errors.ts';

/** BatchQueryStatus `status` (spec §3.2): where the instance's data is. 7 is a duplicate of 2, never emitted. */
export const DATA_STATE = { idle: 0, restoring: 1, loaded: 2, streaming: 3, backingUp: 4, backupFailed: 5, restoreFailed: 6 } as const;

/** ListInstances `running_status` (spec §3.1). */
export const RUNNING_STATUS = { unknown: 0, stopped: 1, running: 2, goingOffline: 3, starting: 4, shutDown: 5 } as const;

/** ListInstances `backup_status` / `restore_status` (spec §3.7). */
export const TRANSFER_STATUS = { preparing: 0, executing: 1, succeeded: 2, failed: 3, other: 4 } as const;

/** What the tasks of each kind are called on the wire (spec §1.7, §1.8). */
export type TaskKind = 'command' | 'reset' | 'unassign' | 'backup' | 'install';

/** An instance with the status of the phone it runs on (null when no phone is bound). */
export type BoundInstance = Instance & { phone_status: number | null; server_id: string | null };

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The running status a phone's CPH status shows as; an instance without a phone is stopped (spec §2.10 example). */
export function runningStatus(phoneStatus: number | null): number {
  const S = PHONE_STATUS;
  switch (phoneStatus) {
    case null:
      return RUNNING_STATUS.stopped;
    case S.running:
      return RUNNING_STATUS.running;
    case S.beingCreated:
    case S.creating:
    case S.restarting:
    case S.resetting:
      return RUNNING_STATUS.starting;
    case S.stopping:
      return RUNNING_STATUS.goingOffline;
    case S.stopped:
      return RUNNING_STATUS.shutDown;
    case S.frozen:
      return RUNNING_STATUS.stopped;
    default:
      return RUNNING_STATUS.unknown;
  }
}

/** The ids in request order, each once (the documents' own examples repeat ids). */
export function uniqueIds(ids: string[]): string[] {
  return [...new Set(ids)];
}

export class InstanceService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly queue: JobQueue,
  ) {}

  /** The project's instances among `ids`, keyed by id. Pass a transaction and `lock` to hold them for update. */
  async find(projectId: string, ids: string[], options: { db?: Db; lock?: boolean } = {}): Promise<Map<string, BoundInstance>> {
    if (ids.length === 0) return new Map();
    let query = (options.db ?? this.db)
      .selectFrom('instances')
      .leftJoin('phones', 'phones.id', 'instances.phone_id')
      .selectAll('instances')
      .select(['phones.status as phone_status', 'phones.server_id'])
      .where('instances.project_id', '=', projectId)
      .where('instances.id', 'in', ids);
    if (options.lock) query = query.forUpdate('instances');
    const rows = await query.execute();
    if (options.lock) {
      // The outer join cannot lock the phones: lock them on their own and take their current status.
      const phoneIds = rows.flatMap((row) => (row.phone_id ? [row.phone_id] : []));
      const phones = phoneIds.length
        ? await (options.db ?? this.db).selectFrom('phones').select(['id', 'status']).where('id', 'in', phoneIds).forUpdate().execute()
        : [];
      const status = new Map(phones.map((phone) => [phone.id, phone.status]));
      for (const row of rows) row.phone_status = row.phone_id ? (status.get(row.phone_id) ?? null) : null;
    }
    return new Map(rows.map((row) => [row.id, row]));
  }

  /**
   * Every id (de-duplicated, request order) must name one of the project's instances, else the whole
   * request fails with `missing` (1001 by default: unknown and foreign ids alike).
   */
  async requireAll(projectId: string, ids: string[], options: { db?: Db; lock?: boolean; missing?: KooPhoneCode } = {}): Promise<BoundInstance[]> {
    const unique = uniqueIds(ids);
    const found = await this.find(projectId, unique, options);
    const missing = unique.find((id) => !found.has(id));
    if (missing !== undefined) throw kpError(options.missing ?? 'KOOPHONE.API.1001');
    return unique.map((id) => found.get(id)!);
  }

  async requireOne(projectId: string, id: string, options: { db?: Db; lock?: boolean; missing?: KooPhoneCode } = {}): Promise<BoundInstance> {
    const [instance] = await this.requireAll(projectId, [id], options);
    return instance;
  }

  /** A fresh instance id: 8 case-sensitive alphanumerics (spec §1.8), drawn from the injectable id source. */
  newInstanceId(): string {
    return base62(this.ids.hex32(), 8);
  }

  /** A fresh task id in its kind's documented shape: 32 hex, `RM_` + 32 hex, or `ZGCA` + 32 URL-safe characters. */
  newTaskId(kind: TaskKind): string {
    if (kind === 'command') return this.ids.hex32();
    if (kind === 'install') return `ZGCA${Buffer.from(this.ids.hex32() + this.ids.hex32(), 'hex').subarray(0, 24).toString('base64url')}`;
    return `RM_${this.ids.hex32()}`;
  }

  /**
   * Records a task and its jobs (inside the caller's transaction). A task's id is its jobs' `request_id`,
   * so CPH's ListJobs shows the same jobs; job order is `cmd_jobs` order.
   */
  async createTask(trx: Db, projectId: string, taskId: string, kind: TaskKind, jobs: JobRow[]): Promise<void> {
    await trx.insertInto('koophone_tasks').values({ id: taskId, project_id: projectId, kind, created_at: this.clock.now() }).execute();
    await this.enqueue(trx, jobs);
  }

  /** Queues instances' jobs in the caller's transaction; a quota refusal is in KooPhone's codes. */
  enqueue(trx: Db, jobs: JobRow[], options: Omit<EnqueueOptions, 'family'> = {}): Promise<void> {
    return this.queue.enqueue(trx, jobs, { ...options, family: 'koophone' });
  }

  /** The jobs of one of the project's tasks, in `cmd_jobs` order; 1323 for an unknown or foreign task. */
  async taskJobs(projectId: string, taskId: string) {
    const task = await this.db.selectFrom('koophone_tasks').select('id').where('id', '=', taskId).where('project_id', '=', projectId).executeTakeFirst();
    if (!task) throw kpError('KOOPHONE.API.1323');
    return this.db.selectFrom('jobs').selectAll().where('project_id', '=', projectId).where('request_id', '=', taskId).orderBy('seq').execute();
  }

  /** A queued job for one instance of a task. */
  job<T extends JobType>(instance: BoundInstance, taskId: string, type: T, params: JobPayloads[T]): JobRow {
    return this.queue.job(type, params, jobTarget(instance, taskId));
  }

  /** A job with nothing left to do (the work was done in the transaction that records it). */
  doneJob(instance: BoundInstance, taskId: string, type: JobType): JobRow {
    return this.queue.ended(type, jobTarget(instance, taskId), { ok: true });
  }

  /** A job that failed before it started (the instance could not take it): recorded closed, with its reason. */
  refusedJob(instance: BoundInstance, taskId: string, type: JobType, code: KooPhoneCode | { code: string; message: string }): JobRow {
    const { code: errorCode, message } = typeof code === 'string' ? { code, message: kpMessage(code) } : code;
    return this.queue.ended(type, jobTarget(instance, taskId), { ok: false, errorCode, errorMsg: message });
  }
}

/**
 * A job of an instance runs in order with every other job of the instance's phone (CPH's too), or of the
 * instance itself when no phone is bound.
 */
function jobTarget(instance: BoundInstance, taskId: string): JobTarget {
  return { projectId: instance.project_id, requestId: taskId, phoneId: instance.phone_id, serverId: instance.server_id, lockKey: instance.phone_id ?? instance.id };
}

/** `length` characters of [A-Za-z0-9] from a hex string's value. */
function base62(hex: string, length: number): string {
  let value = BigInt(`0x${createHash('sha256').update(hex).digest('hex')}`);
  let out = '';
  for (let i = 0; i < length; i++) {
    out += ALPHANUMERIC[Number(value % 62n)];
    value /= 62n;
  }
  return out;
}
