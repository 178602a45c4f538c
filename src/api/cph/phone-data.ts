import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { App } from '../app.ts';
import type { Services } from '../services.ts';
import { ProjectParams, coded, jobEntry } from '../schema.ts';

const base = '/v1/:project_id/cloud-phone';

// The shape of a body is checked here (a refused shape is the documented code of the field, and changes
// nothing); the values of each item are checked per item by core/phone-data.ts.
const paths = (code: 'CPS.0168' | 'CPS.0169') => coded(Type.Array(coded(Type.String(), code)), code);
const bucketName = coded(Type.String(), 'CPS.0134');
const objectPath = coded(Type.String(), 'CPS.0135');
const phoneId = coded(Type.String(), 'CPS.0004');

const StorageBody = coded(
  Type.Object({
    storage_infos: coded(
      Type.Array(
        coded(
          Type.Object({
            phone_id: phoneId,
            include_files: paths('CPS.0168'),
            exclude_files: Type.Optional(paths('CPS.0169')),
            bucket_name: bucketName,
            object_path: objectPath,
          }),
          'CPS.0167',
        ),
      ),
      'CPS.0167',
    ),
  }),
  'CPS.0167',
);

const RestoreBody = coded(
  Type.Object({
    restore_infos: coded(
      Type.Array(coded(Type.Object({ phone_id: phoneId, bucket_name: bucketName, object_path: objectPath }), 'CPS.0171')),
      'CPS.0171',
    ),
  }),
  'CPS.0171',
);

const MigrateBody = coded(
  Type.Object({
    migrate_infos: coded(
      Type.Array(
        coded(
          Type.Object({
            source_phone_id: coded(Type.String(), 'CPS.0232'),
            target_phone_id: coded(Type.String(), 'CPS.0233'),
            is_migrate_property: Type.Optional(coded(Type.String(), 'CPS.0235')),
          }),
          'CPS.0234',
        ),
      ),
      'CPS.0234',
    ),
  }),
  'CPS.0234',
);

const TrafficBody = coded(
  Type.Object({
    traffic_type: coded(Type.String(), 'CPS.0207'),
    phone_ids: coded(Type.Array(coded(Type.String(), 'CPS.0080')), 'CPS.0080', 'CPS.0009'),
  }),
  'CPS.0080',
);

const MigrateJob = Type.Object({
  source_phone_id: Type.String(),
  target_phone_id: Type.String(),
  job_id: Type.Optional(Type.String()),
  error_code: Type.Optional(Type.String()),
  error_msg: Type.Optional(Type.String()),
});

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
