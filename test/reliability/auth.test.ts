import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, getToken, startTestServer, type TestServer } from '../helpers/server.ts';
import { signWithOfficialSigner } from '../helpers/sign.ts';
import {
  changedTables,
  describe,
  fillPath,
  harvestAll,
  known,
  loadOperations,
  querySchema,
  queryString,
  routeOf,
  sampleOne,
  send,
  settle,
  snapshot,
  valid,
  type ApiAnswer,
  type Dictionary,
  type Operation,
  type WireRequest,
} from './harness.ts';

/**
 * R4, authentication: on every operation that needs a credential, a request signed with the official
 * AK/SK signer and then tampered with (body, query, a signed header, the signature), signed outside the
 * 15-minute window, signed with an unknown key, or carrying an expired token or none, is 401 APIGW.0301
 * and writes nothing. The same requests untampered are not refused as unauthenticated.
 */

const MINUTE_MS = 60_000;
const SEED = 11;

/** The server's clock, moved forward to let tokens expire. */
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

let t: TestServer;
let operations: Operation[];
let dictionary: Dictionary;
let expiredToken: string;

before(async () => {
  t = await startTestServer({ clock, env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  // A token issued 25 hours "ago": tokens live 24 hours.
  offsetMs = -25 * 60 * MINUTE_MS;
  expiredToken = await getToken(t.url, t.tenant.domainName, t.tenant.userName, t.tenant.password, t.tenant.projectName);
  offsetMs = 0;
  await buyServers(t);
  operations = (await loadOperations(t.url)).filter((op) => !op.open);
  dictionary = await harvestAll(t.url, t.tenant, operations);
});

after(() => t?.close());

/** X-Sdk-Date form: YYYYMMDDTHHMMSSZ. */
const sdkDate = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** A valid request to `op`, its ids the tenant's own, signed by the official signer (unless `sign` is false). */
function request(op: Operation, options: { headers?: Record<string, string>; query?: Record<string, unknown>; sign?: boolean; ak?: string } = {}): WireRequest {
  const values = Object.fromEntries(op.pathParams.map((p) => [p.name, p.name === 'project_id' ? t.tenant.projectId : known(dictionary, p.name)[0] ?? '0123456789abcdef0123456789abcdef']));
  const query = { ...(sampleOne(valid(querySchema(op), dictionary), SEED) as Record<string, unknown>), ...options.query };
  const target = fillPath(op.path, values) + queryString(query);
  const body = op.body ? JSON.stringify(sampleOne(valid(op.body, dictionary), SEED)) : undefined;
  const headers: Record<string, string> = {
    ...(body !== undefined && { 'Content-Type': 'application/json' }),
    ...(op.family === 'koophone' && { 'X-Request-Id': 'auth-check' }),
    ...options.headers,
  };
  const signed = options.sign === false ? headers : signWithOfficialSigner({ method: op.method, url: `${t.url}${target}`, headers, body, ak: options.ak ?? t.tenant.ak, sk: t.tenant.sk });
  return { method: op.method, target, headers: signed, body, route: routeOf(op), kind: 'signed' };
}

/** The ways a request is refused as unauthenticated; each builds the request for one operation. */
const tamperings: Record<string, (op: Operation) => WireRequest | undefined> = {
  'body changed after signing': (op) => {
    const signed = request(op);
    if (signed.body === undefined || !String(signed.body).startsWith('{')) return undefined;
    return { ...signed, body: `{ ${String(signed.body).slice(1)}` };
  },
  'query changed after signing': (op) => {
    const signed = request(op, { query: { reliability: 'signed' } });
    return { ...signed, target: signed.target.replace('reliability=signed', 'reliability=changed') };
  },
  'signed header changed after signing': (op) => {
    const signed = request(op, { headers: { 'X-Reliability': 'signed' } });
    return { ...signed, headers: { ...signed.headers, 'X-Reliability': 'changed' } };
  },
  'signature changed': (op) => {
    const signed = request(op);
    return { ...signed, headers: { ...signed.headers, Authorization: signed.headers.Authorization.replace(/[0-9a-f]$/, (c) => (c === '0' ? '1' : '0')) } };
  },
  'X-Sdk-Date 16 minutes old': (op) => request(op, { headers: { 'X-Sdk-Date': sdkDate(new Date(Date.now() - 16 * MINUTE_MS)) } }),
  'X-Sdk-Date 16 minutes ahead': (op) => request(op, { headers: { 'X-Sdk-Date': sdkDate(new Date(Date.now() + 16 * MINUTE_MS)) } }),
  'unknown access key': (op) => request(op, { ak: 'UNKNOWNACCESSKEY0001' }),
  'expired token': (op) => request(op, { sign: false, headers: { 'X-Auth-Token': expiredToken } }),
  'no credentials': (op) => request(op, { sign: false }),
};

function refusedAsUnauthenticated(answer: ApiAnswer): boolean {
  return answer.status === 401 && answer.json?.error_code === 'APIGW.0301' && typeof answer.json.error_msg === 'string';
}

test('tampered, stale, expired or unknown credentials are 401 APIGW.0301 on every operation, and nothing is written', { timeout: 300_000 }, async () => {
  const db = t.server.store.db;
  await settle(db);
  const before = await snapshot(db);
  const failures: string[] = [];
  let sent = 0;
  for (const op of operations) {
    for (const [tampering, build] of Object.entries(tamperings)) {
      const tampered = build(op);
      if (!tampered) continue;
      const answer = await send(t.url, tampered);
      sent++;
      if (!refusedAsUnauthenticated(answer)) failures.push(`${routeOf(op)}, ${tampering}: ${describe(tampered, answer)}`);
    }
  }
  await settle(db);
  const changed = changedTables(before, await snapshot(db));

  // The controls: the same requests, signed and untampered, get past authentication.
  const notAuthenticated: string[] = [];
  for (const op of operations) {
    const signed = request(op);
    const answer = await send(t.url, signed);
    if (answer.status === 401 && answer.json?.error_code === 'APIGW.0301') notAuthenticated.push(`${routeOf(op)}: ${describe(signed, answer)}`);
  }
  console.log(`# R4 auth figures: ${JSON.stringify({ operations: operations.length, tamperings: Object.keys(tamperings).length, refusedRequests: sent, controls: operations.length })}`);
  for (const failure of [...failures, ...notAuthenticated]) console.log(`# finding: ${failure}`);
  assert.deepEqual(failures, []);
  assert.deepEqual(changed, [], 'the store changed');
  assert.deepEqual(notAuthenticated, [], 'untampered signed requests were refused');
});
