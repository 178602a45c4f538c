import { randomInt } from 'node:crypto';
import { inTransaction, transaction, type Db } from '../store/db.ts';
import type { Insertable } from 'kysely';
import type { BandwidthTable, NewPhone, NewServer, Server, ServerPort, ServerVolume } from '../store/schema.ts';
import { Catalogue, type PhoneModel, type ServerModel } from './catalogue.ts';
import { HEX32, type Clock, type Ids } from './runtime.ts';
import { PHONE_STATUS, SERVER_STATUS } from './model.ts';
import { insertEncodeServers } from './encode-servers.ts';
import { phoneImage, usableImage } from './images.ts';
import { SERVER_RESTART } from './lifecycle.ts';
import { checkProperty } from './phone-properties.ts';
import { escapeLike } from '../store/like.ts';
import { chargeAccount, type QuotaFamily } from './quotas.ts';
import { onServer, type JobQueue, type JobRow } from './job-types.ts';
import { DomainError, cpsError, itemError, notFound, type CpsCode, type ItemError } from './errors.ts';

/** What a server is set up with: by both buy APIs (v1: system network, v2: custom network) and by ChangeCloudPhoneServer (v2). */
export interface ServerSetupInput {
  phone_model_name: string;
  image_id: string;
  keypair_name?: string;
  ports?: Array<{ name: string; listen_port: number; internet_accessible: string }>;
  band_width: { band_width_id?: string; band_width_share_type?: number; band_width_size?: number; band_width_charge_mode?: number };
  /** v1 only. */
  subnet_cidr?: string;
  /** v2 only. */
  tenant_vpc_id?: string;
  nics?: Array<{ subnet_id: string }>;
  /** `count` (ChangeCloudPhoneServer): EIPs to assign, 0 = none. */
  public_ip?: { eip?: { type: string } | null; ids?: string[] | string | null; count?: number };
  availability_zone?: string;
}

/** How a purchase is billed: `extend_param` of both buy APIs, `order_param` of CreateCloudPhoneSingleServer. */
export interface BillingInput {
  charging_mode: number;
  period_type: number;
  period_num: number;
  is_auto_pay?: number;
  is_auto_renew?: number;
  enterprise_project_id?: string;
}

/** A purchase as both buy APIs describe it. */
export interface PurchaseInput extends ServerSetupInput {
  server_name: string;
  server_model_name: string;
  count: number;
  extend_param: BillingInput;
}

/**
 * CreateCloudPhoneSingleServer (v2.1, Huawei's SDK model CreateCloudPhoneSingleServerRequestBody): servers
 * bought with their own image and no phones, on the tenant's subnet.
 */
export interface BareServerInput {
  server_name: string;
  server_model_name: string;
  count: number;
  order_param: BillingInput;
  nics: Array<{ subnet_id: string; ipv6_enable?: boolean; ipv6_band_width_id?: string }>;
  /** An existing EIP by id (then `type` and `count` do not apply), or `count` (0 by default, or 1) new ones of `type`. */
  public_ip: { ids?: string[]; type?: string; count?: number; band_width: ServerSetupInput['band_width'] };
  availability_zone?: string;
  data_volume?: { volume_type: string; size: number; count?: number };
  keypair_name: string;
  enterprise_project_id?: string;
  /** The server's own image (not a phone image); absent: the default one. */
  image_id?: string;
}

export interface VolumeInput {
  volume_type: string;
  size: number;
}

/** ChangeCloudPhoneServer (spec §3.39): the v2 purchase's set-up without name, flavor, count and billing. */
export interface ChangeInput extends ServerSetupInput {
  tenant_vpc_id: string;
  nics: Array<{ subnet_id: string }>;
  public_ip: NonNullable<ServerSetupInput['public_ip']>;
  extend_param?: { enterprise_project_id?: string };
  phone_count_per_ip?: number;
  phone_data_volume?: VolumeInput;
  server_share_data_volume?: VolumeInput;
  property?: string;
}

/** ChangeCloudPhoneServerModel (spec §3.12). */
export interface ChangeModelInput {
  server_id: string;
  server_model_name: string;
  phone_model_name: string;
  extend_param?: { is_auto_pay?: number };
}

export interface ServerFilters {
  offset: number;
  limit: number;
  server_name?: string;
  server_id?: string;
  network_version?: string;
}

export type ServerBatchEntry = { server_id: string; job_id: string } | ({ server_id: string } & ItemError);

/** Most servers one batch request may name (spec §8 row 41). */
export const MAX_BATCH_SERVERS = 100;

/** Data disks a bare server may be bought with: a BMS holds at most 60 EVS disks, one of them its system disk. */
export const MAX_BARE_DATA_VOLUMES = 59;

/** Phone statuses of an operation in progress: a server holding such a phone is not changed under it. */
const BUSY_PHONES = [PHONE_STATUS.beingCreated, PHONE_STATUS.creating, PHONE_STATUS.resetting, PHONE_STATUS.restarting, PHONE_STATUS.stopping];
const VOLUME_TYPES = ['SSD', 'GPSSD'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EIP_TYPES = ['5_telcom', '5_union', '5_bgp', '5_sbgp'];
const RESERVED_PORT_NAMES = ['adb', 'vnc'];
const MAX_PORTS = 8;

export class ServerService {
  constructor(
    private readonly db: Db,
    private readonly noteBulkWrite: () => void,
    private readonly catalogue: Catalogue,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly queue: JobQueue,
    /** The device driver a new phone of this flavor gets (OPENCPH_DRIVER, OPENCPH_DRIVER_BY_FLAVOR); its row keeps it. */
    private readonly driverFor: (phoneModelName: string) => string,
  ) {}

  /**
   * Buys `count` servers: records them, their phones and bandwidth, and one provisioning job per server,
   * in one transaction. Everything is validated first, so a refused purchase writes nothing. The account's
   * quotas are charged before anything is written (in `family`'s codes: KooPhone's orders buy servers too).
   */
  async purchase(projectId: string, requestId: string, input: PurchaseInput, network: 'v1' | 'v2', family: QuotaFamily = 'cph') {
    const plan = await this.validatePurchase(projectId, input, network);
    if (input.band_width.band_width_id) await this.assertBandwidth(projectId, input.band_width.band_width_id);
    const now = this.clock.now();
    const order = newOrder(now);
    const servers: NewServer[] = [];
    const phones: NewPhone[] = [];
    const jobs: JobRow[] = [];
    const vpcId = input.tenant_vpc_id ?? this.ids.uuid();
    for (let index = 1; index <= input.count; index++) {
      const serverId = this.ids.hex32();
      servers.push({
        id: serverId,
        project_id: projectId,
        request_id: requestId,
        name: serverName(input.server_name, index, input.count),
        ...this.setupColumns(plan, input, network, vpcId, this.volumes(plan.phoneModel)),
        keypair_name: input.keypair_name ?? null,
        status: SERVER_STATUS.ordered,
        ...order,
        enterprise_project_id: input.extend_param.enterprise_project_id ?? '0',
        extend_param: JSON.stringify(input.extend_param),
        created_at: now,
        updated_at: now,
      });
      phones.push(...this.newPhones(projectId, serverId, plan.phoneModel, input.image_id, '{}', now));
      jobs.push(this.queue.job('server.create', {}, onServer(projectId, requestId, serverId)));
    }
    const bandwidths = this.bandwidths(projectId, input.band_width, plan.bandwidthSize, plan.serverModel.opencph.address_count, servers.map((server) => server.id), now);
    await transaction(this.db, async (trx) => {
      await this.queue.enqueue(trx, jobs, { charge: { servers: servers.length, phones: phones.length }, family });
      await trx.insertInto('servers').values(servers).execute();
      await insertBandwidths(trx, bandwidths);
      await insertPhones(trx, phones);
      await insertEncodeServers(trx, servers, plan.phoneModel, this.ids);
    });
    this.noteBulkWrite();
    return { ...order, server_ids: servers.map((s) => s.id) };
  }

  /**
   * CreateCloudPhoneSingleServer (v2.1): `count` servers with their own image and no phones, on the tenant's
   * subnet, each with its data disks and, when asked, one EIP; one provisioning job per server (0 → 1 → 5).
   * Validated first, so a refused purchase writes nothing; the account is charged servers and jobs, no phones.
   */
  async purchaseBare(projectId: string, requestId: string, input: BareServerInput) {
    const plan = this.validateBare(input);
    const bandwidth = input.public_ip.band_width;
    if (bandwidth.band_width_id) await this.assertBandwidth(projectId, bandwidth.band_width_id);
    const now = this.clock.now();
    const order = newOrder(now);
    const subnetId = input.nics[0].subnet_id;
    // The API names no VPC: the subnet's is the one the project's servers on it already have.
    const neighbour = await this.db.selectFrom('servers').select('vpc_id').where('project_id', '=', projectId).where('subnet_id', '=', subnetId).limit(1).executeTakeFirst();
    const vpcId = neighbour?.vpc_id ?? this.ids.uuid();
    const servers: NewServer[] = [];
    const jobs: JobRow[] = [];
    for (let index = 1; index <= input.count; index++) {
      const serverId = this.ids.hex32();
      const dataVolume = input.data_volume;
      const volumes = dataVolume ? Array.from({ length: dataVolume.count ?? 1 }, () => this.newVolume(dataVolume.size, dataVolume.volume_type)) : [];
      servers.push({
        id: serverId,
        project_id: projectId,
        request_id: requestId,
        name: serverName(input.server_name, index, input.count),
        server_model_name: plan.serverModel.server_model_name,
        // No phones, hence no phone flavor; the image is the server's own.
        phone_model_name: '',
        image_id: input.image_id ?? '',
        network_version: 'v2',
        availability_zone: plan.availabilityZone,
        vpc_id: vpcId,
        vpc_cidr: V2_VPC_CIDR,
        subnet_id: subnetId,
        subnet_cidr: V2_SUBNET_CIDR,
        // Its primary NIC's address, with the EIP if it has one.
        addresses: JSON.stringify(this.addresses(1, 'v2', V2_SUBNET_CIDR, plan.withEip)),
        security_groups: JSON.stringify([this.ids.uuid()]),
        ports: '[]',
        volumes: JSON.stringify(volumes),
        keypair_name: input.keypair_name,
        status: SERVER_STATUS.ordered,
        ...order,
        enterprise_project_id: input.enterprise_project_id ?? '0',
        extend_param: JSON.stringify(input.order_param),
        created_at: now,
        updated_at: now,
      });
      jobs.push(this.queue.job('server.create', {}, onServer(projectId, requestId, serverId)));
    }
    // A bandwidth serves an EIP: servers without one get none.
    const bandwidths = plan.withEip ? this.bandwidths(projectId, bandwidth, plan.bandwidthSize, 1, servers.map((server) => server.id), now) : NO_BANDWIDTHS;
    await transaction(this.db, async (trx) => {
      await this.queue.enqueue(trx, jobs, { charge: { servers: servers.length } });
      await trx.insertInto('servers').values(servers).execute();
      await insertBandwidths(trx, bandwidths);
    });
    return { ...order, server_ids: servers.map((s) => s.id) };
  }

  /**
   * ChangeCloudPhoneServerModel: a normal server on a special flavor moves to another flavor of its generation
   * whose phone flavor gives as many phones. Its phones keep their ids, names, image and attributes but are
   * created anew on the new flavor (1 → 2, or -8), so their data is not kept; the server is 0 until its job
   * (under this request id) has rebuilt them, then 5, or 2 when a phone failed. OpenCPH bills nothing: the
   * order is complete at once, whatever `is_auto_pay` says.
   */
  async changeModel(projectId: string, requestId: string, input: ChangeModelInput) {
    const target = this.catalogue.serverModel(input.server_model_name);
    if (!target) throw cpsError('CPS.0246');
    const now = this.clock.now();
    const order = newOrder(now);
    await transaction(this.db, async (trx) => {
      const server = await lockServer(trx, projectId, input.server_id);
      if (!server) throw cpsError('CPS.0159');
      const current = this.catalogue.serverModel(server.server_model_name);
      // A bare server (CreateCloudPhoneSingleServer) has no phones whose flavor the change could carry over.
      if (!current?.opencph.special || !server.phone_model_name || !(await isIdle(trx, server))) throw cpsError('CPS.0245');
      if (target.server_model_name === current.server_model_name) throw cpsError('CPS.0250');
      if (target.opencph.generation !== current.opencph.generation) throw cpsError('CPS.0247');
      const phoneModel = this.phoneModelOn(target, input.phone_model_name);
      const image = await phoneImage(trx, this.catalogue, server.image_id);
      if (phoneModel.phone_capacity !== this.catalogue.phoneModel(server.phone_model_name)?.phone_capacity || !image || !this.catalogue.imageFitsPhoneModel(image, phoneModel)) {
        throw cpsError('CPS.0157');
      }
      await replaceServer(trx, {
        ...insertable(server),
        server_model_name: target.server_model_name,
        phone_model_name: phoneModel.phone_model_name,
        volumes: JSON.stringify(this.volumes(phoneModel)),
        status: SERVER_STATUS.ordered,
        updated_at: now,
      }, phoneModel, this.ids);
      await trx.updateTable('phones').set({ phone_model_name: phoneModel.phone_model_name, status: PHONE_STATUS.creating, updated_at: now }).where('server_id', '=', server.id).execute();
      await this.queue.enqueue(trx, [this.queue.job('server.change', { replaced_phone_ids: [] }, onServer(projectId, requestId, server.id))]);
    });
    return order;
  }

  /**
   * ChangeCloudPhoneServer (spec §3.39): a normal server keeps its id, name and billing and is set up anew
   * from the request, on the server flavor of the new phone flavor; its phones are replaced by new ones
   * (new ids, 1 → 2 or -8) and their data is gone. Dedicated bandwidths of the old set-up go, shared ones
   * stay. The job ends when the new phones run (server 5), or failed with the server abnormal (2).
   */
  async change(projectId: string, requestId: string, serverId: string, input: ChangeInput): Promise<string> {
    const plan = await this.validateChange(projectId, input);
    if (input.band_width.band_width_id) await this.assertBandwidth(projectId, input.band_width.band_width_id);
    const now = this.clock.now();
    const jobId = await transaction(this.db, async (trx) => {
      const server = await lockServer(trx, projectId, serverId);
      if (!server) throw notFound('CPS.0015');
      if (!(await isIdle(trx, server))) throw cpsError('CPS.0099');
      const replaced = await trx.selectFrom('phones').select('id').where('server_id', '=', serverId).execute();
      const dedicated = await dedicatedBandwidths(trx, [serverId]);
      await trx.deleteFrom('server_bandwidths').where('server_id', '=', serverId).execute();
      if (dedicated.length) await trx.deleteFrom('bandwidths').where('id', 'in', dedicated).execute();
      await trx.deleteFrom('phones').where('server_id', '=', serverId).execute();
      await replaceServer(trx, {
        ...insertable(server),
        ...this.setupColumns(plan, input, 'v2', input.tenant_vpc_id, this.volumes(plan.phoneModel, input.phone_data_volume, input.server_share_data_volume)),
        // A blank zone keeps the server where it is.
        availability_zone: input.availability_zone ? plan.availabilityZone : server.availability_zone,
        keypair_name: input.keypair_name ?? server.keypair_name,
        enterprise_project_id: input.extend_param?.enterprise_project_id ?? server.enterprise_project_id,
        status: SERVER_STATUS.ordered,
        updated_at: now,
      }, plan.phoneModel, this.ids);
      await insertBandwidths(trx, this.bandwidths(projectId, input.band_width, plan.bandwidthSize, plan.serverModel.opencph.address_count, [serverId], now));
      const phones = this.newPhones(projectId, serverId, plan.phoneModel, input.image_id, input.property ?? '{}', now);
      await insertPhones(trx, phones);
      const job = this.queue.job('server.change', { replaced_phone_ids: replaced.map((phone) => phone.id) }, onServer(projectId, requestId, serverId));
      // The new flavor may hold more phones than the old one.
      await this.queue.enqueue(trx, [job], { charge: { phones: phones.length - replaced.length } });
      return job.id;
    });
    this.noteBulkWrite();
    return jobId;
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

  async bandwidthsOf(serverId: string) {
    return this.db
      .selectFrom('server_bandwidths')
      .innerJoin('bandwidths', 'bandwidths.id', 'server_bandwidths.bandwidth_id')
      .selectAll('bandwidths')
      .where('server_bandwidths.server_id', '=', serverId)
      .execute();
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
    this.noteBulkWrite();
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
   * (13) and ends 5 (see jobs/server-handlers.ts). Refused servers get their code in place of a job.
   */
  async restart(projectId: string, requestId: string, serverIds: string[]): Promise<ServerBatchEntry[]> {
    if (serverIds.length === 0) throw cpsError('CPS.0095');
    if (serverIds.length > MAX_BATCH_SERVERS) throw cpsError('CPS.0096');
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

  /**
   * UpdateKeypair: one job per normal server, which records the new key pair. Key pairs are not stored by
   * OpenCPH, so any name an ECS key pair could have (letters, digits, `_`, `-`, ≤64) is taken as existing.
   */
  async updateKeypairs(projectId: string, requestId: string, items: Array<{ server_id: string; keypair_name: string }>): Promise<ServerBatchEntry[]> {
    if (items.length === 0) throw cpsError('CPS.0095');
    if (items.length > MAX_BATCH_SERVERS) throw cpsError('CPS.0096');
    return transaction(this.db, async (trx) => {
      const status = await lockServers(trx, projectId, items.map((item) => item.server_id));
      const jobs: JobRow[] = [];
      const entries = items.map((item): ServerBatchEntry => {
        const refusal = keypairRefusal(item, status.get(item.server_id));
        if (refusal) return { server_id: item.server_id, ...itemError(refusal) };
        // A server named twice gets two jobs, run in order: the last name wins.
        const job = this.queue.job('server.keypair', { keypair_name: item.keypair_name }, onServer(projectId, requestId, item.server_id));
        jobs.push(job);
        return { server_id: item.server_id, job_id: job.id };
      });
      await this.queue.enqueue(trx, jobs);
      return entries;
    });
  }

  /** ShowBandwidthDetail: the project's bandwidths, newest first. */
  async listBandwidths(projectId: string, offset: number, limit: number) {
    return this.db
      .selectFrom('bandwidths')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .offset(offset)
      .limit(limit)
      .execute();
  }

  /** UpdateBandwidth: only a shared bandwidth changes size, to a size on the documented steps (spec §8 row 21). */
  async resizeBandwidth(projectId: string, bandwidthId: string, size: number): Promise<void> {
    const bandwidth = await this.db.selectFrom('bandwidths').select('share_type').where('project_id', '=', projectId).where('id', '=', bandwidthId).executeTakeFirst();
    if (!bandwidth) throw notFound('CPS.0115');
    if (bandwidth.share_type !== 1) throw cpsError('CPS.0160');
    if (!isValidBandwidthSize(size)) throw cpsError('CPS.0036');
    await this.db.updateTable('bandwidths').set({ size, updated_at: this.clock.now() }).where('id', '=', bandwidthId).execute();
  }

  private async validatePurchase(projectId: string, input: PurchaseInput, network: 'v1' | 'v2') {
    const serverModel = this.catalogue.serverModel(input.server_model_name);
    if (!serverModel) throw cpsError('CPS.0089');
    if (!serverModel.opencph.network_versions.includes(network)) throw cpsError('CPS.0256');
    validateBilling(input.extend_param);
    return this.validateSetup(projectId, input, serverModel, network, input.count);
  }

  /** ChangeCloudPhoneServer's body: a v2 set-up on the server flavor of the phone flavor, and its own fields. */
  private async validateChange(projectId: string, input: ChangeInput) {
    const phoneModel = this.catalogue.phoneModel(input.phone_model_name);
    if (!phoneModel) throw cpsError('CPS.0028');
    const plan = await this.validateSetup(projectId, input, this.catalogue.serverModel(phoneModel.server_model_name)!, 'v2', 1);
    validateEnterpriseProject(input.extend_param?.enterprise_project_id);
    const capacity = phoneModel.phone_capacity;
    const phonesPerIp = input.phone_count_per_ip ?? capacity;
    if (phonesPerIp < 1 || phonesPerIp > capacity) throw cpsError('CPS.0190');
    const eips = input.public_ip.count ?? 1;
    if (eips < 0 || eips > Math.ceil(capacity / phonesPerIp)) throw cpsError('CPS.0238');
    for (const volume of [input.phone_data_volume, input.server_share_data_volume]) {
      if (volume && !VOLUME_TYPES.includes(volume.volume_type)) throw cpsError('CPS.0116');
    }
    if (input.property !== undefined) {
      const refusal = checkProperty(input.property, phoneModel.phone_model_name);
      if (refusal) throw new DomainError(refusal.error_code, 'invalid', refusal.error_msg);
    }
    return plan;
  }

  /** CreateCloudPhoneSingleServer's body, in the order of the other purchases' checks. */
  private validateBare(input: BareServerInput) {
    const serverModel = this.catalogue.serverModel(input.server_model_name);
    if (!serverModel) throw cpsError('CPS.0089');
    validateBilling(input.order_param);
    validateEnterpriseProject(input.enterprise_project_id);
    if (input.nics.length === 0) throw cpsError('CPS.0226');
    if (input.nics.some((nic) => !UUID.test(nic.subnet_id))) throw cpsError('CPS.0224');
    const withEip = validateBareEip(input.public_ip, input.count);
    const bandwidthSize = validateV2Bandwidth(input.public_ip.band_width);
    if (input.data_volume && !VOLUME_TYPES.includes(input.data_volume.volume_type)) throw cpsError('CPS.0116');
    return { serverModel, withEip, bandwidthSize, availabilityZone: zoneOf(serverModel, input.availability_zone) };
  }

  /** What a purchase of `count` servers and a change share: flavors, image, key pair, ports, bandwidth, network. */
  private async validateSetup(projectId: string, input: ServerSetupInput, serverModel: ServerModel, network: 'v1' | 'v2', count: number) {
    const phoneModel = this.phoneModelOn(serverModel, input.phone_model_name);
    const image = await usableImage(this.db, this.catalogue, projectId, input.image_id);
    if (!image) throw cpsError('CPS.0030');
    if (!this.catalogue.imageFitsPhoneModel(image, phoneModel)) throw cpsError('CPS.0255');
    if (input.keypair_name === '') throw cpsError('CPS.0068');
    const ports = validatePorts(input.ports ?? []);
    const bandwidthSize = network === 'v1' ? validateV1Bandwidth(input.band_width) : validateV2Bandwidth(input.band_width);
    let availabilityZone = serverModel.opencph.availability_zones[0];
    if (network === 'v1') {
      if (input.subnet_cidr !== undefined && !isPrivateCidr(input.subnet_cidr)) throw cpsError('CPS.0191');
    } else {
      if (!input.tenant_vpc_id || !UUID.test(input.tenant_vpc_id)) throw cpsError('CPS.0223');
      if (!input.nics || input.nics.length === 0) throw cpsError('CPS.0226');
      if (input.nics.some((nic) => !UUID.test(nic.subnet_id))) throw cpsError('CPS.0224');
      validatePublicIp(input.public_ip, count, phoneModel);
      availabilityZone = zoneOf(serverModel, input.availability_zone);
    }
    return { serverModel, phoneModel, ports, bandwidthSize, availabilityZone };
  }

  /** The phone flavor `name`, if it runs on `serverModel` and is on sale. */
  private phoneModelOn(serverModel: ServerModel, name: string): PhoneModel {
    const phoneModel = this.catalogue.phoneModel(name);
    if (!phoneModel) throw cpsError('CPS.0028');
    if (phoneModel.server_model_name !== serverModel.server_model_name) throw cpsError('CPS.0157');
    if (phoneModel.status !== 1) throw cpsError('CPS.0257');
    return phoneModel;
  }

  /** The server columns that follow from its validated set-up. */
  private setupColumns(plan: SetupPlan, input: ServerSetupInput, network: 'v1' | 'v2', vpcId: string, volumes: ServerVolume[]) {
    const subnetCidr = input.subnet_cidr ?? '192.168.0.0/24';
    return {
      server_model_name: plan.serverModel.server_model_name,
      phone_model_name: plan.phoneModel.phone_model_name,
      image_id: input.image_id,
      network_version: network,
      availability_zone: plan.availabilityZone,
      vpc_id: vpcId,
      vpc_cidr: network === 'v1' ? '192.168.0.0/16' : V2_VPC_CIDR,
      subnet_id: input.nics?.[0]?.subnet_id ?? this.ids.uuid(),
      subnet_cidr: network === 'v1' ? subnetCidr : V2_SUBNET_CIDR,
      addresses: JSON.stringify(this.addresses(plan.serverModel.opencph.address_count, network, subnetCidr, input.public_ip?.count !== 0)),
      security_groups: JSON.stringify(network === 'v2' ? [this.ids.uuid()] : []),
      ports: JSON.stringify(plan.ports),
      volumes: JSON.stringify(volumes),
    };
  }

  /**
   * A server's disks: one for its phones' data (each phone's disk, or the size a change asks for, times the
   * phones), and the shared-storage disk a change may ask for.
   */
  private volumes(phoneModel: PhoneModel, phoneData?: VolumeInput, shared?: VolumeInput): ServerVolume[] {
    const type = /GPSSD/.test(phoneModel.phone_model_name) ? 'GPSSD' : 'SSD';
    const volumes = [this.newVolume((phoneData?.size ?? phoneModel.disk) * phoneModel.phone_capacity, phoneData?.volume_type ?? type)];
    if (shared) volumes.push(this.newVolume(shared.size, shared.volume_type));
    return volumes;
  }

  private newVolume(size: number, type: string): ServerVolume {
    return { volume_id: this.ids.uuid(), volume_name: `VOLUME_${this.ids.hex32()}`, volume_size: size, volume_type: type };
  }

  /** The phones of a server being set up: one per slot of the flavor, named mobile-0001…, waiting to be created (1). */
  private newPhones(projectId: string, serverId: string, phoneModel: PhoneModel, imageId: string, property: string, now: Date): NewPhone[] {
    return Array.from({ length: phoneModel.phone_capacity }, (_, index) => ({
      id: this.ids.hex32(),
      project_id: projectId,
      server_id: serverId,
      slot: index + 1,
      name: `mobile-${String(index + 1).padStart(4, '0')}`,
      phone_model_name: phoneModel.phone_model_name,
      image_id: imageId,
      driver: this.driverFor(phoneModel.phone_model_name),
      status: PHONE_STATUS.creating,
      type: 0,
      imei: generateImei(),
      traffic_type: 'direct',
      volume_mode: 0,
      has_encrypt: false,
      property,
      phone_ip: `10.${randomInt(224, 240)}.${randomInt(256)}.${randomInt(2, 255)}`,
      created_at: now,
      updated_at: now,
    }));
  }

  /**
   * The bandwidths servers being set up use: the existing shared one they name, or one new shared one for
   * all of them, or a dedicated one per server address (each public IP has its own, as in the §3.2 v2 example).
   */
  private bandwidths(projectId: string, input: ServerSetupInput['band_width'], size: number, addressesPerServer: number, serverIds: string[], now: Date): BandwidthPlan {
    const existing = input.band_width_id;
    if (existing) return { rows: [], links: serverIds.map((server_id) => ({ server_id, bandwidth_id: existing })) };
    const newBandwidth = (shareType: number) => ({
      id: this.ids.uuid(),
      project_id: projectId,
      name: `BANDWIDTH_${this.ids.hex32()}`,
      size,
      charge_mode: input.band_width_charge_mode ?? 1,
      share_type: shareType,
      created_at: now,
      updated_at: now,
    });
    if (input.band_width_share_type === 1) {
      const shared = newBandwidth(1);
      return { rows: [shared], links: serverIds.map((server_id) => ({ server_id, bandwidth_id: shared.id })) };
    }
    const perAddress = serverIds.flatMap((server_id) =>
      Array.from({ length: addressesPerServer }, () => ({ server_id, bandwidth: newBandwidth(0) })),
    );
    return { rows: perAddress.map((entry) => entry.bandwidth), links: perAddress.map((entry) => ({ server_id: entry.server_id, bandwidth_id: entry.bandwidth.id })) };
  }

  private async assertBandwidth(projectId: string, bandwidthId: string) {
    const bandwidth = await this.db.selectFrom('bandwidths').select('share_type').where('project_id', '=', projectId).where('id', '=', bandwidthId).executeTakeFirst();
    if (!bandwidth || bandwidth.share_type !== 1) throw cpsError('CPS.0033');
  }

  /** The server's addresses; without public IPs (no EIP asked for) `public_ip` is empty. */
  private addresses(count: number, network: 'v1' | 'v2', subnetCidr: string, withPublicIp: boolean) {
    const prefix = network === 'v1' ? subnetCidr.split('.').slice(0, 3).join('.') : `172.16.${randomInt(256)}`;
    return Array.from({ length: count }, () => ({
      server_ip: `${prefix}.${randomInt(2, 255)}`,
      public_ip: withPublicIp ? `100.${randomInt(64, 128)}.${randomInt(256)}.${randomInt(1, 255)}` : '',
    }));
  }
}

type SetupPlan = Awaited<ReturnType<ServerService['validateSetup']>>;
type BandwidthPlan = { rows: Array<Insertable<BandwidthTable>>; links: Array<{ server_id: string; bandwidth_id: string }> };
const NO_BANDWIDTHS: BandwidthPlan = { rows: [], links: [] };

/** The networks a custom-network (v2) server shows. */
const V2_VPC_CIDR = '172.16.0.0/12';
const V2_SUBNET_CIDR = '172.16.0.0/16';

/** The name of the `index`th of `count` servers bought at once: `-0001`, `-0002`… when there are several. */
function serverName(base: string, index: number, count: number): string {
  return count > 1 ? `${base}-${String(index).padStart(4, '0')}` : base;
}

/** An order as the buy and change APIs answer it: `CS…` order id, `OFFI…` product id (spec §1.4). */
function newOrder(now: Date) {
  return {
    order_id: `CS${formatOrderTime(now)}${randomAlnum(5)}`,
    product_id: `OFFI${String(randomInt(1e9)).padStart(9, '0')}${String(randomInt(1e9)).padStart(9, '0')}`,
  };
}

async function insertBandwidths(trx: Db, bandwidths: BandwidthPlan) {
  if (bandwidths.rows.length) await trx.insertInto('bandwidths').values(bandwidths.rows).execute();
  if (bandwidths.links.length) await trx.insertInto('server_bandwidths').values(bandwidths.links).execute();
}

async function insertPhones(trx: Db, phones: NewPhone[]) {
  // Multi-row inserts in slices keep the statement under PostgreSQL's parameter limit.
  for (let i = 0; i < phones.length; i += 500) await trx.insertInto('phones').values(phones.slice(i, i + 500)).execute();
}

/** Ids of the dedicated bandwidths of the servers (shared ones outlive their servers). */
async function dedicatedBandwidths(trx: Db, serverIds: string[]): Promise<string[]> {
  const rows = await trx
    .selectFrom('server_bandwidths')
    .innerJoin('bandwidths', 'bandwidths.id', 'server_bandwidths.bandwidth_id')
    .select('bandwidths.id')
    .where('server_bandwidths.server_id', 'in', serverIds)
    .where('bandwidths.share_type', '=', 0)
    .execute();
  return rows.map((row) => row.id);
}

/** The server's row as it is written (JSON columns as text). */
function insertable(server: Server): NewServer {
  return {
    ...server,
    addresses: JSON.stringify(server.addresses),
    security_groups: JSON.stringify(server.security_groups),
    ports: JSON.stringify(server.ports),
    volumes: JSON.stringify(server.volumes),
    extend_param: JSON.stringify(server.extend_param),
  };
}

/** Writes a changed server; its encoding servers follow its new phone flavor and addresses. */
async function replaceServer(trx: Db, server: NewServer & { id: string }, phoneModel: PhoneModel, ids: Ids) {
  await trx.updateTable('servers').set(server).where('id', '=', server.id).execute();
  await trx.deleteFrom('encode_servers').where('server_id', '=', server.id).execute();
  await insertEncodeServers(trx, [server], phoneModel, ids);
}

/** One server of the project, locked until the transaction ends. */
function lockServer(trx: Db, projectId: string, serverId: string): Promise<Server | undefined> {
  return trx.selectFrom('servers').selectAll().where('project_id', '=', projectId).where('id', '=', serverId).forUpdate().executeTakeFirst();
}

/** Whether the server is normal and none of its phones is in the middle of an operation. */
async function isIdle(trx: Db, server: Server): Promise<boolean> {
  if (server.status !== SERVER_STATUS.normal) return false;
  const busy = await trx.selectFrom('phones').select('id').where('server_id', '=', server.id).where('status', 'in', BUSY_PHONES).limit(1).execute();
  return busy.length === 0;
}

/** The status of each named server of the project, locked until the transaction ends; malformed ids are skipped. */
async function lockServers(trx: Db, projectId: string, serverIds: string[]): Promise<Map<string, number>> {
  const ids = serverIds.filter((id) => HEX32.test(id));
  const found = ids.length
    ? await trx.selectFrom('servers').select(['id', 'status']).where('project_id', '=', projectId).where('id', 'in', ids).forUpdate().execute()
    : [];
  return new Map(found.map((server) => [server.id, server.status]));
}

function keypairRefusal(item: { server_id: string; keypair_name: string }, status: number | undefined): CpsCode | undefined {
  if (!HEX32.test(item.server_id)) return 'CPS.0097';
  if (item.keypair_name === '') return 'CPS.0068';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(item.keypair_name)) return 'CPS.0067';
  if (status === undefined) return 'CPS.0015';
  if (status !== SERVER_STATUS.normal) return 'CPS.0098';
  return undefined;
}

function validatePorts(ports: NonNullable<ServerSetupInput['ports']>): ServerPort[] {
  if (ports.length > MAX_PORTS) throw cpsError('CPS.0145');
  const names = new Set<string>();
  const listenPorts = new Set<number>();
  return ports.map((port) => {
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(port.name) || RESERVED_PORT_NAMES.includes(port.name.toLowerCase())) throw cpsError('CPS.0038');
    if (names.has(port.name)) throw cpsError('CPS.0039');
    if (!Number.isInteger(port.listen_port) || port.listen_port < 10000 || port.listen_port > 50000) throw cpsError('CPS.0040');
    if (listenPorts.has(port.listen_port)) throw cpsError('CPS.0041');
    if (port.internet_accessible === '') throw cpsError('CPS.0093');
    names.add(port.name);
    listenPorts.add(port.listen_port);
    return { name: port.name, listen_port: port.listen_port, internet_accessible: port.internet_accessible.toLowerCase() === 'true' };
  });
}

function validateBilling(param: BillingInput) {
  if (param.charging_mode !== 0) throw cpsError('CPS.0056');
  if (param.period_type !== 2 && param.period_type !== 3) throw cpsError('CPS.0057');
  const maxPeriods = param.period_type === 2 ? 9 : 10;
  if (param.period_num < 1 || param.period_num > maxPeriods) throw cpsError('CPS.0058');
  if (param.is_auto_renew !== undefined && param.is_auto_renew !== 0 && param.is_auto_renew !== 1) throw cpsError('CPS.0059');
  if (param.is_auto_pay !== undefined && param.is_auto_pay !== 0 && param.is_auto_pay !== 1) throw cpsError('CPS.0060');
  validateEnterpriseProject(param.enterprise_project_id);
}

/** `"0"` (the default enterprise project) or an enterprise project's UUID. */
function validateEnterpriseProject(id: string | undefined) {
  if (id !== undefined && id !== '0' && !UUID.test(id)) throw cpsError('CPS.0316');
}

/** v1: an existing shared bandwidth wins; else share type 1 needs a size of 5–2,000, share type 0 gets 300. */
function validateV1Bandwidth(bandwidth: ServerSetupInput['band_width']): number {
  if (bandwidth.band_width_id) return 0;
  const shareType = bandwidth.band_width_share_type;
  if (shareType !== 0 && shareType !== 1) throw cpsError('CPS.0034');
  if (bandwidth.band_width_charge_mode !== undefined && ![0, 1].includes(bandwidth.band_width_charge_mode)) throw cpsError('CPS.0035');
  if (shareType === 0) {
    const size = bandwidth.band_width_size ?? 300;
    if (!isValidBandwidthSize(size)) throw cpsError('CPS.0036');
    return size;
  }
  const size = bandwidth.band_width_size;
  if (size === undefined || size < 5 || size > 2000) throw cpsError('CPS.0036');
  return size;
}

/** v2: shared needs an existing bandwidth id; dedicated needs a size on the documented steps. */
function validateV2Bandwidth(bandwidth: ServerSetupInput['band_width']): number {
  const shareType = bandwidth.band_width_share_type;
  if (shareType !== 0 && shareType !== 1) throw cpsError('CPS.0034');
  if (bandwidth.band_width_charge_mode !== 0 && bandwidth.band_width_charge_mode !== 1) throw cpsError('CPS.0035');
  if (shareType === 1) {
    if (!bandwidth.band_width_id) throw cpsError('CPS.0032');
    return 0;
  }
  const size = bandwidth.band_width_size;
  if (size === undefined || !isValidBandwidthSize(size)) throw cpsError('CPS.0036');
  return size;
}

/** 1–300 in steps of 1, 301–1,000 in steps of 50, 1,001–2,000 in steps of 500. */
export function isValidBandwidthSize(size: number): boolean {
  if (!Number.isInteger(size) || size < 1 || size > 2000) return false;
  if (size <= 300) return true;
  if (size <= 1000) return size % 50 === 0;
  return size % 500 === 0;
}

function validatePublicIp(publicIp: ServerSetupInput['public_ip'], count: number, phoneModel: PhoneModel) {
  if (!publicIp || typeof publicIp !== 'object') throw cpsError('CPS.0238');
  // No EIP at all (a change's `count` 0): neither a new one nor an existing one is needed.
  if (publicIp.count === 0) return;
  // The documented example sends `"ids": ""` beside `eip` (which the schema's array coercion turns into [""]):
  // empty values count as absent.
  const blank = publicIp.ids === '' || publicIp.ids === null || (Array.isArray(publicIp.ids) && publicIp.ids.every((id) => id === ''));
  const ids = blank ? undefined : publicIp.ids;
  const eip = publicIp.eip ?? undefined;
  if ((eip !== undefined) === (ids !== undefined)) throw cpsError('CPS.0238');
  if (eip) {
    if (!EIP_TYPES.includes(eip.type)) throw cpsError('CPS.0239');
    return;
  }
  if (!Array.isArray(ids) || ids.length !== 1 || typeof ids[0] !== 'string' || !UUID.test(ids[0])) throw cpsError('CPS.0253');
  if (count > 1) throw cpsError('CPS.0251');
  if (Catalogue.extendSpec(phoneModel).eip_count > 1) throw cpsError('CPS.0252');
}

/**
 * A bare server's `public_ip` (v2.1): an existing EIP by id, which cannot go to several servers (CPS.0251), or
 * `count` new EIPs of `type`, 0 (the default) or 1. Whether each server gets an EIP.
 */
function validateBareEip(publicIp: BareServerInput['public_ip'], serverCount: number): boolean {
  if (publicIp.ids !== undefined && publicIp.ids.length > 0) {
    if (publicIp.ids.length !== 1 || !UUID.test(publicIp.ids[0])) throw cpsError('CPS.0253');
    if (serverCount > 1) throw cpsError('CPS.0251');
    return true;
  }
  if (publicIp.type !== undefined && !EIP_TYPES.includes(publicIp.type)) throw cpsError('CPS.0239');
  const eips = publicIp.count ?? 0;
  if (eips !== 0 && eips !== 1) throw cpsError('CPS.0238');
  if (eips === 1 && publicIp.type === undefined) throw cpsError('CPS.0239');
  return eips === 1;
}

/** The zone asked for, which must be one of the flavor's (CPS.0211), else the flavor's first. */
function zoneOf(serverModel: ServerModel, requested: string | undefined): string {
  if (!requested) return serverModel.opencph.availability_zones[0];
  if (!serverModel.opencph.availability_zones.includes(requested)) throw cpsError('CPS.0211');
  return requested;
}

function isPrivateCidr(cidr: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!match) return false;
  const [a, b, c, d, bits] = match.slice(1).map(Number);
  if ([a, b, c, d].some((octet) => octet > 255) || bits < 8 || bits > 28) return false;
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function formatOrderTime(date: Date): string {
  return date.toISOString().replace(/[-T:]/g, '').slice(2, 12);
}

function randomAlnum(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** A 15-digit IMEI whose last digit is the Luhn check digit, as real devices report. */
export function generateImei(): string {
  const body = '86' + Array.from({ length: 12 }, () => randomInt(10)).join('');
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = Number(body[i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return body + ((10 - (sum % 10)) % 10);
}

