import { Type } from '@sinclair/typebox';
import { CLIENT_TYPES, MAX_DATA_VOLUME_GIB } from '../../../core/phone-extras.ts';
import { coded, jobEntry } from '../../schema.ts';

// No code is documented for `client_type`: an invalid or missing one is CPS.0116 "Parameter: type is invalid.".
export const ConnectionBody = coded(
  Type.Object({
    phone_ids: coded(Type.Array(coded(Type.String(), 'CPS.0004')), 'CPS.0080', 'CPS.0009'),
    client_type: coded(Type.String({ enum: CLIENT_TYPES }), 'CPS.0116', 'CPS.0116'),
  }),
  'CPS.0080',
);

export const ConnectionResponse = Type.Object({
  request_id: Type.String(),
  connect_infos: Type.Array(
    Type.Object({
      phone_id: Type.String(),
      access_info: Type.Object({
        access_ip: Type.String(),
        intranet_ip: Type.String(),
        access_ipv6: Type.String(),
        access_port: Type.Integer(),
        session_id: Type.String(),
        timestamp: Type.String(),
        ticket: Type.String(),
      }),
    }),
  ),
  errors: Type.Array(Type.Object({ phone_id: Type.String(), error_code: Type.String(), error_msg: Type.String() })),
});

// No code is documented for `new_size` either: a value that is not a size in GiB below 32,768 makes the
// `phones` list invalid (CPS.0077), like any other malformed entry.
export const ExpandBody = coded(
  Type.Object({
    phones: coded(
      Type.Array(
        coded(
          Type.Object({
            phone_id: coded(Type.String(), 'CPS.0004'),
            new_size: coded(Type.Integer({ minimum: 1, maximum: MAX_DATA_VOLUME_GIB }), 'CPS.0077'),
          }),
          'CPS.0077',
        ),
      ),
      'CPS.0077',
      'CPS.0009',
    ),
  }),
  'CPS.0077',
);

export const ExpandJobs = Type.Object({ request_id: Type.String(), jobs: Type.Array(jobEntry('phone_id')) });
