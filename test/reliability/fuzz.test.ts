import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buyServers, call, putObject, startTestServer, waitForJob, type Target, type TestServer } from '../helpers/server.ts';
import { createInstances, installApp } from '../helpers/koophone.ts';
import { APK_BOMBS, mutatedApk, mutation } from '../helpers/hostile-apk.ts';
import { hostileShellCommand } from '../helpers/hostile-shell.ts';
import { TAR_BOMBS } from '../helpers/hostile-tar.ts';
import { hostileUrl } from '../helpers/hostile-urls.ts';
import {
  broken,
  changedTables,
  describe,
  envelopeProblem,
  fillPath,
  harvestAll,
  isRefusal,
  known,
  loadOperations,
  mayHaveWritten,
  nastyNumber,
  nastyString,
  pool,
  querySchema,
  queryString,
  rawUrlText,
  routeOf,
  send,
  settle,
  snapshot,
  tokenHeaders,
  valid,
  type ApiAnswer,
  type Dictionary,
  type Operation,
  type WireRequest,
} from './harness.ts';

/**
 * R2, fuzzing: property-based requests over every operation of the running server's OpenAPI document,
 * authenticated so that they reach validation. No answer may be a 5xx; every refusal is in its family's
 * documented envelope; a round of requests that were all refused leaves the store exactly as it was.
 * Then hostile payloads that the requests carry into jobs (APK, tar and shell bombs, internal URLs): each
 * job ends as its operation documents, never with an internal error, and the server stays up.
 * OPENCPH_FUZZ_SEED replays a run; OPENCPH_FUZZ_REQUESTS changes its size.
 */

const REQUESTS = Number(process.env.OPENCPH_FUZZ_REQUESTS ?? 20_000);
const SEED = Number(process.env.OPENCPH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Requests in flight at once, over keep-alive connections. */
const CONCURRENCY = 16;
/** Requests between two snapshots of the store. */
const ROUND = 100;
/**
 * Longest text put in one path or query value: percent-encoded it stays under Node's 16 KB limit on
 * the request head, which Node answers itself (431, outside the API's envelopes; docs/reliability.md).
 */
const URL_VALUE_LIMIT = 600;
/** Past the 12 MB body limit. */
const HUGE_BODY_BYTES = 13 * 1024 * 1024;

let t: TestServer;
let operations: Operation[];
let dictionary: Dictionary;

before(async () => {
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0' } });
  // Something for the ids to point at: a server with its phones, a KooPhone instance, and a finished command job.
  const { phoneIds } = await buyServers(t);
  await createInstances(t);
  await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones/sync-commands', { body: { command: 'shell', content: 'echo hello', phone_ids: [phoneIds[0]] } });
  operations = await loadOperations(t.url);
  dictionary = await harvestAll(t.url, t.tenant, operations);
});

after(() => t?.close());

const JSON_TYPE = 'application/json';

const BAD_JSON = [
  '{',
  '{"a":',
  '[1,2',
  "{'a':1}",
  '{"a":1,}',
  'NaN',
  '{"a":NaN}',
  '\uFEFF{}',
  '{"a":1}{"b":2}',
  '{"a":"\\u00"}',
  '{"a":"\\ud800"}',
  'null',
  '0',
  '"text"',
  '[]',
  'true',
  '{"a":1e999}',
  '{"a":123456789012345678901234567890}',
  '[' .repeat(100_000) + ']'.repeat(100_000),
  '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
  // Just under the 1 MiB body limit: as many values as the bytes allow, wide rather than deep.
  `[${'[],'.repeat(349_000)}[]]`,
  `{${Array.from({ length: 60_000 }, (_, i) => `"k${i}":0`).join(',')}}`,
];

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  ';;;',
];

/** Content types the server reads as JSON (any that mentions json), so a valid body may be accepted. */
const JSON_SPELLINGS = ['APPLICATION/JSON', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/jsonx', 'text/json'];

/** Header-safe text (fetch refuses control characters and non-Latin-1 in header values). */
const headerText = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => s.replace(/[\u0000-\u001f\u007f]/g, '')),
  fc.integer({ min: 100, max: 4_000 }).map((n) => 'r'.repeat(n)),
);

/** A path parameter: an id of the tenant's, a well-formed unknown id, or anything at all. */
function pathValue(name: string): fc.Arbitrary<string> {
  const ids = known(dictionary, name);
  return fc.oneof(
    ...(ids.length ? [{ arbitrary: fc.constantFrom(...ids), weight: 3 }] : []),
    { arbitrary: fc.stringMatching(/^[0-9a-f]{32}$/), weight: 1 },
    { arbitrary: nastyString.map((s) => s.slice(0, URL_VALUE_LIMIT)), weight: 2 },
  ) as fc.Arbitrary<string>;
}

/** The requests of one operation, each a valid one or one broken in one way. */
function requests(op: Operation): fc.Arbitrary<WireRequest> {
  const projectId = t.tenant.projectId;
  const others = op.pathParams.filter((p) => p.name !== 'project_id');
  const pathOk = fc.record(Object.fromEntries(others.map((p) => [p.name, pathValue(p.name)]))) as fc.Arbitrary<Record<string, unknown>>;
  const queryOk = valid(querySchema(op), dictionary) as fc.Arbitrary<Record<string, unknown>>;
  const bodyOk = op.body ? valid(op.body, dictionary) : fc.constant(undefined);
  const headers = (extra: Record<string, string> = {}) =>
    fc.option(headerText, { nil: undefined, freq: 3 }).map((requestId) => ({
      ...tokenHeaders(t.tenant),
      ...(op.family === 'koophone' && { 'X-Request-Id': requestId ?? 'fuzz-request' }),
      ...extra,
    }));
  const build = (kind: string, path: fc.Arbitrary<Record<string, unknown>>, query: fc.Arbitrary<Record<string, unknown>>, body: fc.Arbitrary<string | Uint8Array<ArrayBuffer> | undefined>, contentType: fc.Arbitrary<string | undefined>) =>
    fc.tuple(path, query, body, contentType).chain(([pathValues, queryValues, bodyText, type]) =>
      headers(type === undefined || bodyText === undefined ? {} : { 'Content-Type': type }).map(
        (hdrs): WireRequest => ({
          method: op.method,
          target: fillPath(op.path, { project_id: projectId, ...pathValues }) + queryString(queryValues),
          headers: hdrs,
          body: op.method === 'GET' ? undefined : bodyText,
          route: routeOf(op),
          kind,
        }),
      ),
    );
  const json = (value: fc.Arbitrary<unknown>) => value.map((v) => (v === undefined ? undefined : JSON.stringify(v)));
  const jsonType = fc.constant(JSON_TYPE);
  const kinds: Array<{ arbitrary: fc.Arbitrary<WireRequest>; weight: number }> = [
    { arbitrary: build('valid', pathOk, queryOk, json(bodyOk), jsonType), weight: 2 },
  ];
  if (op.body) {
    kinds.push(
      {
        arbitrary: broken(op.body, dictionary).chain((bad) => build(`body: ${bad.how}`, pathOk, queryOk, fc.constant(JSON.stringify(bad.value)), jsonType)),
        weight: 6,
      },
      { arbitrary: build('bad JSON', pathOk, queryOk, fc.constantFrom(...BAD_JSON), jsonType), weight: 1 },
      { arbitrary: build('wrong content type', pathOk, queryOk, json(bodyOk), fc.constantFrom(...CONTENT_TYPES)), weight: 1 },
      { arbitrary: build('JSON content type spelt otherwise', pathOk, queryOk, json(bodyOk), fc.constantFrom(...JSON_SPELLINGS)), weight: 1 },
      {
        arbitrary: build('body not UTF-8', pathOk, queryOk, fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => new Uint8Array(Buffer.concat([Buffer.from('{"a":"'), bytes, Buffer.from([0xff, 0xfe]), Buffer.from('"}')]))), jsonType),
        weight: 1,
      },
      { arbitrary: build('no body', pathOk, queryOk, fc.constantFrom(undefined, ''), fc.constantFrom(JSON_TYPE, undefined)), weight: 1 },
    );
  }
  if (op.query.length) {
    const badValue = fc.oneof(nastyString.map((s) => s.slice(0, URL_VALUE_LIMIT)), nastyNumber, rawUrlText, fc.array(fc.string({ maxLength: 5 }), { minLength: 2, maxLength: 3 }));
    const brokenQuery = fc.tuple(queryOk, fc.constantFrom(...op.query.map((p) => p.name)), badValue).map(([values, name, bad]) => ({ ...values, [name]: bad }));
    kinds.push({ arbitrary: build('broken query', pathOk, brokenQuery, json(bodyOk), jsonType), weight: 3 });
  }
  kinds.push({
    arbitrary: build('extra query', pathOk, fc.tuple(queryOk, fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 20 }), { minKeys: 1, maxKeys: 3 })).map(([a, b]) => ({ ...b, ...a })), json(bodyOk), jsonType),
    weight: 1,
  });
  if (others.length) {
    const badValue = fc.oneof(nastyString.map((s) => s.slice(0, URL_VALUE_LIMIT)), rawUrlText);
    const brokenPath = fc.tuple(pathOk, fc.constantFrom(...others.map((p) => p.name)), badValue).map(([values, name, bad]) => ({ ...values, [name]: bad }));
    kinds.push({ arbitrary: build('broken path parameter', brokenPath, queryOk, json(bodyOk), jsonType), weight: 3 });
  }
  return fc.oneof(...kinds);
}

/** Bodies past the limit, built once: JSON with a 13 MB string, and 13 MB of text. */
const HUGE_JSON = new Uint8Array(Buffer.from(`{"x":"${'a'.repeat(HUGE_BODY_BYTES)}"}`));
const HUGE_TEXT = new Uint8Array(Buffer.alloc(HUGE_BODY_BYTES, 'z'));

function hugeRequest(op: Operation, asJson: boolean): WireRequest {
  const body = asJson ? HUGE_JSON : HUGE_TEXT;
  return {
    method: op.method,
    target: fillPath(op.path, { project_id: t.tenant.projectId, ...Object.fromEntries(op.pathParams.map((p) => [p.name, known(dictionary, p.name)[0] ?? 'x'])) }),
    headers: { ...tokenHeaders(t.tenant), 'Content-Type': asJson ? JSON_TYPE : 'text/plain', ...(op.family === 'koophone' && { 'X-Request-Id': 'fuzz-huge' }) },
    body,
    route: routeOf(op),
    kind: asJson ? '13 MB JSON body' : '13 MB text body',
  };
}

/** A request whose head is past Node's 16 KB limit: a 20 KB query. */
function longUrlRequest(op: Operation): WireRequest {
  return { ...hugeRequest(op, true), method: 'GET', body: undefined, headers: tokenHeaders(t.tenant), target: `${fillPath(op.path, { project_id: t.tenant.projectId })}?q=${'q'.repeat(20_000)}`, kind: '20 KB URL' };
}

interface Finding {
  route: string;
  problem: string;
  example: string;
}

/** Kinds of request built valid, which a route may accept; every other kind is broken somewhere. */
const MAY_BE_ACCEPTED = new Set(['valid', 'extra query', 'body: extra fields', 'body: long list', 'JSON content type spelt otherwise']);

test(`fuzzing every documented operation: no 5xx, documented error envelopes, refused requests write nothing`, { timeout: 600_000 }, async () => {
  assert.ok(operations.length > 0, 'the OpenAPI document lists operations');
  const byRoute = new Map(operations.map((op) => [routeOf(op), op]));
  // The same number of requests for each operation, in a shuffled order.
  const perOperation = Math.ceil(REQUESTS / operations.length);
  const generated = operations.flatMap((op, index) => fc.sample(requests(op), { numRuns: perOperation, seed: SEED + index }));
  const shuffled = fc.sample(fc.shuffledSubarray(generated, { minLength: generated.length, maxLength: generated.length }), { numRuns: 1, seed: SEED })[0];
  const huge = [
    ...operations.filter((op) => op.method !== 'GET').map((op, index) => hugeRequest(op, index % 2 === 0)),
    ...operations.filter((op) => op.method === 'GET').map(longUrlRequest),
  ];
  // First the requests meant to be refused (reads, of any kind, among them), the huge bodies and URLs
  // spread over them: rounds of those are checked to leave the store as it was. Then the writes that
  // may be accepted.
  const mayBeAccepted = (request: WireRequest) => request.method !== 'GET' && MAY_BE_ACCEPTED.has(request.kind);
  const refusable = shuffled.filter((request) => !mayBeAccepted(request));
  huge.forEach((request, index) => refusable.splice(Math.floor(((index + 1) * refusable.length) / (huge.length + 1)), 0, request));
  const acceptable = shuffled.filter(mayBeAccepted);

  const findings: Finding[] = [];
  const statuses = new Map<number, number>();
  const kinds = new Map<string, number>();
  const note = (request: WireRequest, answer: ApiAnswer, problem: string) => findings.push({ route: request.route, problem, example: describe(request, answer) });
  const db = t.server.store.db;
  let stored = await snapshot(db);
  let accepted = 0;
  let checkedRounds = 0;
  let checkedRequests = 0;
  let snapshotMs = 0;
  const acceptedKinds = new Map<string, number>();
  /** Requests broken on purpose that a route accepted, one per route: not failures, leads for validation. */
  const acceptedBroken = new Map<string, string>();
  const started = Date.now();

  for (const [phase, list] of [['refusable', refusable], ['acceptable', acceptable]] as const) {
    for (let offset = 0; offset < list.length; offset += ROUND) {
      const round = list.slice(offset, offset + ROUND);
      const answers = await pool(round, CONCURRENCY, (request) => send(t.url, request));
      let wrote = false;
      round.forEach((request, index) => {
        const answer = answers[index];
        const family = byRoute.get(request.route)!.family;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        kinds.set(request.kind, (kinds.get(request.kind) ?? 0) + 1);
        if (answer.status === 0) note(request, answer, `no answer (${answer.text})`);
        else if (answer.status >= 500) note(request, answer, `HTTP ${answer.status}`);
        else if (isRefusal(family, answer)) {
          const problem = envelopeProblem(family, answer);
          if (problem) note(request, answer, `error envelope: ${problem}`);
        }
        if (mayHaveWritten(request.method, family, answer)) {
          wrote = true;
          accepted++;
          acceptedKinds.set(`${phase} ${request.kind}`, (acceptedKinds.get(`${phase} ${request.kind}`) ?? 0) + 1);
          if (phase === 'refusable' && !acceptedBroken.has(request.route)) acceptedBroken.set(request.route, describe(request, answer));
        }
      });
      if (phase === 'acceptable') continue;
      // What accepted requests started ends before the next snapshot.
      if (wrote) {
        await settle(db);
        stored = await snapshot(db);
        continue;
      }
      const snapshotStarted = performance.now();
      const now = await snapshot(db);
      snapshotMs += performance.now() - snapshotStarted;
      checkedRounds++;
      checkedRequests += round.length;
      const changed = changedTables(stored, now);
      if (changed.length) {
        const writes = round.filter((request) => request.method !== 'GET').map((request) => `${request.route} (${request.kind})`);
        findings.push({ route: 'store', problem: `tables ${changed.join(', ')} changed in a round of refused requests`, example: writes.slice(0, 5).join('; ') });
        stored = now;
      }
    }
  }
  await settle(db);
  const seconds = (Date.now() - started) / 1000;
  const total = refusable.length + acceptable.length;

  const figures = {
    seed: SEED,
    operations: operations.length,
    requests: total,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round(total / seconds),
    hugeBodiesAndUrls: huge.length,
    accepted,
    checkedRounds,
    checkedRequests,
    snapshotMsPerRound: Math.round(snapshotMs / Math.max(checkedRounds, 1)),
    acceptedKinds: Object.fromEntries(acceptedKinds),
    statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
    kinds: Object.fromEntries(kinds),
  };
  console.log(`# R2 fuzz figures: ${JSON.stringify(figures)}`);
  // One example per route and problem.
  const distinct = new Map<string, Finding>();
  for (const finding of findings) {
    const key = `${finding.route} | ${finding.problem.replace(/\d{3,}/g, 'N')}`;
    if (!distinct.has(key)) distinct.set(key, finding);
  }
  for (const finding of distinct.values()) {
    console.log(`# finding: ${finding.route}: ${finding.problem}\n#   ${finding.example}`);
  }
  for (const [route, example] of acceptedBroken) console.log(`# accepted although broken: ${route}\n#   ${example}`);
  assert.ok(total >= REQUESTS, `${total} requests sent`);
  assert.deepEqual([...distinct.values()].map((f) => `${f.route}: ${f.problem}`), [], `seed ${SEED}`);
});

/** Jobs of a batch answer once finished (refused items: none). */
async function finishedJobs(target: Target, answer: { status: number; body: any }, timeoutMs = 300_000) {
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return Promise.all((answer.body.jobs as Array<{ job_id?: string }>).filter((job) => job.job_id).map((job) => waitForJob(target, job.job_id!, timeoutMs)));
}

/** How many of each generated kind of hostile payload (the catalogues of bombs are sent whole). */
const HOSTILE_SAMPLES = 24;
/** What a job may end with when it ran a hostile payload: success, or the operation's documented failure. */
const HOSTILE_OUTCOMES = {
  command: ['CPS.0191', 'CPS.0054'],
  install: ['KOOPHONE.API.62017', 'KOOPHONE.API.62019', 'KOOPHONE.API.62021'],
};

test('hostile payloads: archive bombs, shell bombs and internal URLs end their jobs as documented; the server stays up', { timeout: 900_000 }, async () => {
  // A tenant of its own, with phones and an instance the generated requests above have not touched.
  const tenant = { url: t.url, tenant: await t.createTenant('hostile') };
  const phones = (await buyServers(tenant)).phoneIds;
  const [instanceId] = await createInstances(tenant);
  const outcomes = new Map<string, number>();
  const expect = (what: string, job: { status: number; error_code?: string | null }, failures: string[]) => {
    outcomes.set(`${what} ${job.status === 2 ? 'ok' : job.error_code}`, (outcomes.get(`${what} ${job.status === 2 ? 'ok' : job.error_code}`) ?? 0) + 1);
    assert.ok(job.status === 2 || (job.status === -1 && failures.includes(job.error_code!)), `${what}: ${JSON.stringify(job)}`);
  };
  const commands = (command: string, content: string, phoneIds = phones.slice(0, 3)) =>
    call(tenant, 'POST', '/v1/{project_id}/cloud-phone/phones/commands', { body: { command, content, phone_ids: phoneIds } }).then((answer) => finishedJobs(tenant, answer));
  const install = (url: string) => installApp(tenant, url, [instanceId], {}, 300_000);

  // APKs: the catalogue of bombs, and valid APKs with numbers changed at random (seeded).
  const mutated = fc.sample(fc.array(mutation, { minLength: 1, maxLength: 4 }), { numRuns: HOSTILE_SAMPLES, seed: SEED });
  const apks = [...Object.values(APK_BOMBS).map((make) => make()), ...mutated.map((mutations) => mutatedApk(mutations))];
  for (const [index, apk] of apks.entries()) {
    const url = await putObject(t, tenant.tenant, 'hostile', `apk/${index}.apk`, await apk);
    for (const job of await commands('install', url)) expect('install APK', job, HOSTILE_OUTCOMES.command);
    for (const job of await install(url)) expect('InstallApp APK', job, HOSTILE_OUTCOMES.install);
  }
  // Tars: every bomb of the catalogue pushed to a phone.
  for (const [name, make] of Object.entries(TAR_BOMBS)) {
    const url = await putObject(t, tenant.tenant, 'hostile', `tar/${name.replaceAll(' ', '-')}.tar`, make);
    for (const job of await commands('push', url, [phones[3]])) expect(`push ${name}`, job, HOSTILE_OUTCOMES.command);
  }
  // Shell: generated bombs, asynchronous on three phones and synchronous on one.
  for (const script of fc.sample(hostileShellCommand, { numRuns: HOSTILE_SAMPLES, seed: SEED })) {
    for (const job of await commands('shell', script)) expect('shell', job, HOSTILE_OUTCOMES.command);
    const sync = await call(tenant, 'POST', '/v1/{project_id}/cloud-phone/phones/sync-commands', { body: { command: 'shell', content: script, phone_ids: [phones[4]] } });
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    for (const job of sync.body.jobs) expect('sync shell', job, HOSTILE_OUTCOMES.command);
  }
  // URLs: generated download targets aimed at the server's own port, every one refused alike.
  const port = Number(new URL(t.url).port);
  for (const url of fc.sample(hostileUrl(port), { numRuns: HOSTILE_SAMPLES, seed: SEED })) {
    for (const job of await install(url)) expect('InstallApp URL', job, ['KOOPHONE.API.62017']);
  }
  console.log(`# R2 hostile payload outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
  assert.equal((await fetch(`${t.url}/health`)).status, 200);
  const unexpected = await t.server.store.db.selectFrom('jobs').select(['type', 'error_code', 'execute_msg']).where('error_code', '=', 'CPS.0003').execute();
  assert.deepEqual(unexpected, [], 'no job ended with an internal error');
});
