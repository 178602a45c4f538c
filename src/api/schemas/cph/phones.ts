import { Type } from '@sinclair/typebox';
import { PHONE_STATUS_VALUES } from '../../../core/model.ts';
import { Metadata, coded, jobEntry, paging } from '../../schema.ts';

export const PhoneParams = Type.Object({ project_id: Type.String(), phone_id: Type.String() });

export const PhoneWire = Type.Object({
  phone_name: Type.String(),
  server_id: Type.String(),
  phone_id: Type.String(),
  phone_model_name: Type.String(),
  image_id: Type.String(),
  image_version: Type.String(),
  vnc_enable: Type.String(),
  status: Type.Integer(),
  type: Type.Integer(),
  imei: Type.String(),
  traffic_type: Type.String(),
  volume_mode: Type.Integer(),
  availability_zone: Type.String(),
  metadata: Metadata,
  has_encrypt: Type.Boolean(),
  create_time: Type.String(),
  update_time: Type.String(),
});

const AccessInfo = Type.Object({
  type: Type.String(),
  phone_ip: Type.String(),
  device_ip: Type.String(),
  server_ip: Type.String(),
  intranet_ip: Type.String(),
  public_ip: Type.String(),
  access_ip: Type.String(),
  listen_port: Type.Integer(),
  access_port: Type.Integer(),
});

export const PhoneDetail = Type.Object({
  request_id: Type.String(),
  phone_name: Type.String(),
  server_id: Type.String(),
  phone_id: Type.String(),
  image_id: Type.String(),
  vnc_enable: Type.String(),
  phone_model_name: Type.String(),
  status: Type.Integer(),
  property: Type.String(),
  access_infos: Type.Array(AccessInfo),
  volumes: Type.Array(
    Type.Object({
      volume_id: Type.String(),
      volume_name: Type.String(),
      volume_size: Type.Integer(),
      volume_type: Type.String(),
      create_time: Type.String(),
      update_time: Type.String(),
    }),
  ),
  metadata: Metadata,
  availability_zone: Type.String(),
  create_time: Type.String(),
  update_time: Type.String(),
});

/** A phone of ResetCloudPhone and RestartCloudPhone, with the properties it is to have. */
export const PhoneBatchItem = Type.Object({ phone_id: coded(Type.String(), 'CPS.0004'), property: Type.Optional(coded(Type.String(), 'CPS.0078')) });

/** ResetCloudPhone and RestartCloudPhone share this body. */
export const PhoneBatchBody = coded(
  Type.Object({
    phones: coded(
      Type.Array(PhoneBatchItem),
      'CPS.0077',
      'CPS.0009',
    ),
    image_id: Type.Optional(coded(Type.String({ minLength: 1, maxLength: 32 }), 'CPS.0030')),
  }),
  'CPS.0077',
);

export const StopBody = coded(Type.Object({ phone_ids: coded(Type.Array(coded(Type.String(), 'CPS.0080')), 'CPS.0080', 'CPS.0009') }), 'CPS.0080');

export const PropertyBody = coded(
  Type.Object({
    phones: coded(Type.Array(Type.Object({ phone_id: coded(Type.String(), 'CPS.0004'), property: coded(Type.String(), 'CPS.0078') })), 'CPS.0077', 'CPS.0009'),
  }),
  'CPS.0077',
);

export const BatchResponse = Type.Object({ request_id: Type.String(), jobs: Type.Array(jobEntry('phone_id')) });

export const ListPhonesQuery = Type.Object({
  ...paging(200),
  phone_name: Type.Optional(coded(Type.String({ maxLength: 65 }), 'CPS.0025')),
  server_id: Type.Optional(coded(Type.String({ maxLength: 32 }), 'CPS.0016')),
  // One node with `enum` (not a union of literals), so that a refused value fails on the node carrying the code.
  status: Type.Optional(coded(Type.Integer({ enum: PHONE_STATUS_VALUES }), 'CPS.0010')),
  type: Type.Optional(coded(Type.Integer({ enum: [0, 1] }), 'CPS.0116')),
});

export const PhoneList = Type.Object({ request_id: Type.String(), count: Type.Integer(), phones: Type.Array(PhoneWire) });

export const RenamePhoneBody = coded(Type.Object({ phone_name: coded(Type.String({ pattern: '^[A-Za-z0-9_-]{1,60}$' }), 'CPS.0025') }), 'CPS.0025');
