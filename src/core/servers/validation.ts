// The checks of the server APIs' bodies that need nothing but the body and the catalogue entries it names:
// each refuses with the code the spec documents for it (CPS.xxxx). No database, no clock.
import type { BareServerInput, BillingInput, ChangeInput, ServerSetupInput } from '../../api/schemas/cph/servers.ts';
import type { ServerPort } from '../../store/schema.ts';
import { Catalogue, type PhoneModel, type ServerModel } from '../catalogue.ts';
import { SERVER_STATUS } from '../model.ts';
import { checkProperty } from '../phone-properties.ts';
import { HEX32 } from '../runtime.ts';
import { DomainError, cpsError, type CpsCode } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EIP_TYPES = ['5_telcom', '5_union', '5_bgp', '5_sbgp'];
const RESERVED_PORT_NAMES = ['adb', 'vnc'];
const MAX_PORTS = 8;
const VOLUME_TYPES = ['SSD', 'GPSSD'];

/** The ports a server opens: at most 8, named and numbered once each, listening on 10000–50000. */
export function validatePorts(ports: NonNullable<ServerSetupInput['ports']>): ServerPort[] {
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

/** Yearly/monthly billing only: 1–9 months or 1–10 years, auto-pay and auto-renew 0 or 1. */
export function validateBilling(param: BillingInput) {
  if (param.charging_mode !== 0) throw cpsError('CPS.0056');
  if (param.period_type !== 2 && param.period_type !== 3) throw cpsError('CPS.0057');
  const maxPeriods = param.period_type === 2 ? 9 : 10;
  if (param.period_num < 1 || param.period_num > maxPeriods) throw cpsError('CPS.0058');
  if (param.is_auto_renew !== undefined && param.is_auto_renew !== 0 && param.is_auto_renew !== 1) throw cpsError('CPS.0059');
  if (param.is_auto_pay !== undefined && param.is_auto_pay !== 0 && param.is_auto_pay !== 1) throw cpsError('CPS.0060');
  validateEnterpriseProject(param.enterprise_project_id);
}

/** `"0"` (the default enterprise project) or an enterprise project's UUID. */
export function validateEnterpriseProject(id: string | undefined) {
  if (id !== undefined && id !== '0' && !UUID.test(id)) throw cpsError('CPS.0316');
}

/** v1: an existing shared bandwidth wins; else share type 1 needs a size of 5–2,000, share type 0 gets 300. */
export function validateV1Bandwidth(bandwidth: ServerSetupInput['band_width']): number {
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
export function validateV2Bandwidth(bandwidth: ServerSetupInput['band_width']): number {
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

/** A v2 server's `public_ip`: a new EIP of a known `type`, or one existing EIP by id for one server. */
export function validatePublicIp(publicIp: ServerSetupInput['public_ip'], count: number, phoneModel: PhoneModel) {
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
export function validateBareEip(publicIp: BareServerInput['public_ip'], serverCount: number): boolean {
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
export function zoneOf(serverModel: ServerModel, requested: string | undefined): string {
  if (!requested) return serverModel.opencph.availability_zones[0];
  if (!serverModel.opencph.availability_zones.includes(requested)) throw cpsError('CPS.0211');
  return requested;
}

/** An IPv4 CIDR of a private range (10/8, 172.16/12, 192.168/16) with a prefix of 8–28 bits. */
export function isPrivateCidr(cidr: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!match) return false;
  const [a, b, c, d, bits] = match.slice(1).map(Number);
  if ([a, b, c, d].some((octet) => octet > 255) || bits < 8 || bits > 28) return false;
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** The tenant's subnets a v2 server is put on: at least one, each by UUID. */
function validateNics(nics: Array<{ subnet_id: string }> | undefined) {
  if (!nics || nics.length === 0) throw cpsError('CPS.0226');
  if (nics.some((nic) => !UUID.test(nic.subnet_id))) throw cpsError('CPS.0224');
}

/** A disk's type: SSD or GPSSD. */
function validateVolumeType(volume: { volume_type: string } | undefined) {
  if (volume && !VOLUME_TYPES.includes(volume.volume_type)) throw cpsError('CPS.0116');
}

/**
 * The network of a set-up: v1's optional private `subnet_cidr`; v2's VPC, subnets, public IP and zone.
 * The zone the servers go to (v1: the flavor's first).
 */
export function validateNetwork(input: ServerSetupInput, serverModel: ServerModel, phoneModel: PhoneModel, network: 'v1' | 'v2', count: number): string {
  if (network === 'v1') {
    if (input.subnet_cidr !== undefined && !isPrivateCidr(input.subnet_cidr)) throw cpsError('CPS.0191');
    return serverModel.opencph.availability_zones[0];
  }
  if (!input.tenant_vpc_id || !UUID.test(input.tenant_vpc_id)) throw cpsError('CPS.0223');
  validateNics(input.nics);
  validatePublicIp(input.public_ip, count, phoneModel);
  return zoneOf(serverModel, input.availability_zone);
}

/**
 * ChangeCloudPhoneServer's own fields (spec §3.39): the enterprise project, phones per IP (1 to the flavor's
 * capacity), EIPs (at most one per group of phones), the disks' types and the phones' attributes.
 */
export function validateChangeFields(input: ChangeInput, phoneModel: PhoneModel) {
  validateEnterpriseProject(input.extend_param?.enterprise_project_id);
  const capacity = phoneModel.phone_capacity;
  const phonesPerIp = input.phone_count_per_ip ?? capacity;
  if (phonesPerIp < 1 || phonesPerIp > capacity) throw cpsError('CPS.0190');
  const eips = input.public_ip.count ?? 1;
  if (eips < 0 || eips > Math.ceil(capacity / phonesPerIp)) throw cpsError('CPS.0238');
  validateVolumeType(input.phone_data_volume);
  validateVolumeType(input.server_share_data_volume);
  if (input.property !== undefined) {
    const refusal = checkProperty(input.property, phoneModel.phone_model_name);
    if (refusal) throw new DomainError(refusal.error_code, 'invalid', refusal.error_msg);
  }
}

/** CreateCloudPhoneSingleServer's body past its flavor, in the order of the other purchases' checks. */
export function validateBareServer(input: BareServerInput, serverModel: ServerModel) {
  validateBilling(input.order_param);
  validateEnterpriseProject(input.enterprise_project_id);
  validateNics(input.nics);
  const withEip = validateBareEip(input.public_ip, input.count);
  const bandwidthSize = validateV2Bandwidth(input.public_ip.band_width);
  validateVolumeType(input.data_volume);
  return { withEip, bandwidthSize, availabilityZone: zoneOf(serverModel, input.availability_zone) };
}

/** Why UpdateKeypair refuses a server (its current status given), if it does. */
export function keypairRefusal(item: { server_id: string; keypair_name: string }, status: number | undefined): CpsCode | undefined {
  if (!HEX32.test(item.server_id)) return 'CPS.0097';
  if (item.keypair_name === '') return 'CPS.0068';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(item.keypair_name)) return 'CPS.0067';
  if (status === undefined) return 'CPS.0015';
  if (status !== SERVER_STATUS.normal) return 'CPS.0098';
  return undefined;
}
