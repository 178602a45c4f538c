import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { ProjectParams } from '../schema.ts';
import { DeleteShareAppBody, ListShareFilesQuery, PushShareAppBody, ShareFilesBody, ShareJobs } from '../schemas/cph/share.ts';
import { cpsError } from '../../core/errors.ts';

const base = '/v1/:project_id/cloud-phone';

/** Shared storage (PushShareFiles, ListShareFiles, DeleteShareFiles) and shared apps (PushShareApps, DeleteShareApps). */
export function shareRoutes(app: App, { share }: Services) {
  app.post(`${base}/phones/share-files`, {
    schema: { tags: ['Shared storage'], summary: 'PushShareFiles, DeleteShareFiles', params: ProjectParams, body: ShareFilesBody, response: { 200: ShareJobs } },
  }, async (request) => {
    const { body } = request;
    const { project_id: projectId } = request.params;
    let jobs;
    if ('file_paths' in body) {
      // A body that is both a push and a delete is not taken for either.
      if ('bucket_name' in body || 'object_path' in body) throw cpsError('CPS.0155');
      jobs = await share.deleteFiles(projectId, request.id, body);
    } else {
      jobs = await share.pushFiles(projectId, request.id, body);
    }
    return { request_id: request.id, jobs };
  });

  app.get(`${base}/servers/share-files`, {
    schema: {
      tags: ['Shared storage'],
      summary: 'ListShareFiles',
      params: ProjectParams,
      querystring: ListShareFilesQuery,
      response: { 200: ShareJobs },
    },
  }, async (request) => {
    const { offset = 0, limit = 50, ...query } = request.query;
    const jobs = await share.listFiles(request.params.project_id, request.id, { ...query, offset, limit });
    return { request_id: request.id, jobs };
  });

  app.post(`${base}/phones/share-apps`, {
    schema: {
      tags: ['Shared apps'],
      summary: 'PushShareApps',
      params: ProjectParams,
      body: PushShareAppBody,
      response: { 200: ShareJobs },
    },
  }, async (request) => {
    const jobs = await share.pushApp(request.params.project_id, request.id, request.body);
    return { request_id: request.id, jobs };
  });

  // A DELETE with a JSON body, as the document and Huawei's SDKs send it.
  app.delete(`${base}/phones/share-apps`, {
    schema: {
      tags: ['Shared apps'],
      summary: 'DeleteShareApps',
      params: ProjectParams,
      body: DeleteShareAppBody,
      response: { 200: ShareJobs },
    },
  }, async (request) => {
    const jobs = await share.deleteApp(request.params.project_id, request.id, request.body);
    return { request_id: request.id, jobs };
  });
}
