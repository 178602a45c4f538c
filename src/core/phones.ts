import type { Static } from '@sinclair/typebox';
import type { PhoneBatchItem as PhoneBatchItemSchema } from '../api/schemas/cph/phones.ts';
import { inTransaction, type Db } from '../store/db.ts';
import type { Phone } from '../store/schema.ts';
import type { Catalogue, PhoneImage } from './catalogue.ts';
import { PHONE_TRANSITIONS, phoneRefusal, type PhoneOperation } from './lifecycle.ts';
import { HEX32, type Clock } from './runtime.ts';
import { escapeLike } from '../store/like.ts';
import { checkProperty } from './phone-properties.ts';
import { usableImage } from './images.ts';
import { onPhone, type JobQueue, type JobRow } from './job-types.ts';
import { cpsError, itemError, notFound, type ItemError } from './errors.ts';

export interface PhoneFilters {
  offset: number;
  limit: number;
  phone_name?: string;
  server_id?: string;
  status?: number;
  type?: number;
}

export type PhoneBatchItem = Static<typeof PhoneBatchItemSchema>;

export type BatchEntry = { phone_id: string; job_id: string } | ({ phone_id: string } & ItemError);

/** Most phones one batch request may name (spec §8 row 41). */
export const MAX_BATCH_PHONES = 100;

const pageColumns = ['seq', 'id', 'name', 'server_id', 'phone_model_name', 'image_id', 'status', 'type', 'imei', 'traffic_type', 'volume_mode', 'has_encrypt', 'created_at', 'updated_at'] as const;

const phoneColumns = [
  'phones.id',
  'phones.name',
  'phones.server_id',
  'phones.phone_model_name',
  'phones.image_id',
  'phones.status',
  'phones.type',
  'phones.imei',
  'phones.traffic_type',
  'phones.volume_mode',
  'phones.has_encrypt',
  'phones.created_at',
  'phones.updated_at',
  'servers.availability_zone',
  'servers.order_id',
  'servers.product_id',
] as const;

export class PhoneService {
  constructor(
    private readonly db: Db,
    private readonly catalogue: Catalogue,
    private readonly clock: Clock,
    private readonly queue: JobQueue,
  ) {}

  /** A page of phones, newest first, and the total that match the filters. */
  async list(projectId: string, filters: PhoneFilters) {
    let matching = this.db.selectFrom('phones').where('project_id', '=', projectId);
    if (filters.phone_name) matching = matching.where('name', 'like', `%${escapeLike(filters.phone_name)}%`);
    if (filters.server_id) matching = matching.where('server_id', '=', filters.server_id);
    if (filters.status !== undefined) matching = matching.where('status', '=', filters.status);
    if (filters.type !== undefined) matching = matching.where('type', '=', filters.type);
    // The page is cut before the join, so only its phones meet their servers.
    const page = matching.select([...pageColumns]).orderBy('seq', 'desc').offset(filters.offset).limit(filters.limit).as('phones');
    const [phones, total] = await Promise.all([
      this.db.selectFrom(page).innerJoin('servers', 'servers.id', 'phones.server_id').select(phoneColumns).orderBy('phones.seq', 'desc').execute(),
      matching.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
    ]);
    return { phones, count: Number(total.count) };
  }

  async get(projectId: string, phoneId: string) {
    const phone = await this.db
      .selectFrom('phones')
      .innerJoin('servers', 'servers.id', 'phones.server_id')
      .select([...phoneColumns, 'phones.property', 'phones.phone_ip', 'phones.slot', 'servers.addresses', 'servers.ports', 'servers.volumes', 'phones.data_volume_size'])
      .where('phones.project_id', '=', projectId)
      .where('phones.id', '=', phoneId)
      .executeTakeFirst();
    if (!phone) throw notFound('CPS.0005');
    // An expanded data volume (ExpandPhoneDataVolumeSize) outgrows the flavor's disk.
    return { ...phone, disk: phone.data_volume_size ?? this.catalogue.phoneModel(phone.phone_model_name)?.disk ?? 0 };
  }

  /** `image_version` of each image of `imageIds`: a custom image has its base image's version. */
  async imageVersions(imageIds: string[]): Promise<Map<string, string>> {
    const versions = new Map<string, string>();
    const custom = new Set<string>();
    for (const id of imageIds) {
      const image = this.catalogue.image(id);
      if (image) versions.set(id, image.opencph.image_version);
      else custom.add(id);
    }
    if (custom.size > 0) {
      const rows = await this.db.selectFrom('custom_images').select(['id', 'base_image_id']).where('id', 'in', [...custom]).execute();
      for (const row of rows) versions.set(row.id, this.catalogue.image(row.base_image_id)?.opencph.image_version ?? '');
    }
    return versions;
  }

  /**
   * UpdatePhoneName: synchronous. A name another phone of the same server has is refused (CPS.0026); names
   * repeat across servers, every server's phones being mobile-0001….
   */
  async rename(projectId: string, phoneId: string, name: string): Promise<void> {
    const updated = await this.db
      .updateTable('phones')
      .set({ name, updated_at: this.clock.now() })
      .where('project_id', '=', projectId)
      .where('id', '=', phoneId)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('phones as other').select('other.id').whereRef('other.server_id', '=', 'phones.server_id').whereRef('other.id', '<>', 'phones.id').where('other.name', '=', name))),
      )
      .executeTakeFirst();
    if (updated.numUpdatedRows > 0n) return;
    const phone = await this.db.selectFrom('phones').select('id').where('project_id', '=', projectId).where('id', '=', phoneId).executeTakeFirst();
    throw phone ? cpsError('CPS.0026') : notFound('CPS.0005');
  }

  /** RestartCloudPhone: restarts running phones, starts stopped ones; a new image and attributes may apply. */
  restart(projectId: string, requestId: string, items: PhoneBatchItem[], imageId?: string): Promise<BatchEntry[]> {
    return this.batch('restart', projectId, requestId, items, imageId);
  }

  /** ResetCloudPhone: wipes the phones' data; a new image and attributes may apply. */
  reset(projectId: string, requestId: string, items: PhoneBatchItem[], imageId?: string): Promise<BatchEntry[]> {
    return this.batch('reset', projectId, requestId, items, imageId);
  }

  /** PowerOffCloudPhone. */
  stop(projectId: string, requestId: string, phoneIds: string[]): Promise<BatchEntry[]> {
    return this.batch('stop', projectId, requestId, phoneIds.map((phone_id) => ({ phone_id })));
  }

  /** UpdateCloudPhoneProperty: every item names attributes to merge into the phone's. */
  updateProperty(projectId: string, requestId: string, items: Array<Required<PhoneBatchItem>>): Promise<BatchEntry[]> {
    return this.batch('update-property', projectId, requestId, items);
  }

  /**
   * A batch operation on phones: every named phone that allows it gets a job (and its transitional status);
   * the others get their documented error in place of a job. One transaction; the response keeps the
   * request's order.
   */
  private async batch(operation: PhoneOperation, projectId: string, requestId: string, items: PhoneBatchItem[], imageId?: string): Promise<BatchEntry[]> {
    if (items.length === 0) throw cpsError('CPS.0009');
    if (items.length > MAX_BATCH_PHONES) throw cpsError('CPS.0190');
    const image = imageId === undefined ? undefined : await usableImage(this.db, this.catalogue, projectId, imageId);
    if (imageId !== undefined && !image) throw cpsError('CPS.0166');
    const { via } = PHONE_TRANSITIONS[operation];
    const now = this.clock.now();
    return inTransaction(this.db, async (trx) => {
      const ids = items.map((item) => item.phone_id).filter((id) => HEX32.test(id));
      const found = ids.length
        ? await trx.selectFrom('phones').selectAll().where('project_id', '=', projectId).where('id', 'in', ids).forUpdate().execute()
        : [];
      const phones = new Map<string, Phone>(found.map((phone) => [phone.id, phone]));
      const jobs: JobRow[] = [];
      const result: BatchEntry[] = items.map((item) => {
        const phone = phones.get(item.phone_id);
        const refusal = this.refusal(operation, item, phone, image);
        if (refusal) return { phone_id: item.phone_id, ...refusal };
        // A repeated id in the same batch then meets the phone as busy.
        if (via !== undefined) phone!.status = via;
        const job = this.queue.job(`phone.${operation}`, { property: item.property, image_id: imageId }, onPhone(projectId, requestId, phone!));
        jobs.push(job);
        return { phone_id: item.phone_id, job_id: job.id };
      });
      if (jobs.length > 0 && via !== undefined) {
        await trx.updateTable('phones').set({ status: via, updated_at: now }).where('id', 'in', jobs.map((job) => job.phone_id!)).execute();
      }
      await this.queue.enqueue(trx, jobs);
      return result;
    });
  }

  private refusal(operation: PhoneOperation, item: PhoneBatchItem, phone: Phone | undefined, image: PhoneImage | undefined): ItemError | undefined {
    if (!HEX32.test(item.phone_id)) return itemError('CPS.0004');
    if (!phone) return itemError('CPS.0005');
    const code = phoneRefusal(operation, phone.status);
    if (code) return itemError(code);
    if (item.property !== undefined) {
      const propertyError = checkProperty(item.property, phone.phone_model_name);
      if (propertyError) return propertyError;
    }
    if (image) {
      const model = this.catalogue.phoneModel(phone.phone_model_name);
      if (!model || !this.catalogue.imageFitsPhoneModel(image, model)) return itemError('CPS.0255');
    }
    return undefined;
  }
}
