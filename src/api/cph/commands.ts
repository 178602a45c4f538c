import { Type } from '@sinclair/typebox';
import type { App } from '../app.ts';
import type { Services } from '../services.ts';
import { planCommand } from '../../core/commands.ts';
import { runCommandJob } from '../../jobs/commands.ts';
import { ProjectParams, coded, jobEntry } from '../schema.ts';
import { cpsError } from '../../core/errors.ts';

const base = '/v1/:project_id/cloud-phone';

const CommandBody = coded(
  Type.Object({
    command: coded(Type.String(), 'CPS.0117', 'CPS.0117'),
    content: coded(Type.String(), 'CPS.0118', 'CPS.0118'),
    phone_ids: Type.Optional(coded(Type.Array(coded(Type.String(), 'CPS.0080')), 'CPS.0080')),
    server_ids: Type.Optional(coded(Type.Array(coded(Type.String(), 'CPS.0094')), 'CPS.0094')),
  }),
  'CPS.0117',
);

/** Async commands reach up to 100 named phones, or every phone of up to 10 servers. */
const ASYNC_LIMITS = { phones: 100, fanOut: 2000 };
/** Sync commands: 15 phones a call (spec README readings), 2 s a phone, 30 s a call. */
export const SYNC_LIMITS = { phones: 15, fanOut: 15 };
export const SYNC_PHONE_TIMEOUT_MS = 2000;

/** PushFile, InstallApk, UninstallApk, RunShellCommand (one path, dispatched on `command`) and RunSyncCommand. */
export function commandRoutes(app: App, services: Services) {
  const { commands, engine, rateLimits } = services;

  app.post(`${base}/phones/commands`, {
    schema: {
      tags: ['Commands'],
      summary: 'PushFile, InstallApk, UninstallApk, RunShellCommand',
      params: ProjectParams,
      body: CommandBody,
      response: { 200: Type.Object({ request_id: Type.String(), jobs: Type.Array(jobEntry('phone_id')) }) },
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
      response: {
        200: Type.Object({
          request_id: Type.String(),
          jobs: Type.Array(
            Type.Object({
              phone_id: Type.String(),
              job_id: Type.Optional(Type.String()),
              status: Type.Integer(),
              error_code: Type.String(),
              error_msg: Type.String(),
              execute_msg: Type.String(),
            }),
          ),
        }),
      },
    },
  }, async (request) => {
    if (request.body.command !== 'shell') throw cpsError('CPS.0117');
    const plan = planCommand('shell', request.body.content);
    if (!rateLimits.syncCommands.take(request.principal!.userId)) throw cpsError('CPS.0042');
    const { entries, jobs, phones } = await commands.jobs(request.params.project_id, request.id, request.body, plan, SYNC_LIMITS);
    const closed = new Map(
      (await engine.runNow(jobs, (job) => runCommandJob(job, plan, services.commandDeps, SYNC_PHONE_TIMEOUT_MS, phones.get(job.phone_id!)))).map((job) => [job.id, job]),
    );
    return {
      request_id: request.id,
      jobs: entries.map((entry) => {
        if (!('job_id' in entry)) return { ...entry, status: -1, execute_msg: '' };
        const job = closed.get(entry.job_id)!;
        return {
          phone_id: entry.phone_id,
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
