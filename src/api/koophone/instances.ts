import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../app.ts';
import type { Services } from '../services.ts';
import { FINITE_KEYWORD, coded } from '../schema.ts';
import { SkuWire } from '../../core/koophone/skus.ts';
import type { CreateInput } from '../../core/koophone/orders.ts';
import { CmdJob, EmptyEnvelope, Envelope, InstanceId, InstanceIds, TaskData, UserId, action, ok, okEmpty } from './common.ts';
import { gatewayError } from '../../core/errors.ts';

const tags = ['KooPhone'];
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const CommandBody = Type.Object({ command: Type.String(), instance_ids: InstanceIds });
const InstanceIdsBody = Type.Object({ instance_ids: InstanceIds });
const UserInstances = Type.Object({
  user_instances: Type.Array(Type.Object({ user_id: UserId, instance_id: InstanceId }), { minItems: 1, maxItems: 100 }),
});

const CmdResult = Type.Object({
  instance_id: Type.String(),
  status: Type.Integer(),
  error_code: Type.String(),
  error_msg: Type.String(),
  execute_msg: Type.String(),
});

const JobDetail = Type.Object({
  job_id: Type.String(),
  status: Type.Integer(),
  error_code: Type.String(),
  error_msg: Type.String(),
  execute_msg: Nullable(Type.String()),
});

const InstanceWire = Type.Object({
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

// page_no is bounded so that the row offset it makes stays an SQL integer.
const Paging = {
  page_no: Type.Integer({ minimum: 1, maximum: 10_000_000, [FINITE_KEYWORD]: true }),
  page_size: Type.Integer({ minimum: 1, maximum: 200, [FINITE_KEYWORD]: true }),
};

const PoolSceneTag = Type.Union([Type.Literal('CLOUD_APP'), Type.Literal('CLOUD_PHONE')]);

const ListQuery = Type.Object({
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

const ChargeParam = Type.Object({
  chargingMode: Type.Literal(1),
  periodType: Type.Union([Type.Literal(2), Type.Literal(3)]),
  periodNum: Type.Integer(),
  isAutoPay: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
  isAutoRenew: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
});

const CreateBody = Type.Object({
  // Missing or empty: 3003; another value: 1000 (spec §2.13 validation order).
  os: coded(Type.String({ minLength: 1, pattern: '^(AOSP9|AOSP11)$' }), 'KOOPHONE.API.1000', 'KOOPHONE.API.3003'),
  instanceSkuId: Type.String({ minLength: 1, maxLength: 64 }),
  bandSkuId: Type.String({ minLength: 1, maxLength: 64 }),
  regionId: Type.String({ minLength: 1, maxLength: 64 }),
  instanceNamePrefix: Type.String({ minLength: 1, maxLength: 14, pattern: '^[^\\u0000-\\u001f\\u007f/]+$' }),
  bandSize: Type.Number({ exclusiveMinimum: 0 }),
  count: Type.Integer({ minimum: 1, maximum: 1500 }),
  chargeParam: ChargeParam,
  network: Type.Optional(Type.Union([Type.Literal('EIP'), Type.Literal('ADN')])),
});

/** Spellings of the documents' text (PDF extraction: `I` read as `l`, words split), accepted beside the SDK's (spec §7 A12). */
const CREATE_ALIASES: Array<[string, string]> = [
  ['instanceSkuld', 'instanceSkuId'],
  ['bandSkuld', 'bandSkuId'],
  ['regionld', 'regionId'],
  ['instanceName Prefix', 'instanceNamePrefix'],
];

const InstallBody = Type.Object({
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

const AppQuery = Type.Object({
  'x-request-id': Type.Optional(Type.String()),
  ...Paging,
  app_type: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
});

/** Instance management (spec §2.1–2.11), subscription (§2.12–2.14) and apps (§2.20, the SDK's app-list). */
export function instanceRoutes(app: App, services: Services) {
  const { instances, koophone, syncCommands } = services;
  const projectOf = (request: FastifyRequest) => request.principal!.projectId!;

  app.post('/instances/sync-command', {
    config: { iamAction: action('syncInvokeInstance'), errorInfo: true },
    schema: { tags, summary: 'SyncCommand (SyncInvokeInstance)', body: CommandBody, response: { 200: Envelope(Type.Object({ cmd_results: Type.Array(CmdResult) })) } },
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
    schema: { tags, summary: 'GetTask (ExecuteJob)', params: Type.Object({ task_id: Type.String() }), response: { 200: Envelope(Type.Object({ jobs: Type.Array(JobDetail) })) } },
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
      response: { 200: Envelope(Type.Object({ status_results: Type.Array(Type.Object({ instance_id: Type.String(), status: Type.Integer() })) })) },
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
      querystring: ListQuery,
      response: {
        // The table puts paging and codes inside `data`, the example at the top: both are sent (spec §7 A3).
        200: Type.Object({
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
        }),
      },
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
      // Only "0" (general cloud terminal SKUs); the document's example omits it (spec §7 A14).
      querystring: Type.Object({ type: Type.Optional(Type.String({ pattern: '^0$' })) }),
      response: {
        200: Envelope(
          Type.Object({
            bandInfo: Type.Object({ id: Type.String(), cbcSkuId: Type.String() }),
            skuSpecResponseList: Type.Array(Type.Object({ regionId: Type.String(), skuResponses: Type.Array(SkuWire) })),
          }),
        ),
      },
    },
  }, async () => ok(koophone.skus.wire(), 'return sku messages success'));

  app.post('/instances/create', {
    config: { iamAction: action('instanceCreate') },
    preValidation: async (request) => acceptAliases(request.body),
    schema: {
      tags,
      summary: 'CreateInstance',
      body: CreateBody,
      response: {
        200: Envelope(Type.Object({ orderId: Type.String(), instanceInfos: Type.Array(Type.Object({ instanceId: Type.String(), instanceName: Type.String() })) })),
      },
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
      body: Type.Object({ instanceIdList: InstanceIds }),
      response: { 200: Type.Object({ data: Type.Null(), error_code: Type.String(), error_msg: Type.String() }) },
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
      // The documents nest the task in `data.data`, the SDK reads `data`: both are sent (spec README).
      response: { 200: Envelope(Type.Object({ task_id: Type.String(), cmd_jobs: Type.Array(CmdJob), data: TaskData })) },
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
      params: Type.Object({ instance_id: InstanceId }),
      querystring: AppQuery,
      response: {
        200: Envelope(
          Type.Object({
            result: Type.Array(Type.Object({ app_name: Type.String(), app_version: Type.String(), app_pkg: Type.String(), icon_url: Type.String() })),
            page_no: Type.Integer(),
            page_size: Type.Integer(),
            total_count: Type.Integer(),
          }),
        ),
      },
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
