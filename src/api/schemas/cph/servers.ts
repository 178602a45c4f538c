import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { coded, jobEntry, paging } from '../../schema.ts';
import { BandwidthWire } from './bandwidths.ts';

/** Data disks a bare server may be bought with: a BMS holds at most 60 EVS disks, one of them its system disk. */
export const MAX_BARE_DATA_VOLUMES = 59;

/** Server names as purchases and UpdateServerName take them (spec §3.13). */
const ServerName = coded(Type.String({ minLength: 1, maxLength: 60, pattern: '^[A-Za-z0-9_-]+$' }), 'CPS.0087');

const Port = coded(
  Type.Object({
    name: coded(Type.String(), 'CPS.0038'),
    listen_port: coded(Type.Integer(), 'CPS.0040'),
    internet_accessible: coded(Type.String(), 'CPS.0093', 'CPS.0093'),
  }),
  'CPS.0037',
);

/** How a purchase is billed: `extend_param` of both buy APIs, `order_param` of CreateCloudPhoneSingleServer. */
const billingFields = {
  charging_mode: coded(Type.Integer(), 'CPS.0056'),
  period_type: coded(Type.Integer(), 'CPS.0057'),
  period_num: coded(Type.Integer(), 'CPS.0058'),
  is_auto_pay: Type.Optional(coded(Type.Integer(), 'CPS.0060')),
  is_auto_renew: Type.Optional(coded(Type.Integer(), 'CPS.0059')),
};

const EnterpriseProjectId = coded(Type.String(), 'CPS.0316');

const ExtendParam = coded(Type.Object({ ...billingFields, enterprise_project_id: Type.Optional(EnterpriseProjectId) }), 'CPS.0055');

const bandwidthFields = {
  band_width_id: Type.Optional(coded(Type.String({ maxLength: 64 }), 'CPS.0033')),
  band_width_share_type: coded(Type.Integer(), 'CPS.0034'),
  band_width_size: Type.Optional(coded(Type.Integer(), 'CPS.0036')),
  band_width_charge_mode: coded(Type.Integer(), 'CPS.0035'),
};

/** The purchases' `band_width`: what each needs of it is checked by the service (v1 and v2 differ). */
const BandWidth = coded(
  Type.Object({
    ...bandwidthFields,
    band_width_share_type: Type.Optional(bandwidthFields.band_width_share_type),
    band_width_charge_mode: Type.Optional(bandwidthFields.band_width_charge_mode),
  }),
  'CPS.0031',
);

/** What a server's phones run, and how it is reached: set by both purchase APIs and by ChangeCloudPhoneServer. */
const setupFields = {
  phone_model_name: coded(Type.String({ minLength: 1, maxLength: 64 }), 'CPS.0028', 'CPS.0027'),
  image_id: coded(Type.String({ minLength: 1, maxLength: 32 }), 'CPS.0030', 'CPS.0029'),
  keypair_name: Type.Optional(coded(Type.String({ maxLength: 64 }), 'CPS.0067')),
  ports: Type.Optional(coded(Type.Array(Port), 'CPS.0037')),
  band_width: BandWidth,
};

/** Fields both purchase APIs share, with the documented code of each. */
const purchaseFields = {
  server_name: ServerName,
  server_model_name: coded(Type.String({ minLength: 1, maxLength: 64 }), 'CPS.0089', 'CPS.0088'),
  ...setupFields,
  count: coded(Type.Integer({ minimum: 1, maximum: 10 }), 'CPS.0024'),
  vnc_enable: Type.Optional(Type.String()),
  extend_param: ExtendParam,
};

/** The system network (v1) of CreateCloudPhoneServer. */
const systemNetworkFields = {
  subnet_cidr: Type.Optional(coded(Type.String(), 'CPS.0191')),
};

/** The subnets a v2 server is put on, at least one; the purchases' SDK models name the IPv6 bandwidth differently. */
function nics<T extends TProperties>(ipv6Bandwidth: T) {
  const nic = Type.Object({ subnet_id: coded(Type.String(), 'CPS.0224'), ipv6_enable: Type.Optional(coded(Type.Boolean(), 'CPS.0226')), ...ipv6Bandwidth });
  return coded(Type.Array(coded(nic, 'CPS.0226'), { minItems: 1 }), 'CPS.0226');
}

/** The custom network (v2) of CreateNet2CloudPhoneServer and ChangeCloudPhoneServer. */
const customNetworkFields = {
  tenant_vpc_id: coded(Type.String({ minLength: 1 }), 'CPS.0223'),
  nics: nics({ ipv6_bandwidth: Type.Optional(coded(Type.Object({ band_width_id: coded(Type.String(), 'CPS.0033') }), 'CPS.0226')) }),
  public_ip: coded(
    Type.Object({
      eip: Type.Optional(Type.Union([coded(Type.Object({ type: coded(Type.String(), 'CPS.0239') }), 'CPS.0239'), Type.Null()])),
      // A refused value fails on the first branch, so that one carries the code.
      ids: Type.Optional(Type.Union([coded(Type.Array(coded(Type.String(), 'CPS.0253')), 'CPS.0253'), Type.String(), Type.Null()])),
      // ChangeCloudPhoneServer: EIPs to assign, 0 = none (spec §3.39).
      count: Type.Optional(coded(Type.Integer(), 'CPS.0238')),
    }),
    'CPS.0238',
  ),
  availability_zone: Type.Optional(coded(Type.String({ maxLength: 64 }), 'CPS.0211')),
};

/** CreateCloudPhoneServer (v1, system network). */
export const CreateV1Body = coded(Type.Object({ ...purchaseFields, ...systemNetworkFields }), 'CPS.0055');

/** CreateNet2CloudPhoneServer (v2, custom network). */
export const CreateV2Body = coded(Type.Object({ ...purchaseFields, ...customNetworkFields }), 'CPS.0055');

/**
 * CreateCloudPhoneSingleServer (v2.1): the fields and requiredness of Huawei's SDK models
 * (CreateCloudPhoneSingleServerRequestBody, …OrderParam, NicForSingleServer, …PublicIp, …PublicIpBandWidth,
 * …DataVolume). Fields without a documented code of their own (the disk's size and count) answer the
 * body's code, as the other purchases do.
 */
export const CreateBareBody = coded(
  Type.Object({
    server_name: ServerName,
    server_model_name: purchaseFields.server_model_name,
    count: purchaseFields.count,
    order_param: coded(Type.Object(billingFields), 'CPS.0055'),
    nics: nics({ ipv6_band_width_id: Type.Optional(coded(Type.String({ maxLength: 64 }), 'CPS.0033')) }),
    public_ip: coded(
      Type.Object({
        ids: Type.Optional(coded(Type.Array(coded(Type.String(), 'CPS.0253')), 'CPS.0253')),
        type: Type.Optional(coded(Type.String(), 'CPS.0239')),
        count: Type.Optional(coded(Type.Integer(), 'CPS.0238')),
        band_width: coded(Type.Object(bandwidthFields), 'CPS.0031'),
      }),
      'CPS.0238',
    ),
    availability_zone: customNetworkFields.availability_zone,
    data_volume: Type.Optional(
      Type.Object({
        volume_type: coded(Type.String(), 'CPS.0116'),
        size: Type.Integer({ minimum: 1, maximum: 32_768 }),
        count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_BARE_DATA_VOLUMES })),
      }),
    ),
    keypair_name: coded(Type.String({ minLength: 1, maxLength: 64 }), 'CPS.0067', 'CPS.0068'),
    enterprise_project_id: Type.Optional(EnterpriseProjectId),
    // The server's own image (an IMS id: up to 36 bytes), not a phone image.
    image_id: Type.Optional(coded(Type.String({ minLength: 1, maxLength: 36, pattern: '^[A-Za-z0-9-]+$' }), 'CPS.0030', 'CPS.0029')),
  }),
  'CPS.0055',
);

/** A disk of ChangeCloudPhoneServer: `volume_type` SSD or GPSSD, checked by the service (spec §3.39). */
const Volume = Type.Object({ volume_type: coded(Type.String(), 'CPS.0116'), size: Type.Integer({ minimum: 10, maximum: 32_768 }) });

/**
 * ChangeCloudPhoneServer (spec §3.39). Fields without a documented code of their own (the volume sizes)
 * answer the body's code, as the v2 purchase does.
 */
export const ChangeBody = coded(
  Type.Object({
    ...setupFields,
    ...customNetworkFields,
    extend_param: Type.Optional(coded(Type.Object({ enterprise_project_id: Type.Optional(coded(Type.String(), 'CPS.0316')) }), 'CPS.0055')),
    phone_count_per_ip: Type.Optional(coded(Type.Integer({ minimum: 1 }), 'CPS.0190')),
    phone_data_volume: Type.Optional(Volume),
    server_share_data_volume: Type.Optional(Volume),
    property: Type.Optional(coded(Type.String({ minLength: 1, maxLength: 8192 }), 'CPS.0078')),
  }),
  'CPS.0055',
);

export const ChangeResponse = Type.Object({
  request_id: Type.String(),
  server_id: Type.String(),
  job_id: Type.String(),
  error_code: Type.Optional(Type.String()),
  error_msg: Type.Optional(Type.String()),
});

/** ChangeCloudPhoneServerModel (spec §3.12). */
export const ChangeModelBody = coded(
  Type.Object({
    server_id: coded(Type.String({ pattern: '^[0-9a-f]{32}$' }), 'CPS.0097'),
    server_model_name: coded(Type.String({ minLength: 1, maxLength: 64 }), 'CPS.0246', 'CPS.0088'),
    phone_model_name: setupFields.phone_model_name,
    extend_param: Type.Optional(coded(Type.Object({ is_auto_pay: Type.Optional(coded(Type.Integer({ minimum: 0, maximum: 1 }), 'CPS.0060')) }), 'CPS.0055')),
  }),
  'CPS.0055',
);

export const ChangeModelResponse = Type.Object({ request_id: Type.String(), order_id: Type.String(), product_id: Type.String() });

export const PurchaseResponse = Type.Object({
  request_id: Type.String(),
  order_id: Type.String(),
  product_id: Type.String(),
  server_ids: Type.Array(Type.String()),
});

export const ListServersQuery = Type.Object({
  ...paging(100),
  server_name: Type.Optional(Type.String()),
  server_id: Type.Optional(coded(Type.String({ pattern: '^[0-9a-f]{32}$' }), 'CPS.0097')),
  network_version: Type.Optional(coded(Type.String({ pattern: '^[vV][12]$' }), 'CPS.0240')),
});

const Address = Type.Object({ intranet_ip: Type.String(), access_ip: Type.String(), server_ip: Type.String(), public_ip: Type.String() });

export const ServerWire = Type.Object({
  server_name: Type.String(),
  availability_zone: Type.String(),
  server_id: Type.String(),
  server_model_name: Type.String(),
  phone_model_name: Type.String(),
  keypair_name: Type.String(),
  status: Type.Integer(),
  vpc_id: Type.String(),
  resource_project_id: Type.String(),
  cidr: Type.String(),
  vpc_cidr: Type.String(),
  subnet_id: Type.String(),
  subnet_cidr: Type.String(),
  metadata: Type.Object({ order_id: Type.String(), product_id: Type.String() }),
  addresses: Type.Array(Address),
  network_version: Type.String(),
  enterprise_project_id: Type.String(),
  create_time: Type.String(),
  update_time: Type.String(),
});

export const ListServersResponse = Type.Object({ request_id: Type.String(), servers: Type.Array(ServerWire) });

export const ServerDetail = Type.Composite([
  Type.Object({ request_id: Type.String() }),
  ServerWire,
  Type.Object({
    band_widths: Type.Array(BandwidthWire),
    volumes: Type.Array(
      Type.Object({
        volume_name: Type.String(),
        volume_id: Type.String(),
        volume_size: Type.Integer(),
        volume_type: Type.String(),
        create_time: Type.String(),
        update_time: Type.String(),
      }),
    ),
    security_groups: Type.Array(Type.String()),
  }),
]);

export const ServerIdParams = Type.Object({ project_id: Type.String(), server_id: Type.String() });

export const RenameBody = coded(Type.Object({ server_name: ServerName }), 'CPS.0087');

// The service checks the list's size: too long is CPS.0096, not the field's CPS.0094.
export const RestartBody = coded(Type.Object({ server_ids: coded(Type.Array(coded(Type.String(), 'CPS.0094')), 'CPS.0094', 'CPS.0095') }), 'CPS.0094');

export const UpdateKeypairBody = coded(
  Type.Object({
    servers: coded(
      Type.Array(
        coded(Type.Object({ server_id: coded(Type.String(), 'CPS.0097'), keypair_name: coded(Type.String({ maxLength: 64 }), 'CPS.0067', 'CPS.0068') }), 'CPS.0097'),
      ),
      'CPS.0094',
      'CPS.0095',
    ),
  }),
  'CPS.0094',
);

export const ServerJobs = Type.Object({ request_id: Type.String(), jobs: Type.Array(jobEntry('server_id')) });

export const DeleteBody = coded(Type.Object({ server_ids: coded(Type.Array(coded(Type.String(), 'CPS.0094'), { minItems: 1, maxItems: 100 }), 'CPS.0094', 'CPS.0095') }), 'CPS.0094');

export const DeleteResponse = Type.Object({ request_id: Type.String(), job_id: Type.String() });

// What the server service takes, typed from the bodies above.

/** The value of an object of these fields. */
type Fields<T extends TProperties> = Static<TObject<T>>;

/** How a purchase is billed (`extend_param`, or `order_param` with no enterprise project). */
export type BillingInput = Static<typeof ExtendParam>;

/** What a server is set up with: by both buy APIs (v1: system network, v2: custom network) and by ChangeCloudPhoneServer (v2). */
export type ServerSetupInput = Fields<typeof setupFields> & Fields<typeof systemNetworkFields> & Partial<Fields<typeof customNetworkFields>>;

/** A purchase as both buy APIs describe it (KooPhone's orders buy v1 servers too). */
export type PurchaseInput = Static<typeof CreateV1Body> & Partial<Fields<typeof customNetworkFields>>;

export type BareServerInput = Static<typeof CreateBareBody>;

export type ChangeInput = Static<typeof ChangeBody>;

export type VolumeInput = Static<typeof Volume>;

export type ChangeModelInput = Static<typeof ChangeModelBody>;

export type KeypairUpdate = Static<typeof UpdateKeypairBody>['servers'][number];

/** ListCloudPhoneServers' query, its page resolved. */
export type ServerFilters = Omit<Static<typeof ListServersQuery>, 'offset' | 'limit'> & { offset: number; limit: number };
