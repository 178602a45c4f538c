import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { encodeAccessInfos } from '../../core/encode-servers.ts';
import { ProjectParams } from '../schema.ts';
import { EncodeServerList, ListEncodeServersQuery, RestartBody, RestartJobs } from '../schemas/cph/encode-servers.ts';

const base = '/v1/:project_id/cloud-phone/encode-servers';

/** ListEncodeServers and RestartEncodeServer (spec §3.32, §3.33). */
export function encodeServerRoutes(app: App, { encodeServers }: Services) {
  app.get(base, {
    schema: {
      tags: ['Encoding servers'],
      summary: 'ListEncodeServers',
      params: ProjectParams,
      querystring: ListEncodeServersQuery,
      response: { 200: EncodeServerList },
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
      response: { 200: RestartJobs },
    },
  }, async (request) => {
    const jobs = await encodeServers.restart(request.params.project_id, request.id, request.body.encode_server_ids);
    return { request_id: request.id, jobs };
  });
}
