import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { planCommand } from '../../core/commands.ts';
import { ProjectParams } from '../schema.ts';
import { CommandBody, CommandJobs, SyncCommandResults } from '../schemas/cph/commands.ts';
import { cpsError } from '../../core/errors.ts';

const base = '/v1/:project_id/cloud-phone';

/** Async commands reach up to 100 named phones, or every phone of up to 10 servers. */
const ASYNC_LIMITS = { phones: 100, fanOut: 2000 };

/** PushFile, InstallApk, UninstallApk, RunShellCommand (one path, dispatched on `command`) and RunSyncCommand. */
export function commandRoutes(app: App, services: Services) {
  const { commands, syncCommands } = services;

  app.post(`${base}/phones/commands`, {
    schema: {
      tags: ['Commands'],
      summary: 'PushFile, InstallApk, UninstallApk, RunShellCommand',
      params: ProjectParams,
      body: CommandBody,
      response: { 200: CommandJobs },
    },
  }, async (request) => {
    const plan = planCommand(request.body.command, request.body.content);
    const { entries, jobs } = await commands.jobs(request.params.project_id, request.id, request.body, plan, ASYNC_LIMITS);
    await commands.enqueue(jobs);
    return { request_id: request.id, jobs: entries };
  });

  app.post(`${base}/phones/sync-commands`, {
    schema: {
      tags: ['Commands'],
      summary: 'RunSyncCommand',
      params: ProjectParams,
      body: CommandBody,
      response: { 200: SyncCommandResults },
    },
  }, async (request) => {
    const caller = { userId: request.principal!.userId, projectId: request.params.project_id, requestId: request.id };
    const outcomes = await syncCommands.onPhones(caller, request.body, () => cpsError('CPS.0042'));
    return {
      request_id: request.id,
      jobs: outcomes.map((outcome) => {
        if (!('job' in outcome)) return { ...outcome, status: -1, execute_msg: '' };
        const { job } = outcome;
        return {
          phone_id: outcome.phone_id,
          job_id: job.id,
          status: job.status,
          error_code: job.error_code ?? '',
          error_msg: job.error_msg ?? '',
          execute_msg: job.execute_msg ?? '',
        };
      }),
    };
  });
}
