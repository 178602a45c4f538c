// Phone data (spec §3.25–§3.28): export of phone data to OBS as a tar, its restore, migration of a whole
// phone onto another, and traffic routing. As in the other batch operations (phones.ts), a request is
// refused whole only for its shape and size; each item then gets a job or its documented error, and the
// jobs (with any status change) are written in one transaction.
import type { Static } from '@sinclair/typebox';
import type { MigrateInfo as MigrateInfoSchema, RestoreInfo as RestoreInfoSchema, StorageInfo as StorageInfoSchema } from '../api/schemas/cph/phone-data.ts';
import { transaction, type Db } from '../store/db.ts';
import type { Phone } from '../store/schema.ts';
import { isValidBucketName, isValidObjectKey, type ObjectStore } from '../objects/store.ts';
import type { AccountObjects } from './account-objects.ts';
import type { Catalogue, PhoneImage } from './catalogue.ts';
import { phoneImage } from './images.ts';
import { phoneRefusal } from './lifecycle.ts';
import { PHONE_STATUS } from './model.ts';
import { MAX_BATCH_PHONES, type BatchEntry } from './phones.ts';
import { HEX32, type Clock } from './runtime.ts';
import { onPhone, type ExportPlan, type JobQueue, type JobRow, type MigratePlan } from './job-types.ts';
import { cpsError, itemError, type CpsCode, type ItemError } from './errors.ts';

export type StorageInfo = Static<typeof StorageInfoSchema>;
export type RestoreInfo = Static<typeof RestoreInfoSchema>;
export type MigrateInfo = Static<typeof MigrateInfoSchema>;

export type MigrateEntry = { source_phone_id: string; target_phone_id: string } & ({ job_id: string } | ItemError);

const TRAFFIC_TYPES = ['direct', 'routing'];
/** Most phone ids one PhoneTraffic call takes (spec §3.28). */
const MAX_TRAFFIC_PHONES = 100;

const S = PHONE_STATUS;

/** Statuses in which a phone's data disk can be read or written: running or stopped (CPS.0165 otherwise). */
const DATA_STATUSES: readonly number[] = [S.running, S.stopped];

/**
 * A migration replaces the target's system and data disks. No status "migrating" is documented; the
 * nearest is resetting (3), the other operation that replaces them, so the target shows 3 while the job
 * runs, then runs (2) with the source's data like a phone after a reset, or shows reset failed (-5).
 */
export const MIGRATION = { via: S.resetting, success: S.running, failure: S.resetFailed } as const;

// Export paths: the documented characters (spec §3.25); `*` only in exclude_files (spec §8 row 29).
const INCLUDE_PATH = /^[A-Za-z0-9._/+#=-]+$/;
const EXCLUDE_PATH = /^[A-Za-z0-9._/+#=*-]+$/;
const OBJECT_PATH = /^[A-Za-z0-9._/+#=-]+$/;
const MAX_PATH_BYTES = 4096;

/**
 * An absolute path of the documented characters, at most 4,096 bytes, under /data or /cache (the only data
 * that can be exported), with no empty, `.` or `..` segment; returned without a trailing `/`.
 */
function dataPath(path: string, chars: RegExp = INCLUDE_PATH): string | undefined {
  if (Buffer.byteLength(path) > MAX_PATH_BYTES || !chars.test(path) || !path.startsWith('/')) return undefined;
  const trimmed = path.replace(/(.)\/$/, '$1');
  const segments = trimmed.split('/').slice(1);
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) return undefined;
  return segments[0] === 'data' || segments[0] === 'cache' ? trimmed : undefined;
}

export class PhoneDataService {
  constructor(
    private readonly db: Db,
    private readonly catalogue: Catalogue,
    private readonly objects: AccountObjects,
    private readonly clock: Clock,
    private readonly queue: JobQueue,
  ) {}

  /**
   * BatchExportCloudPhoneData, into the buckets of the project's account. The object each accepted item
   * writes is registered to the project; a path that holds an object this project did not export, or that
   * another project of the account registered, is CPS.0172.
   */
  async exportData(projectId: string, requestId: string, infos: StorageInfo[]): Promise<BatchEntry[]> {
    if (infos.length === 0) throw cpsError('CPS.0167');
    if (infos.length > MAX_BATCH_PHONES) throw cpsError('CPS.0170');
    const plans = infos.map(planExport);
    const account = await this.objects.account(projectId);
    const stored = await storedObjects(await this.objects.forProject(projectId), plans.flatMap((plan) => ('error_code' in plan ? [] : [plan])));
    return transaction(this.db, async (trx) => {
      const phones = await lockPhones(trx, projectId, infos.map((info) => info.phone_id));
      const refusals = infos.map((info, i) => {
        const plan = plans[i];
        return 'error_code' in plan ? plan : this.dataRefusal(phones.get(info.phone_id));
      });
      // Claim the free paths first, then read who holds each: a path claimed meanwhile by another request
      // shows its owner here, so two projects never both accept the same path.
      const wanted = plans.flatMap((plan, i) => (refusals[i] ? [] : [plan as ExportPlan]));
      const free = wanted.filter((plan) => !stored.has(objectKey(plan)));
      if (free.length > 0) {
        const now = this.clock.now();
        await trx
          .insertInto('phone_data_objects')
          .values(free.map((plan) => ({ domain_id: account.id, bucket: plan.bucket, object_key: plan.key, project_id: projectId, created_at: now })))
          .onConflict((conflict) => conflict.columns(['domain_id', 'bucket', 'object_key']).doNothing())
          .execute();
      }
      const owners = await objectOwners(trx, account.id, wanted);
      const jobs: JobRow[] = [];
      const entries = infos.map((info, i): BatchEntry => {
        const plan = plans[i] as ExportPlan;
        const refusal = refusals[i] ?? (owners.get(objectKey(plan)) === projectId ? undefined : itemError('CPS.0172'));
        if (refusal) return { phone_id: info.phone_id, ...refusal };
        const job = this.queue.job('phone.export', plan, onPhone(projectId, requestId, phones.get(info.phone_id)!));
        jobs.push(job);
        return { phone_id: info.phone_id, job_id: job.id };
      });
      await this.queue.enqueue(trx, jobs);
      return entries;
    });
  }

  /** BatchImportCloudPhoneData: only an object this project exported can be restored (CPS.0172). */
  async restoreData(projectId: string, requestId: string, infos: RestoreInfo[]): Promise<BatchEntry[]> {
    if (infos.length === 0 || infos.length > MAX_BATCH_PHONES) throw cpsError('CPS.0171');
    const account = await this.objects.account(projectId);
    return transaction(this.db, async (trx) => {
      const phones = await lockPhones(trx, projectId, infos.map((info) => info.phone_id));
      const objects = infos.map((info) => ({ bucket: info.bucket_name, key: info.object_path }));
      const owners = await objectOwners(trx, account.id, objects.filter((object) => isValidBucketName(object.bucket) && isValidObjectKey(object.key)));
      const jobs: JobRow[] = [];
      const entries = infos.map((info, i): BatchEntry => {
        const phone = phones.get(info.phone_id);
        const refusal = this.restoreRefusal(info, phone, owners.get(objectKey(objects[i])) === projectId);
        if (refusal) return { phone_id: info.phone_id, ...refusal };
        const job = this.queue.job('phone.restore', objects[i], onPhone(projectId, requestId, phone!));
        jobs.push(job);
        return { phone_id: info.phone_id, job_id: job.id };
      });
      await this.queue.enqueue(trx, jobs);
      return entries;
    });
  }

  /**
   * BatchMigrateCloudPhone: the source must be stopped (CPS.0216) and stays so; the target (running or
   * stopped, CPS.0165) shows MIGRATION.via until its job ends. Unknown ids, like malformed ones, are the
   * field's own code (CPS.0232 source, CPS.0233 target), as the document's example answers.
   */
  async migrate(projectId: string, requestId: string, infos: MigrateInfo[]): Promise<MigrateEntry[]> {
    if (infos.length === 0 || infos.length > MAX_BATCH_PHONES) throw cpsError('CPS.0234');
    return transaction(this.db, async (trx) => {
      const phones = await lockPhones(trx, projectId, infos.flatMap((info) => [info.source_phone_id, info.target_phone_id]));
      const imageIds = [...new Set([...phones.values()].map((phone) => phone.image_id))];
      const images = new Map(await Promise.all(imageIds.map(async (id) => [id, await phoneImage(trx, this.catalogue, id)] as const)));
      const jobs: JobRow[] = [];
      const entries = infos.map((info): MigrateEntry => {
        const ids = { source_phone_id: info.source_phone_id, target_phone_id: info.target_phone_id };
        const source = phones.get(info.source_phone_id);
        const target = phones.get(info.target_phone_id);
        const refusal = this.migrateRefusal(info, source, target, images);
        if (refusal) return { ...ids, ...itemError(refusal) };
        const plan: MigratePlan = {
          source_phone_id: source!.id,
          migrate_property: info.is_migrate_property?.toLowerCase() === 'true',
          target_status: target!.status,
        };
        // A target named again in the same request then meets the phone as busy.
        target!.status = MIGRATION.via;
        const job = this.queue.job('phone.migrate', plan, onPhone(projectId, requestId, target!));
        jobs.push(job);
        return { ...ids, job_id: job.id };
      });
      if (jobs.length > 0) {
        const targets = jobs.map((job) => job.phone_id!);
        await trx.updateTable('phones').set({ status: MIGRATION.via, updated_at: this.clock.now() }).where('id', 'in', targets).execute();
      }
      await this.queue.enqueue(trx, jobs);
      return entries;
    });
  }

  /** PhoneTraffic: the phone's `traffic_type` becomes the requested one when its job succeeds. */
  async traffic(projectId: string, requestId: string, trafficType: string, phoneIds: string[]): Promise<BatchEntry[]> {
    if (!TRAFFIC_TYPES.includes(trafficType)) throw cpsError('CPS.0207');
    if (phoneIds.length === 0) throw cpsError('CPS.0009');
    if (phoneIds.length > MAX_TRAFFIC_PHONES) throw cpsError('CPS.0209');
    return transaction(this.db, async (trx) => {
      const phones = await lockPhones(trx, projectId, phoneIds);
      const jobs: JobRow[] = [];
      const entries = phoneIds.map((phoneId): BatchEntry => {
        const phone = phones.get(phoneId);
        // The route is a setting of the phone, recorded in the same statuses as its attributes.
        const refusal: CpsCode | undefined = !HEX32.test(phoneId) ? 'CPS.0004' : !phone ? 'CPS.0005' : phoneRefusal('update-property', phone.status);
        if (refusal) return { phone_id: phoneId, ...itemError(refusal) };
        const job = this.queue.job('phone.traffic', { traffic_type: trafficType }, onPhone(projectId, requestId, phone!));
        jobs.push(job);
        return { phone_id: phoneId, job_id: job.id };
      });
      await this.queue.enqueue(trx, jobs);
      return entries;
    });
  }

  /**
   * Why a phone's data cannot be exported or restored now: unknown (CPS.0005), a flavor without data
   * export (CPS.0219: `qemu_phone` flavors are whole virtual machines, not containers whose /data and
   * /cache can be archived), or a status other than running or stopped (CPS.0165).
   */
  private dataRefusal(phone: Phone | undefined): ItemError | undefined {
    if (!phone) return itemError('CPS.0005');
    if (this.catalogue.phoneModel(phone.phone_model_name)?.image_label === 'qemu_phone') return itemError('CPS.0219');
    if (!DATA_STATUSES.includes(phone.status)) return itemError('CPS.0165');
    return undefined;
  }

  private restoreRefusal(info: RestoreInfo, phone: Phone | undefined, exported: boolean): ItemError | undefined {
    if (!HEX32.test(info.phone_id)) return itemError('CPS.0004');
    if (!isValidBucketName(info.bucket_name)) return itemError('CPS.0134');
    if (!isValidObjectKey(info.object_path)) return itemError('CPS.0135');
    return this.dataRefusal(phone) ?? (exported ? undefined : itemError('CPS.0172'));
  }

  private migrateRefusal(info: MigrateInfo, source: Phone | undefined, target: Phone | undefined, images: Map<string, PhoneImage | undefined>): CpsCode | undefined {
    if (info.source_phone_id === info.target_phone_id) return 'CPS.0231';
    if (!source) return 'CPS.0232';
    if (!target) return 'CPS.0233';
    if (source.status !== S.stopped) return 'CPS.0216';
    if (!DATA_STATUSES.includes(target.status)) return 'CPS.0165';
    // The target takes the source's system disk, so its flavor must run the source's image.
    const image = images.get(source.image_id);
    const model = this.catalogue.phoneModel(target.phone_model_name);
    if (!image || !model || !this.catalogue.imageFitsPhoneModel(image, model)) return 'CPS.0233';
    return undefined;
  }
}

/** The export of one item, or the documented error of its first invalid field. */
function planExport(info: StorageInfo): ExportPlan | ItemError {
  if (!HEX32.test(info.phone_id)) return itemError('CPS.0004');
  const include = info.include_files.map((path) => dataPath(path));
  if (include.length === 0 || include.some((path) => !path)) return itemError('CPS.0168');
  const exclude = (info.exclude_files ?? []).map((path) => dataPath(path, EXCLUDE_PATH));
  if ((info.exclude_files && exclude.length === 0) || exclude.some((path) => !path)) return itemError('CPS.0169');
  if (!isValidBucketName(info.bucket_name)) return itemError('CPS.0134');
  if (!OBJECT_PATH.test(info.object_path) || !isValidObjectKey(info.object_path)) return itemError('CPS.0135');
  return { include_files: include as string[], exclude_files: exclude as string[], bucket: info.bucket_name, key: info.object_path };
}

/** Which of the objects already exist in the account's buckets. */
async function storedObjects(objects: ObjectStore, plans: ExportPlan[]): Promise<Set<string>> {
  const distinct = new Map(plans.map((plan) => [objectKey(plan), plan]));
  const found = await Promise.all([...distinct].map(async ([key, plan]) => ((await objects.stat(plan.bucket, plan.key)) ? [key] : [])));
  return new Set(found.flat());
}

/** The named phones of the project that exist, locked until the transaction ends; malformed ids are skipped. */
async function lockPhones(trx: Db, projectId: string, ids: string[]): Promise<Map<string, Phone>> {
  const wellFormed = [...new Set(ids.filter((id) => HEX32.test(id)))];
  const found = wellFormed.length
    ? await trx.selectFrom('phones').selectAll().where('project_id', '=', projectId).where('id', 'in', wellFormed).forUpdate().execute()
    : [];
  return new Map(found.map((phone) => [phone.id, phone]));
}

/** The project each registered object of the account belongs to, by objectKey. */
async function objectOwners(trx: Db, domainId: string, objects: Array<{ bucket: string; key: string }>): Promise<Map<string, string>> {
  if (objects.length === 0) return new Map();
  const rows = await trx
    .selectFrom('phone_data_objects')
    .select(['bucket', 'object_key', 'project_id'])
    .where('domain_id', '=', domainId)
    .where((eb) => eb.or(objects.map((object) => eb.and([eb('bucket', '=', object.bucket), eb('object_key', '=', object.key)]))))
    .execute();
  return new Map(rows.map((row) => [objectKey({ bucket: row.bucket, key: row.object_key }), row.project_id]));
}

function objectKey(object: { bucket: string; key: string }): string {
  return JSON.stringify([object.bucket, object.key]);
}
