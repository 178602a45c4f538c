// What the reliability tests share: the routes of the running server's OpenAPI document, request values
// generated from their schemas (valid, or broken on purpose), sending over keep-alive sockets, the error
// envelopes each API family documents, and snapshots of the store to prove that a request wrote nothing.
import fc from 'fast-check';
import { sql } from 'kysely';
import type { Db } from '../../src/store/db.ts';
import type { Tenant } from '../helpers/server.ts';
import { CPS_CODES, IAM_CODES, KPS_CODES } from '../../src/core/errors.ts';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  $ref?: string;
  [key: string]: unknown;
};

export interface Param {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export type Family = 'cph' | 'koophone' | 'iam' | 'kps';

export interface Operation {
  method: string;
  /** The OpenAPI path, parameters in braces: /v1/{project_id}/cloud-phone/phones/{phone_id}. */
  path: string;
  summary: string;
  family: Family;
  /** Public: no credential needed (the token API). */
  open: boolean;
  pathParams: Param[];
  query: Param[];
  body?: JsonSchema;
}

export const routeOf = (op: Pick<Operation, 'method' | 'path'>) => `${op.method} ${op.path}`;

/** The query parameters of an operation as one object schema. */
export function querySchema(op: Operation): JsonSchema {
  return { type: 'object', properties: Object.fromEntries(op.query.map((p) => [p.name, p.schema])), required: op.query.filter((p) => p.required).map((p) => p.name) };
}

/** One value of an arbitrary, the same for the same seed. */
export function sampleOne<T>(arbitrary: fc.Arbitrary<T>, seed: number): T {
  return fc.sample(arbitrary, { numRuns: 1, seed })[0];
}

/** Every operation the running server documents at GET /openapi.json. */
export async function loadOperations(url: string): Promise<Operation[]> {
  const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, Record<string, any>>>;
    components?: { schemas?: Record<string, JsonSchema> };
  };
  const resolve = (schema: JsonSchema): JsonSchema => {
    if (schema?.$ref) return resolve(doc.components!.schemas![schema.$ref.split('/').pop()!]);
    if (!schema || typeof schema !== 'object') return schema;
    return Object.fromEntries(
      Object.entries(schema).map(([key, value]) => [
        key,
        Array.isArray(value) ? value.map((v) => (v && typeof v === 'object' ? resolve(v) : v)) : value && typeof value === 'object' ? resolve(value as JsonSchema) : value,
      ]),
    ) as JsonSchema;
  };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = ((op.parameters ?? []) as Array<{ in: string; name: string; required?: boolean; schema: JsonSchema }>).map((p) => ({
        in: p.in,
        name: p.name,
        required: p.required ?? false,
        schema: resolve(p.schema ?? {}),
      }));
      const body = op.requestBody?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        summary: op.summary ?? '',
        family: path.startsWith('/v3/{project_id}/keypairs') ? 'kps' : path.startsWith('/v3/') ? 'iam' : /^\/(v1\/)?instances\b/.test(path) ? 'koophone' : 'cph',
        open: Array.isArray(op.security) && op.security.length === 0,
        pathParams: params.filter((p) => p.in === 'path'),
        query: params.filter((p) => p.in === 'query'),
        body: body ? resolve(body) : undefined,
      });
    }
  }
  return operations;
}

// ---------------------------------------------------------------------------------------------------
// Values

/** Values seen in the server's own answers, by field name: ids, model names, image ids... */
export type Dictionary = Map<string, string[]>;

/** Walks a response body and records every string (and number) under its field name. */
export function harvest(dictionary: Dictionary, value: unknown, name = ''): void {
  if (Array.isArray(value)) {
    for (const item of value) harvest(dictionary, item, name);
  } else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) harvest(dictionary, inner, key);
  } else if ((typeof value === 'string' && value !== '') || typeof value === 'number') {
    const seen = dictionary.get(name) ?? [];
    if (!seen.includes(String(value)) && seen.length < 50) seen.push(String(value));
    dictionary.set(name, seen);
  }
}

/** A field the dictionary knows under this name, or under the name its list is known by (`phone_ids` → `phone_id`). */
export function known(dictionary: Dictionary, name: string): string[] {
  return dictionary.get(name) ?? dictionary.get(name.replace(/s$/, '')) ?? dictionary.get(name.replace(/_list$|List$/, '')) ?? [];
}

const types = (schema: JsonSchema): string[] => (Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []);

/** Values the schema accepts (as far as a schema can say: a name may still be unknown to the catalogue). */
export function valid(schema: JsonSchema, dictionary: Dictionary, name = ''): fc.Arbitrary<unknown> {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return fc.oneof(...branches.map((branch) => valid(branch, dictionary, name)));
  if (schema.allOf) return valid(Object.assign({}, ...schema.allOf), dictionary, name);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const type = types(schema)[0];
  switch (type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const model = Object.fromEntries(Object.entries(properties).map(([key, inner]) => [key, valid(inner, dictionary, key)]));
      return fc.record(model, { requiredKeys: (schema.required ?? []).filter((key) => key in properties) });
    }
    case 'array': {
      const minLength = schema.minItems ?? 0;
      return fc.array(valid(schema.items ?? {}, dictionary, name), { minLength, maxLength: Math.max(minLength, Math.min(schema.maxItems ?? 3, 3)) });
    }
    case 'string': {
      const seen = known(dictionary, name).filter((value) => fits(schema, value));
      const plain = fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 24, 24) });
      const generic = schema.pattern ? matching(schema, plain) : plain;
      return seen.length ? fc.oneof({ arbitrary: fc.constantFrom(...seen), weight: 3 }, { arbitrary: generic, weight: 1 }) : generic;
    }
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? -1000;
      const max = schema.maximum ?? Math.max(min + 1000, 1000);
      const seen = known(dictionary, name).map(Number).filter((value) => Number.isInteger(value) && value >= min && value <= max);
      const generic = fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) });
      return seen.length ? fc.oneof(fc.constantFrom(...seen), generic) : generic;
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Strings matching the schema's pattern; fast-check cannot generate from some patterns (lookaheads): any string then. */
function matching(schema: JsonSchema, fallback: fc.Arbitrary<string>): fc.Arbitrary<string> {
  try {
    return fc.stringMatching(new RegExp(schema.pattern!)).filter((value) => fits(schema, value));
  } catch {
    return fallback;
  }
}

function fits(schema: JsonSchema, value: string): boolean {
  return (
    value.length >= (schema.minLength ?? 0) &&
    value.length <= (schema.maxLength ?? Infinity) &&
    (!schema.pattern || new RegExp(schema.pattern).test(value))
  );
}

/** Strings that broke servers before: control characters, lone surrogates, injections, paths, huge ones. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '\u202e\u0041\u0042',
    '😀👍🏽🇨🇳',
    '\uFEFF',
    "'; DROP TABLE phones; --",
    '%',
    '%00',
    '%%32%65',
    '\\',
    '"',
    '../../../../etc/passwd',
    '${jndi:ldap://127.0.0.1/x}',
    '<script>alert(1)</script>',
    '__proto__',
    'constructor',
    'null',
    'true',
    '-1',
    '1e309',
    'NaN',
    '0x10',
    '   12   ',
    'ａｂｃ１２３',
    'İıſ',
  ),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.integer({ min: 1_000, max: 100_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 100, max: 5_000 }).map((n) => '\u4e2d\u{1F600}'.repeat(n)),
);

/** Numbers at and past the edges: negative, zero, fractions, past 32 and 53 bits. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(-1, 0, -0, 0.5, -2_147_483_649, 2_147_483_648, 4_294_967_296, 2 ** 53 + 2, -(2 ** 53) - 2, 1e21, -1e21, 1.7976931348623157e308, Number.MIN_VALUE),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, of any type. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  nastyNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A value of some other JSON type than the schema's. */
function wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
  const allowed = types(schema);
  return anyJson.filter((value) => {
    const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value;
    if (type === 'number') return !allowed.includes('number') && !(allowed.includes('integer') && Number.isInteger(value));
    return !allowed.includes(type);
  });
}

/** A value broken in one place, and how. */
export interface Broken {
  value: unknown;
  how: 'wrong type' | 'nasty string' | 'nasty number' | 'field missing' | 'extra fields' | 'empty list' | 'long list';
}

const labelled = (how: Broken['how'], values: fc.Arbitrary<unknown>) => values.map((value): Broken => ({ value, how }));

/**
 * A value that is valid except in one place: a field removed, fields added, a field of the wrong type,
 * a field set to a nasty string or number, a list empty or longer than any documented limit.
 */
export function broken(schema: JsonSchema, dictionary: Dictionary, name = ''): fc.Arbitrary<Broken> {
  const type = types(schema)[0];
  const here = fc.oneof(labelled('wrong type', wrongType(schema)), labelled('nasty string', nastyString), labelled('nasty number', nastyNumber));
  if (type === 'object' && schema.properties && Object.keys(schema.properties).length > 0) {
    const properties = schema.properties;
    const keys = Object.keys(properties);
    const base = valid(schema, dictionary, name) as fc.Arbitrary<Record<string, unknown>>;
    const variants: fc.Arbitrary<Broken>[] = [
      // One field broken in place.
      fc.tuple(base, fc.constantFrom(...keys)).chain(([value, key]) => broken(properties[key], dictionary, key).map((bad) => ({ value: { ...value, [key]: bad.value }, how: bad.how }))),
      // Extra fields, prototype names included (JSON.parse makes them own properties, as the server's parser does).
      labelled(
        'extra fields',
        fc
          .tuple(base, fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra'), fc.string({ maxLength: 12 })), anyJson, { minKeys: 1, maxKeys: 3 }))
          .map(([value, extra]) => Object.assign(JSON.parse(JSON.stringify(extra)), value)),
      ),
    ];
    if (schema.required?.length) {
      variants.push(labelled('field missing', fc.tuple(base, fc.constantFrom(...schema.required)).map(([value, key]) => Object.fromEntries(Object.entries(value).filter(([k]) => k !== key)))));
    }
    return fc.oneof({ arbitrary: fc.oneof(...variants), weight: 4 }, { arbitrary: here, weight: 1 });
  }
  if (type === 'array' && schema.items) {
    const items = schema.items;
    const variants: fc.Arbitrary<Broken>[] = [
      fc.array(broken(items, dictionary, name), { minLength: 1, maxLength: 3 }).map((list) => ({ value: list.map((item) => item.value), how: list[0].how })),
      labelled('empty list', fc.constant([])),
      labelled('long list', fc.integer({ min: 101, max: 2_000 }).chain((n) => valid(items, dictionary, name).map((item) => Array(n).fill(item)))),
    ];
    return fc.oneof({ arbitrary: fc.oneof(...variants), weight: 3 }, { arbitrary: here, weight: 1 });
  }
  return here;
}

// ---------------------------------------------------------------------------------------------------
// Requests

export interface WireRequest {
  method: string;
  /** Path and query, as sent. */
  target: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  /** The operation it was made for, and how it was made (for reports). */
  route: string;
  kind: string;
}

/** Text put into a URL as it is, not percent-encoded: broken escapes, invalid UTF-8, dot segments. */
export class Raw {
  constructor(readonly text: string) {}
}

export const rawUrlText = fc.constantFrom('%', '%zz', '%FF', '%ED%A0%80', '%C0%AF', '%00', '%2F', '..', '.', '%2e%2e', '+', '%20', '#', '?', '&', '=').map((text) => new Raw(text));

/** Percent-encodes a URL component; a lone surrogate is sent as the UTF-8 of U+FFFD, as a client's encoder would. */
function encode(value: unknown): string {
  if (value instanceof Raw) return value.text;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return encodeURIComponent(Buffer.from(text).toString());
}

/** Fills a path template: `{project_id}` and the other parameters, each value percent-encoded. */
export function fillPath(path: string, values: Record<string, unknown>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => encode(values[name] ?? ''));
}

export function queryString(values: Record<string, unknown>): string {
  const pairs = Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${encode(key)}=${encode(v)}`));
  return pairs.length ? `?${pairs.join('&')}` : '';
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  json?: any;
}

/** Sends over the process's keep-alive connection pool (fetch). A network error is an answer with status 0. */
export async function send(url: string, request: Pick<WireRequest, 'method' | 'target' | 'headers' | 'body'>): Promise<ApiAnswer> {
  try {
    const response = await fetch(`${url}${request.target}`, { method: request.method, headers: request.headers, body: request.body });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  } catch (error) {
    return { status: 0, headers: new Headers(), text: String((error as Error).cause ?? error) };
  }
}

/** Runs `work` over the items with at most `concurrency` at once, in order of the items. */
export async function pool<T, R>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index], index);
      }
    }),
  );
  return results;
}

export const tokenHeaders = (tenant: Tenant): Record<string, string> => ({ 'X-Auth-Token': tenant.token });

// ---------------------------------------------------------------------------------------------------
// Error envelopes

/**
 * The HTTP statuses each gateway code comes with. Huawei's gateway answers every request it cannot take with
 * APIGW.0201: bad request, a request too slow, body, URI or headers too large.
 */
const GATEWAY_STATUSES: Record<string, number[]> = {
  'APIGW.0101': [404],
  'APIGW.0201': [400, 408, 413, 414, 494],
  'APIGW.0301': [401],
  'APIGW.0308': [429],
};

const KOOPHONE_CODE = /^(KOOPHONE\.API\.\d{4,5}|KPAPI\.\d{4})$/;

/**
 * What is wrong with an error answer, or undefined when it is in its family's documented envelope:
 * CPH `{request_id, error_code, error_msg}` with a catalogued CPS code or a gateway APIGW code (at its
 * status); IAM the same with IAM or APIGW codes; KPS (key pairs) with KPS codes, or IAM ones for the
 * credential; KooPhone `{error_code, error_msg}` (`data`, `error_info`
 * allowed) with KOOPHONE.API codes, or APIGW ones from the gateway.
 */
export function envelopeProblem(family: Family, answer: ApiAnswer): string | undefined {
  const body = answer.json;
  if (!answer.headers.get('x-request-id')) return 'no X-Request-Id header';
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the body is not a JSON object';
  const code = body.error_code;
  if (typeof code !== 'string' || typeof body.error_msg !== 'string') return 'error_code or error_msg missing or not a string';
  const gateway = GATEWAY_STATUSES[code];
  if (gateway && !gateway.includes(answer.status)) return `${code} answered with HTTP ${answer.status}, documented ${gateway.join(' or ')}`;
  // The gateway's own refusals carry its request id; on KooPhone routes they may come in KooPhone's envelope.
  const allowedKeys = family === 'koophone' ? ['error_code', 'error_msg', 'data', 'error_info', ...(gateway ? ['request_id'] : [])] : ['request_id', 'error_code', 'error_msg'];
  const extra = Object.keys(body).filter((key) => !allowedKeys.includes(key));
  if (extra.length) return `unexpected fields ${extra.join(', ')}`;
  if (family !== 'koophone' && typeof body.request_id !== 'string') return 'no request_id';
  if (gateway) return undefined;
  if (family === 'cph' && !(code in CPS_CODES)) return `${code} is not a catalogued CPS code`;
  if (family === 'iam' && !(code in IAM_CODES)) return `${code} is not an IAM code`;
  if (family === 'kps' && !(code in KPS_CODES) && !(code in IAM_CODES)) return `${code} is not a KPS code`;
  if (family === 'koophone' && !KOOPHONE_CODE.test(code)) return `${code} is not a KooPhone code`;
  return undefined;
}

/** Whether the answer refuses the request: an HTTP error, or a KooPhone business error in an HTTP 200. */
export function isRefusal(family: Family, answer: ApiAnswer): boolean {
  if (answer.status >= 400) return true;
  return family === 'koophone' && typeof answer.json?.error_code === 'string' && answer.json.error_code !== '0';
}

/**
 * Whether a request may have written something: an accepted write. A batch answered 200 whose every
 * item was refused (no job_id) wrote nothing.
 */
export function mayHaveWritten(method: string, family: Family, answer: ApiAnswer): boolean {
  if (method === 'GET' || method === 'HEAD' || answer.status === 0 || isRefusal(family, answer)) return false;
  const jobs = answer.json?.jobs;
  if (Array.isArray(jobs) && Object.keys(answer.json).every((key) => ['request_id', 'jobs'].includes(key))) {
    return jobs.some((job: { job_id?: string }) => job.job_id);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Store snapshots

/** Every table of the store (migration bookkeeping aside), with whether it has a project_id column. */
async function tables(db: Db): Promise<Array<{ name: string; scoped: boolean }>> {
  const rows = await sql<{ table_name: string; scoped: boolean }>`
    SELECT t.table_name, EXISTS (
      SELECT 1 FROM information_schema.columns c
      WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.column_name = 'project_id') AS scoped
    FROM information_schema.tables t
    WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND t.table_name NOT LIKE 'kysely_%'
    ORDER BY t.table_name`.execute(db);
  return rows.rows.map((row) => ({ name: row.table_name, scoped: row.scoped }));
}

/**
 * A digest of every row of every table (or, with `projectId`, of the rows of that project in the tables
 * that have a project_id): equal digests mean nothing was written.
 */
export async function snapshot(db: Db, projectId?: string): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const table of await tables(db)) {
    if (projectId && !table.scoped) continue;
    const where = projectId ? sql`WHERE t.project_id = ${projectId}` : sql``;
    const row = await sql<{ count: string; digest: string | null }>`
      SELECT count(*)::text AS count, md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest
      FROM ${sql.table(table.name)} t ${where}`.execute(db);
    digest[table.name] = `${row.rows[0].count} rows, ${row.rows[0].digest ?? '-'}`;
  }
  return digest;
}

/** The tables whose digest differs. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((name) => before[name] !== after[name]);
}

/** Waits until no job is queued or running, so that what accepted requests started has ended. */
export async function settle(db: Db, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await sql<{ busy: string }>`SELECT count(*)::text AS busy FROM jobs WHERE state <> 'done'`.execute(db);
    if (row.rows[0].busy === '0') return;
    if (Date.now() > deadline) throw new Error(`${row.rows[0].busy} jobs still not done after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A short description of a request and its answer, for failure reports. */
export function describe(request: WireRequest, answer: ApiAnswer): string {
  const body = request.body === undefined ? '' : typeof request.body === 'string' ? request.body : `<${request.body.length} bytes>`;
  const shown = body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body;
  const target = request.target.length > 300 ? `${request.target.slice(0, 300)}… (${request.target.length} chars)` : request.target;
  return `${request.kind}: ${request.method} ${target} [content-type: ${request.headers['Content-Type'] ?? '-'}] ${shown} → ${answer.status} ${answer.text.slice(0, 300)}`;
}

/**
 * The values a tenant's own resources show: every list route (no path parameter but the project) is read,
 * then every detail route once with the first known id of each of its parameters.
 */
export async function harvestAll(url: string, tenant: Tenant, operations: Operation[], dictionary: Dictionary = new Map()): Promise<Dictionary> {
  const read = async (op: Operation, values: Record<string, string>) => {
    const headers = { ...tokenHeaders(tenant), ...(op.family === 'koophone' && { 'X-Request-Id': 'harvest' }) };
    // Only the parameters the operation requires (paging: the first and largest page), so that no filter hides anything.
    const query = Object.fromEntries(
      op.query
        .filter((p) => p.required)
        .map((p) => [p.name, /size|limit/i.test(p.name) ? (p.schema.maximum ?? 100) : p.schema.type === 'integer' ? (p.schema.minimum ?? 0) : sampleOne(valid(p.schema, dictionary, p.name), 1)]),
    );
    const target = fillPath(op.path, { project_id: tenant.projectId, ...values }) + queryString(query);
    const answer = await send(url, { method: 'GET', target, headers });
    if (answer.status === 200) harvest(dictionary, answer.json);
  };
  const gets = operations.filter((op) => op.method === 'GET');
  const lists = gets.filter((op) => op.pathParams.every((p) => p.name === 'project_id'));
  for (const op of lists) await read(op, {});
  for (const op of gets.filter((op) => !lists.includes(op))) {
    const values = Object.fromEntries(op.pathParams.filter((p) => p.name !== 'project_id').map((p) => [p.name, known(dictionary, p.name)[0]]));
    if (Object.values(values).every((value) => value !== undefined)) await read(op, values as Record<string, string>);
  }
  return dictionary;
}

// ---------------------------------------------------------------------------------------------------
// Resource ids

/** Field and parameter names that hold resource ids: `phone_id`, `server_ids`, `instanceId`, `instance_id_list`... */
export const ID_NAME = /(^id$|_id$|Id$|_ids$|Ids$|_id_list$|IdList$)/;

/** Where a body schema holds ids: a path of keys (`*` for any item of a list), and whether it holds a list of them. */
export interface IdSlot {
  path: string[];
  name: string;
  list: boolean;
}

export function idSlots(schema: JsonSchema | undefined, path: string[] = []): IdSlot[] {
  if (!schema || types(schema)[0] !== 'object' || !schema.properties) return [];
  return Object.entries(schema.properties).flatMap(([key, inner]) => {
    const type = types(inner)[0];
    if (type === 'string' && ID_NAME.test(key)) return [{ path: [...path, key], name: key, list: false }];
    if (type === 'array' && inner.items && types(inner.items)[0] === 'string' && ID_NAME.test(key)) return [{ path: [...path, key], name: key, list: true }];
    if (type === 'array' && inner.items) return idSlots(inner.items, [...path, key, '*']);
    if (type === 'object') return idSlots(inner, [...path, key]);
    return [];
  });
}

/** A copy of `body` with the slot set to `value` (a list of one when the slot holds a list); lists on the way keep one item. */
export function withId(body: unknown, slot: IdSlot, value: string): unknown {
  const copy = JSON.parse(JSON.stringify(body ?? {}));
  let node: any = copy;
  slot.path.forEach((key, index) => {
    const last = index === slot.path.length - 1;
    if (last) {
      node[key] = slot.list ? [value] : value;
    } else if (key === '*') {
      node.splice(1);
      if (node.length === 0 || typeof node[0] !== 'object' || node[0] === null) node[0] = {};
      node = node[0];
    } else {
      const wantList = slot.path[index + 1] === '*';
      if (wantList ? !Array.isArray(node[key]) : typeof node[key] !== 'object' || node[key] === null || Array.isArray(node[key])) node[key] = wantList ? [] : {};
      node = node[key];
    }
  });
  return copy;
}

/** An id of the same shape (length, character classes) that nothing has: what a missing id looks like. */
export function lookalike(value: string): string {
  const pick = (chars: string) => chars[Math.floor(Math.random() * chars.length)];
  for (;;) {
    const hex = /^[0-9a-f-]+$/.test(value);
    const made = value.replace(/[0-9a-zA-Z]/g, (c) =>
      /\d/.test(c) ? pick('0123456789') : hex ? pick('0123456789abcdef') : /[a-z]/.test(c) ? pick('abcdefghijklmnopqrstuvwxyz') : pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
    );
    if (made !== value) return made;
  }
}

/**
 * What a caller can tell from an answer: its status and, recursively, its body with ids, times and the
 * request id masked. Two answers with the same outcome are indistinguishable.
 */
export function outcome(answer: ApiAnswer, ids: string[]): string {
  const mask = (value: unknown, key = ''): unknown => {
    if (Array.isArray(value)) return value.map((item) => mask(item, key));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'request_id').map(([k, inner]) => [k, mask(inner, k)]));
    }
    if (typeof value !== 'string') return value;
    if (ID_NAME.test(key) || /^[0-9a-f]{32}$|^[0-9a-f-]{36}$/.test(value)) return '<id>';
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) return '<time>';
    return ids.reduce((text, id) => text.split(id).join('<id>'), value);
  };
  return `${answer.status} ${JSON.stringify(mask(answer.json ?? answer.text))}`;
}
