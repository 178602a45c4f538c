import type { Db } from '../store/db.ts';
import { cpsError, notFound } from '../api/errors.ts';
import { HEX32 } from './runtime.ts';

export const MAX_REQUEST_IDS = 20;

/** Read side of jobs: QueryJobs and ListJobs. */
export class JobQueries {
  constructor(private readonly db: Db) {}

  async get(projectId: string, jobId: string) {
    const job = await this.db.selectFrom('jobs').selectAll().where('project_id', '=', projectId).where('id', '=', jobId).executeTakeFirst();
    if (!job) throw notFound('CPS.0011');
    return job;
  }

  /** Jobs created by the given requests, oldest first. `request_ids` (comma-separated) wins over `request_id`. */
  async byRequest(projectId: string, query: { request_id?: string; request_ids?: string; offset: number; limit: number }) {
    const requestIds = query.request_ids !== undefined ? query.request_ids.split(',').map((id) => id.trim()) : query.request_id !== undefined ? [query.request_id] : [];
    if (requestIds.length === 0 || requestIds.every((id) => id === '')) throw cpsError('CPS.0049');
    if (requestIds.length > MAX_REQUEST_IDS) throw cpsError('CPS.0161');
    if (requestIds.some((id) => !HEX32.test(id))) throw cpsError('CPS.0264');
    const jobs = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('request_id', 'in', requestIds)
      .orderBy('seq')
      .offset(query.offset)
      .limit(query.limit)
      .execute();
    if (jobs.length === 0 && (query.offset === 0 || !(await this.anyJobOf(projectId, requestIds)))) throw cpsError('CPS.0050');
    return jobs;
  }

  private async anyJobOf(projectId: string, requestIds: string[]): Promise<boolean> {
    const job = await this.db.selectFrom('jobs').select('id').where('project_id', '=', projectId).where('request_id', 'in', requestIds).limit(1).executeTakeFirst();
    return job !== undefined;
  }
}
