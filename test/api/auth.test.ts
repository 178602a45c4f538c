import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, purchaseBody, startTestServer, type ApiResponse, type Tenant, type TestServer } from '../helpers/server.ts';
import { signWithOfficialSigner } from '../helpers/sign.ts';

const HEX32 = /^[0-9a-f]{32}$/;
const MINUTE_MS = 60 * 1000;
const PHONE_MODELS = '/v1/{project_id}/cloud-phone/phone-models';
const SERVERS = '/v1/{project_id}/cloud-phone/servers';
const PURCHASE = '/v1/{project_id}/cloud-phone/phones';
const BATCH_RESTART = '/v1/{project_id}/cloud-phone/phones/batch-restart';
const UNKNOWN_ID = 'a'.repeat(32);
const UNKNOWN_PHONE = { phones: [{ phone_id: UNKNOWN_ID }] };

let t: TestServer;
let other: Tenant;
before(async () => {
  t = await startTestServer();
  other = await t.createTenant('tenant-b');
});
after(() => t.close());

/** A request as it goes on the wire, so that tests can change it after it was signed. */
interface WireRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** A request to the default tenant's project, signed by the official signer with `signer`'s key. */
function signed(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; signer?: Tenant } = {}): WireRequest {
  const url = `${t.url}${path.replace('{project_id}', t.tenant.projectId)}`;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const signer = options.signer ?? t.tenant;
  const headers = signWithOfficialSigner({
    method,
    url,
    headers: { ...(body !== undefined && { 'Content-Type': 'application/json' }), ...options.headers },
    body,
    ak: signer.ak,
    sk: signer.sk,
  });
  return { method, url, headers, body };
}

async function send(request: WireRequest): Promise<ApiResponse> {
  const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** X-Sdk-Date form: YYYYMMDDTHHMMSSZ. */
function sdkDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** JSON as Python's `json.dumps` writes it by default: ", " between items, ": " after keys. */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([key, inner]) => `${JSON.stringify(key)}: ${pythonJson(inner)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * SDK-HMAC-SHA256 over the exact body bytes, written out from the algorithm, for a URL without a
 * query whose path needs no escaping: the official helper can only sign bodies written by JSON.stringify.
 */
function signExactBytes(method: string, url: string, body: string, tenant: Tenant): Record<string, string> {
  const target = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json', host: target.host, 'x-sdk-date': sdkDate(new Date()) };
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    method,
    `${target.pathname}/`,
    '',
    names.map((name) => `${name}:${headers[name]}\n`).join(''),
    names.join(';'),
    sha256Hex(body),
  ].join('\n');
  const stringToSign = `SDK-HMAC-SHA256\n${headers['x-sdk-date']}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', tenant.sk).update(stringToSign).digest('hex');
  return { ...headers, authorization: `SDK-HMAC-SHA256 Access=${tenant.ak}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

function assertRequestId(response: ApiResponse): void {
  assert.match(response.body.request_id, HEX32);
  assert.equal(response.headers.get('x-request-id'), response.body.request_id);
}

/** The error envelope `{request_id, error_code, error_msg}` with its status, and the matching X-Request-Id. */
function assertError(response: ApiResponse, status: number, code: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['error_code', 'error_msg', 'request_id']);
  assert.equal(response.body.error_code, code);
  assert.equal(typeof response.body.error_msg, 'string');
  assertRequestId(response);
}

function assertAuthFailure(response: ApiResponse): void {
  assertError(response, 401, 'APIGW.0301');
  assert.match(response.body.error_msg, /^Incorrect IAM authentication information: /);
}

async function serverCount(): Promise<number> {
  const response = await call(t, 'GET', SERVERS);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.servers.length;
}

describe('tokens', () => {
  test('every CPH call without credentials is 401 APIGW.0301, and nothing is bought', async () => {
    const serversBefore = await serverCount();
    const calls: [string, string, unknown?][] = [
      ['GET', PHONE_MODELS],
      ['GET', SERVERS],
      ['GET', `${SERVERS}/${UNKNOWN_ID}`],
      ['GET', '/v1/{project_id}/cloud-phone/phones'],
      ['GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${UNKNOWN_ID}`],
      ['POST', PURCHASE, purchaseBody()],
      ['POST', BATCH_RESTART, UNKNOWN_PHONE],
      ['DELETE', '/v2/{project_id}/cloud-phone/servers', { server_ids: [UNKNOWN_ID] }],
    ];
    for (const [method, path, body] of calls) {
      const response = await call(t, method, path, { body, token: null });
      assertAuthFailure(response);
    }
    assert.equal(await serverCount(), serversBefore);
  });

  test('a valid token is accepted and the response carries its request id', async () => {
    const response = await call(t, 'GET', PHONE_MODELS);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assertRequestId(response);
  });

  test('malformed or tampered tokens are 401', async () => {
    const token = t.tenant.token;
    const [payload, mac] = token.replace(/^MII/, '').split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forge = (changes: object) => `MII${Buffer.from(JSON.stringify({ ...claims, ...changes })).toString('base64url')}.${mac}`;
    const refused = {
      'not a token': 'not-a-token',
      'truncated': token.slice(0, -5),
      'payload changed to never expire': forge({ expiresAt: claims.expiresAt + 365 * 24 * 60 * MINUTE_MS }),
      'MAC changed': `MII${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
    };
    for (const [tampering, tampered] of Object.entries(refused)) {
      const response = await call(t, 'GET', PHONE_MODELS, { token: tampered });
      assert.equal(response.status, 401, `${tampering}: ${JSON.stringify(response.body)}`);
      assertAuthFailure(response);
    }
    // Rewriting the project id does not open another account's project.
    const intoOtherProject = forge({ projectId: other.projectId });
    assertAuthFailure(await call({ url: t.url, tenant: other }, 'GET', PHONE_MODELS, { token: intoOtherProject }));
  });

  test('another account\'s token on this project\'s path is 403 CPS.0001', async () => {
    assertError(await call(t, 'GET', SERVERS, { token: other.token }), 403, 'CPS.0001');
    assertError(await call(t, 'POST', BATCH_RESTART, { token: other.token, body: UNKNOWN_PHONE }), 403, 'CPS.0001');
    const own = await call({ url: t.url, tenant: other }, 'GET', SERVERS);
    assert.equal(own.status, 200, JSON.stringify(own.body));
  });
});

describe('AK/SK signatures', () => {
  test('GET with a query string, signed by the official signer', async () => {
    const response = await send(signed('GET', `${PHONE_MODELS}?status=1&offset=1&limit=2`));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assertRequestId(response);
    const all = await call(t, 'GET', `${PHONE_MODELS}?status=1`);
    assert.deepEqual(response.body.phone_models, all.body.phone_models.slice(1, 3));
  });

  test('POST with a JSON body, signed by the official signer: batch-restart answers per item', async () => {
    const response = await send(signed('POST', BATCH_RESTART, { body: UNKNOWN_PHONE }));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assertRequestId(response);
    assert.equal(response.body.jobs.length, 1);
    assert.equal(response.body.jobs[0].phone_id, UNKNOWN_PHONE.phones[0].phone_id);
    assert.equal(response.body.jobs[0].job_id, undefined);
    assert.match(response.body.jobs[0].error_code, /^CPS\.\d{4}$/);
  });

  test('a purchase whose body was written by Python\'s json.dumps is verified over those exact bytes', async () => {
    const serversBefore = await serverCount();
    const url = `${t.url}${PURCHASE.replace('{project_id}', t.tenant.projectId)}`;
    const body = pythonJson(purchaseBody({ server_name: 'python-client' }));
    assert.match(body, /^\{"server_name": "python-client", /);
    const response = await send({ method: 'POST', url, body, headers: signExactBytes('POST', url, body, t.tenant) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assertRequestId(response);
    assert.equal(response.body.server_ids.length, 1);
    assert.equal(await serverCount(), serversBefore + 1);
  });

  test('a query changed after signing is 401', async () => {
    const request = signed('GET', `${SERVERS}?limit=1`);
    assertAuthFailure(await send({ ...request, url: request.url.replace('limit=1', 'limit=2') }));
  });

  const purchaseTamperings: Record<string, () => WireRequest> = {
    'a body changed after signing': () => {
      const request = signed('POST', PURCHASE, { body: purchaseBody() });
      return { ...request, body: request.body!.replace('"count":1', '"count":2') };
    },
    'a signed header changed after signing': () => {
      const request = signed('POST', PURCHASE, { body: purchaseBody() });
      return { ...request, headers: { ...request.headers, 'Content-Type': 'application/json;charset=UTF-8' } };
    },
    'a changed signature': () => {
      const request = signed('POST', PURCHASE, { body: purchaseBody() });
      const authorization = request.headers.Authorization.replace(/[0-9a-f]$/, (c) => (c === '0' ? '1' : '0'));
      return { ...request, headers: { ...request.headers, Authorization: authorization } };
    },
    'an X-Sdk-Date 16 minutes old': () =>
      signed('POST', PURCHASE, { body: purchaseBody(), headers: { 'X-Sdk-Date': sdkDate(new Date(Date.now() - 16 * MINUTE_MS)) } }),
    'an X-Sdk-Date 16 minutes in the future': () =>
      signed('POST', PURCHASE, { body: purchaseBody(), headers: { 'X-Sdk-Date': sdkDate(new Date(Date.now() + 16 * MINUTE_MS)) } }),
    'an unknown access key': () => {
      const request = signed('POST', PURCHASE, { body: purchaseBody() });
      const authorization = request.headers.Authorization.replace(`Access=${t.tenant.ak}`, 'Access=UNKNOWNACCESSKEY0001');
      return { ...request, headers: { ...request.headers, Authorization: authorization } };
    },
  };
  for (const [tampering, build] of Object.entries(purchaseTamperings)) {
    test(`a signed purchase with ${tampering} is 401 APIGW.0301 and buys nothing`, async () => {
      const serversBefore = await serverCount();
      assertAuthFailure(await send(build()));
      assert.equal(await serverCount(), serversBefore);
    });
  }

  test('X-Project-Id must name the key\'s own project', async () => {
    const own = await send(signed('GET', SERVERS, { headers: { 'X-Project-Id': t.tenant.projectId } }));
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assertError(await send(signed('GET', SERVERS, { headers: { 'X-Project-Id': other.projectId } })), 403, 'CPS.0001');
  });

  test('another account\'s key on this project\'s path is 403 CPS.0001', async () => {
    assertError(await send(signed('GET', SERVERS, { signer: other })), 403, 'CPS.0001');
    assertError(await send(signed('POST', BATCH_RESTART, { body: UNKNOWN_PHONE, signer: other })), 403, 'CPS.0001');
  });

  test('a signed body over 1 MiB (the API\'s limit: no operation needs more) is 413 APIGW.0201 in the error envelope', async () => {
    const body = { phones: [{ phone_id: 'a'.repeat(1024 * 1024) }] };
    assertError(await send(signed('POST', BATCH_RESTART, { body })), 413, 'APIGW.0201');
  });
});

describe('unknown routes', () => {
  test('are 404 APIGW.0101 whatever the credentials', async () => {
    for (const path of ['/v1/{project_id}/cloud-phone/no-such-resource', '/v9/nothing-here']) {
      assertError(await call(t, 'GET', path), 404, 'APIGW.0101');
      assertError(await call(t, 'GET', path, { token: null }), 404, 'APIGW.0101');
      assertError(await send(signed('GET', path)), 404, 'APIGW.0101');
    }
  });
});
