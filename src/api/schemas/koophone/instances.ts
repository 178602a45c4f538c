import { Type } from '@sinclair/typebox';
import { Nullable } from '../../schema.ts';
import { Envelope, InstanceIds, InstanceId, Paging, UserId } from '../../koophone/common.ts';

/** SyncCommand and AsyncCommand (spec §2.1, §2.2). */
export const CommandBody = Type.Object({ command: Type.String(), instance_ids: InstanceIds });
export const InstanceIdsBody = Type.Object({ instance_ids: InstanceIds });
export const UserInstances = Type.Object({
  user_instances: Type.Array(Type.Object({ user_id: UserId, instance_id: InstanceId }), { minItems: 1, maxItems: 100 }),
});

export const CmdResult = Type.Object({
  instance_id: Type.String(),
  status: Type.Integer(),
  error_code: Type.String(),
  error_msg: Type.String(),
  execute_msg: Type.String(),
});

export const JobDetail = Type.Object({
  job_id: Type.String(),
  status: Type.Integer(),
  error_code: Type.String(),
  error_msg: Type.String(),
  execute_msg: Nullable(Type.String()),
});

export const InstanceWire = Type.Object({
  instance_id: Type.String(),
  instance_name: Type.String(),
  region: Type.String(),
  instance_sku: Type.String(),
  frozen_status: Type.Integer(),
  running_status: Type.Integer(),
  login_status: Type.Integer(),
  assign_status: Type.Integer(),
  assign_user: Type.String(),
  billing_mode: Type.String(),
  project_id: Type.String(),
  project_name: Type.String(),
  phone_id: Type.String(),
  member_name: Type.String(),
  account_name: Type.String(),
  region_name: Type.String(),
  region_name_en: Type.String(),
  backup_status: Nullable(Type.Integer()),
  backup_time: Nullable(Type.String()),
  restore_status: Nullable(Type.Integer()),
  restore_time: Nullable(Type.String()),
});

const PoolSceneTag = Type.Union([Type.Literal('CLOUD_APP'), Type.Literal('CLOUD_PHONE')]);

export const ListInstancesQuery = Type.Object({
  'x-request-id': Type.Optional(Type.String()),
  ...Paging,
  instance_id: Type.Optional(Type.String()),
  instance_name: Type.Optional(Type.String()),
  query_start_time: Type.Optional(Type.String()),
  query_end_time: Type.Optional(Type.String()),
  pool_scene_tag: Type.Optional(PoolSceneTag),
  // The document's example spells it this way (spec §2.10).
  poolSceneTag: Type.Optional(PoolSceneTag),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  order_by: Type.Optional(Type.Union([Type.Literal('create_time'), Type.Literal('instance_name'), Type.Literal('instance_id')])),
});

export const SyncCommandResults = Envelope(Type.Object({ cmd_results: Type.Array(CmdResult) }));

export const TaskParams = Type.Object({ task_id: Type.String() });

export const TaskJobs = Envelope(Type.Object({ jobs: Type.Array(JobDetail) }));

export const StatusResults = Envelope(Type.Object({ status_results: Type.Array(Type.Object({ instance_id: Type.String(), status: Type.Integer() })) }));

// The table puts paging and codes inside `data`, the example at the top: both are sent (spec §7 A3).
export const InstanceList = Type.Object({
  error_code: Type.String(),
  error_msg: Type.String(),
  data: Type.Object({
    result: Type.Array(InstanceWire),
    page_no: Type.Integer(),
    page_size: Type.Integer(),
    total_count: Type.Integer(),
    error_code: Type.String(),
    error_msg: Type.String(),
  }),
  page_no: Type.Integer(),
  page_size: Type.Integer(),
  total_count: Type.Integer(),
});
