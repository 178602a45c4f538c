/**
 * KooPhone instance usage (spec §2.15–§2.17): BatchPrepareInstances restores a user's data onto a phone,
 * ShowProgress reports how far that got, BatchBackupInstances saves the data to the object store and
 * releases the phone.
 *
 * An instance's data is on its phone (`phone_id` set, data_state 2 "data loaded" / 3 "streaming") or only
 * in the object store (`phone_id` null, `backup_key` naming the backup). Preparing an instance without a
 * phone binds a free one of its project: a running phone of the instance's SKU flavor and OS image that no
 * instance holds, the same spare capacity CreateInstance uses. Instances waiting for one form a queue per
 * project (`instance_prepares`, first come first served), served when a prepare or progress call comes in
 * and every few seconds. A bound phone gets a restore job (the backup unpacked over its `/data`); a backup
 * job exports `/data`, uploads it, factory-resets the phone and releases it for the next instance.
 */
import { sql } from 'kysely';
import { transaction, type Db } from '../../store/db.ts';
import type { InstanceUpdate } from '../../store/schema.ts';
import type { JobRow } from '../job-types.ts';
import { PHONE_STATUS } from '../model.ts';
import type { Clock } from '../runtime.ts';
import { DATA_STATE, TRANSFER_STATUS, type BoundInstance, type InstanceService } from './instances.ts';
import type { TaskData } from './operations.ts';
import type { OsVersion, SkuCatalogue } from './skus.ts';
import { STREAM_CLOSE, type StreamingService } from './streaming.ts';
import type { KooPhoneCode } from '../errors.ts';

/** BatchPrepareInstances `status_list[].status` (spec §3.3). */
export const PREPARE_STATUS = {
  ready: 0,
  toRestore: 1,
  toAssign: 2,
  backingUp: 3,
  resetting: 4,
  restarting: 5,
  offline: 6,
  maintaining: 10,
} as const;

/** ShowProgress `data.status` (spec §3.4). */
export const PROGRESS = { ready: 0, queuing: 1, restoring: 2, failed: -1, backingUp: 3 } as const;

export const RESTORE_JOB = 'koophone.restore';
export const BACKUP_JOB = 'koophone.backup';

/**
 * Where backups go: one object per instance, replaced by each backup, in the object store's internal
 * namespace, where no tenant can name, read or overwrite them.
 */
export const BACKUP_BUCKET = 'opencph-koophone';
export const backupKey = (projectId: string, instanceId: string) => `backups/${projectId}/${instanceId}.tar`;

const S = PHONE_STATUS;
const LIVE_JOB_STATES = ['queued', 'running'] as const;

export class InstanceUsage {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly instances: InstanceService,
    private readonly skus: SkuCatalogue,
    private readonly streaming: StreamingService,
  ) {}

  /**
   * BatchPrepareInstances: each instance's status, and the restore started where its data is not on a
   * phone yet. Unknown (or another project's) ids fail the whole request with 4001.
   */
  async prepare(projectId: string, userId: string, instanceIds: string[]): Promise<Array<{ instance_id: string; status: number }>> {
    return transaction(this.db, async (trx) => {
      await lockProjectPhones(trx, projectId);
      const found = await this.instances.requireAll(projectId, instanceIds, { db: trx, lock: true, missing: 'KOOPHONE.API.4001' });
      const now = this.clock.now();
      const jobs: JobRow[] = [];
      const statuses = [];
      for (const instance of found) {
        let status = prepareStatus(instance, userId);
        if (status === undefined && instance.phone_id !== null && instance.backup_key === null) {
          // The data is on the phone already: a fresh instance, or one whose backup failed.
          status = PREPARE_STATUS.ready;
          await this.update(trx, instance.id, { data_state: DATA_STATE.loaded, prepare_status: status });
        } else if (status === undefined) {
          // Restored from the backup onto the instance's phone, or onto a free one as soon as there is one.
          status = PREPARE_STATUS.toRestore;
          await this.update(trx, instance.id, { data_state: DATA_STATE.restoring, prepare_status: status, restore_status: TRANSFER_STATUS.preparing });
          if (instance.phone_id !== null) jobs.push(this.instances.job(instance, instance.id, RESTORE_JOB, { instance_id: instance.id }));
          else await trx.insertInto('instance_prepares').values({ instance_id: instance.id, project_id: projectId, created_at: now }).execute();
        }
        statuses.push({ instance_id: instance.id, status });
      }
      // Queued instances are bound first: the account's lock comes after every row this request locks.
      await this.bindQueued(trx, projectId);
      await this.instances.enqueue(trx, jobs);
      return statuses;
    });
  }

  /**
   * ShowProgress. `waitingCount` is the instance's place in line: instances of its SKU queued before it
   * for a phone, or jobs before its restore on its phone (0 when it is not waiting).
   */
  async progress(projectId: string, userId: string, instanceId: string): Promise<{ status: number; waitingCount: number }> {
    await this.serveQueue(projectId);
    const instance = await this.instances.requireOne(projectId, instanceId, { missing: 'KOOPHONE.API.4001' });
    const done = (status: number) => ({ status, waitingCount: 0 });
    // Nothing is being prepared for another user: the documents name no error for it (spec §2.16 notes).
    if (instance.assigned_user !== userId) return done(PROGRESS.failed);
    switch (instance.data_state) {
      case DATA_STATE.loaded:
      case DATA_STATE.streaming:
        return done(PROGRESS.ready);
      case DATA_STATE.backingUp:
        return done(PROGRESS.backingUp);
      case DATA_STATE.restoring:
        return this.restoreProgress(instance);
      default:
        return done(PROGRESS.failed);
    }
  }

  /**
   * BatchBackupInstances: a task (`RM_…`) with one job per instance. An instance whose data is on its phone
   * (loaded, streaming or after a failed backup) is backed up, its stream and session ended first; any
   * other gets a job that fails at once with the reason (spec §2.17 notes).
   */
  async backup(projectId: string, instanceIds: string[]): Promise<TaskData> {
    const taskId = this.instances.newTaskId('backup');
    const ended: string[] = [];
    const task = await transaction(this.db, async (trx) => {
      const found = await this.instances.requireAll(projectId, instanceIds, { db: trx, lock: true });
      const jobs: JobRow[] = [];
      for (const instance of found) {
        const refusal = backupRefusal(instance);
        if (refusal) {
          jobs.push(this.instances.refusedJob(instance, taskId, BACKUP_JOB, refusal));
          continue;
        }
        // The phone is about to go: the device token goes with it.
        await this.streaming.endSession(trx, instance);
        ended.push(instance.id);
        await this.update(trx, instance.id, { data_state: DATA_STATE.backingUp, backup_status: TRANSFER_STATUS.executing });
        jobs.push(this.instances.job(instance, taskId, BACKUP_JOB, { instance_id: instance.id, bucket: BACKUP_BUCKET, key: backupKey(projectId, instance.id) }));
      }
      await this.instances.createTask(trx, projectId, taskId, 'backup', jobs);
      return { task_id: taskId, cmd_jobs: found.map((instance, index) => ({ instance_id: instance.id, job_id: jobs[index].id })) };
    });
    for (const id of ended) this.streaming.closeLocal(id, STREAM_CLOSE.instanceChanged);
    return task;
  }

  /** Binds free phones to the project's queued instances, oldest first (phones freed since the last call). */
  async serveQueue(projectId: string): Promise<void> {
    await transaction(this.db, async (trx) => {
      await lockProjectPhones(trx, projectId);
      await this.bindQueued(trx, projectId);
    });
  }

  /**
   * Run periodically by every process: serves every project's queue, and ends preparations and backups
   * whose job is gone (a worker abandoned it) as failed, so that no instance stays restoring or backing up.
   */
  async maintain(): Promise<void> {
    const projects = await this.db.selectFrom('instance_prepares').select('project_id').distinct().execute();
    for (const { project_id } of projects) await this.serveQueue(project_id);
    const now = this.clock.now();
    const orphaned = (type: string, from: number, change: InstanceUpdate) =>
      this.db
        .updateTable('instances')
        .set({ ...change, updated_at: now })
        .where('data_state', '=', from)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('jobs')
                .select('jobs.id')
                .whereRef('jobs.lock_key', '=', 'instances.phone_id')
                .where('jobs.state', 'in', LIVE_JOB_STATES)
                .where('jobs.type', '=', type),
            ),
          ),
        );
    await orphaned(RESTORE_JOB, DATA_STATE.restoring, { data_state: DATA_STATE.restoreFailed, restore_status: TRANSFER_STATUS.failed })
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('instance_prepares').select('instance_prepares.instance_id').whereRef('instance_prepares.instance_id', '=', 'instances.id'))),
      )
      .execute();
    await orphaned(BACKUP_JOB, DATA_STATE.backingUp, { data_state: DATA_STATE.backupFailed, backup_status: TRANSFER_STATUS.failed }).execute();
  }

  /** A restoring instance: still queued for a phone, its restore job waiting, or running. */
  private async restoreProgress(instance: BoundInstance): Promise<{ status: number; waitingCount: number }> {
    const queued = await this.db.selectFrom('instance_prepares').select('seq').where('instance_id', '=', instance.id).executeTakeFirst();
    if (queued) {
      const ahead = await this.db
        .selectFrom('instance_prepares')
        .innerJoin('instances', 'instances.id', 'instance_prepares.instance_id')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('instance_prepares.project_id', '=', instance.project_id)
        .where('instance_prepares.seq', '<', queued.seq)
        .where('instances.region_id', '=', instance.region_id)
        .where('instances.sku_id', '=', instance.sku_id)
        .where('instances.os', '=', instance.os)
        .executeTakeFirstOrThrow();
      return { status: PROGRESS.queuing, waitingCount: Number(ahead.count) };
    }
    const job = instance.phone_id
      ? await this.db
          .selectFrom('jobs')
          .select(['seq', 'state'])
          .where('lock_key', '=', instance.phone_id)
          .where('state', 'in', LIVE_JOB_STATES)
          .where('type', '=', RESTORE_JOB)
          .orderBy('seq', 'desc')
          .executeTakeFirst()
      : undefined;
    if (job?.state !== 'queued') return { status: PROGRESS.restoring, waitingCount: 0 };
    const ahead = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('lock_key', '=', instance.phone_id!)
      .where('state', 'in', LIVE_JOB_STATES)
      .where('seq', '<', job.seq)
      .executeTakeFirstOrThrow();
    return { status: PROGRESS.queuing, waitingCount: Number(ahead.count) };
  }

  /** Gives each queued instance of the project a free phone while there are any (the caller holds the project lock). */
  private async bindQueued(trx: Db, projectId: string): Promise<void> {
    const queued = await trx
      .selectFrom('instance_prepares')
      .innerJoin('instances', 'instances.id', 'instance_prepares.instance_id')
      .selectAll('instances')
      .where('instance_prepares.project_id', '=', projectId)
      .orderBy('instance_prepares.seq')
      .execute();
    const jobs: JobRow[] = [];
    for (const instance of queued) {
      const sku = this.skus.sku(instance.region_id, instance.sku_id);
      if (!sku) continue;
      const phone = await trx
        .selectFrom('phones')
        .select(['phones.id', 'phones.server_id'])
        .where('phones.project_id', '=', projectId)
        .where('phones.phone_model_name', '=', sku.opencph.phone_model_name)
        .where('phones.image_id', '=', this.skus.imageFor(instance.os as OsVersion))
        .where('phones.status', '=', S.running)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('instances').select('instances.id').whereRef('instances.phone_id', '=', 'phones.id'))))
        .orderBy('phones.seq')
        .limit(1)
        .executeTakeFirst();
      if (!phone) continue;
      await this.update(trx, instance.id, { phone_id: phone.id });
      await trx.deleteFrom('instance_prepares').where('instance_id', '=', instance.id).execute();
      jobs.push(this.instances.job({ ...instance, phone_id: phone.id, server_id: phone.server_id, phone_status: S.running }, instance.id, RESTORE_JOB, { instance_id: instance.id }));
    }
    // They waited their turn for a phone: run whatever the account has in flight.
    await this.instances.enqueue(trx, jobs, { unchecked: true });
  }

  private async update(trx: Db, instanceId: string, change: InstanceUpdate): Promise<void> {
    await trx.updateTable('instances').set({ ...change, updated_at: this.clock.now() }).where('id', '=', instanceId).execute();
  }
}

/**
 * Where an instance stands before a prepare changes anything, or undefined when its data is to be put on
 * a phone now (idle, or after a failed backup or restore).
 */
function prepareStatus(instance: BoundInstance, userId: string): number | undefined {
  if (instance.assigned_user !== userId) return PREPARE_STATUS.toAssign;
  if (instance.data_state === DATA_STATE.backingUp) return PREPARE_STATUS.backingUp;
  if (instance.data_state === DATA_STATE.restoring) return PREPARE_STATUS.toRestore;
  if (instance.frozen) return PREPARE_STATUS.offline;
  const phone = phoneStatus(instance.phone_status);
  if (phone !== undefined) return phone;
  if (instance.data_state === DATA_STATE.loaded || instance.data_state === DATA_STATE.streaming) return PREPARE_STATUS.ready;
  return undefined;
}

/** The prepare status of a bound phone that is not running (undefined: running, or no phone). */
function phoneStatus(status: number | null): number | undefined {
  switch (status) {
    case null:
    case S.running:
      return undefined;
    case S.resetting:
      return PREPARE_STATUS.resetting;
    case S.restarting:
      return PREPARE_STATUS.restarting;
    case S.beingCreated:
    case S.creating:
    case S.stopping:
    case S.stopped:
    case S.frozen:
      return PREPARE_STATUS.offline;
    default:
      // A phone whose last operation failed waits for an operator.
      return PREPARE_STATUS.maintaining;
  }
}

/** Why an instance's data cannot be backed up now (its job fails at once), or undefined. */
function backupRefusal(instance: BoundInstance): KooPhoneCode | undefined {
  if (instance.data_state === DATA_STATE.restoring) return 'KOOPHONE.API.2005';
  if (instance.data_state === DATA_STATE.backingUp) return 'KOOPHONE.API.2006';
  const onPhone = [DATA_STATE.loaded, DATA_STATE.streaming, DATA_STATE.backupFailed] as number[];
  // Idle or after a failed restore, the phone holds no data of the user's to back up.
  if (!onPhone.includes(instance.data_state) || instance.phone_id === null) return 'KOOPHONE.API.1000';
  return undefined;
}

/** One binding of phones at a time per project; CreateInstance takes the same lock to pick its phones. */
async function lockProjectPhones(trx: Db, projectId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext(${projectId}))`.execute(trx);
}

