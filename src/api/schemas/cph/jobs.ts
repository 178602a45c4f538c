import { Type } from '@sinclair/typebox';
import { Nullable, coded, paging } from '../../schema.ts';

const JobFields = {
  job_id: Type.String(),
  begin_time: Type.String(),
  end_time: Nullable(Type.String()),
  status: Type.Integer(),
  error_code: Nullable(Type.String()),
  error_msg: Nullable(Type.String()),
  execute_msg: Nullable(Type.String()),
};

export const JobParams = Type.Object({ project_id: Type.String(), job_id: Type.String() });

export const JobDetail = Type.Object({ request_id: Type.String(), ...JobFields });

export const ListJobsQuery = Type.Object({
  request_id: Type.Optional(coded(Type.String(), 'CPS.0264')),
  request_ids: Type.Optional(coded(Type.String(), 'CPS.0264')),
  ...paging(100),
});

export const JobList = Type.Object({
  request_id: Type.String(),
  jobs: Type.Array(Type.Object({ phone_id: Type.Optional(Type.String()), server_id: Type.Optional(Type.String()), node_id: Type.Optional(Type.String()), ...JobFields })),
});
