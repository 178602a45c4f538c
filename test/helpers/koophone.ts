import assert from 'node:assert/strict';
import { call, type ApiResponse, type Target } from './server.ts';

// KooPhone helpers for API tests: create instances, list them, wait for tasks.

/** The documented CreateInstance example, on a SKU of the default region. */
export function createBody(overrides: Record<string, unknown> = {}) {
  return {
    os: 'AOSP11',
    instanceSkuId: 'kp.professional.xlarge.32g.2',
    bandSkuId: 'kp.bandwidth',
    regionId: 'cn-north-4',
    instanceNamePrefix: 'koophone',
    bandSize: 4,
    count: 1,
    chargeParam: { chargingMode: 1, periodType: 2, periodNum: 1, isAutoPay: 1, isAutoRenew: 1 },
    network: 'EIP',
    ...overrides,
  };
}

/** Creates instances and waits until they run; their ids, in order. */
export async function createInstances(target: Target, overrides: Record<string, unknown> = {}): Promise<string[]> {
  const response = await call(target, 'POST', '/v1/instances/create', { body: createBody(overrides) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.error_code, '0', JSON.stringify(response.body));
  const ids: string[] = response.body.data.instanceInfos.map((info: { instanceId: string }) => info.instanceId);
  await waitRunning(target, ids);
  return ids;
}

/** ListInstances rows of the given instances, by id. */
export async function instanceRows(target: Target, ids: string[]): Promise<Map<string, any>> {
  const rows = new Map<string, any>();
  for (const id of ids) {
    const response = await call(target, 'GET', `/v1/instances/batch-query?page_no=1&page_size=1&instance_id=${id}&x-request-id=rows`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    if (response.body.data.result[0]) rows.set(id, response.body.data.result[0]);
  }
  return rows;
}

/** Waits until every instance's running_status is 2 (running). */
export async function waitRunning(target: Target, ids: string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await instanceRows(target, ids);
    if (ids.every((id) => rows.get(id)?.running_status === 2)) return;
    if (Date.now() > deadline) throw new Error(`instances not running after ${timeoutMs} ms: ${JSON.stringify([...rows.values()])}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An InstallApp body: hello-v1.apk (declared 1 MB) from `url` on the instances, with `overrides`. */
export function installAppBody(url: string, instanceIds: string[], overrides: Record<string, unknown> = {}) {
  return {
    fast_install: 1,
    object_name: 'com.opencph.hello',
    file_name: 'hello-v1.apk',
    object_version: '1.0',
    object_size: 1,
    biz_type: 'apk',
    content_type: 'application/octet-stream',
    content_md5: '',
    install_package_url: url,
    instance_id_list: instanceIds,
    ...overrides,
  };
}

/** InstallApp (see installAppBody), which must be accepted; its jobs once they ended. */
export async function installApp(target: Target, url: string, instanceIds: string[], overrides: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<any[]> {
  const response = await call(target, 'POST', '/v1/instances/app/install', { body: installAppBody(url, instanceIds, overrides) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.error_code, '0', JSON.stringify(response.body));
  return waitTask(target, response.body.data.task_id, timeoutMs);
}

/** Polls GetTask until no job is running (status 1); the jobs. */
export async function waitTask(target: Target, taskId: string, timeoutMs = 10_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await call(target, 'GET', `/v1/instances/tasks/${taskId}`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const jobs = response.body.data.jobs as Array<{ status: number }>;
    if (jobs.every((job) => job.status !== 1)) return jobs;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The documented `error_msg` of each KooPhone code (spec §5.2, and §5.3's suggested text for codes only the
 * per-API tables list), typed from the spec rather than taken from src/: the oracle answers are held against.
 */
const MESSAGES: Record<string, string> = {
  'KOOPHONE.API.0000': 'tenant is not exist.',
  'KOOPHONE.API.0001': "missing request header 'x-tenant-id'.",
  'KOOPHONE.API.0002': "missing request header 'x-request-id'.",
  'KOOPHONE.API.0003': "invalid request header 'x-request-id'.",
  'KOOPHONE.API.0004': 'project is not exist.',
  'KOOPHONE.API.0005': 'missing request header.',
  'KOOPHONE.API.1000': 'There is an error in the interface request parameters. Check if the request parameter type or range is consistent with the interface.',
  'KOOPHONE.API.1001': 'no instance permission, Check whether the instance ID passed in by the request is correct.',
  'KOOPHONE.API.1002': 'The instance list to be operated on does not belong to the same region. Please modify the requested instances to the same region.',
  'KOOPHONE.API.1003': 'tenant have no auth to use the API, please contact us to add you to the whitelist.',
  'KOOPHONE.API.1004': 'Services not subscribed.',
  'KOOPHONE.API.1005': 'request param error, Request param not contain the all needed encode and net combinations.',
  'KOOPHONE.API.1012': 'instances are not belong to one tenant.',
  'KOOPHONE.API.1323': 'The application installation task does not exist.',
  'KOOPHONE.API.2001': 'cloud app not exist.',
  'KOOPHONE.API.2002': 'cloud app unauthorized.',
  'KOOPHONE.API.2003': 'No idle instance.',
  'KOOPHONE.API.2004': 'the instance already frozen.',
  'KOOPHONE.API.2005': 'the instance is in recover.',
  'KOOPHONE.API.2006': 'the instance is in backup.',
  'KOOPHONE.API.2210': 'The binding relationship between the user and the instance does not exist.',
  'KOOPHONE.API.3001': 'input instance sku param need to match band sku.',
  'KOOPHONE.API.3002': 'no such sku or region.',
  'KOOPHONE.API.3003': 'common instance need os version.',
  'KOOPHONE.API.3006': 'if period type is month, period num should between 1-9.',
  'KOOPHONE.API.3007': 'if period type is year, period num should between 1-3.',
  'KOOPHONE.API.3008': 'fast_install in request param should be 0 or 1.',
  'KOOPHONE.API.3009': 'query phoneId error.',
  'KOOPHONE.API.4001': 'instance not exist.',
  'KOOPHONE.API.4999': 'Invoking third api error.',
  'KOOPHONE.API.5001': 'Cannot delete on-demand instances.',
  'KOOPHONE.API.5002': 'The time request format is incorrect.',
  'KOOPHONE.API.5004': 'The query end date is earlier than the query start date.',
  'KOOPHONE.API.5005': 'Not all instances are running.',
  'KOOPHONE.API.6000': 'Invalid request parameter.',
  'KOOPHONE.API.6001': 'Authenticate Failed!',
  'KOOPHONE.API.6002': 'No permission.',
  'KOOPHONE.API.9000': 'decrypt fail.',
  'KOOPHONE.API.9001': 'redis returns empty value.',
  'KOOPHONE.API.9002': 'failed to acquire the redis lock.',
  'KOOPHONE.API.9003': 'invoke third api error.',
  'KOOPHONE.API.9999': 'unknown error.',
  'KOOPHONE.API.40010': 'out of stock.',
  'KOOPHONE.API.62005': 'The app package already exists.',
  'KOOPHONE.API.62006': 'The app size must be a number.',
  'KOOPHONE.API.62010': 'The cloud instance is abnormal.',
  'KOOPHONE.API.62015': 'The size of the app package exceeds the limit of 2G.',
  'KOOPHONE.API.62016': 'The total size of application packages uploaded by the tenant exceeds the total limit.',
  'KOOPHONE.API.62017': 'Download failed, please check the install_package_url.',
  'KOOPHONE.API.62019': 'Install app failed.',
  'KOOPHONE.API.62020': 'Version Conflict.',
  'KOOPHONE.API.62021': 'not enough space.',
  'KPAPI.2209': 'No device can be assigned.',
};

/** The documented message of a code. Throws for a code the table lacks. */
export function kpMessage(code: string): string {
  const message = MESSAGES[code];
  if (message === undefined) throw new Error(`no §5.2 message for ${code}`);
  return message;
}

/**
 * A KooPhone error: its HTTP status, code, the documented message (which a detail may follow, after a space)
 * and nothing but the envelope.
 */
export function assertKpError(response: ApiResponse, status: number, code: string) {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.equal(response.body.error_code, code, JSON.stringify(response.body));
  const message = kpMessage(code);
  const errorMsg = String(response.body.error_msg);
  assert.ok(errorMsg === message || errorMsg.startsWith(`${message} `), `error_msg ${JSON.stringify(errorMsg)} is not the documented ${JSON.stringify(message)}`);
  assert.equal(response.body.data, undefined);
  assert.equal(response.body.request_id, undefined);
}
