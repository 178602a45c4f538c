import assert from 'node:assert/strict';
import type { ApiResponse } from './server.ts';

/** The admin API of a test server (`/admin/faults`, `/admin/durations`): open when started with ADMIN_ENV. */
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const ADMIN_ENV = { OPENCPH_ADMIN_TOKEN: ADMIN_TOKEN };

/** One admin API call; `token: null` sends no X-Admin-Token. */
export async function admin(
  target: { url: string },
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null) headers['X-Admin-Token'] = options.token ?? ADMIN_TOKEN;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${target.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** Adds a fault rule; the rule as the API answers it (with its id). */
export async function addFault(target: { url: string }, rule: Record<string, unknown>): Promise<{ id: string } & Record<string, unknown>> {
  const response = await admin(target, 'POST', '/admin/faults', { body: rule });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

/** Sets the operation durations in ms (`{}`: back to the configured ones). */
export async function setDurations(target: { url: string }, durations: Record<string, number>): Promise<void> {
  const response = await admin(target, 'PUT', '/admin/durations', { body: durations });
  assert.equal(response.status, 200, JSON.stringify(response.body));
}
