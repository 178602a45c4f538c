import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { call, type Tenant } from './server.ts';
import { createInstances } from './koophone.ts';

/** KooPhone streaming helpers: ready instances, device tokens, and a WebSocket client of the signalling endpoint. */
type Target = { url: string; tenant: Tenant };

/** What the tests use of a `ws` client (the package has no bundled types). */
interface WsClient {
  readonly readyState: number;
  on(event: 'open', listener: () => void): this;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'unexpected-response', listener: (request: unknown, response: HttpResponse) => void): this;
  close(code?: number): void;
}

interface HttpResponse {
  statusCode: number;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'end', listener: () => void): void;
}

const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: new (url: string) => WsClient };

/** Creates an instance, assigns it to `user` and prepares it (a fresh instance is ready at once); its id. */
export async function readyInstance(target: Target, user: string, prefix = 'stream'): Promise<string> {
  const [id] = await createInstances(target, { instanceNamePrefix: prefix });
  const assigned = await call(target, 'POST', '/v1/instances/assign', { body: { user_instances: [{ user_id: user, instance_id: id }] } });
  assert.equal(assigned.body.error_code, '0', JSON.stringify(assigned.body));
  const prepared = await call(target, 'POST', '/v1/instances/prepare', { body: { user_id: user, instance_ids: [id] } });
  assert.deepEqual(prepared.body.data.status_list, [{ instance_id: id, status: 0 }]);
  return id;
}

export interface Issued {
  url: string;
  deviceId: string;
  token: string;
  body: any;
}

/** GetDeviceToken; the signalling URL with the credentials the client adds to it. */
export async function deviceToken(target: Target, instanceId: string): Promise<Issued> {
  const response = await call(target, 'POST', `/v1/instances/${instanceId}/auth`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.error_code, '0', JSON.stringify(response.body));
  const data = response.body.data;
  const deviceId = data.resource.device_id;
  const url = `${data.resource.rtc.ice_signaling.signaling_url}?device_id=${deviceId}&device_token=${data.device_token}`;
  return { url, deviceId, token: data.device_token, body: response.body };
}

export interface Received {
  at: number;
  json?: any;
  frame?: Buffer;
}

/** An open signalling connection and everything it received, with arrival times. */
export class StreamClient {
  readonly received: Received[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: WsClient) {
    socket.on('message', (data, isBinary) => {
      this.received.push(isBinary ? { at: Date.now(), frame: data } : { at: Date.now(), json: JSON.parse(data.toString()) });
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Connects; rejects with the HTTP status and body when the endpoint refuses the upgrade. */
  static open(url: string): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.on('open', () => resolve(new StreamClient(socket)));
      socket.on('error', reject);
      socket.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk.toString()));
        response.on('end', () => reject(Object.assign(new Error(`refused: ${response.statusCode} ${body}`), { status: response.statusCode, body: JSON.parse(body) })));
      });
    });
  }

  /** The HTTP status and body a refused connection gets. */
  static async refusal(url: string): Promise<{ status: number; body: any }> {
    try {
      const client = await StreamClient.open(url);
      client.close();
    } catch (error) {
      const { status, body } = error as { status?: number; body?: unknown };
      if (status !== undefined) return { status, body };
      throw error;
    }
    throw new Error(`${url} was accepted`);
  }

  get frames(): Received[] {
    return this.received.filter((message) => message.frame);
  }

  /** Waits until `count` frames have arrived. */
  async waitFrames(count: number, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.frames.length} of ${count} frames after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
      this.waiters = [];
    }
    return this.frames.slice(0, count);
  }

  close(): void {
    this.socket.close(1000);
  }
}

/** BatchQueryStatus of one instance. */
export async function dataState(target: Target, instanceId: string): Promise<number> {
  const response = await call(target, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: [instanceId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.data.status_results[0].status;
}

/** Polls until the instance's BatchQueryStatus is `state`. */
export async function waitDataState(target: Target, instanceId: string, state: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await dataState(target, instanceId);
    if (current === state) return;
    if (Date.now() > deadline) throw new Error(`instance ${instanceId} is in data state ${current}, not ${state}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
