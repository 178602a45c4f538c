import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { ProjectParams } from '../schema.ts';
import { ConnectionBody, ConnectionResponse, ExpandBody, ExpandJobs } from '../schemas/cph/phone-extras.ts';

const base = '/v1/:project_id/cloud-phone/phones';

/** BatchShowPhoneConnectInfos and ExpandPhoneDataVolumeSize: operations of Huawei's SDK beyond the documents. */
export function phoneExtraRoutes(app: App, { phoneExtras }: Services) {
  app.post(`${base}/batch-connection`, {
    schema: { tags: ['Phones'], summary: 'BatchShowPhoneConnectInfos', params: ProjectParams, body: ConnectionBody, response: { 200: ConnectionResponse } },
  }, async (request) => {
    const infos = await phoneExtras.connections(request.params.project_id, request.body.phone_ids, request.body.client_type);
    return { request_id: request.id, ...infos };
  });

  app.post(`${base}/expand-volume`, {
    schema: {
      tags: ['Phones'],
      summary: 'ExpandPhoneDataVolumeSize',
      params: ProjectParams,
      body: ExpandBody,
      response: { 200: ExpandJobs },
    },
  }, async (request) => {
    const jobs = await phoneExtras.expandVolume(request.params.project_id, request.id, request.body.phones);
    return { request_id: request.id, jobs };
  });
}
