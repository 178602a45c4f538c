// Shared storage and shared apps of cloud phone servers (spec §3.7–§3.11): the request rules, the jobs
// they queue (one per server, run in order with the server's other jobs) and ListShareFiles' result text.
import type { Static } from '@sinclair/typebox';
import type { DeleteFilesBody, DeleteShareAppBody, ListShareFilesQuery, PushFilesBody, PushShareAppBody } from '../api/schemas/cph/share.ts';
import { transaction, type Db } from '../store/db.ts';
import type { ExpressionBuilder } from 'kysely';
import type { Database } from '../store/schema.ts';
import { isValidBucketName, isValidObjectKey } from '../objects/store.ts';
import type { ShareEntry, ShareUsage } from '../devices/shared-storage.ts';
import { Catalogue, type PhoneModel } from './catalogue.ts';
import { SERVER_STATUS } from './model.ts';
import { HEX32 } from './runtime.ts';
import { MAX_BATCH_SERVERS, type ServerBatchEntry } from './servers/batch.ts';
import { onServer, type JobPayloads, type JobQueue, type JobRow, type ShareJobs } from './job-types.ts';
import { cpsError, itemError, type CpsCode } from './errors.ts';

/** The share jobs (their payloads: core/job-types.ts). */
export type ShareJobType = keyof ShareJobs;

/** Jobs keep at most this much `execute_msg` (spec §1.7). */
const EXECUTE_MSG_BYTES = 1024;
const GiB = 1024 ** 3;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The refusal of a server whose flavor has no shared storage: CPS.0137 for files, CPS.0147 for apps. */
export function unsupportedCode(type: ShareJobType): CpsCode {
  return type.startsWith('share.apps.') ? 'CPS.0147' : 'CPS.0137';
}

/** Size of a server's shared storage, from its phone flavor; undefined when the flavor has none (spec §3.7). */
export function shareCapacityBytes(phoneModel: PhoneModel): number | undefined {
  const size = Catalogue.extendSpec(phoneModel).max_share_disk_size_g;
  return size === undefined ? undefined : size * GiB;
}

export class ShareService {
  constructor(
    private readonly db: Db,
    private readonly catalogue: Catalogue,
    private readonly queue: JobQueue,
    /** Whether a device driver offers shared storage: a server whose phones' driver declines it is refused as its flavor would be. */
    private readonly sharesStorage: (driver: string) => Promise<boolean>,
  ) {}

  /** PushShareFiles. */
  pushFiles(projectId: string, requestId: string, body: Static<typeof PushFilesBody>) {
    const object = tarObject(body.bucket_name, body.object_path);
    return this.enqueue(projectId, requestId, body.server_ids, 'share.files.push', object);
  }

  /** ListShareFiles: `server_ids` is the query's comma-separated list. */
  listFiles(projectId: string, requestId: string, query: Required<Static<typeof ListShareFilesQuery>>) {
    const serverIds = query.server_ids.split(',').map((id) => id.trim()).filter(Boolean);
    return this.enqueue(projectId, requestId, serverIds, 'share.files.list', { path: query.path, offset: query.offset, limit: query.limit });
  }

  /** DeleteShareFiles. */
  deleteFiles(projectId: string, requestId: string, body: Static<typeof DeleteFilesBody>) {
    return this.enqueue(projectId, requestId, body.server_ids, 'share.files.delete', { paths: body.file_paths });
  }

  /** PushShareApps. */
  pushApp(projectId: string, requestId: string, body: Static<typeof PushShareAppBody>) {
    const { bucket, key } = tarObject(body.bucket_name, body.object_path);
    const params = { package_name: body.package_name, preinstall: body.pre_install_app === 1, bucket, key };
    return this.enqueue(projectId, requestId, body.server_ids, 'share.apps.push', params);
  }

  /** DeleteShareApps. */
  deleteApp(projectId: string, requestId: string, body: Static<typeof DeleteShareAppBody>) {
    return this.enqueue(projectId, requestId, body.server_ids, 'share.apps.delete', { package_name: body.package_name });
  }

  /**
   * One job per named server that can take it; the others get their code in place of a job: a malformed id
   * CPS.0097, a missing or another project's server CPS.0015, a flavor (or its phones' driver) without shared
   * storage CPS.0137 (files) or CPS.0147 (apps), a server that is not normal (being created, restarted, frozen…) CPS.0105.
   */
  private async enqueue<T extends ShareJobType>(projectId: string, requestId: string, serverIds: string[], type: T, params: JobPayloads[T]): Promise<ServerBatchEntry[]> {
    if (serverIds.length === 0) throw cpsError('CPS.0095');
    if (serverIds.length > MAX_BATCH_SERVERS) throw cpsError('CPS.0096');
    const unsupported = unsupportedCode(type);
    return transaction(this.db, async (trx) => {
      const wellFormed = serverIds.filter((id) => HEX32.test(id));
      const found = wellFormed.length
        ? await trx.selectFrom('servers').select(['id', 'status', 'phone_model_name']).select(serverDriver).where('project_id', '=', projectId).where('id', 'in', wellFormed).execute()
        : [];
      const servers = new Map(found.map((server) => [server.id, server]));
      const declining = new Set<string | null>([null]);
      for (const driver of new Set(found.map((server) => server.driver))) if (driver && !(await this.sharesStorage(driver))) declining.add(driver);
      const jobs: JobRow[] = [];
      const entries = serverIds.map((serverId): ServerBatchEntry => {
        const server = servers.get(serverId);
        const refusal = this.refusal(serverId, server && { ...server, shares: !declining.has(server.driver) }, unsupported);
        if (refusal) return { server_id: serverId, ...itemError(refusal) };
        const job = this.queue.job(type, params, onServer(projectId, requestId, serverId));
        jobs.push(job);
        return { server_id: serverId, job_id: job.id };
      });
      await this.queue.enqueue(trx, jobs);
      return entries;
    });
  }

  private refusal(serverId: string, server: { status: number; phone_model_name: string; shares: boolean } | undefined, unsupported: CpsCode): CpsCode | undefined {
    if (!HEX32.test(serverId)) return 'CPS.0097';
    if (!server) return 'CPS.0015';
    const phoneModel = this.catalogue.phoneModel(server.phone_model_name);
    if (!phoneModel || shareCapacityBytes(phoneModel) === undefined || !server.shares) return unsupported;
    if (server.status !== SERVER_STATUS.normal) return 'CPS.0105';
    return undefined;
  }
}

/** The driver of a server's phones (they all have the one their flavor was mapped to when bought), as `driver`. */
export const serverDriver = (eb: ExpressionBuilder<Database, 'servers'>) =>
  eb.selectFrom('phones').select('phones.driver').whereRef('phones.server_id', '=', 'servers.id').limit(1).as('driver');

/** The `.tar` object a push names: CPS.0134 bad bucket, CPS.0135 bad key (the schema checked its characters). */
function tarObject(bucket: string, key: string): { bucket: string; key: string } {
  if (!isValidBucketName(bucket)) throw cpsError('CPS.0134');
  if (!isValidObjectKey(key)) throw cpsError('CPS.0135');
  return { bucket, key };
}

/**
 * ListShareFiles' `execute_msg` (spec §3.8): the page `offset`/`limit` of the directory's entries as
 * `"<size> <Mon DD HH:MM> <name>\n"`, the volume's size and its `df -h` columns. Jobs keep 1,024 bytes of
 * `execute_msg`, so entries are dropped from the end of the page until the JSON fits: `count` says how many
 * came, and the next page starts at `offset + count`. A name has at most 255 bytes and no control characters
 * (pushes refuse others), so at least one entry always fits.
 */
export function shareFilesMessage(entries: ShareEntry[], offset: number, limit: number, usage: ShareUsage): string {
  const text = (files: string[]) =>
    JSON.stringify({
      files_in_path: { total: entries.length, count: files.length, files },
      share_base_max_size: `${Math.round(usage.totalBytes / GiB)}G`,
      share_base_capacity: dfColumns(usage),
    });
  const files = entries.slice(offset, offset + limit).map((entry) => `${entry.size} ${listingTime(entry.mtime)} ${entry.name}\n`);
  while (files.length > 1 && Buffer.byteLength(text(files)) > EXECUTE_MSG_BYTES) files.pop();
  return text(files);
}

/** `Size Used Avail Use%` as `df -h` prints them for the shared volume. */
function dfColumns({ totalBytes, usedBytes }: ShareUsage): string {
  const percent = usedBytes === 0 ? 0 : Math.ceil((usedBytes * 100) / totalBytes);
  return `${dfSize(totalBytes)} ${dfSize(usedBytes)} ${dfSize(Math.max(0, totalBytes - usedBytes))} ${percent}%`;
}

/** coreutils' `df -h`: 1K blocks, powers of 1024 from K up, rounded up, one decimal below 10 (`8.9G`, `323M`, `50G`). */
function dfSize(bytes: number): string {
  if (bytes === 0) return '0';
  const units = ['K', 'M', 'G', 'T', 'P'];
  let value = Math.ceil(bytes / 1024);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (value < 10) {
    const tenths = Math.ceil(value * 10) / 10;
    if (tenths < 10) return `${tenths.toFixed(1)}${units[unit]}`;
  }
  const whole = Math.ceil(value);
  return whole >= 1024 && unit < units.length - 1 ? `1.0${units[unit + 1]}` : `${whole}${units[unit]}`;
}

/** `Apr 15 09:49`, as the document's example shows the time of an entry (UTC). */
function listingTime(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;
}
