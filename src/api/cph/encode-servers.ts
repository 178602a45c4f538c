import { Type } from '@sinclair/typebox';
import type { App } from '../app.ts';
import type { Services } from '../services.ts';
import { ENCODE_SERVER_STATUS_FILTERS } from '../../core/model.ts';
import { encodeAccessInfos } from '../../core/encode-servers.ts';
import { ProjectParams, coded, jobEntry, paging } from '../schema.ts';

const base = '/v1/:project_id/cloud-phone/encode-servers';

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

const RestartBody = coded(
  Type.Object({ encode_server_ids: coded(Type.Array(coded(Type.String(), 'CPS.0121')), 'CPS.0122', 'CPS.0122') }),
  'CPS.0122',
);

/** ListEncodeServers and RestartEncodeServer (spec §3.32, §3.33). */
export function encodeServerRoutes(app: App, { encodeServers }: Services) {
  app.get(base, {
    schema: {
      tags: ['Encoding servers'],
      summary: 'ListEncodeServers',
      params: ProjectParams,
      querystring: Type.Object({
        ...paging(100),
        // One node with `enum` (not a union of literals), so that a refused value fails on the node carrying the code.
        type: Type.Optional(coded(Type.Integer({ enum: [0, 1] }), 'CPS.0116')),
        status: Type.Optional(coded(Type.Integer({ enum: ENCODE_SERVER_STATUS_FILTERS }), 'CPS.0010')),
        // Checked against the project's servers: CPS.0123 when it names none.
        server_id: Type.Optional(Type.String()),
      }),
      response: { 200: Type.Object({ request_id: Type.String(), encode_servers: Type.Array(EncodeServerWire) }) },
    },
  }, async (request) => {
    const { offset = 0, limit = 100, ...filters } = request.query;
    const rows = await encodeServers.list(request.params.project_id, { offset, limit, ...filters });
    return {
      request_id: request.id,
      encode_servers: rows.map((row) => ({
        encode_server_name: row.name,
        encode_server_id: row.id,
        encode_server_ip: row.ip,
        server_id: row.server_id,
        keypair_name: row.keypair_name ?? '',
        type: row.type,
        status: row.status,
        access_infos: encodeAccessInfos(row.addresses[row.slot - 1]),
      })),
    };
  });

  app.post(`${base}/batch-restart`, {
    schema: {
      tags: ['Encoding servers'],
      summary: 'RestartEncodeServer',
      params: ProjectParams,
      body: RestartBody,
      response: { 200: Type.Object({ request_id: Type.String(), jobs: Type.Array(jobEntry('encode_server_id')) }) },
    },
  }, async (request) => {
    const jobs = await encodeServers.restart(request.params.project_id, request.id, request.body.encode_server_ids);
    return { request_id: request.id, jobs };
  });
}
