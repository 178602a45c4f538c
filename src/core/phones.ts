import type { Db } from '../store/db.ts';
import type { NewJob, Phone } from '../store/schema.ts';
import { cpsError, itemError, notFound, type ItemError } from '../api/errors.ts';
import type { Catalogue } from './catalogue.ts';
import { HEX32, type Clock, type Ids } from './runtime.ts';
import { PHONE_STATUS, RESTARTABLE } from './model.ts';
import { escapeLike } from './servers.ts';

export interface PhoneFilters {
  offset: number;
  limit: number;
  phone_name?: string;
  server_id?: string;
  status?: number;
  type?: number;
}

export interface PhoneBatchItem {
  phone_id: string;
  property?: string;
}

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
    private readonly ids: Ids,
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
      .select([...phoneColumns, 'phones.property', 'phones.phone_ip', 'phones.slot', 'servers.addresses', 'servers.ports'])
      .where('phones.project_id', '=', projectId)
      .where('phones.id', '=', phoneId)
      .executeTakeFirst();
    if (!phone) throw notFound('CPS.0005');
    return phone;
  }

  imageVersion(imageId: string): string {
    return this.catalogue.image(imageId)?.opencph.image_version ?? '';
  }

  /**
   * RestartCloudPhone: every named phone that may restart goes to 4 (restarting) with a job; the others get
   * their documented error in place of a job. One transaction; the response keeps the request's order.
   */
  async restart(projectId: string, requestId: string, items: PhoneBatchItem[], imageId?: string): Promise<BatchEntry[]> {
    if (items.length === 0) throw cpsError('CPS.0009');
    if (items.length > MAX_BATCH_PHONES) throw cpsError('CPS.0190');
    const image = imageId === undefined ? undefined : this.catalogue.image(imageId);
    if (imageId !== undefined && !image) throw cpsError('CPS.0166');
    const now = this.clock.now();
    const entries = await this.db.transaction().execute(async (trx) => {
      const ids = items.map((item) => item.phone_id).filter((id) => HEX32.test(id));
      const found = ids.length
        ? await trx.selectFrom('phones').selectAll().where('project_id', '=', projectId).where('id', 'in', ids).forUpdate().execute()
        : [];
      const phones = new Map<string, Phone>(found.map((phone) => [phone.id, phone]));
      const jobs: NewJob[] = [];
      const result: BatchEntry[] = items.map((item) => {
        const phone = phones.get(item.phone_id);
        const refusal = this.restartRefusal(item, phone, image);
        if (refusal) return { phone_id: item.phone_id, ...refusal };
        phone!.status = PHONE_STATUS.restarting; // a repeated id in the same batch is refused as busy
        const jobId = this.ids.hex32();
        jobs.push({
          id: jobId,
          project_id: projectId,
          request_id: requestId,
          type: 'phone.restart',
          phone_id: item.phone_id,
          server_id: phone!.server_id,
          lock_key: item.phone_id,
          params: JSON.stringify({ property: item.property, image_id: imageId }),
          state: 'queued',
          status: 1,
          begin_time: now,
        });
        return { phone_id: item.phone_id, job_id: jobId };
      });
      if (jobs.length > 0) {
        await trx
          .updateTable('phones')
          .set({ status: PHONE_STATUS.restarting, updated_at: now })
          .where('id', 'in', jobs.map((job) => job.phone_id!))
          .execute();
        await trx.insertInto('jobs').values(jobs).execute();
      }
      return result;
    });
    return entries;
  }

  private restartRefusal(item: PhoneBatchItem, phone: Phone | undefined, image: ReturnType<Catalogue['image']>): ItemError | undefined {
    if (!HEX32.test(item.phone_id)) return itemError('CPS.0004');
    if (!phone) return itemError('CPS.0005');
    if (phone.status === PHONE_STATUS.frozen) return itemError('CPS.0053');
    if (phone.status === PHONE_STATUS.creating || phone.status === PHONE_STATUS.beingCreated) return itemError('CPS.0213');
    if (!RESTARTABLE.includes(phone.status)) return itemError('CPS.0165');
    if (item.property !== undefined && !isPropertyJson(item.property)) return itemError('CPS.0078');
    if (image) {
      const model = this.catalogue.phoneModel(phone.phone_model_name);
      if (!model || !this.catalogue.imageFitsPhoneModel(image, model)) return itemError('CPS.0255');
    }
    return undefined;
  }
}

/** `property` is a JSON object of attribute names to string or number values, as a string. */
export function isPropertyJson(text: string): boolean {
  try {
    const value = JSON.parse(text) as unknown;
    return (
      typeof value === 'object' && value !== null && !Array.isArray(value) &&
      Object.values(value).every((v) => typeof v === 'string' || typeof v === 'number')
    );
  } catch {
    return false;
  }
}
