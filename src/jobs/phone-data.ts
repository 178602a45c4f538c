// Jobs of the phone data operations (core/phone-data.ts): export to and restore from the object store,
// migration of a whole phone, and traffic routing.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { addObjectBytes, removeObjectBytes } from '../core/quotas.ts';
import { PHONE_STATUS } from '../core/model.ts';
import { MIGRATION } from '../core/phone-data.ts';
import { PhoneOperationError, type CommandResult } from '../devices/driver.ts';
import type { Job } from '../store/schema.ts';
import { CommandRefused, withDownloads, type CommandDeps } from './commands.ts';
import type { JobResult } from './engine.ts';
import { phoneSpec } from '../core/phone-spec.ts';
import type { ExportPlan, JobPayloads, MigratePlan } from '../core/job-types.ts';
import type { JobHandlers } from './handlers.ts';
import { DomainError, type CpsCode } from '../core/errors.ts';

/** Each job can simply run again after a crash: it rewrites the same object, files or disks. */
export function phoneDataHandlers(deps: CommandDeps): Pick<JobHandlers, 'phone.export' | 'phone.restore' | 'phone.migrate' | 'phone.traffic'> {
  const abandoned = () => ({ ok: false, errorCode: 'CPS.0054' }) as const;
  return {
    'phone.export': { run: (job, plan) => exportJob(job, plan, deps), retryable: true, abandoned },
    'phone.restore': { run: (job, object) => restoreJob(job, object, deps), retryable: true, abandoned },
    'phone.migrate': {
      run: (job, plan) => migrateJob(job, plan, deps),
      retryable: true,
      abandoned: () => ({ ok: false, errorCode: 'CPS.0054', phoneStatus: MIGRATION.failure }),
    },
    'phone.traffic': { run: (job, { traffic_type }) => trafficJob(job, traffic_type, deps), retryable: true, abandoned },
  };
}

/** The phone could not do it (not available, or a fault injected for it). */
function unavailable(error: unknown): JobResult {
  if (!(error instanceof PhoneOperationError)) throw error;
  return { ok: false, errorCode: 'CPS.0022', executeMsg: error.message };
}

/** Writes the tar in a private temporary folder, then uploads it to the account's bucket/key; tar's warnings go to execute_msg. */
async function exportJob(job: Job, plan: ExportPlan, deps: CommandDeps): Promise<JobResult> {
  const target = await deps.phones.load(job.phone_id!);
  if (!target) return { ok: false, errorCode: 'CPS.0005' };
  return deps.scratch.using('export-', async (dir) => {
    const tarFile = join(dir, 'data.tar');
    let result: CommandResult;
    try {
      result = await deps.driver.exportData(await phoneSpec(target, deps), plan.include_files, plan.exclude_files, tarFile);
    } catch (error) {
      return unavailable(error);
    }
    const account = await deps.objects.account(job.project_id);
    const objects = deps.objects.root.forAccount(account.name);
    // The account's object bytes grow by the new tar and shrink by the object it replaces, if any: a
    // tar past the quota is not stored (CPS.0196), and the previous object stays.
    const size = (await stat(tarFile)).size;
    const replaced = (await objects.stat(plan.bucket, plan.key))?.size ?? 0;
    try {
      await addObjectBytes(deps.db, account.id, size);
    } catch (error) {
      if (error instanceof DomainError) return { ok: false, errorCode: error.code as CpsCode };
      throw error;
    }
    try {
      await objects.upload(plan.bucket, plan.key, tarFile);
    } catch (error) {
      await removeObjectBytes(deps.db, account.id, size);
      throw error;
    }
    if (replaced > 0) await removeObjectBytes(deps.db, account.id, replaced);
    return { ok: true, executeMsg: result.output || undefined };
  });
}

/** A missing object fails the job with CPS.0104; an archive the phone refuses, with CPS.0171 and tar's reasons. */
async function restoreJob(job: Job, object: JobPayloads['phone.restore'], deps: CommandDeps): Promise<JobResult> {
  const target = await deps.phones.load(job.phone_id!);
  if (!target) return { ok: false, errorCode: 'CPS.0005' };
  const spec = await phoneSpec(target, deps);
  try {
    const objects = await deps.objects.forProject(job.project_id);
    const result = await withDownloads([object], { maxBytes: Number.POSITIVE_INFINITY, store: objects, scratch: deps.scratch }, ([tarFile]) => deps.driver.importData(spec, tarFile));
    return result.exitCode === 0 ? { ok: true } : { ok: false, errorCode: 'CPS.0171', executeMsg: result.output };
  } catch (error) {
    if (error instanceof CommandRefused) return { ok: false, errorCode: error.code };
    return unavailable(error);
  }
}

/**
 * The target takes the source's disks and image, and its attributes when asked. A source that is gone or
 * no longer stopped when the job runs fails it before anything changes: the target gets its status back.
 */
async function migrateJob(job: Job, plan: MigratePlan, deps: CommandDeps): Promise<JobResult> {
  const target = await deps.phones.load(job.phone_id!);
  if (!target) return { ok: false, errorCode: 'CPS.0233' };
  const source = await deps.phones.load(plan.source_phone_id);
  if (!source) return { ok: false, errorCode: 'CPS.0232', phoneStatus: plan.target_status };
  if (source.status !== PHONE_STATUS.stopped) return { ok: false, errorCode: 'CPS.0216', phoneStatus: plan.target_status };
  const fields = { image_id: source.image_id, property: plan.migrate_property ? source.property : undefined };
  const migrated = { ...target, image_id: fields.image_id, property: fields.property ?? target.property };
  try {
    await deps.driver.migrate(await phoneSpec(source, deps), await phoneSpec(migrated, deps));
  } catch (error) {
    // Whatever stopped it, the target's disks may be half replaced.
    return { ok: false, errorCode: 'CPS.0022', phoneStatus: MIGRATION.failure, executeMsg: (error as Error).message };
  }
  return { ok: true, phoneStatus: MIGRATION.success, phoneFields: fields };
}

/** Routing is network configuration, not something on the phone: the job records the new route. */
async function trafficJob(job: Job, trafficType: string, deps: CommandDeps): Promise<JobResult> {
  if (!(await deps.phones.load(job.phone_id!))) return { ok: false, errorCode: 'CPS.0005' };
  return { ok: true, phoneFields: { traffic_type: trafficType } };
}
