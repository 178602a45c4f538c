import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, startTestServer, type Tenant, type TestServer } from '../helpers/server.ts';
import { createInstances } from '../helpers/koophone.ts';
import {
  changedTables,
  fillPath,
  harvest,
  harvestAll,
  ID_NAME,
  idSlots,
  known,
  loadOperations,
  lookalike,
  outcome,
  querySchema,
  queryString,
  routeOf,
  sampleOne,
  send,
  settle,
  snapshot,
  tokenHeaders,
  valid,
  withId,
  type Dictionary,
  type IdSlot,
  type Operation,
} from './harness.ts';

/**
 * R3, tenant isolation: for every operation that takes a resource id (in its path, query or body),
 * tenant B naming tenant A's resource gets exactly the answer a missing id of the same shape gets
 * (status, error codes, body shape), and nothing of A's changes.
 */

/** Seed of the generated request values. */
const SEED = 7;

let t: TestServer;
let a: Tenant;
let b: Tenant;
let operations: Operation[];
let ofA: Dictionary;
let ofB: Dictionary;

before(async () => {
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  a = t.tenant;
  b = await t.createTenant('tenant-b');
  operations = await loadOperations(t.url);
  // A's resources: a server with its phones, a KooPhone instance, a finished command job, and whatever each create
  // operation makes of a valid request (one of each, so a purchase buys one server).
  // The ids in the answers to these requests (job ids, request ids) are A's as well.
  ofA = new Map();
  const { phoneIds } = await buyServers(t);
  await createInstances(t);
  harvest(ofA, (await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones/sync-commands', { body: { command: 'shell', content: 'echo a', phone_ids: [phoneIds[0]] } })).body);
  const catalogue = await harvestAll(t.url, a, operations);
  for (const op of operations.filter((o) => o.method === 'POST' && o.body && !o.open)) {
    const body = sampleOne(valid(op.body!, catalogue), SEED) as Record<string, unknown>;
    if (typeof body.count === 'number') body.count = 1;
    const values = Object.fromEntries(op.pathParams.map((p) => [p.name, p.name === 'project_id' ? a.projectId : known(catalogue, p.name)[0] ?? '']));
    const answer = await send(t.url, { method: op.method, target: fillPath(op.path, values), headers: headersFor(op, a), body: JSON.stringify(body) });
    if (answer.status === 200) harvest(ofA, answer.json);
  }
  await settle(t.server.store.db);
  await harvestAll(t.url, a, operations, ofA);
  ofB = await harvestAll(t.url, b, operations);
});

after(() => t?.close());

function headersFor(op: Operation, tenant: Tenant): Record<string, string> {
  return { ...tokenHeaders(tenant), 'Content-Type': 'application/json', ...(op.family === 'koophone' && { 'X-Request-Id': 'isolation-check' }) };
}

/** Ids only A has: what A's answers show under that name, less anything B sees as well (public catalogue ids). */
function idsOfA(name: string): string[] {
  const seenByB = new Set([...ofB.values()].flat());
  return known(ofA, name).filter((id) => !seenByB.has(id));
}

interface Slot {
  where: 'path' | 'query' | 'body';
  name: string;
  body?: IdSlot;
}

function slotsOf(op: Operation): Slot[] {
  return [
    ...op.pathParams.filter((p) => p.name !== 'project_id').map((p): Slot => ({ where: 'path', name: p.name })),
    ...op.query.filter((p) => ID_NAME.test(p.name)).map((p): Slot => ({ where: 'query', name: p.name })),
    ...idSlots(op.body).map((slot): Slot => ({ where: 'body', name: slot.name, body: slot })),
  ];
}

/** B's request to `op` with `id` in the slot; every other value is valid, B's own where B has one. */
function requestOfB(op: Operation, slot: Slot, id: string) {
  const pathValues: Record<string, unknown> = { project_id: b.projectId };
  for (const p of op.pathParams) if (p.name !== 'project_id') pathValues[p.name] = known(ofB, p.name)[0] ?? lookalike(known(ofA, p.name)[0] ?? '0123456789abcdef0123456789abcdef');
  const query = sampleOne(valid(querySchema(op), ofB), SEED) as Record<string, unknown>;
  let body = op.body ? sampleOne(valid(op.body, ofB), SEED) : undefined;
  if (slot.where === 'path') pathValues[slot.name] = id;
  if (slot.where === 'query') query[slot.name] = id;
  if (slot.where === 'body') body = withId(body, slot.body!, id);
  return {
    method: op.method,
    target: fillPath(op.path, pathValues) + queryString(query),
    headers: headersFor(op, b),
    body: op.method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  };
}

test('tenant B naming tenant A\'s resources gets what a missing id gets, and A\'s data stays as it was', { timeout: 300_000 }, async () => {
  const db = t.server.store.db;
  const aBefore = await snapshot(db, a.projectId);
  const differences: string[] = [];
  const covered: string[] = [];
  const uncovered = new Set<string>();
  for (const op of operations.filter((o) => !o.open)) {
    for (const slot of slotsOf(op)) {
      const label = `${routeOf(op)} ${slot.where} ${slot.body?.path.join('.') ?? slot.name}`;
      const ids = idsOfA(slot.name);
      if (ids.length === 0) {
        uncovered.add(`${slot.name}`);
        continue;
      }
      const idOfA = ids[0];
      const missing = lookalike(idOfA);
      const withA = await send(t.url, requestOfB(op, slot, idOfA));
      const withMissing = await send(t.url, requestOfB(op, slot, missing));
      covered.push(label);
      const seen = outcome(withA, [idOfA]);
      const expected = outcome(withMissing, [missing]);
      if (seen !== expected) differences.push(`${label}: A's id ${idOfA} → ${seen.slice(0, 300)}; a missing id → ${expected.slice(0, 300)}`);
    }
  }
  await settle(db);
  const changed = changedTables(aBefore, await snapshot(db, a.projectId));
  console.log(`# R3 isolation figures: ${JSON.stringify({ operations: operations.length, slotsChecked: covered.length, requests: covered.length * 2, idNamesWithoutAResource: [...uncovered].sort() })}`);
  for (const difference of differences) console.log(`# finding: ${difference}`);
  assert.ok(covered.length > 0);
  assert.deepEqual(changed, [], 'A\'s rows changed');
  assert.deepEqual(differences, []);
});
