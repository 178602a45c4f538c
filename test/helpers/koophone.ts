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

/** A KooPhone error: its HTTP status, code and nothing but the envelope. */
export function assertKpError(response: ApiResponse, status: number, code: string) {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.equal(response.body.error_code, code, JSON.stringify(response.body));
  assert.equal(typeof response.body.error_msg, 'string');
  assert.equal(response.body.data, undefined);
  assert.equal(response.body.request_id, undefined);
}
