import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { ProjectParams, jobEntry } from '../schema.ts';
import { MigrateBody, MigrateJob, RestoreBody, StorageBody, TrafficBody } from '../schemas/cph/phone-data.ts';

const base = '/v1/:project_id/cloud-phone';

/** BatchExportCloudPhoneData, BatchImportCloudPhoneData, BatchMigrateCloudPhone and ImportTraffic. */
export function phoneDataRoutes(app: App, { phoneData }: Services) {
  const route = <B extends TSchema, J extends TSchema>(
    path: string,
    summary: string,
    body: B,
    job: J,
    start: (projectId: string, requestId: string, body: Static<B>) => Promise<Array<Static<J>>>,
  ) =>
    app.post(`${base}/${path}`, {
      schema: { tags: ['Phones'], summary, params: ProjectParams, body, response: { 200: Type.Object({ request_id: Type.String(), jobs: Type.Array(job) }) } },
    }, async (request) => {
      const jobs = await start(request.params.project_id, request.id, request.body as Static<B>);
      return { request_id: request.id, jobs };
    });

  const phoneJob = jobEntry('phone_id');
  route('phones/batch-storage', 'BatchExportCloudPhoneData', StorageBody, phoneJob, (project, id, body) => phoneData.exportData(project, id, body.storage_infos));
  route('phones/batch-restore', 'BatchImportCloudPhoneData', RestoreBody, phoneJob, (project, id, body) => phoneData.restoreData(project, id, body.restore_infos));
  route('phones/batch-migrate', 'BatchMigrateCloudPhone', MigrateBody, MigrateJob, (project, id, body) => phoneData.migrate(project, id, body.migrate_infos));
  route('phones-traffic', 'ImportTraffic', TrafficBody, phoneJob, (project, id, body) => phoneData.traffic(project, id, body.traffic_type, body.phone_ids));
}
