import type { FastifyRequest } from 'fastify';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import type { CreateInput } from '../../core/koophone/orders.ts';
import { EmptyEnvelope, Envelope, TaskData, action, ok, okEmpty } from './common.ts';
import { CommandBody, InstanceIdsBody, InstanceList, ListInstancesQuery, StatusResults, SyncCommandResults, TaskJobs, TaskParams, UserInstances } from '../schemas/koophone/instances.ts';
import { CreateBody, DeleteBody, Deleted, Order, SkuQuery, Skus } from '../schemas/koophone/orders.ts';
import { AppList, AppQuery, InstallBody, InstanceParams, Installing } from '../schemas/koophone/apps.ts';
import { gatewayError } from '../../core/errors.ts';

const tags = ['KooPhone'];

/** Spellings of the documents' text (PDF extraction: `I` read as `l`, words split), accepted beside the SDK's (spec §7 A12). */
const CREATE_ALIASES: Array<[string, string]> = [
  ['instanceSkuld', 'instanceSkuId'],
  ['bandSkuld', 'bandSkuId'],
  ['regionld', 'regionId'],
  ['instanceName Prefix', 'instanceNamePrefix'],
];

/** Instance management (spec §2.1–2.11), subscription (§2.12–2.14) and apps (§2.20, the SDK's app-list). */
export function instanceRoutes(app: App, services: Services) {
  const { instances, koophone, syncCommands } = services;
  const projectOf = (request: FastifyRequest) => request.principal!.projectId!;

  app.post('/instances/sync-command', {
    config: { iamAction: action('syncInvokeInstance'), errorInfo: true },
    schema: { tags, summary: 'SyncCommand (SyncInvokeInstance)', body: CommandBody, response: { 200: SyncCommandResults } },
  }, async (request) => {
    const caller = { userId: request.principal!.userId, projectId: projectOf(request), requestId: request.id };
    const results = await syncCommands.onInstances(caller, request.body.command, request.body.instance_ids, () => gatewayError('APIGW.0308'));
    return ok({
      cmd_results: results.map(({ instance, job }) => ({
        instance_id: instance.id,
        status: job.status,
        error_code: job.error_code ?? '',
        error_msg: job.error_msg ?? '',
        execute_msg: job.execute_msg ?? '',
      })),
    });
  });

  app.post('/instances/async-command', {
    config: { iamAction: action('asyncInvokeInstance') },
    schema: { tags, summary: 'AsyncCommand (AsyncInvokeInstance)', body: CommandBody, response: { 200: Envelope(TaskData) } },
  }, async (request) => {
    const plan = koophone.commands.plan(request.body.command);
    const task = await koophone.commands.enqueue(projectOf(request), plan, request.body.instance_ids);
    return ok(task);
  });

  app.get('/instances/tasks/:task_id', {
    config: { iamAction: action('queryExecuteJob') },
    schema: { tags, summary: 'GetTask (ExecuteJob)', params: TaskParams, response: { 200: TaskJobs } },
  }, async (request) => {
    const jobs = await instances.taskJobs(projectOf(request), request.params.task_id);
    return ok({
      jobs: jobs.map((job) => ({ job_id: job.id, status: job.status, error_code: job.error_code ?? '', error_msg: job.error_msg ?? '', execute_msg: job.execute_msg })),
    });
  });

  app.post('/instances/batch-query-status', {
    config: { iamAction: action('queryBatchShowInstance') },
    schema: {
      tags,
      summary: 'BatchQueryStatus (BatchShowInstance)',
      body: InstanceIdsBody,
      response: { 200: StatusResults },
    },
  }, async (request) => {
    const found = await instances.requireAll(projectOf(request), request.body.instance_ids);
    return ok({ status_results: found.map((instance) => ({ instance_id: instance.id, status: instance.data_state })) });
  });

  app.post('/instances/batch-reset', {
    config: { iamAction: action('batchResetInstance') },
    schema: { tags, summary: 'BatchReset (BatchResetInstance)', body: InstanceIdsBody, response: { 200: Envelope(TaskData) } },
  }, async (request) => {
    const task = await koophone.operations.reset(projectOf(request), request.body.instance_ids);
    return ok(task);
  });

  app.post('/instances/assign', {
    config: { iamAction: action('instanceAssign') },
    schema: { tags, summary: 'AssignInstance (ProvisionInstance)', body: UserInstances, response: { 200: EmptyEnvelope } },
  }, async (request) => {
    await koophone.operations.assign(projectOf(request), request.body.user_instances);
    return okEmpty('OK');
  });

  app.post('/instances/unassign', {
    config: { iamAction: action('instanceUnassign') },
    schema: { tags, summary: 'UnassignInstance (CancelInstance)', body: UserInstances, response: { 200: Envelope(TaskData) } },
  }, async (request) => {
    const task = await koophone.operations.unassign(projectOf(request), request.body.user_instances);
    return ok(task);
  });

  app.get('/instances/batch-query', {
    config: { iamAction: action('queryInstanceBatch'), requestId: 'required' },
    schema: {
      tags,
      summary: 'ListInstances',
      querystring: ListInstancesQuery,
      response: { 200: InstanceList },
    },
  }, async (request) => {
    const query = request.query;
    const { result, total } = await koophone.operations.list(projectOf(request), { ...query, pool_scene_tag: query.pool_scene_tag ?? query.poolSceneTag });
    const paging = { page_no: query.page_no, page_size: query.page_size, total_count: total };
    return { error_code: '0', error_msg: 'OK', data: { result, ...paging, error_code: '0', error_msg: 'OK' }, ...paging };
  });

  app.post('/instances/reboot', {
    config: { iamAction: action('instanceReboot') },
    schema: { tags, summary: 'BatchRebootInstance', body: InstanceIdsBody, response: { 200: EmptyEnvelope } },
  }, async (request) => {
    await koophone.operations.reboot(projectOf(request), request.id, request.body.instance_ids);
    return okEmpty('OK');
  });

  app.get('/instances/sku', {
    config: { iamAction: action('queryInstanceSku') },
    schema: {
      tags,
      summary: 'BatchShowSku',
      querystring: SkuQuery,
      response: { 200: Skus },
    },
  }, async () => ok(koophone.skus.wire(), 'return sku messages success'));

  app.post('/instances/create', {
    config: { iamAction: action('instanceCreate') },
    preValidation: async (request) => acceptAliases(request.body),
    schema: {
      tags,
      summary: 'CreateInstance',
      body: CreateBody,
      response: { 200: Order },
    },
  }, async (request) => {
    const { projectId, domainId } = request.principal!;
    // The schema's pattern admits only the documented OS versions.
    const order = await koophone.orders.create({ projectId: projectId!, domainId }, request.id, request.body as CreateInput);
    return ok(order, 'OK');
  });

  app.post('/instances/delete', {
    config: { iamAction: action('instanceDelete') },
    schema: {
      tags,
      summary: 'DeleteInstance',
      body: DeleteBody,
      response: { 200: Deleted },
    },
  }, async (request) => {
    await koophone.orders.delete(projectOf(request), request.id, request.body.instanceIdList);
    return ok(null, 'OK');
  });

  app.post('/instances/app/install', {
    config: { iamAction: action('instanceAppInstall') },
    schema: {
      tags,
      summary: 'InstallApp',
      body: InstallBody,
      response: { 200: Installing },
    },
  }, async (request) => {
    const task = await koophone.apps.install(projectOf(request), request.body);
    return ok({ ...task, data: task }, 'OK');
  });

  app.get('/instances/:instance_id/app-list', {
    config: { iamAction: action('listInstanceApp'), requestId: 'required' },
    schema: {
      tags,
      summary: 'ListInstanceApp (SDK only)',
      params: InstanceParams,
      querystring: AppQuery,
      response: { 200: AppList },
    },
  }, async (request) => {
    const { result, total } = await koophone.apps.list(projectOf(request), request.params.instance_id, request.query);
    return ok({ result, page_no: request.query.page_no, page_size: request.query.page_size, total_count: total }, 'OK');
  });
}

/** Copies a document spelling to the SDK's name when the SDK's is absent (the SDK's wins when both are sent). */
function acceptAliases(body: unknown): void {
  if (!body || typeof body !== 'object') return;
  const fields = body as Record<string, unknown>;
  for (const [alias, name] of CREATE_ALIASES) {
    if (fields[name] === undefined && fields[alias] !== undefined) fields[name] = fields[alias];
  }
}
