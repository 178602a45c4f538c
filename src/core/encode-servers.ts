// Encoding servers (spec §3.32, §3.33): the video encoders of a server whose phone flavor has an
// `encode_server_spec`. A server gets one per address, and each encodes the phones on its address (phone
// slot s is on address (s - 1) mod the number of addresses), so it answers on that address's IPs.
import { sql } from 'kysely';
import { transaction, type Db } from '../store/db.ts';
import type { NewEncodeServer, NewServer, ServerAddress } from '../store/schema.ts';
import { Catalogue, type PhoneModel } from './catalogue.ts';
import { ENCODE_SERVER_STATUS, SERVER_STATUS } from './model.ts';
import { HEX32, type Ids } from './runtime.ts';
import { internalIp } from './servers/generated.ts';
import { onServer, type JobQueue, type JobRow } from './job-types.ts';
import { cpsError, itemError, type CpsCode, type ItemError } from './errors.ts';

export const ENCODE_RESTART_JOB = 'encode-server.restart';

/** Encoding servers are carved out of the server by their flavor's spec, like the phones: containers (`type` 1). */
const CONTAINER = 1;

/** Most encoding servers one restart may name (spec §8 row 41). */
export const MAX_BATCH_ENCODE_SERVERS = 100;

/**
 * The streaming ports every encoding server listens on (the same numbers outside, as in the §3.32 example):
 * native SDK clients (Android, Windows, iOS) and H5 pages. Servers without encoding servers stream from
 * the same ports on their addresses, so phone connection infos always point at one of these.
 */
export const STREAM_PORTS = { cph_app_server: 6900, cph_h5_server: 6901 } as const;

/** Server statuses that all mean "creating" (spec §4.1). */
const SERVER_CREATING = [SERVER_STATUS.ordered, SERVER_STATUS.provisioning, 3, 4];

export interface EncodeServerFilters {
  offset: number;
  limit: number;
  type?: number;
  status?: number;
  server_id?: string;
}

export type EncodeBatchEntry = { encode_server_id: string; job_id: string } | ({ encode_server_id: string } & ItemError);

/**
 * Records the encoding servers of newly bought servers (in the purchase's transaction); nothing when the
 * phone flavor has no `encode_server_spec`.
 */
export async function insertEncodeServers(trx: Db, servers: NewServer[], phoneModel: PhoneModel, ids: Ids): Promise<void> {
  if (!Catalogue.extendSpec(phoneModel).encode_server_spec) return;
  const rows: NewEncodeServer[] = servers.flatMap((server) =>
    (JSON.parse(server.addresses) as ServerAddress[]).map((_address, index) => ({
      id: ids.hex32(),
      project_id: server.project_id,
      server_id: server.id,
      slot: index + 1,
      name: `ENCODE_SERVER_${index + 1}`,
      type: CONTAINER,
      ip: internalIp(ids),
      status: ENCODE_SERVER_STATUS.running,
    })),
  );
  if (rows.length > 0) await trx.insertInto('encode_servers').values(rows).execute();
}

/**
 * The status clients see. Creating, abnormal and frozen follow the server; restarting lasts exactly as long
 * as a restart job is queued or running, so no crash can leave an encoding server restarting.
 */
const status = sql<number>`CASE
  WHEN s.status IN (${sql.join(SERVER_CREATING.map((value) => sql.lit(value)))}) THEN ${sql.lit(ENCODE_SERVER_STATUS.creating)}
  WHEN s.status = ${sql.lit(SERVER_STATUS.abnormal)} THEN ${sql.lit(ENCODE_SERVER_STATUS.abnormal)}
  WHEN s.status = ${sql.lit(SERVER_STATUS.frozen)} THEN ${sql.lit(ENCODE_SERVER_STATUS.frozen)}
  WHEN e.status <> ${sql.lit(ENCODE_SERVER_STATUS.running)} THEN e.status
  WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.lock_key = e.server_id AND j.state IN ('queued', 'running')
    AND j.type = ${sql.lit(ENCODE_RESTART_JOB)} AND j.params->>'encode_server_id' = e.id) THEN ${sql.lit(ENCODE_SERVER_STATUS.restarting)}
  ELSE e.status
END`;

/** Encoding servers with what the wire needs from their server. */
export function encodeServerRows(db: Db) {
  return db
    .selectFrom('encode_servers as e')
    .innerJoin('servers as s', 's.id', 'e.server_id')
    .select(['e.id', 'e.name', 'e.ip', 'e.server_id', 'e.slot', 'e.type', 's.keypair_name', 's.addresses', status.as('status')]);
}

/** The `access_infos` of the encoding server on `address` (spec §3.32; `access_ip` as §8 row 39 reads it). */
export function encodeAccessInfos(address: ServerAddress) {
  return Object.entries(STREAM_PORTS).map(([type, port]) => ({
    listen_port: port,
    access_ip: address.public_ip || address.server_ip,
    intranet_ip: address.server_ip,
    public_ip: address.public_ip,
    server_ip: address.server_ip,
    access_port: port,
    type,
  }));
}

/** The documented refusal of an encoding server in `status`, or undefined when it is running. */
export function encodeServerRefusal(status: number): CpsCode | undefined {
  if (status === ENCODE_SERVER_STATUS.creating) return 'CPS.0124';
  if (status === ENCODE_SERVER_STATUS.frozen) return 'CPS.0195';
  return status === ENCODE_SERVER_STATUS.running ? undefined : 'CPS.0208';
}

export class EncodeServerService {
  constructor(
    private readonly db: Db,
    private readonly queue: JobQueue,
  ) {}

  /**
   * ListEncodeServers: newest first. A `server_id` that names no server of the project is refused with
   * CPS.0123; a server without encoding servers gives an empty list.
   */
  async list(projectId: string, filters: EncodeServerFilters) {
    if (filters.server_id !== undefined) {
      const server = HEX32.test(filters.server_id)
        ? await this.db.selectFrom('servers').select('id').where('project_id', '=', projectId).where('id', '=', filters.server_id).executeTakeFirst()
        : undefined;
      if (!server) throw cpsError('CPS.0123');
    }
    let query = encodeServerRows(this.db).where('e.project_id', '=', projectId);
    if (filters.server_id !== undefined) query = query.where('e.server_id', '=', filters.server_id);
    if (filters.type !== undefined) query = query.where('e.type', '=', filters.type);
    if (filters.status !== undefined) {
      // 100 and 1014 are other names of "creating".
      const wanted = filters.status === 100 || filters.status === 1014 ? ENCODE_SERVER_STATUS.creating : filters.status;
      query = query.where(status, '=', wanted);
    }
    return query.orderBy('e.seq', 'desc').offset(filters.offset).limit(filters.limit).execute();
  }

  /**
   * RestartEncodeServer: each running encoding server named gets a job (and is restarting until it ends);
   * the others get their documented code in place of a job. The job queues behind its server's other jobs.
   */
  async restart(projectId: string, requestId: string, encodeServerIds: string[]): Promise<EncodeBatchEntry[]> {
    if (encodeServerIds.length === 0 || encodeServerIds.length > MAX_BATCH_ENCODE_SERVERS) throw cpsError('CPS.0122');
    const valid = encodeServerIds.filter((id) => HEX32.test(id));
    return transaction(this.db, async (trx) => {
      // Lock first, then read the status in a later statement: a concurrent restart of the same encoding
      // server has then committed its job, which this request sees.
      if (valid.length > 0) await trx.selectFrom('encode_servers').select('id').where('project_id', '=', projectId).where('id', 'in', valid).forUpdate().execute();
      const found = valid.length > 0 ? await encodeServerRows(trx).where('e.project_id', '=', projectId).where('e.id', 'in', valid).execute() : [];
      const servers = new Map(found.map((row) => [row.id, row]));
      const jobs: JobRow[] = [];
      const entries = encodeServerIds.map((id): EncodeBatchEntry => {
        const row = servers.get(id);
        const refusal: CpsCode | undefined = !HEX32.test(id) ? 'CPS.0121' : !row ? 'CPS.0123' : encodeServerRefusal(row.status);
        if (refusal) return { encode_server_id: id, ...itemError(refusal) };
        row!.status = ENCODE_SERVER_STATUS.restarting; // a repeated id in the same batch is refused
        const job = this.queue.job(ENCODE_RESTART_JOB, { encode_server_id: id }, onServer(projectId, requestId, row!.server_id));
        jobs.push(job);
        return { encode_server_id: id, job_id: job.id };
      });
      await this.queue.enqueue(trx, jobs);
      return entries;
    });
  }
}
