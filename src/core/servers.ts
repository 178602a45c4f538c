// The server service: the CPH server APIs (purchases, list, detail, rename, restart, flavor and set-up changes,
// key pairs, delete) and bandwidths. Purchases, changes, key pairs and bandwidths are in servers/, one concern
// per file; the body checks that need no database are in servers/validation.ts.
import { inTransaction, transaction, type Db } from '../store/db.ts';
import type { Server } from '../store/schema.ts';
import { escapeLike } from '../store/like.ts';
import type { BareServerInput, ChangeInput, ChangeModelInput, KeypairUpdate, PurchaseInput, ServerFilters } from '../api/schemas/cph/servers.ts';
import type { Catalogue } from './catalogue.ts';
import { HEX32, type Clock, type Ids } from './runtime.ts';
import { SERVER_RESTART } from './lifecycle.ts';
import { chargeAccount, type QuotaFamily } from './quotas.ts';
import { onServer, type JobQueue, type JobRow } from './job-types.ts';
import { cpsError, itemError, notFound, type CpsCode } from './errors.ts';
import { bandwidthsOf, dedicatedBandwidths, listBandwidths, resizeBandwidth } from './servers/bandwidths.ts';
import { change, changeModel } from './servers/change.ts';
import { updateKeypairs } from './servers/keypairs.ts';
import { purchase, purchaseBare } from './servers/purchase.ts';
import { validateBatchSize, type ServerBatchEntry } from './servers/batch.ts';
import { lockServers } from './servers/rows.ts';
import type { ServerContext } from './servers/setup.ts';

export class ServerService {
  private readonly context: ServerContext;

  constructor(
    private readonly db: Db,
    noteBulkWrite: () => void,
    catalogue: Catalogue,
    private readonly clock: Clock,
    ids: Ids,
    private readonly queue: JobQueue,
    /** The device driver a new phone of this flavor gets (OPENCPH_DRIVER, OPENCPH_DRIVER_BY_FLAVOR); its row keeps it. */
    driverFor: (phoneModelName: string) => string,
  ) {
    this.context = { db, noteBulkWrite, catalogue, clock, ids, queue, driverFor };
  }

  /** CreateCloudPhoneServer (v1) and CreateNet2CloudPhoneServer (v2); KooPhone's orders buy v1 servers in their codes. */
  purchase(projectId: string, requestId: string, input: PurchaseInput, network: 'v1' | 'v2', family: QuotaFamily = 'cph') {
    return purchase(this.context, projectId, requestId, input, network, family);
  }

  /** CreateCloudPhoneSingleServer (v2.1): servers without phones. */
  purchaseBare(projectId: string, requestId: string, input: BareServerInput) {
    return purchaseBare(this.context, projectId, requestId, input);
  }

  /** ChangeCloudPhoneServerModel (spec §3.12). */
  changeModel(projectId: string, requestId: string, input: ChangeModelInput) {
    return changeModel(this.context, projectId, requestId, input);
  }

  /** ChangeCloudPhoneServer (spec §3.39); the id of its job. */
  change(projectId: string, requestId: string, serverId: string, input: ChangeInput): Promise<string> {
    return change(this.context, projectId, requestId, serverId, input);
  }

  async list(projectId: string, filters: ServerFilters) {
    let query = this.db.selectFrom('servers').selectAll().where('project_id', '=', projectId);
    if (filters.server_name) query = query.where('name', 'like', `%${escapeLike(filters.server_name)}%`);
    if (filters.server_id) query = query.where('id', '=', filters.server_id);
    if (filters.network_version) query = query.where('network_version', '=', filters.network_version.toLowerCase() as 'v1' | 'v2');
    return query.orderBy('seq', 'desc').offset(filters.offset).limit(filters.limit).execute();
  }

  async get(projectId: string, serverId: string): Promise<Server> {
    const server = await this.db.selectFrom('servers').selectAll().where('project_id', '=', projectId).where('id', '=', serverId).executeTakeFirst();
    if (!server) throw notFound('CPS.0015');
    return server;
  }

  bandwidthsOf(serverId: string) {
    return bandwidthsOf(this.db, serverId);
  }

  /**
   * Removes the servers, their phones and their dedicated bandwidths now; one job frees what their phones held
   * on the devices. Shared bandwidths stay.
   */
  async delete(projectId: string, requestId: string, serverIds: string[]): Promise<string> {
    const unique = [...new Set(serverIds)];
    const found = await this.db.selectFrom('servers').select('id').where('project_id', '=', projectId).where('id', 'in', unique).execute();
    if (found.length !== unique.length) throw cpsError('CPS.0015');
    const jobId = await inTransaction(this.db, async (trx) => {
      // Locked first, the servers keep their phones until they go: what the account is relieved of is exact
      // even if another request deleted or changed one of them meanwhile.
      const servers = await lockServers(trx, projectId, unique);
      const phones = await trx.selectFrom('phones').select('id').where('server_id', 'in', unique).execute();
      const dedicated = await dedicatedBandwidths(trx, unique);
      await trx.deleteFrom('servers').where('project_id', '=', projectId).where('id', 'in', unique).execute();
      if (dedicated.length) await trx.deleteFrom('bandwidths').where('id', 'in', dedicated).execute();
      await chargeAccount(trx, projectId, { servers: -servers.size, phones: -phones.length });
      // It only frees what is gone: it waits for no other job, and is never refused for the jobs in flight.
      const job = this.queue.job(
        'server.delete',
        { server_ids: unique, phone_ids: phones.map((phone) => phone.id) },
        { projectId, requestId, serverId: unique.length === 1 ? unique[0] : null, alone: true },
      );
      await this.queue.enqueue(trx, [job], { unchecked: true });
      return job.id;
    });
    this.context.noteBulkWrite();
    return jobId;
  }

  /** UpdateServerName: synchronous; the phones keep their own names. */
  async rename(projectId: string, serverId: string, name: string): Promise<void> {
    const updated = await this.db
      .updateTable('servers')
      .set({ name, updated_at: this.clock.now() })
      .where('project_id', '=', projectId)
      .where('id', '=', serverId)
      .executeTakeFirst();
    if (updated.numUpdatedRows === 0n) throw notFound('CPS.0015');
  }

  /**
   * RestartCloudPhoneServer: a power cycle of each server named. Accepted from normal (5), and from the ends
   * of a power cycle that went wrong: stopping failed (12) and stopped (10, its phones did not start). The
   * server goes to 11 (being stopped) and every phone it holds that a phone restart would take, except the
   * stopped ones (8, stopped on purpose), to 4; one job per server stops those phones (server 10), starts them
   * (13) and ends 5 (see jobs/servers.ts). Refused servers get their code in place of a job.
   */
  async restart(projectId: string, requestId: string, serverIds: string[]): Promise<ServerBatchEntry[]> {
    validateBatchSize(serverIds.length);
    const now = this.clock.now();
    return transaction(this.db, async (trx) => {
      const status = await lockServers(trx, projectId, serverIds);
      const refusals = serverIds.map((serverId): CpsCode | undefined => {
        if (!HEX32.test(serverId)) return 'CPS.0097';
        if (!status.has(serverId)) return 'CPS.0015';
        if (!SERVER_RESTART.from.includes(status.get(serverId)!)) return SERVER_RESTART.refusal;
        status.set(serverId, SERVER_RESTART.stopping); // a repeated id in the same batch is refused
        return undefined;
      });
      const accepted = serverIds.filter((_, index) => !refusals[index]);
      const jobs = new Map<string, JobRow>();
      if (accepted.length > 0) {
        const phones = await trx
          .updateTable('phones')
          .set({ status: SERVER_RESTART.phones.via, updated_at: now })
          .where('server_id', 'in', accepted)
          .where('status', 'in', SERVER_RESTART.phones.from)
          .returning(['id', 'server_id'])
          .execute();
        await trx.updateTable('servers').set({ status: SERVER_RESTART.stopping, updated_at: now }).where('id', 'in', accepted).execute();
        for (const serverId of accepted) {
          const phoneIds = phones.filter((phone) => phone.server_id === serverId).map((phone) => phone.id);
          jobs.set(serverId, this.queue.job('server.restart', { phone_ids: phoneIds }, onServer(projectId, requestId, serverId)));
        }
        await this.queue.enqueue(trx, [...jobs.values()]);
      }
      return serverIds.map((serverId, index) => {
        const refusal = refusals[index];
        return refusal ? { server_id: serverId, ...itemError(refusal) } : { server_id: serverId, job_id: jobs.get(serverId)!.id };
      });
    });
  }

  /** UpdateKeypair: one job per normal server. */
  updateKeypairs(projectId: string, requestId: string, items: KeypairUpdate[]): Promise<ServerBatchEntry[]> {
    return updateKeypairs(this.context, projectId, requestId, items);
  }

  /** ShowBandwidthDetail: the project's bandwidths, newest first. */
  listBandwidths(projectId: string, offset: number, limit: number) {
    return listBandwidths(this.db, projectId, offset, limit);
  }

  /** UpdateBandwidth: a shared bandwidth's size. */
  resizeBandwidth(projectId: string, bandwidthId: string, size: number): Promise<void> {
    return resizeBandwidth(this.db, this.clock, projectId, bandwidthId, size);
  }
}
