// Jobs of KooPhone instance usage (core/koophone/usage.ts): restoring an instance's backup onto its phone,
// and backing its data up to the object store before releasing the phone. Backups are the platform's own
// objects (the internal namespace), which no tenant's obs:// URL or bucket_name can reach.
import { join } from 'node:path';
import { DATA_STATE, TRANSFER_STATUS } from '../../core/koophone/instances.ts';
import { BACKUP_BUCKET, BACKUP_JOB, PREPARE_STATUS, RESTORE_JOB } from '../../core/koophone/usage.ts';
import type { BackupParams, RestoreParams } from '../../core/job-types.ts';
import { PHONE_TRANSITIONS } from '../../core/lifecycle.ts';
import type { Instance, InstanceUpdate, Job } from '../../store/schema.ts';
import { PhoneOperationError } from '../../devices/driver.ts';
import { CommandRefused, withDownloads, type CommandDeps } from '../commands.ts';
import type { JobResult } from '../engine.ts';
import { phoneSpec } from '../../core/phone-spec.ts';
import type { JobHandlers } from '../handlers.ts';

/** What a backup holds: the phone's user data, all of it. */
const BACKUP_PATHS = ['/data'];

/**
 * Both can run again after a crash: a restore unpacks the same backup again; a backup records that its
 * upload succeeded before it wipes the phone, so a second run never uploads a wiped phone.
 */
export function koophoneUsageHandlers(deps: CommandDeps): Pick<JobHandlers, typeof RESTORE_JOB | typeof BACKUP_JOB> {
  // An abandoned job's instance is marked failed by InstanceUsage.maintain().
  const abandoned = () => ({ ok: false, errorCode: 'CPS.0054' }) as const;
  return {
    [RESTORE_JOB]: { run: (job, params) => restore(job, params, deps), retryable: true, abandoned },
    [BACKUP_JOB]: { run: (job, params) => backup(job, params, deps), retryable: true, abandoned },
  };
}

/** The instance the job works for, when it is still in `state` on the job's phone (else the job has nothing to do). */
async function instanceOf(job: Job, { instance_id }: RestoreParams, deps: CommandDeps, state: number): Promise<Instance | undefined | 'gone'> {
  const instance = await deps.db.selectFrom('instances').selectAll().where('id', '=', instance_id).executeTakeFirst();
  if (!instance) return 'gone';
  return instance.data_state === state && instance.phone_id === job.phone_id ? instance : undefined;
}

/** Changes the instance only while it is still in `state` on the job's phone. */
async function settle(deps: CommandDeps, job: Job, { instance_id }: RestoreParams, state: number, change: InstanceUpdate, db = deps.db): Promise<void> {
  await db
    .updateTable('instances')
    .set({ ...change, updated_at: deps.clock.now() })
    .where('id', '=', instance_id)
    .where('data_state', '=', state)
    .where('phone_id', '=', job.phone_id)
    .execute();
}

function phoneError(error: unknown): JobResult {
  if (error instanceof CommandRefused) return { ok: false, errorCode: error.code };
  if (error instanceof PhoneOperationError) return { ok: false, errorCode: 'KOOPHONE.API.62010', executeMsg: error.message };
  throw error;
}

/** Unpacks the instance's backup (if it has one) over the phone; the data is then loaded. */
async function restore(job: Job, params: RestoreParams, deps: CommandDeps): Promise<JobResult> {
  const instance = await instanceOf(job, params, deps, DATA_STATE.restoring);
  if (instance === 'gone') return { ok: false, errorCode: 'KOOPHONE.API.4001' };
  if (!instance) return { ok: true };
  await settle(deps, job, params, DATA_STATE.restoring, { restore_status: TRANSFER_STATUS.executing });
  let failure: JobResult | undefined;
  if (instance.backup_key !== null) {
    const phone = await deps.db.selectFrom('phones').selectAll().where('id', '=', job.phone_id!).executeTakeFirstOrThrow();
    const spec = await phoneSpec(phone, deps);
    try {
      const backup = { bucket: BACKUP_BUCKET, key: instance.backup_key };
      const result = await withDownloads([backup], { maxBytes: Number.POSITIVE_INFINITY, store: deps.objects.internal, scratch: deps.scratch }, ([file]) => deps.driver.importData(spec, file));
      if (result.exitCode !== 0) failure = { ok: false, errorCode: 'KOOPHONE.API.62010', executeMsg: result.output };
    } catch (error) {
      failure = phoneError(error);
    }
  }
  if (failure) {
    await settle(deps, job, params, DATA_STATE.restoring, { data_state: DATA_STATE.restoreFailed, restore_status: TRANSFER_STATUS.failed });
    return failure;
  }
  // The phone holds the data now; the backup object stays until the next backup replaces it.
  await settle(deps, job, params, DATA_STATE.restoring, {
    data_state: DATA_STATE.loaded,
    restore_status: TRANSFER_STATUS.succeeded,
    restore_time: deps.clock.now(),
    prepare_status: PREPARE_STATUS.ready,
    backup_key: null,
  });
  return { ok: true };
}

/**
 * Exports the phone's /data to the object store, then factory-resets the phone and releases it: the
 * instance's data is then only in the backup (data_state 0) until a prepare restores it.
 */
async function backup(job: Job, params: BackupParams, deps: CommandDeps): Promise<JobResult> {
  const instance = await instanceOf(job, params, deps, DATA_STATE.backingUp);
  if (instance === 'gone') return { ok: false, errorCode: 'KOOPHONE.API.4001' };
  if (!instance) return { ok: true };
  const phone = await deps.db.selectFrom('phones').selectAll().where('id', '=', job.phone_id!).executeTakeFirstOrThrow();
  const spec = await phoneSpec(phone, deps);
  let executeMsg: string | undefined;
  if (instance.backup_status !== TRANSFER_STATUS.succeeded) {
    try {
      executeMsg = await deps.scratch.using('backup-', async (dir) => {
        const tarFile = join(dir, 'data.tar');
        const output = (await deps.driver.exportData(spec, BACKUP_PATHS, [], tarFile)).output || undefined;
        await deps.objects.internal.upload(params.bucket, params.key, tarFile);
        return output;
      });
    } catch (error) {
      const failure = error instanceof PhoneOperationError ? phoneError(error) : { ok: false, errorCode: 'KOOPHONE.API.9999', executeMsg: (error as Error).message } as const;
      await settle(deps, job, params, DATA_STATE.backingUp, { data_state: DATA_STATE.backupFailed, backup_status: TRANSFER_STATUS.failed });
      return failure;
    }
    await settle(deps, job, params, DATA_STATE.backingUp, { backup_status: TRANSFER_STATUS.succeeded, backup_time: deps.clock.now(), backup_key: params.key });
  }
  // Release: the phone is wiped (shown resetting meanwhile) so that the next instance gets a clean one.
  const { via, success, failure } = PHONE_TRANSITIONS.reset;
  await deps.db.updateTable('phones').set({ status: via!, updated_at: deps.clock.now() }).where('id', '=', phone.id).execute();
  let status = success;
  try {
    await deps.driver.reset(spec);
  } catch {
    status = failure;
  }
  await deps.db.transaction().execute(async (trx) => {
    await settle(deps, job, params, DATA_STATE.backingUp, { data_state: DATA_STATE.idle, phone_id: null, prepare_status: null }, trx);
    await trx.updateTable('phones').set({ status, updated_at: deps.clock.now() }).where('id', '=', phone.id).execute();
  });
  return { ok: true, executeMsg };
}
