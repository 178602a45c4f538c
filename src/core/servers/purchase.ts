// The buy APIs: CreateCloudPhoneServer (v1, spec §3.1), CreateNet2CloudPhoneServer (v2, §3.2) and
// CreateCloudPhoneSingleServer (v2.1, servers without phones).
import { transaction } from '../../store/db.ts';
import type { NewPhone, NewServer } from '../../store/schema.ts';
import type { BareServerInput, PurchaseInput } from '../../api/schemas/cph/servers.ts';
import { SERVER_STATUS } from '../model.ts';
import { insertEncodeServers } from '../encode-servers.ts';
import type { QuotaFamily } from '../quotas.ts';
import { onServer, type JobRow } from '../job-types.ts';
import { cpsError } from '../errors.ts';
import { NO_BANDWIDTHS, assertSharedBandwidth, insertBandwidths, planBandwidths } from './bandwidths.ts';
import { newOrder, serverAddresses, serverName } from './generated.ts';
import { V2_SUBNET_CIDR, V2_VPC_CIDR, insertPhones, newPhones, newVolume, serverVolumes, setupColumns, validateSetup, type ServerContext } from './setup.ts';
import { validateBareServer, validateBilling } from './validation.ts';

/**
 * Buys `count` servers: records them, their phones and bandwidth, and one provisioning job per server,
 * in one transaction. Everything is validated first, so a refused purchase writes nothing. The account's
 * quotas are charged before anything is written (in `family`'s codes: KooPhone's orders buy servers too).
 */
export async function purchase(context: ServerContext, projectId: string, requestId: string, input: PurchaseInput, network: 'v1' | 'v2', family: QuotaFamily) {
  const { db, ids, queue } = context;
  const plan = await validatePurchase(context, projectId, input, network);
  if (input.band_width.band_width_id) await assertSharedBandwidth(db, projectId, input.band_width.band_width_id);
  const now = context.clock.now();
  const order = newOrder(ids, now);
  const servers: NewServer[] = [];
  const phones: NewPhone[] = [];
  const jobs: JobRow[] = [];
  const vpcId = input.tenant_vpc_id ?? ids.uuid();
  for (let index = 1; index <= input.count; index++) {
    const serverId = ids.hex32();
    servers.push({
      id: serverId,
      project_id: projectId,
      request_id: requestId,
      name: serverName(input.server_name, index, input.count),
      ...setupColumns(ids, plan, input, network, vpcId, serverVolumes(ids, plan.phoneModel)),
      keypair_name: input.keypair_name ?? null,
      status: SERVER_STATUS.ordered,
      ...order,
      enterprise_project_id: input.extend_param.enterprise_project_id ?? '0',
      extend_param: JSON.stringify(input.extend_param),
      created_at: now,
      updated_at: now,
    });
    phones.push(...newPhones(context, projectId, serverId, plan.phoneModel, input.image_id, '{}', now));
    jobs.push(queue.job('server.create', {}, onServer(projectId, requestId, serverId)));
  }
  const serverIds = servers.map((server) => server.id);
  const bandwidths = planBandwidths(ids, projectId, input.band_width, plan.bandwidthSize, plan.serverModel.opencph.address_count, serverIds, now);
  await transaction(db, async (trx) => {
    await queue.enqueue(trx, jobs, { charge: { servers: servers.length, phones: phones.length }, family });
    await trx.insertInto('servers').values(servers).execute();
    await insertBandwidths(trx, bandwidths);
    await insertPhones(trx, phones);
    await insertEncodeServers(trx, servers, plan.phoneModel, ids);
  });
  context.noteBulkWrite();
  return { ...order, server_ids: serverIds };
}

/**
 * CreateCloudPhoneSingleServer (v2.1): `count` servers with their own image and no phones, on the tenant's
 * subnet, each with its data disks and, when asked, one EIP; one provisioning job per server (0 → 1 → 5).
 * Validated first, so a refused purchase writes nothing; the account is charged servers and jobs, no phones.
 */
export async function purchaseBare(context: ServerContext, projectId: string, requestId: string, input: BareServerInput) {
  const { db, ids, queue } = context;
  const serverModel = context.catalogue.serverModel(input.server_model_name);
  if (!serverModel) throw cpsError('CPS.0089');
  const plan = validateBareServer(input, serverModel);
  const bandwidth = input.public_ip.band_width;
  if (bandwidth.band_width_id) await assertSharedBandwidth(db, projectId, bandwidth.band_width_id);
  const now = context.clock.now();
  const order = newOrder(ids, now);
  const subnetId = input.nics[0].subnet_id;
  // The API names no VPC: the subnet's is the one the project's servers on it already have.
  const neighbour = await db.selectFrom('servers').select('vpc_id').where('project_id', '=', projectId).where('subnet_id', '=', subnetId).limit(1).executeTakeFirst();
  const vpcId = neighbour?.vpc_id ?? ids.uuid();
  const servers: NewServer[] = [];
  const jobs: JobRow[] = [];
  for (let index = 1; index <= input.count; index++) {
    const serverId = ids.hex32();
    const dataVolume = input.data_volume;
    const volumes = dataVolume ? Array.from({ length: dataVolume.count ?? 1 }, () => newVolume(ids, dataVolume.size, dataVolume.volume_type)) : [];
    servers.push({
      id: serverId,
      project_id: projectId,
      request_id: requestId,
      name: serverName(input.server_name, index, input.count),
      server_model_name: serverModel.server_model_name,
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
      addresses: JSON.stringify(serverAddresses(ids, 1, 'v2', V2_SUBNET_CIDR, plan.withEip)),
      security_groups: JSON.stringify([ids.uuid()]),
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
    jobs.push(queue.job('server.create', {}, onServer(projectId, requestId, serverId)));
  }
  // A bandwidth serves an EIP: servers without one get none.
  const bandwidths = plan.withEip ? planBandwidths(ids, projectId, bandwidth, plan.bandwidthSize, 1, servers.map((server) => server.id), now) : NO_BANDWIDTHS;
  await transaction(db, async (trx) => {
    await queue.enqueue(trx, jobs, { charge: { servers: servers.length } });
    await trx.insertInto('servers').values(servers).execute();
    await insertBandwidths(trx, bandwidths);
  });
  return { ...order, server_ids: servers.map((s) => s.id) };
}

async function validatePurchase(context: ServerContext, projectId: string, input: PurchaseInput, network: 'v1' | 'v2') {
  const serverModel = context.catalogue.serverModel(input.server_model_name);
  if (!serverModel) throw cpsError('CPS.0089');
  if (!serverModel.opencph.network_versions.includes(network)) throw cpsError('CPS.0256');
  validateBilling(input.extend_param);
  return validateSetup(context, projectId, input, serverModel, network, input.count);
}
