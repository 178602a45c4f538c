import { Type } from '@sinclair/typebox';
import type { App } from '../app.ts';
import type { Services } from '../services.ts';
import type { Job } from '../../store/schema.ts';
import { wireTime } from '../../core/runtime.ts';
import { ProjectParams, coded, paging } from '../schema.ts';

const base = '/v1/:project_id/cloud-phone';
const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()]);

const JobFields = {
  job_id: Type.String(),
  begin_time: Type.String(),
  end_time: Nullable(Type.String()),
  status: Type.Integer(),
  error_code: Nullable(Type.String()),
  error_msg: Nullable(Type.String()),
  execute_msg: Nullable(Type.String()),
};

/** QueryJobs (ShowJob) and ListJobs. */
export function jobRoutes(app: App, { jobs }: Services) {
  app.get(`${base}/jobs/:job_id`, {
    schema: {
      tags: ['Jobs'],
      summary: 'ShowJob',
      params: Type.Object({ project_id: Type.String(), job_id: Type.String() }),
      response: { 200: Type.Object({ request_id: Type.String(), ...JobFields }) },
    },
  }, async (request) => {
    const job = await jobs.get(request.params.project_id, request.params.job_id);
    return { request_id: request.id, ...jobWire(job) };
  });

  app.get(`${base}/jobs`, {
    schema: {
      tags: ['Jobs'],
      summary: 'ListJobs',
      params: ProjectParams,
      querystring: Type.Object({
        request_id: Type.Optional(coded(Type.String(), 'CPS.0264')),
        request_ids: Type.Optional(coded(Type.String(), 'CPS.0264')),
        ...paging(100),
      }),
      response: {
        200: Type.Object({
          request_id: Type.String(),
          jobs: Type.Array(Type.Object({ phone_id: Type.Optional(Type.String()), server_id: Type.Optional(Type.String()), node_id: Type.Optional(Type.String()), ...JobFields })),
        }),
      },
    },
  }, async (request) => {
    const { offset = 0, limit = 100, request_id, request_ids } = request.query;
    const rows = await jobs.byRequest(request.params.project_id, { request_id, request_ids, offset, limit });
    return {
      request_id: request.id,
      jobs: rows.map((job) => ({
        ...(job.phone_id && { phone_id: job.phone_id }),
        ...(job.server_id && { server_id: job.server_id, node_id: job.server_id }),
        ...jobWire(job),
      })),
    };
  });
}

function jobWire(job: Job) {
  return {
    job_id: job.id,
    begin_time: wireTime(job.begin_time),
    end_time: wireTime(job.end_time),
    status: job.status,
    error_code: job.error_code,
    error_msg: job.error_msg,
    execute_msg: job.execute_msg,
  };
}
