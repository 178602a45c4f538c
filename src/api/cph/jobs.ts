import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import type { Job } from '../../store/schema.ts';
import { wireTime } from '../../core/runtime.ts';
import { ProjectParams } from '../schema.ts';
import { JobDetail, JobList, JobParams, ListJobsQuery } from '../schemas/cph/jobs.ts';

const base = '/v1/:project_id/cloud-phone';
/** QueryJobs (ShowJob) and ListJobs. */
export function jobRoutes(app: App, { jobs }: Services) {
  app.get(`${base}/jobs/:job_id`, {
    schema: {
      tags: ['Jobs'],
      summary: 'ShowJob',
      params: JobParams,
      response: { 200: JobDetail },
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
      querystring: ListJobsQuery,
      response: { 200: JobList },
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
