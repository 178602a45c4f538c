import assert from 'node:assert/strict';
import type { ApiResponse } from './server.ts';

/**
 * CPH error checks for API tests. The messages are typed from the §5 table of the spec (cph-api.md), not
 * taken from src/: they are the oracle the server's answers are held against. `{0}` stands for the name of
 * a property (CPS.0163, CPS.0164).
 */
const MESSAGES: Record<string, string> = {
  'CPS.0002': 'Parameter: offset or limit is invalid.',
  'CPS.0004': 'Invalid phone id.',
  'CPS.0005': 'Phone is not found.',
  'CPS.0009': 'Parameter: phone_id list is empty.',
  'CPS.0010': 'Parameter: status is invalid.',
  'CPS.0011': 'Job not found.',
  'CPS.0015': 'server_id not found.',
  'CPS.0016': 'server_id is invalid.',
  'CPS.0022': 'Not available phone.',
  'CPS.0024': 'Parameter: count is invalid.',
  'CPS.0025': 'Parameter: phone_name is invalid.',
  'CPS.0026': 'Parameter: phone_name is conflicted.',
  'CPS.0027': 'Parameter: phone_model_name is empty.',
  'CPS.0028': 'Parameter: phone_model_name is invalid.',
  'CPS.0029': 'Parameter: image_id is empty.',
  'CPS.0030': 'Parameter: image_id is invalid.',
  'CPS.0031': 'Parameter: band_width is invalid.',
  'CPS.0032': 'Parameter: band_width_id is empty.',
  'CPS.0033': 'Parameter: band_width_id is invalid.',
  'CPS.0034': 'Parameter: band_width_share_type is invalid.',
  'CPS.0035': 'Parameter: band_width_charge_mode is invalid.',
  'CPS.0036': 'Parameter: band_width_size is invalid.',
  'CPS.0037': 'Parameter: ports is invalid.',
  'CPS.0038': 'Parameter: port name is invalid.',
  'CPS.0039': 'Parameter: port name is conflicted.',
  'CPS.0040': 'Parameter: listen_port is invalid.',
  'CPS.0041': 'Parameter: listen_port is conflicted.',
  'CPS.0042': 'System busy.',
  'CPS.0046': 'Parameter: project_id is invalid.',
  'CPS.0049': 'Parameter: request_id is empty.',
  'CPS.0050': 'Jobs related to this requestId is not found.',
  'CPS.0053': 'No permission to request resources. Phone is frozen.',
  'CPS.0054': 'Handle job timeout.',
  'CPS.0055': 'Parameter: extend_param is invalid.',
  'CPS.0056': 'Parameter: charging_mode is invalid.',
  'CPS.0057': 'Parameter: period_type is invalid.',
  'CPS.0058': 'Parameter: period_num is invalid.',
  'CPS.0059': 'Parameter: isAutoRenew is invalid.',
  'CPS.0060': 'Parameter: isAutoPay is invalid.',
  'CPS.0065': 'Quota exceeded for server.',
  'CPS.0067': 'Keypair could not found.',
  'CPS.0068': 'Parameter: keypair_name is empty.',
  'CPS.0077': 'Parameter: phones list is invalid.',
  'CPS.0078': 'Parameter: Property is invalid.',
  'CPS.0080': 'Parameter: phone_ids is invalid.',
  'CPS.0087': 'Parameter: server_name is invalid.',
  'CPS.0088': 'Parameter: server_model_name is empty.',
  'CPS.0089': 'Parameter: server_model_name is invalid.',
  'CPS.0092': 'Create server failed.',
  'CPS.0093': 'Parameter: internet_accessible is empty.',
  'CPS.0094': 'Parameter: server_ids is invalid.',
  'CPS.0095': 'Parameter: server_ids is empty.',
  'CPS.0096': 'The number of servers exceeds the limit.',
  'CPS.0097': 'Parameter: server_id is invalid.',
  'CPS.0098': 'Parameter: no available keypair_name or server not ready.',
  'CPS.0099': 'Parameter: server is not ready.',
  'CPS.0104': "File doesn't exists in OBS.",
  'CPS.0105': 'BMS status is invalid.',
  'CPS.0115': 'Band width not found.',
  'CPS.0116': 'Parameter: type is invalid.',
  'CPS.0121': 'Parameter: Encode server id is invalid.',
  'CPS.0122': 'Parameter: Encode server id list is invalid.',
  'CPS.0123': 'Encode server not found.',
  'CPS.0124': 'Encode server is creating.',
  'CPS.0134': 'Parameter: bucket_name is invalid.',
  'CPS.0135': 'Parameter: object_path is invalid.',
  'CPS.0137': 'Server does not support push share files.',
  'CPS.0141': 'Phone is not in running status.',
  'CPS.0142': 'Parameter: image_label is invalid.',
  'CPS.0143': 'Parameter: is_public is invalid.',
  'CPS.0144': 'Parameter: product_type is invalid.',
  'CPS.0145': 'Parameter: ports exceeds the limit.',
  'CPS.0147': 'Server does not support push share apps.',
  'CPS.0148': 'Parameter: pre_install_app is invalid.',
  'CPS.0155': 'The file_paths is invalid.',
  'CPS.0157': 'The phone model is invalid.',
  'CPS.0158': 'The server is not available for being restarted.',
  'CPS.0159': 'Server not found.',
  'CPS.0160': 'Only the size of shared bandwidth can be changed.',
  'CPS.0161': 'Parameter: the number of request IDs has exceeded the limit.',
  'CPS.0162': 'Parameter: image_name is invalid.',
  'CPS.0163': 'Parameter: property {0} not supported.',
  'CPS.0164': 'Parameter: Invalid property {0}.',
  'CPS.0165': 'The phone must be in stopped or running status.',
  'CPS.0166': 'Phone image not found.',
  'CPS.0167': 'Parameter: storage_infos is invalid.',
  'CPS.0168': 'Parameter: include_files is invalid.',
  'CPS.0169': 'Parameter: exclude_files is invalid.',
  'CPS.0170': 'Parameter: storage_infos exceeds the limit.',
  'CPS.0171': 'Parameter: restore_infos is invalid.',
  'CPS.0172': 'Parameter: object_path is unregistered.',
  'CPS.0173': 'Parameter: package_name is invalid.',
  'CPS.0174': 'Parameter: time is invalid.',
  'CPS.0190': 'The number of phones exceeds the limit.',
  'CPS.0191': 'Parameter: subnet_cidr is invalid.',
  'CPS.0195': 'Encode server is frozen, no permission to request resources.',
  'CPS.0196': 'Quota is insufficient.',
  'CPS.0199': 'The path is invalid.',
  'CPS.0207': 'Parameter: traffic type is invalid.',
  'CPS.0208': 'Encode server is not in running status, not allowed to request resources.',
  'CPS.0209': 'Parameter: the number of requested phone ids has exceeded the limit.',
  'CPS.0211': 'Parameter: availability_zone is invalid.',
  'CPS.0213': 'Phone is creating.',
  'CPS.0216': 'Phone is not in stop status.',
  'CPS.0219': 'Phone does not support export and import image.',
  'CPS.0223': 'Parameter: tenant_vpc_id is invalid.',
  'CPS.0224': 'Parameter: subnet_id is invalid.',
  'CPS.0226': 'Parameter: nics is invalid.',
  'CPS.0231': 'Source phone and target phone can not be the same.',
  'CPS.0232': 'Parameter: source_phone_id is invalid.',
  'CPS.0233': 'Parameter: target_phone_id is invalid.',
  'CPS.0234': 'Parameter: migrate_infos is invalid.',
  'CPS.0235': 'Parameter: is_migrate_property is invalid.',
  'CPS.0238': 'Parameter: public_ip is invalid.',
  'CPS.0239': 'Parameter: eip is invalid.',
  'CPS.0240': 'Parameter: network_version is invalid.',
  'CPS.0245': 'Server does not allow to change model.',
  'CPS.0246': 'Server model not found.',
  'CPS.0247': 'Server model is not supported.',
  'CPS.0250': 'The server specifications cannot be the same as the specifications to be modified.',
  'CPS.0251': 'Existing EIPs cannot be assigned to servers created in batches.',
  'CPS.0252': 'EIPs of cloud phones whose phone_model_name has more than one EIPs cannot be configured from existing EIPs.',
  'CPS.0253': 'Parameter: public_ip: ids is invalid.',
  'CPS.0255': 'Parameter: image_id is not supported.',
  'CPS.0256': 'Servers you want can only be requested by using the POST /v2/{project_id}/cloud-phone/servers URI.',
  'CPS.0257': 'Phone model is not supported.',
  'CPS.0260': 'Sub job execute failed.',
  'CPS.0264': 'Parameter: request_id is invalid.',
  'CPS.0300': 'Parameter: Invalid resource type.',
  'CPS.0301': 'Parameter: Invalid resource id.',
  'CPS.0302': 'The resource_id is not found.',
  'CPS.0303': 'Parameter: Invalid tags.',
  'CPS.0304': 'Parameter: Invalid tag key.',
  'CPS.0305': 'Parameter: Invalid tag value.',
  'CPS.0306': 'Parameter: Key start with _sys_ is reserved to system user.',
  'CPS.0307': 'Parameter: The number of created tags has reached the limit.',
  'CPS.0309': 'Parameter: The number of tag keys has reached the limit.',
  'CPS.0310': 'Parameter: The number of tag values has reached the limit.',
  'CPS.0311': 'Parameter: Invalid matches.',
  'CPS.0312': 'Parameter: Invalid match.',
  'CPS.0313': 'Parameter: Invalid match key.',
  'CPS.0314': 'Parameter: Invalid match value.',
  'CPS.0315': 'Parameter: Invalid tag values.',
  'CPS.0316': 'Parameter: enterprise_project_id is invalid.',
};

const HEX32 = /^[0-9a-f]{32}$/;

/** The documented message of a code; `attribute` fills its `{0}`. Throws for a code the table lacks. */
export function cpsMessage(code: string, attribute?: string): string {
  const message = MESSAGES[code];
  if (message === undefined) throw new Error(`no §5 message for ${code}`);
  return attribute === undefined ? message : message.replace('{0}', attribute);
}

/** One refused item of a batch answer (jobs[] or errors[]): `{ [key]: id, error_code, error_msg }`. */
export function itemError(key: string, id: string, code: string, attribute?: string) {
  return { [key]: id, error_code: code, error_msg: cpsMessage(code, attribute) };
}

/** A refused phone of a batch phone operation. */
export const phoneError = (phoneId: string, code: string, attribute?: string) => itemError('phone_id', phoneId, code, attribute);

/**
 * A CPH error answer: the HTTP status, then a body of exactly request_id, error_code and the documented
 * error_msg, the request id being 32 hex digits and the one of the X-Request-Id header.
 */
export function assertCpsError(response: ApiResponse, status: number, code: string, context = code, attribute?: string) {
  assert.equal(response.status, status, `${context}: ${JSON.stringify(response.body)}`);
  const requestId = response.headers.get('x-request-id');
  assert.deepEqual(response.body, { request_id: requestId, error_code: code, error_msg: cpsMessage(code, attribute) }, context);
  assert.match(requestId ?? '', HEX32, context);
}
