import { Type } from '@sinclair/typebox';
import { ENCODE_SERVER_STATUS_FILTERS } from '../../../core/model.ts';
import { coded, jobEntry, paging } from '../../schema.ts';

const EncodeAccessInfo = Type.Object({
  listen_port: Type.Integer(),
  access_ip: Type.String(),
  intranet_ip: Type.String(),
  public_ip: Type.String(),
  server_ip: Type.String(),
  access_port: Type.Integer(),
  type: Type.String(),
});

const EncodeServerWire = Type.Object({
  encode_server_name: Type.String(),
  encode_server_id: Type.String(),
  encode_server_ip: Type.String(),
  server_id: Type.String(),
  keypair_name: Type.String(),
  type: Type.Integer(),
  status: Type.Integer(),
  access_infos: Type.Array(EncodeAccessInfo),
});

export const RestartBody = coded(
  Type.Object({ encode_server_ids: coded(Type.Array(coded(Type.String(), 'CPS.0121')), 'CPS.0122', 'CPS.0122') }),
  'CPS.0122',
);

export const ListEncodeServersQuery = Type.Object({
  ...paging(100),
  // One node with `enum` (not a union of literals), so that a refused value fails on the node carrying the code.
  type: Type.Optional(coded(Type.Integer({ enum: [0, 1] }), 'CPS.0116')),
  status: Type.Optional(coded(Type.Integer({ enum: ENCODE_SERVER_STATUS_FILTERS }), 'CPS.0010')),
  // Checked against the project's servers: CPS.0123 when it names none.
  server_id: Type.Optional(Type.String()),
});

export const EncodeServerList = Type.Object({ request_id: Type.String(), encode_servers: Type.Array(EncodeServerWire) });

export const RestartJobs = Type.Object({ request_id: Type.String(), jobs: Type.Array(jobEntry('encode_server_id')) });
