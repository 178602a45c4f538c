// What the purchases and ChangeCloudPhoneServer share: the checks of a set-up that need the project's images,
// and the server columns, disks and phones that follow from it.
import type { Db } from '../../store/db.ts';
import type { NewPhone, ServerVolume } from '../../store/schema.ts';
import type { ServerSetupInput, VolumeInput } from '../../api/schemas/cph/servers.ts';
import type { Catalogue, PhoneModel, ServerModel } from '../catalogue.ts';
import type { Clock, Ids } from '../runtime.ts';
import type { JobQueue } from '../job-types.ts';
import { PHONE_STATUS } from '../model.ts';
import { usableImage } from '../images.ts';
import { cpsError } from '../errors.ts';
import { generateImei, internalIp, serverAddresses } from './generated.ts';
import { validateNetwork, validatePorts, validateV1Bandwidth, validateV2Bandwidth } from './validation.ts';

/** What the server operations work with. */
export interface ServerContext {
  db: Db;
  /** Tells the store that many rows were written (phones by the thousand). */
  noteBulkWrite: () => void;
  catalogue: Catalogue;
  clock: Clock;
  ids: Ids;
  queue: JobQueue;
  /** The device driver a new phone of this flavor gets (OPENCPH_DRIVER, OPENCPH_DRIVER_BY_FLAVOR); its row keeps it. */
  driverFor: (phoneModelName: string) => string;
}

export type SetupPlan = Awaited<ReturnType<typeof validateSetup>>;

/** The networks a custom-network (v2) server shows. */
export const V2_VPC_CIDR = '172.16.0.0/12';
export const V2_SUBNET_CIDR = '172.16.0.0/16';

/** What a purchase of `count` servers and a change share: flavors, image, key pair, ports, bandwidth, network. */
export async function validateSetup(context: ServerContext, projectId: string, input: ServerSetupInput, serverModel: ServerModel, network: 'v1' | 'v2', count: number) {
  const { catalogue } = context;
  const phoneModel = phoneModelOn(catalogue, serverModel, input.phone_model_name);
  const image = await usableImage(context.db, catalogue, projectId, input.image_id);
  if (!image) throw cpsError('CPS.0030');
  if (!catalogue.imageFitsPhoneModel(image, phoneModel)) throw cpsError('CPS.0255');
  if (input.keypair_name === '') throw cpsError('CPS.0068');
  const ports = validatePorts(input.ports ?? []);
  const bandwidthSize = network === 'v1' ? validateV1Bandwidth(input.band_width) : validateV2Bandwidth(input.band_width);
  const availabilityZone = validateNetwork(input, serverModel, phoneModel, network, count);
  return { serverModel, phoneModel, ports, bandwidthSize, availabilityZone };
}

/** The phone flavor `name`, if it runs on `serverModel` and is on sale. */
export function phoneModelOn(catalogue: Catalogue, serverModel: ServerModel, name: string): PhoneModel {
  const phoneModel = catalogue.phoneModel(name);
  if (!phoneModel) throw cpsError('CPS.0028');
  if (phoneModel.server_model_name !== serverModel.server_model_name) throw cpsError('CPS.0157');
  if (phoneModel.status !== 1) throw cpsError('CPS.0257');
  return phoneModel;
}

/** The server columns that follow from its validated set-up. */
export function setupColumns(ids: Ids, plan: SetupPlan, input: ServerSetupInput, network: 'v1' | 'v2', vpcId: string, volumes: ServerVolume[]) {
  const subnetCidr = input.subnet_cidr ?? '192.168.0.0/24';
  return {
    server_model_name: plan.serverModel.server_model_name,
    phone_model_name: plan.phoneModel.phone_model_name,
    image_id: input.image_id,
    network_version: network,
    availability_zone: plan.availabilityZone,
    vpc_id: vpcId,
    vpc_cidr: network === 'v1' ? '192.168.0.0/16' : V2_VPC_CIDR,
    subnet_id: input.nics?.[0]?.subnet_id ?? ids.uuid(),
    subnet_cidr: network === 'v1' ? subnetCidr : V2_SUBNET_CIDR,
    addresses: JSON.stringify(serverAddresses(ids, plan.serverModel.opencph.address_count, network, subnetCidr, input.public_ip?.count !== 0)),
    security_groups: JSON.stringify(network === 'v2' ? [ids.uuid()] : []),
    ports: JSON.stringify(plan.ports),
    volumes: JSON.stringify(volumes),
  };
}

/**
 * A server's disks: one for its phones' data (each phone's disk, or the size a change asks for, times the
 * phones), and the shared-storage disk a change may ask for.
 */
export function serverVolumes(ids: Ids, phoneModel: PhoneModel, phoneData?: VolumeInput, shared?: VolumeInput): ServerVolume[] {
  const type = /GPSSD/.test(phoneModel.phone_model_name) ? 'GPSSD' : 'SSD';
  const volumes = [newVolume(ids, (phoneData?.size ?? phoneModel.disk) * phoneModel.phone_capacity, phoneData?.volume_type ?? type)];
  if (shared) volumes.push(newVolume(ids, shared.size, shared.volume_type));
  return volumes;
}

export function newVolume(ids: Ids, size: number, type: string): ServerVolume {
  return { volume_id: ids.uuid(), volume_name: `VOLUME_${ids.hex32()}`, volume_size: size, volume_type: type };
}

/** The phones of a server being set up: one per slot of the flavor, named mobile-0001…, waiting to be created (1). */
export function newPhones(context: ServerContext, projectId: string, serverId: string, phoneModel: PhoneModel, imageId: string, property: string, now: Date): NewPhone[] {
  const { ids } = context;
  return Array.from({ length: phoneModel.phone_capacity }, (_, index) => ({
    id: ids.hex32(),
    project_id: projectId,
    server_id: serverId,
    slot: index + 1,
    name: `mobile-${String(index + 1).padStart(4, '0')}`,
    phone_model_name: phoneModel.phone_model_name,
    image_id: imageId,
    driver: context.driverFor(phoneModel.phone_model_name),
    status: PHONE_STATUS.creating,
    type: 0,
    imei: generateImei(ids),
    traffic_type: 'direct',
    volume_mode: 0,
    has_encrypt: false,
    property,
    phone_ip: internalIp(ids),
    created_at: now,
    updated_at: now,
  }));
}

export async function insertPhones(trx: Db, phones: NewPhone[]) {
  // Multi-row inserts in slices keep the statement under PostgreSQL's parameter limit.
  for (let i = 0; i < phones.length; i += 500) await trx.insertInto('phones').values(phones.slice(i, i + 500)).execute();
}
