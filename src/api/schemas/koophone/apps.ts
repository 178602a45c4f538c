import { Type } from '@sinclair/typebox';
import { coded } from '../../schema.ts';
import { CmdJob, Envelope, InstanceId, InstanceIds, Paging, TaskData } from '../../koophone/common.ts';

/** InstallApp (spec §2.20). */
export const InstallBody = Type.Object({
  // The example sends numbers; they arrive here as their text.
  fast_install: Type.Optional(coded(Type.String({ pattern: '^[01]$' }), 'KOOPHONE.API.3008')),
  object_name: Type.String({ minLength: 1, maxLength: 100 }),
  file_name: Type.String({ minLength: 1, maxLength: 100 }),
  object_version: Type.String({ minLength: 1, maxLength: 100 }),
  object_size: coded(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?$' }), 'KOOPHONE.API.62006', 'KOOPHONE.API.1000'),
  biz_type: Type.String({ minLength: 1, maxLength: 64 }),
  content_type: Type.String({ minLength: 1, maxLength: 64 }),
  content_md5: Type.Optional(Type.String({ maxLength: 200 })),
  install_package_url: Type.String({ minLength: 1, maxLength: 2000 }),
  instance_id_list: InstanceIds,
});

export const AppQuery = Type.Object({
  'x-request-id': Type.Optional(Type.String()),
  ...Paging,
  app_type: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
});

// The documents nest the task in `data.data`, the SDK reads `data`: both are sent (spec README).
export const Installing = Envelope(Type.Object({ task_id: Type.String(), cmd_jobs: Type.Array(CmdJob), data: TaskData }));

export const InstanceParams = Type.Object({ instance_id: InstanceId });

export const AppList = Envelope(
  Type.Object({
    result: Type.Array(Type.Object({ app_name: Type.String(), app_version: Type.String(), app_pkg: Type.String(), icon_url: Type.String() })),
    page_no: Type.Integer(),
    page_size: Type.Integer(),
    total_count: Type.Integer(),
  }),
);
