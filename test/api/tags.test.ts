// Server tags over HTTP, as Huawei's current SDK calls them: BatchCreateTags and BatchDeleteTags
// (`POST …/{resource_type}/{resource_id}/tags/action`), ListResourceTags, ListProjectTags and
// ListResourceInstances (`POST …/{resource_type}/resource_instances/action`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, startTestServer, waitForJob, type ApiResponse, type Target, type Tenant, type TestServer } from '../helpers/server.ts';
import { assertCpsError } from '../helpers/cps.ts';

const TYPE = '/v1/{project_id}/cph-server';
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';

let t: TestServer;
let other: Tenant;
const asOther = (): Target => ({ url: t.url, tenant: other });
/** Two servers bought together (names `pool-0001`, `pool-0002`), and one bought alone. */
let pool: string[];
let single: string;
let theirs: string;

before(async () => {
  t = await startTestServer();
  other = await t.createTenant('tenant-b');
  pool = (await buyServers(t, { server_name: 'pool', count: 2 })).serverIds;
  [single] = (await buyServers(t, { server_name: 'single' })).serverIds;
  [theirs] = (await buyServers(asOther(), { server_name: 'theirs' })).serverIds;
});
after(() => t.close());

const tagAction = (serverId: string, body: unknown, target: Target = t, type = 'cph-server') =>
  call(target, 'POST', `/v1/{project_id}/${type}/${serverId}/tags/action`, { body });
const create = (serverId: string, tags: unknown, target: Target = t) => tagAction(serverId, { action: 'create', tags }, target);
const remove = (serverId: string, tags: unknown, target: Target = t) => tagAction(serverId, { action: 'delete', tags }, target);

async function tagsOf(serverId: string, target: Target = t) {
  const response = await call(target, 'GET', `${TYPE}/${serverId}/tags`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.tags as Array<{ key: string; value: string }>;
}

async function assertNoContent(response: ApiResponse) {
  assert.equal(response.status, 204, JSON.stringify(response.body));
  assert.equal(response.body, undefined);
  assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
}

async function setTags(serverId: string, tags: Array<{ key: string; value: string }>, target: Target = t) {
  const current = await tagsOf(serverId, target);
  if (current.length) await assertNoContent(await remove(serverId, current.map(({ key }) => ({ key })), target));
  if (tags.length) await assertNoContent(await create(serverId, tags, target));
}

const filter = (body: unknown, target: Target = t) => call(target, 'POST', `${TYPE}/resource_instances/action`, { body });
const ids = (response: ApiResponse) => (response.body.resources as Array<{ resource_id: string }>).map((r) => r.resource_id);

describe('BatchCreateTags, ListResourceTags, BatchDeleteTags', () => {
  test('create answers 204 without a body; the tags are listed by key; creating again is idempotent and a known key takes the new value', async () => {
    const [server] = pool;
    await setTags(server, []);
    await assertNoContent(await create(server, [{ key: 'env', value: 'prod' }, { key: '环境', value: '生产 A' }, { key: 'team.a:b=c+d-e@f_g', value: 'x' }]));
    assert.deepEqual(await tagsOf(server), [
      { key: 'env', value: 'prod' },
      { key: 'team.a:b=c+d-e@f_g', value: 'x' },
      { key: '环境', value: '生产 A' },
    ]);
    const listed = await call(t, 'GET', `${TYPE}/${server}/tags`);
    assert.deepEqual(Object.keys(listed.body).sort(), ['request_id', 'tags']);

    await assertNoContent(await create(server, [{ key: 'env', value: 'prod' }]));
    await assertNoContent(await create(server, [{ key: 'env', value: 'test' }]));
    assert.deepEqual((await tagsOf(server)).find((tag) => tag.key === 'env'), { key: 'env', value: 'test' });
    assert.equal((await tagsOf(server)).length, 3);
  });

  test('the SDK\'s AK/SK-signed requests are served too', async () => {
    const [server] = pool;
    await setTags(server, []);
    await assertNoContent(await call(t, 'POST', `${TYPE}/${server}/tags/action`, { sign: t.tenant, body: { action: 'create', tags: [{ key: 'signed', value: 'yes' }] } }));
    const listed = await call(t, 'GET', `${TYPE}/${server}/tags`, { sign: t.tenant });
    assert.deepEqual(listed.body.tags, [{ key: 'signed', value: 'yes' }]);
  });

  test('delete removes by key, or by key and value only when the value matches; a tag that is not there is no error', async () => {
    const [server] = pool;
    await setTags(server, [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'c', value: '3' }]);
    await assertNoContent(await remove(server, [{ key: 'a' }, { key: 'b', value: 'other' }, { key: 'missing', value: 'x' }]));
    assert.deepEqual(await tagsOf(server), [{ key: 'b', value: '2' }, { key: 'c', value: '3' }]);
    // The Go SDK always sends `value`; an empty one deletes by key.
    await assertNoContent(await remove(server, [{ key: 'b', value: '2' }, { key: 'c', value: '' }]));
    assert.deepEqual(await tagsOf(server), []);
  });

  test('a resource type other than cph-server is CPS.0300, a malformed id CPS.0301', async () => {
    for (const path of [`/v1/{project_id}/cph-phone/${single}/tags`, '/v1/{project_id}/cloud-phone/tags']) {
      assertCpsError(await call(t, 'GET', path), 400, 'CPS.0300', path);
    }
    assertCpsError(await tagAction(single, { action: 'create', tags: [{ key: 'k', value: 'v' }] }, t, 'ecs'), 400, 'CPS.0300');
    assertCpsError(await create('not-a-server-id', [{ key: 'k', value: 'v' }]), 400, 'CPS.0301');
    assertCpsError(await call(t, 'GET', `${TYPE}/${single.toUpperCase()}/tags`), 400, 'CPS.0301');
  });

  test('an unknown server, or another project\'s, is 404 CPS.0302 for every tag operation and its tags stay untouched', async () => {
    await setTags(theirs, [{ key: 'owner', value: 'b' }], asOther());
    for (const id of [UNKNOWN_ID, theirs]) {
      assertCpsError(await create(id, [{ key: 'k', value: 'v' }]), 404, 'CPS.0302', `create ${id}`);
      assertCpsError(await remove(id, [{ key: 'owner' }]), 404, 'CPS.0302', `delete ${id}`);
      assertCpsError(await call(t, 'GET', `${TYPE}/${id}/tags`), 404, 'CPS.0302', `list ${id}`);
    }
    assert.deepEqual(await tagsOf(theirs, asOther()), [{ key: 'owner', value: 'b' }]);
  });

  test('invalid tags are refused with their code and change nothing', async () => {
    const server = pool[1];
    await setTags(server, [{ key: 'keep', value: 'me' }]);
    const cases: Array<[unknown, string]> = [
      [{ action: 'create', tags: [] }, 'CPS.0303'],
      [{ action: 'create', tags: 'env=prod' }, 'CPS.0303'],
      [{ action: 'create' }, 'CPS.0303'],
      [{ action: 'update', tags: [{ key: 'k', value: 'v' }] }, 'CPS.0303'],
      [{ action: 'create', tags: [{ key: 'dup', value: '1' }, { key: 'dup', value: '2' }] }, 'CPS.0303'],
      [{ action: 'create', tags: ['k'] }, 'CPS.0303'],
      [{ action: 'create', tags: [{ key: '', value: 'v' }] }, 'CPS.0304'],
      [{ action: 'create', tags: [{ value: 'v' }] }, 'CPS.0304'],
      [{ action: 'create', tags: [{ key: 'k'.repeat(128), value: 'v' }] }, 'CPS.0304'],
      [{ action: 'create', tags: [{ key: ' lead', value: 'v' }] }, 'CPS.0304'],
      [{ action: 'create', tags: [{ key: 'a/b', value: 'v' }] }, 'CPS.0304'],
      [{ action: 'create', tags: [{ key: '_sys_enterprise_project_id', value: '0' }] }, 'CPS.0306'],
      [{ action: 'create', tags: [{ key: 'k' }] }, 'CPS.0305'],
      [{ action: 'create', tags: [{ key: 'k', value: '' }] }, 'CPS.0305'],
      [{ action: 'create', tags: [{ key: 'k', value: 'trailing ' }] }, 'CPS.0305'],
      [{ action: 'create', tags: [{ key: 'k', value: 'v'.repeat(256) }] }, 'CPS.0305'],
      [{ action: 'create', tags: [{ key: 'k', value: 'a*b' }] }, 'CPS.0305'],
      [{ action: 'delete', tags: [] }, 'CPS.0303'],
      [{ action: 'delete', tags: [{ key: 'a|b' }] }, 'CPS.0304'],
    ];
    for (const [body, code] of cases) assertCpsError(await tagAction(server, body), 400, code, JSON.stringify(body).slice(0, 80));
    assert.deepEqual(await tagsOf(server), [{ key: 'keep', value: 'me' }]);
    // The longest key and value allowed, counted in characters.
    await assertNoContent(await create(server, [{ key: '键'.repeat(127), value: '值'.repeat(255) }]));
  });

  test('a server holds at most 20 tags (CPS.0307); a refused request adds none of its tags', async () => {
    const server = pool[1];
    const nineteen = Array.from({ length: 19 }, (_, i) => ({ key: `k${String(i).padStart(2, '0')}`, value: 'v' }));
    await setTags(server, nineteen);
    assertCpsError(await create(server, [{ key: 'x1', value: 'v' }, { key: 'x2', value: 'v' }]), 400, 'CPS.0307');
    assert.equal((await tagsOf(server)).length, 19);
    await assertNoContent(await create(server, [{ key: 'x1', value: 'v' }, { key: 'k00', value: 'changed' }]));
    assert.equal((await tagsOf(server)).length, 20);
    assertCpsError(await create(server, [{ key: 'x2', value: 'v' }]), 400, 'CPS.0307');
    // Changing the value of a key it already has is still allowed at the limit.
    await assertNoContent(await create(server, [{ key: 'x1', value: 'w' }]));
    assertCpsError(await create(single, Array.from({ length: 21 }, (_, i) => ({ key: `n${i}`, value: 'v' }))), 400, 'CPS.0307');
  });
});

describe('ListProjectTags', () => {
  test('every key of the project\'s servers with its distinct values; other projects\' tags are not there', async () => {
    await setTags(pool[0], [{ key: 'env', value: 'prod' }, { key: 'team', value: 'a' }]);
    await setTags(pool[1], [{ key: 'env', value: 'test' }]);
    await setTags(single, [{ key: 'env', value: 'prod' }]);
    await setTags(theirs, [{ key: 'secret', value: 'b' }], asOther());
    const response = await call(t, 'GET', `${TYPE}/tags`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body, {
      request_id: response.body.request_id,
      tags: [{ key: 'env', values: ['prod', 'test'] }, { key: 'team', values: ['a'] }],
      total_count: 2,
    });
    const page = await call(t, 'GET', `${TYPE}/tags?offset=1&limit=1`);
    assert.deepEqual([page.body.tags, page.body.total_count], [[{ key: 'team', values: ['a'] }], 2]);
    assert.deepEqual((await call(asOther(), 'GET', `${TYPE}/tags`)).body.tags, [{ key: 'secret', values: ['b'] }]);
  });

  test('a bad resource type is CPS.0300, bad paging CPS.0002', async () => {
    assertCpsError(await call(t, 'GET', '/v1/{project_id}/cph-phone/tags'), 400, 'CPS.0300');
    for (const query of ['?limit=0', '?limit=101', '?offset=-1', '?limit=x']) assertCpsError(await call(t, 'GET', `${TYPE}/tags${query}`), 400, 'CPS.0002', query);
  });
});

describe('ListResourceInstances', () => {
  before(async () => {
    await setTags(pool[0], [{ key: 'env', value: 'prod' }, { key: 'team', value: 'a' }]);
    await setTags(pool[1], [{ key: 'env', value: 'test' }]);
    await setTags(single, []);
    await setTags(theirs, [{ key: 'env', value: 'prod' }], asOther());
  });

  test('filter: the project\'s servers with every key asked for and one of its values, newest first, with their tags', async () => {
    const response = await filter({ action: 'filter', tags: [{ key: 'env', values: ['prod', 'test'] }] });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body, {
      request_id: response.body.request_id,
      resources: [
        { resource_id: pool[1], resource_detail: '', resource_name: 'pool-0002', tags: [{ key: 'env', value: 'test' }] },
        { resource_id: pool[0], resource_detail: '', resource_name: 'pool-0001', tags: [{ key: 'env', value: 'prod' }, { key: 'team', value: 'a' }] },
      ],
      total_count: 2,
    });
    assert.deepEqual(ids(await filter({ action: 'filter', tags: [{ key: 'env', values: ['prod'] }] })), [pool[0]]);
    assert.deepEqual(ids(await filter({ action: 'filter', tags: [{ key: 'env', values: [] }, { key: 'team', values: [] }] })), [pool[0]], 'keys combine with AND; no values is any value');
    assert.deepEqual(ids(await filter({ action: 'filter', tags: [{ key: 'nope', values: [] }] })), []);
    assert.deepEqual(ids(await filter({ action: 'filter' })), [single, pool[1], pool[0]], 'no condition: every server of the project');
    assert.deepEqual(ids(await filter({ action: 'filter', without_any_tag: true })), [single]);
    assert.deepEqual(ids(await filter({ action: 'filter', matches: [{ key: 'resource_name', value: 'pool-0002' }] })), [pool[1]]);
    assert.deepEqual(ids(await filter({ action: 'filter', matches: [{ key: 'resource_name', value: 'pool' }] })), [], 'names match exactly');
    assert.deepEqual(ids(await filter({ action: 'filter', tags: [{ key: 'env', values: ['prod'] }] }, asOther())), [theirs]);
  });

  test('offset and limit page the servers, as the SDK\'s strings or as numbers; count answers only the total', async () => {
    assert.deepEqual(ids(await filter({ action: 'filter', offset: '1', limit: '1' })), [pool[1]]);
    const page = await filter({ action: 'filter', offset: 2, limit: 5 });
    assert.deepEqual([ids(page), page.body.total_count], [[pool[0]], 3]);
    const count = await filter({ action: 'count', tags: [{ key: 'env', values: [] }] });
    assert.equal(count.status, 200, JSON.stringify(count.body));
    assert.deepEqual(count.body, { request_id: count.body.request_id, total_count: 2 });
  });

  test('invalid conditions are refused with their code', async () => {
    const tenKeys = Array.from({ length: 11 }, (_, i) => ({ key: `k${i}`, values: [] }));
    const cases: Array<[unknown, string]> = [
      [{ action: 'list' }, 'CPS.0303'],
      [{}, 'CPS.0303'],
      [{ action: 'filter', limit: '0' }, 'CPS.0002'],
      [{ action: 'filter', limit: '1001' }, 'CPS.0002'],
      [{ action: 'filter', limit: 'ten' }, 'CPS.0002'],
      [{ action: 'filter', offset: '-1' }, 'CPS.0002'],
      [{ action: 'filter', tags: 'env' }, 'CPS.0303'],
      [{ action: 'filter', tags: [{ key: 'env', values: [] }, { key: 'env', values: [] }] }, 'CPS.0303'],
      [{ action: 'filter', tags: tenKeys }, 'CPS.0309'],
      [{ action: 'filter', tags: [{ key: 'a/b', values: [] }] }, 'CPS.0304'],
      [{ action: 'filter', tags: [{ key: 'env', values: Array.from({ length: 11 }, (_, i) => `v${i}`) }] }, 'CPS.0310'],
      [{ action: 'filter', tags: [{ key: 'env', values: ['x', 'x'] }] }, 'CPS.0315'],
      [{ action: 'filter', tags: [{ key: 'env', values: [''] }] }, 'CPS.0315'],
      [{ action: 'filter', tags: [{ key: 'env', values: 'prod' }] }, 'CPS.0315'],
      [{ action: 'filter', matches: { key: 'resource_name', value: 'x' } }, 'CPS.0311'],
      [{ action: 'filter', matches: ['x'] }, 'CPS.0312'],
      [{ action: 'filter', matches: [{ key: 'resource_id', value: 'x' }] }, 'CPS.0313'],
      [{ action: 'filter', matches: [{ key: 'resource_name', value: { name: 'x' } }] }, 'CPS.0314'],
      [{ action: 'filter', matches: [{ key: 'resource_name', value: 'x'.repeat(256) }] }, 'CPS.0314'],
    ];
    for (const [body, code] of cases) assertCpsError(await filter(body), 400, code, JSON.stringify(body).slice(0, 80));
    assertCpsError(await call(t, 'POST', '/v1/{project_id}/cph-phone/resource_instances/action', { body: { action: 'count' } }), 400, 'CPS.0300');
  });
});

test('deleting a server deletes its tags', async () => {
  const [doomed] = (await buyServers(t, { server_name: 'doomed' })).serverIds;
  await setTags(doomed, [{ key: 'doomed-only', value: 'yes' }]);
  assert.ok((await call(t, 'GET', `${TYPE}/tags`)).body.tags.some((tag: { key: string }) => tag.key === 'doomed-only'));
  const deleted = await call(t, 'DELETE', '/v2/{project_id}/cloud-phone/servers', { body: { server_ids: [doomed] } });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  await waitForJob(t, deleted.body.job_id);
  assert.ok(!(await call(t, 'GET', `${TYPE}/tags`)).body.tags.some((tag: { key: string }) => tag.key === 'doomed-only'));
  assertCpsError(await call(t, 'GET', `${TYPE}/${doomed}/tags`), 404, 'CPS.0302');
  assert.ok(!ids(await filter({ action: 'filter' })).includes(doomed));
});
