import type { FastifyRequest } from 'fastify';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { Envelope, TaskData, action, ok } from './common.ts';
import { BackupBody, PrepareBody, PrepareStatus, Progress, ProgressBody } from '../schemas/koophone/usage.ts';

const tags = ['KooPhone'];

/** Preparing instances (spec §2.15), their progress (§2.16) and backing them up (§2.17). */
export function usageRoutes(app: App, services: Services) {
  const { koophoneUsage: usage } = services;
  const projectOf = (request: FastifyRequest) => request.principal!.projectId!;

  app.post('/instances/prepare', {
    config: { iamAction: action('instancePrepare') },
    schema: {
      tags,
      summary: 'BatchPrepareInstances',
      body: PrepareBody,
      response: { 200: Envelope(PrepareStatus) },
    },
  }, async (request) => {
    const statusList = await usage.prepare(projectOf(request), request.body.user_id, request.body.instance_ids);
    return ok({ status_list: statusList });
  });

  app.post('/instances/prepare-progress', {
    config: { iamAction: action('getInstancePrepareProgress') },
    schema: {
      tags,
      summary: 'ShowProgress',
      body: ProgressBody,
      response: { 200: Envelope(Progress) },
    },
  }, async (request) => {
    const progress = await usage.progress(projectOf(request), request.body.user_id, request.body.instance_id);
    return ok(progress, 'OK');
  });

  app.post('/instances/backup', {
    config: { iamAction: action('instanceBackup') },
    // Both documents' example sends prepare-progress's `{user_id, instance_id}`: read as that one instance (spec §7 A9).
    preValidation: async (request) => {
      const body = request.body as Record<string, unknown> | undefined;
      if (body && typeof body === 'object' && body.instance_ids === undefined && typeof body.instance_id === 'string') body.instance_ids = [body.instance_id];
    },
    schema: { tags, summary: 'BatchBackupInstances', body: BackupBody, response: { 200: Envelope(TaskData) } },
  }, async (request) => {
    const task = await usage.backup(projectOf(request), request.body.instance_ids);
    return ok(task);
  });
}
