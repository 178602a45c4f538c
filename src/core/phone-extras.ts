// Phone operations of Huawei's current SDK that the documents do not have: BatchShowPhoneConnectInfos
// (`POST …/phones/batch-connection`) and ExpandPhoneDataVolumeSize (`POST …/phones/expand-volume`).
import { transaction, type Db } from '../store/db.ts';
import type { Catalogue } from './catalogue.ts';
import { encodeServerRefusal, encodeServerRows, STREAM_PORTS } from './encode-servers.ts';
import { PHONE_STATUS } from './model.ts';
import { MAX_BATCH_PHONES, type BatchEntry } from './phones.ts';
import { HEX32, type Clock, type Ids } from './runtime.ts';
import { onPhone, type JobQueue, type JobRow } from './job-types.ts';
import { cpsError, itemError, type CpsCode, type ItemError } from './errors.ts';

export const EXPAND_VOLUME_JOB = 'phone.expand-volume';

/** BatchShowPhoneConnectInfos takes at most 10 phones per call (SDK model ConnectionRequestBody). */
export const MAX_CONNECTION_PHONES = 10;

/** `client_type` values: the SDK's enum, plus `iOS` as the English page spells it. */
export const CLIENT_TYPES = ['ANDROID', 'WINDOWS', 'H5_MOBILE', 'H5_PC', 'IOS', 'iOS'];

/** ExpandPhoneDataVolumeSize: the new size is below 32,768 GiB. */
export const MAX_DATA_VOLUME_GIB = 32767;

export interface ConnectInfo {
  phone_id: string;
  access_info: {
    access_ip: string;
    intranet_ip: string;
    access_ipv6: string;
    access_port: number;
    session_id: string;
    timestamp: string;
    ticket: string;
  };
}

export type ConnectError = { phone_id: string } & ItemError;

/** A phone's data volume in GiB: its expanded size, else its flavor's disk. */
export function dataVolumeSize(phone: { phone_model_name: string; data_volume_size: number | null }, catalogue: Catalogue): number {
  return phone.data_volume_size ?? catalogue.phoneModel(phone.phone_model_name)?.disk ?? 0;
}

export class PhoneExtraService {
  constructor(
    private readonly db: Db,
    private readonly catalogue: Catalogue,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly queue: JobQueue,
  ) {}

  /**
   * Where a streaming client connects to each running phone: the public and private IP of the phone's
   * server address and the port for its kind of client (`cph_h5_server` for H5, `cph_app_server` otherwise).
   * On servers with encoding servers these are the phone's encoding server's, which must be running. Each
   * call opens a new session: a fresh `session_id`, a millisecond `timestamp` and an opaque `ticket`.
   */
  async connections(projectId: string, phoneIds: string[], clientType: string): Promise<{ connect_infos: ConnectInfo[]; errors: ConnectError[] }> {
    if (phoneIds.length === 0) throw cpsError('CPS.0009');
    if (phoneIds.length > MAX_CONNECTION_PHONES) throw cpsError('CPS.0190');
    const valid = phoneIds.filter((id) => HEX32.test(id));
    const phones = valid.length
      ? await this.db
          .selectFrom('phones')
          .innerJoin('servers', 'servers.id', 'phones.server_id')
          .select(['phones.id', 'phones.server_id', 'phones.status', 'phones.slot', 'servers.addresses'])
          .where('phones.project_id', '=', projectId)
          .where('phones.id', 'in', valid)
          .execute()
      : [];
    const serverIds = [...new Set(phones.map((phone) => phone.server_id))];
    const encoders = serverIds.length ? await encodeServerRows(this.db).where('e.server_id', 'in', serverIds).execute() : [];
    const encoderStatus = new Map(encoders.map((encoder) => [`${encoder.server_id}/${encoder.slot}`, encoder.status]));
    const byId = new Map(phones.map((phone) => [phone.id, phone]));
    const port = clientType.startsWith('H5_') ? STREAM_PORTS.cph_h5_server : STREAM_PORTS.cph_app_server;
    const timestamp = String(this.clock.now().getTime());
    const result = { connect_infos: [] as ConnectInfo[], errors: [] as ConnectError[] };
    for (const phoneId of phoneIds) {
      const phone = byId.get(phoneId);
      const index = phone ? (phone.slot - 1) % phone.addresses.length : 0;
      const encoder = phone && encoderStatus.get(`${phone.server_id}/${index + 1}`);
      const refusal: CpsCode | undefined = !HEX32.test(phoneId)
        ? 'CPS.0004'
        : !phone
          ? 'CPS.0005'
          : (connectionRefusal(phone.status) ?? (encoder === undefined ? undefined : encodeServerRefusal(encoder)));
      if (refusal) {
        result.errors.push({ phone_id: phoneId, ...itemError(refusal) });
        continue;
      }
      const address = phone!.addresses[index];
      result.connect_infos.push({
        phone_id: phoneId,
        access_info: {
          access_ip: address.public_ip,
          intranet_ip: address.server_ip,
          // Servers have no IPv6 addresses here.
          access_ipv6: '',
          access_port: port,
          session_id: this.ids.hex32(),
          timestamp,
          ticket: this.ids.hex32() + this.ids.hex32(),
        },
      });
    }
    return result;
  }

  /**
   * ExpandPhoneDataVolumeSize: one job per phone that is running or stopped and asked for at least its
   * current size (below 32,768 GiB, which the schema checks); a size below it gets CPS.0077, as an invalid
   * `phones` entry. The phone keeps its status. One transaction; the response keeps the request's order.
   */
  async expandVolume(projectId: string, requestId: string, items: Array<{ phone_id: string; new_size: number }>): Promise<BatchEntry[]> {
    if (items.length === 0) throw cpsError('CPS.0009');
    if (items.length > MAX_BATCH_PHONES) throw cpsError('CPS.0190');
    return transaction(this.db, async (trx) => {
      const ids = items.map((item) => item.phone_id).filter((id) => HEX32.test(id));
      const found = ids.length
        ? await trx
            .selectFrom('phones')
            .select(['id', 'server_id', 'status', 'phone_model_name', 'data_volume_size'])
            .where('project_id', '=', projectId)
            .where('id', 'in', ids)
            .forUpdate()
            .execute()
        : [];
      // Sizes as they will be once the jobs accepted so far have run: a later item must not ask for less.
      const sizes = new Map(found.map((phone) => [phone.id, { phone, size: dataVolumeSize(phone, this.catalogue) }]));
      const jobs: JobRow[] = [];
      const entries = items.map((item): BatchEntry => {
        const entry = sizes.get(item.phone_id);
        const refusal: CpsCode | undefined = !HEX32.test(item.phone_id)
          ? 'CPS.0004'
          : !entry
            ? 'CPS.0005'
            : (expandRefusal(entry.phone.status) ?? (item.new_size < entry.size ? 'CPS.0077' : undefined));
        if (refusal) return { phone_id: item.phone_id, ...itemError(refusal) };
        entry!.size = item.new_size;
        const job = this.queue.job(EXPAND_VOLUME_JOB, { new_size: item.new_size }, onPhone(projectId, requestId, entry!.phone));
        jobs.push(job);
        return { phone_id: item.phone_id, job_id: job.id };
      });
      await this.queue.enqueue(trx, jobs);
      return entries;
    });
  }
}

/** Only a running phone can be streamed. */
function connectionRefusal(status: number): CpsCode | undefined {
  if (status === PHONE_STATUS.beingCreated || status === PHONE_STATUS.creating) return 'CPS.0213';
  if (status === PHONE_STATUS.frozen) return 'CPS.0053';
  return status === PHONE_STATUS.running ? undefined : 'CPS.0141';
}

/** A data volume grows under a running or a stopped phone. */
function expandRefusal(status: number): CpsCode | undefined {
  if (status === PHONE_STATUS.beingCreated || status === PHONE_STATUS.creating) return 'CPS.0213';
  if (status === PHONE_STATUS.frozen) return 'CPS.0053';
  return status === PHONE_STATUS.running || status === PHONE_STATUS.stopped ? undefined : 'CPS.0165';
}
