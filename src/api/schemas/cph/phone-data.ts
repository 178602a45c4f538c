import { Type } from '@sinclair/typebox';
import { coded } from '../../schema.ts';

// The shape of a body is checked here (a refused shape is the documented code of the field, and changes
// nothing); the values of each item are checked per item by core/phone-data.ts.
const paths = (code: 'CPS.0168' | 'CPS.0169') => coded(Type.Array(coded(Type.String(), code)), code);
const bucketName = coded(Type.String(), 'CPS.0134');
const objectPath = coded(Type.String(), 'CPS.0135');
const phoneId = coded(Type.String(), 'CPS.0004');

/** One phone's export (BatchExportCloudPhoneData `storage_infos`). */
export const StorageInfo = coded(
  Type.Object({
    phone_id: phoneId,
    include_files: paths('CPS.0168'),
    exclude_files: Type.Optional(paths('CPS.0169')),
    bucket_name: bucketName,
    object_path: objectPath,
  }),
  'CPS.0167',
);

export const StorageBody = coded(Type.Object({ storage_infos: coded(Type.Array(StorageInfo), 'CPS.0167') }), 'CPS.0167');

/** One phone's restore (BatchImportCloudPhoneData `restore_infos`). */
export const RestoreInfo = coded(Type.Object({ phone_id: phoneId, bucket_name: bucketName, object_path: objectPath }), 'CPS.0171');

export const RestoreBody = coded(Type.Object({ restore_infos: coded(Type.Array(RestoreInfo), 'CPS.0171') }), 'CPS.0171');

/** One migration (BatchMigrateCloudPhone `migrate_infos`). */
export const MigrateInfo = coded(
  Type.Object({
    source_phone_id: coded(Type.String(), 'CPS.0232'),
    target_phone_id: coded(Type.String(), 'CPS.0233'),
    is_migrate_property: Type.Optional(coded(Type.String(), 'CPS.0235')),
  }),
  'CPS.0234',
);

export const MigrateBody = coded(Type.Object({ migrate_infos: coded(Type.Array(MigrateInfo), 'CPS.0234') }), 'CPS.0234');

export const TrafficBody = coded(
  Type.Object({
    traffic_type: coded(Type.String(), 'CPS.0207'),
    phone_ids: coded(Type.Array(coded(Type.String(), 'CPS.0080')), 'CPS.0080', 'CPS.0009'),
  }),
  'CPS.0080',
);

export const MigrateJob = Type.Object({
  source_phone_id: Type.String(),
  target_phone_id: Type.String(),
  job_id: Type.Optional(Type.String()),
  error_code: Type.Optional(Type.String()),
  error_msg: Type.Optional(Type.String()),
});
