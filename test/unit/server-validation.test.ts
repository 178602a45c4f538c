// The server APIs' body checks that need no database (src/core/servers/validation.ts, batch.ts): for each,
// the edge it accepts and the edge it refuses, with the code the spec documents (docs: cph-api.md §3.1–3.2,
// §3.39, §8 rows 20–22 and 41).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue } from '../../src/core/catalogue.ts';
import { DomainError } from '../../src/core/errors.ts';
import { SERVER_STATUS } from '../../src/core/model.ts';
import { MAX_BATCH_SERVERS, validateBatchSize } from '../../src/core/servers/batch.ts';
import {
  isPrivateCidr,
  isValidBandwidthSize,
  keypairRefusal,
  validateBareEip,
  validateBareServer,
  validateBilling,
  validateChangeFields,
  validateEnterpriseProject,
  validateNetwork,
  validatePorts,
  validatePublicIp,
  validateV1Bandwidth,
  validateV2Bandwidth,
  zoneOf,
} from '../../src/core/servers/validation.ts';
import type { BareServerInput, ChangeInput, ServerSetupInput } from '../../src/api/schemas/cph/servers.ts';

const catalogue = Catalogue.load();
/** 60 phones, one EIP. */
const phoneModel = catalogue.phoneModel('rx1.cp.c60.d10.e1v1')!;
/** Five EIPs per server. */
const multiEipModel = catalogue.phoneModel('rx1.cp.c105.d6.e5v5')!;
const serverModel = catalogue.serverModel(phoneModel.server_model_name)!;
const [zone] = serverModel.opencph.availability_zones;

const UUID = '5c4e8c51-5b2c-4a5e-9a0a-5f2d9f0f6f10';
const SERVER_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

/** Asserts that `check` throws the DomainError of `code`. */
function refuses(check: () => unknown, code: string) {
  assert.throws(check, (error: unknown) => {
    assert.ok(error instanceof DomainError, `a DomainError, not ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

test('a batch names 1 to 100 servers: none is CPS.0095, more is CPS.0096', () => {
  validateBatchSize(1);
  validateBatchSize(MAX_BATCH_SERVERS);
  refuses(() => validateBatchSize(0), 'CPS.0095');
  refuses(() => validateBatchSize(MAX_BATCH_SERVERS + 1), 'CPS.0096');
});

test('ports: at most 8, named once, listening once on 10000–50000, internet_accessible given', () => {
  const port = (index: number, overrides: Partial<{ name: string; listen_port: number; internet_accessible: string }> = {}) => ({
    name: `port${index}`,
    listen_port: 10000 + index,
    internet_accessible: 'TRUE',
    ...overrides,
  });
  const eight = Array.from({ length: 8 }, (_, index) => port(index));
  assert.deepEqual(validatePorts(eight)[0], { name: 'port0', listen_port: 10000, internet_accessible: true }, '"true" in any case maps the port');
  assert.equal(validatePorts([port(0, { internet_accessible: 'no' })])[0].internet_accessible, false);
  refuses(() => validatePorts([...eight, port(8)]), 'CPS.0145');
  assert.equal(validatePorts([port(0, { name: 'a'.repeat(16) })]).length, 1);
  refuses(() => validatePorts([port(0, { name: 'a'.repeat(17) })]), 'CPS.0038');
  refuses(() => validatePorts([port(0, { name: 'ADB' })]), 'CPS.0038');
  refuses(() => validatePorts([port(0), port(1, { name: 'port0' })]), 'CPS.0039');
  assert.equal(validatePorts([port(0, { listen_port: 50000 })]).length, 1);
  refuses(() => validatePorts([port(0, { listen_port: 9999 })]), 'CPS.0040');
  refuses(() => validatePorts([port(0, { listen_port: 50001 })]), 'CPS.0040');
  refuses(() => validatePorts([port(0), port(1, { listen_port: 10000 })]), 'CPS.0041');
  refuses(() => validatePorts([port(0, { internet_accessible: '' })]), 'CPS.0093');
});

test('billing: yearly/monthly only, 1–9 months or 1–10 years, auto-pay and auto-renew 0 or 1', () => {
  const billing = { charging_mode: 0, period_type: 2, period_num: 9, is_auto_pay: 1, is_auto_renew: 0 };
  validateBilling(billing);
  validateBilling({ ...billing, period_type: 3, period_num: 10 });
  refuses(() => validateBilling({ ...billing, charging_mode: 1 }), 'CPS.0056');
  refuses(() => validateBilling({ ...billing, period_type: 1 }), 'CPS.0057');
  refuses(() => validateBilling({ ...billing, period_num: 10 }), 'CPS.0058');
  refuses(() => validateBilling({ ...billing, period_type: 3, period_num: 11 }), 'CPS.0058');
  refuses(() => validateBilling({ ...billing, period_num: 0 }), 'CPS.0058');
  refuses(() => validateBilling({ ...billing, is_auto_renew: 2 }), 'CPS.0059');
  refuses(() => validateBilling({ ...billing, is_auto_pay: 2 }), 'CPS.0060');
  refuses(() => validateBilling({ ...billing, enterprise_project_id: 'default' }), 'CPS.0316');
});

test('enterprise project: "0" or a UUID', () => {
  validateEnterpriseProject(undefined);
  validateEnterpriseProject('0');
  validateEnterpriseProject(UUID);
  refuses(() => validateEnterpriseProject(''), 'CPS.0316');
  refuses(() => validateEnterpriseProject(UUID.slice(1)), 'CPS.0316');
});

test('bandwidth sizes: 1–300 by 1, 301–1,000 by 50, 1,001–2,000 by 500 (spec §8 row 21)', () => {
  for (const size of [1, 300, 350, 1000, 1500, 2000]) assert.equal(isValidBandwidthSize(size), true, `${size}`);
  for (const size of [0, 1.5, 301, 1050, 1001, 2500]) assert.equal(isValidBandwidthSize(size), false, `${size}`);
});

test('v1 bandwidth: an existing id wins; shared needs 5–2,000; dedicated defaults to 300 (spec §8 row 20)', () => {
  assert.equal(validateV1Bandwidth({ band_width_id: UUID, band_width_share_type: 7 }), 0);
  assert.equal(validateV1Bandwidth({ band_width_share_type: 0 }), 300);
  assert.equal(validateV1Bandwidth({ band_width_share_type: 1, band_width_size: 5 }), 5);
  assert.equal(validateV1Bandwidth({ band_width_share_type: 1, band_width_size: 2000 }), 2000);
  refuses(() => validateV1Bandwidth({ band_width_share_type: 1, band_width_size: 4 }), 'CPS.0036');
  refuses(() => validateV1Bandwidth({ band_width_share_type: 1 }), 'CPS.0036');
  refuses(() => validateV1Bandwidth({ band_width_share_type: 0, band_width_size: 301 }), 'CPS.0036');
  refuses(() => validateV1Bandwidth({ band_width_share_type: 2 }), 'CPS.0034');
  refuses(() => validateV1Bandwidth({ band_width_share_type: 0, band_width_charge_mode: 2 }), 'CPS.0035');
});

test('v2 bandwidth: shared needs an id (CPS.0032), dedicated a size on the steps, charge mode 0 or 1', () => {
  assert.equal(validateV2Bandwidth({ band_width_share_type: 1, band_width_charge_mode: 0, band_width_id: UUID }), 0);
  assert.equal(validateV2Bandwidth({ band_width_share_type: 0, band_width_charge_mode: 1, band_width_size: 1 }), 1);
  refuses(() => validateV2Bandwidth({ band_width_share_type: 1, band_width_charge_mode: 0 }), 'CPS.0032');
  refuses(() => validateV2Bandwidth({ band_width_share_type: 0, band_width_charge_mode: 1 }), 'CPS.0036');
  refuses(() => validateV2Bandwidth({ band_width_share_type: 0, band_width_charge_mode: 1, band_width_size: 2001 }), 'CPS.0036');
  refuses(() => validateV2Bandwidth({ band_width_charge_mode: 1, band_width_size: 10 }), 'CPS.0034');
  refuses(() => validateV2Bandwidth({ band_width_share_type: 0, band_width_size: 10 }), 'CPS.0035');
});

test('public IP: exactly one of a new EIP of a known type or one existing EIP for one server (spec §8 row 22)', () => {
  validatePublicIp({ eip: { type: '5_bgp' }, ids: '' }, 10, phoneModel);
  validatePublicIp({ eip: { type: '5_sbgp' }, ids: [''] }, 1, phoneModel);
  validatePublicIp({ ids: [UUID] }, 1, phoneModel);
  validatePublicIp({ count: 0 }, 1, phoneModel);
  refuses(() => validatePublicIp(undefined, 1, phoneModel), 'CPS.0238');
  refuses(() => validatePublicIp({}, 1, phoneModel), 'CPS.0238');
  refuses(() => validatePublicIp({ eip: { type: '5_bgp' }, ids: [UUID] }, 1, phoneModel), 'CPS.0238');
  refuses(() => validatePublicIp({ eip: { type: '5_other' } }, 1, phoneModel), 'CPS.0239');
  refuses(() => validatePublicIp({ ids: [UUID, UUID] }, 1, phoneModel), 'CPS.0253');
  refuses(() => validatePublicIp({ ids: ['not-a-uuid'] }, 1, phoneModel), 'CPS.0253');
  refuses(() => validatePublicIp({ ids: [UUID] }, 2, phoneModel), 'CPS.0251');
  refuses(() => validatePublicIp({ ids: [UUID] }, 1, multiEipModel), 'CPS.0252');
});

test('bare server EIP: one existing for one server, or 0 (the default) or 1 new of a known type', () => {
  const band_width = { band_width_share_type: 0, band_width_charge_mode: 1, band_width_size: 10 };
  assert.equal(validateBareEip({ band_width }, 5), false);
  assert.equal(validateBareEip({ ids: [], count: 0, band_width }, 5), false);
  assert.equal(validateBareEip({ type: '5_bgp', count: 1, band_width }, 5), true);
  assert.equal(validateBareEip({ ids: [UUID], band_width }, 1), true);
  refuses(() => validateBareEip({ ids: [UUID], band_width }, 2), 'CPS.0251');
  refuses(() => validateBareEip({ ids: ['x'], band_width }, 1), 'CPS.0253');
  refuses(() => validateBareEip({ type: '5_bgp', count: 2, band_width }, 1), 'CPS.0238');
  refuses(() => validateBareEip({ count: 1, band_width }, 1), 'CPS.0239');
  refuses(() => validateBareEip({ type: 'bgp', count: 0, band_width }, 1), 'CPS.0239');
});

test("zone: one of the flavor's, else its first (CPS.0211)", () => {
  assert.equal(zoneOf(serverModel, undefined), zone);
  assert.equal(zoneOf(serverModel, ''), zone);
  const last = serverModel.opencph.availability_zones.at(-1)!;
  assert.equal(zoneOf(serverModel, last), last);
  refuses(() => zoneOf(serverModel, 'nowhere-1a'), 'CPS.0211');
});

test('private CIDR: 10/8, 172.16/12 or 192.168/16, with a prefix of 8–28 bits', () => {
  for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '172.31.255.0/28', '192.168.0.0/24']) assert.equal(isPrivateCidr(cidr), true, cidr);
  for (const cidr of ['10.0.0.0/7', '192.168.0.0/29', '172.32.0.0/16', '8.8.8.0/24', '10.0.0.256/24', '10.0.0.0']) assert.equal(isPrivateCidr(cidr), false, cidr);
});

test('network: v1 takes an optional private subnet (CPS.0191); v2 needs a VPC, subnets and a public IP', () => {
  const setup: ServerSetupInput = { phone_model_name: phoneModel.phone_model_name, image_id: 'image', band_width: {} };
  assert.equal(validateNetwork(setup, serverModel, phoneModel, 'v1', 1), zone);
  assert.equal(validateNetwork({ ...setup, subnet_cidr: '192.168.1.0/24' }, serverModel, phoneModel, 'v1', 1), zone);
  refuses(() => validateNetwork({ ...setup, subnet_cidr: '100.64.0.0/10' }, serverModel, phoneModel, 'v1', 1), 'CPS.0191');
  const v2 = { ...setup, tenant_vpc_id: UUID, nics: [{ subnet_id: UUID }], public_ip: { eip: { type: '5_bgp' } } };
  const last = serverModel.opencph.availability_zones.at(-1)!;
  assert.equal(validateNetwork({ ...v2, availability_zone: last }, serverModel, phoneModel, 'v2', 2), last);
  refuses(() => validateNetwork({ ...v2, tenant_vpc_id: 'vpc' }, serverModel, phoneModel, 'v2', 1), 'CPS.0223');
  refuses(() => validateNetwork({ ...v2, nics: [] }, serverModel, phoneModel, 'v2', 1), 'CPS.0226');
  refuses(() => validateNetwork({ ...v2, nics: [{ subnet_id: 'subnet' }] }, serverModel, phoneModel, 'v2', 1), 'CPS.0224');
  refuses(() => validateNetwork({ ...v2, public_ip: {} }, serverModel, phoneModel, 'v2', 1), 'CPS.0238');
});

test('ChangeCloudPhoneServer: 1 to capacity phones per IP, EIPs up to one per group, disk types, attributes (spec §3.39)', () => {
  const change: ChangeInput = {
    phone_model_name: phoneModel.phone_model_name,
    image_id: 'image',
    band_width: {},
    tenant_vpc_id: UUID,
    nics: [{ subnet_id: UUID }],
    public_ip: { eip: { type: '5_bgp' } },
  };
  validateChangeFields(change, phoneModel);
  validateChangeFields({ ...change, phone_count_per_ip: 30, public_ip: { count: 2 } }, phoneModel);
  validateChangeFields({ ...change, phone_count_per_ip: 60, public_ip: { count: 0 } }, phoneModel);
  validateChangeFields({ ...change, phone_data_volume: { volume_type: 'GPSSD', size: 10 }, property: '{"ro.install.auto":"1"}' }, phoneModel);
  refuses(() => validateChangeFields({ ...change, phone_count_per_ip: 61 }, phoneModel), 'CPS.0190');
  refuses(() => validateChangeFields({ ...change, phone_count_per_ip: 30, public_ip: { count: 3 } }, phoneModel), 'CPS.0238');
  refuses(() => validateChangeFields({ ...change, public_ip: { count: -1 } }, phoneModel), 'CPS.0238');
  refuses(() => validateChangeFields({ ...change, server_share_data_volume: { volume_type: 'SATA', size: 10 } }, phoneModel), 'CPS.0116');
  refuses(() => validateChangeFields({ ...change, property: '[]' }, phoneModel), 'CPS.0078');
  refuses(() => validateChangeFields({ ...change, property: '{"ro.install.auto":"2"}' }, phoneModel), 'CPS.0164');
  refuses(() => validateChangeFields({ ...change, extend_param: { enterprise_project_id: 'x' } }, phoneModel), 'CPS.0316');
});

test('CreateCloudPhoneSingleServer: billing, subnets, EIP, bandwidth, disk type and zone, in that order', () => {
  const bare: BareServerInput = {
    server_name: 'bare',
    server_model_name: serverModel.server_model_name,
    count: 2,
    order_param: { charging_mode: 0, period_type: 2, period_num: 1 },
    nics: [{ subnet_id: UUID }],
    public_ip: { band_width: { band_width_share_type: 0, band_width_charge_mode: 1, band_width_size: 10 } },
    keypair_name: 'key',
    data_volume: { volume_type: 'SSD', size: 100 },
  };
  assert.deepEqual(validateBareServer(bare, serverModel), { withEip: false, bandwidthSize: 10, availabilityZone: zone });
  refuses(() => validateBareServer({ ...bare, order_param: { ...bare.order_param, period_num: 10 } }, serverModel), 'CPS.0058');
  refuses(() => validateBareServer({ ...bare, enterprise_project_id: 'x' }, serverModel), 'CPS.0316');
  refuses(() => validateBareServer({ ...bare, nics: [] }, serverModel), 'CPS.0226');
  refuses(() => validateBareServer({ ...bare, nics: [{ subnet_id: 'subnet' }] }, serverModel), 'CPS.0224');
  refuses(() => validateBareServer({ ...bare, public_ip: { ...bare.public_ip, ids: [UUID] } }, serverModel), 'CPS.0251');
  refuses(() => validateBareServer({ ...bare, public_ip: { band_width: { band_width_share_type: 1, band_width_charge_mode: 1 } } }, serverModel), 'CPS.0032');
  refuses(() => validateBareServer({ ...bare, data_volume: { volume_type: 'SAS', size: 100 } }, serverModel), 'CPS.0116');
  refuses(() => validateBareServer({ ...bare, availability_zone: 'nowhere-1a' }, serverModel), 'CPS.0211');
});

test('UpdateKeypair refuses a malformed id, an empty or invalid name, a missing or not normal server', () => {
  const item = { server_id: SERVER_ID, keypair_name: 'a'.repeat(64) };
  assert.equal(keypairRefusal(item, SERVER_STATUS.normal), undefined);
  assert.equal(keypairRefusal({ ...item, keypair_name: 'Key_pair-1' }, SERVER_STATUS.normal), undefined);
  assert.equal(keypairRefusal({ ...item, server_id: SERVER_ID.toUpperCase() }, SERVER_STATUS.normal), 'CPS.0097');
  assert.equal(keypairRefusal({ ...item, keypair_name: '' }, SERVER_STATUS.normal), 'CPS.0068');
  assert.equal(keypairRefusal({ ...item, keypair_name: 'a'.repeat(65) }, SERVER_STATUS.normal), 'CPS.0067');
  assert.equal(keypairRefusal({ ...item, keypair_name: 'key pair' }, SERVER_STATUS.normal), 'CPS.0067');
  assert.equal(keypairRefusal(item, undefined), 'CPS.0015');
  assert.equal(keypairRefusal(item, SERVER_STATUS.abnormal), 'CPS.0098');
});
