// Custom images over HTTP: OpenCPH's CreateImage (`POST …/cloud-phone/images`, a phone's image), Huawei's
// ListImages, DeleteImage, AddImageMember, UpdateImageMember, ListImageMembers and DeleteImageMember, custom
// images in ListCloudPhoneImages, and custom images as the image of ResetCloudPhone, RestartCloudPhone,
// purchases and ChangeCloudPhoneServer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, getToken, phoneDetail, phoneStatus, purchaseBody, serverDetail, startTestServer, waitForJob, type ApiResponse, type Target, type Tenant, type TestServer } from '../helpers/server.ts';
import { ADMIN_ENV, addFault } from '../helpers/admin.ts';
import { assertCpsError, phoneError } from '../helpers/cps.ts';

const IMAGES = '/v1/{project_id}/cloud-phone/images';
const PHONE_IMAGES = '/v1/{project_id}/cloud-phone/phone-images';
const PHONES = '/v1/{project_id}/cloud-phone/phones';
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const HEX32 = /^[0-9a-f]{32}$/;
const WIRE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** The image of purchaseBody(): AOSP 7.0 for cloud_phone flavors. */
const BASE = { id: '88b8449b896f3a4f0ad57222dd919899', os_name: 'AOSP7.0.0', version: 'AOSP 7.0', fingerprint: 'Huawei/monbox/HWSTF:7.0/NRD90M/20190815:user/release-keys' };

let t: TestServer;
/** B is shared with; C never is. */
let b: Tenant;
let c: Tenant;
const as = (tenant: Tenant): Target => ({ url: t.url, tenant });
let phonesA: string[];
let phonesB: string[];
let phonesC: string[];

before(async () => {
  t = await startTestServer({ env: ADMIN_ENV });
  b = await t.createTenant('tenant-b');
  c = await t.createTenant('tenant-c');
  phonesA = (await buyServers(t)).phoneIds;
  phonesB = (await buyServers(as(b))).phoneIds;
  phonesC = (await buyServers(as(c))).phoneIds;
});
after(() => t.close());

function assertRequestIdOnly(response: ApiResponse) {
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(response.body, { request_id: response.headers.get('x-request-id') });
}

async function createImage(phoneId: string, name: string, target: Target = t): Promise<string> {
  const response = await call(target, 'POST', IMAGES, { body: { phone_id: phoneId, image_name: name } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['image_id', 'request_id']);
  assert.match(response.body.image_id, HEX32);
  return response.body.image_id;
}

async function listImages(query = '', target: Target = t) {
  const response = await call(target, 'GET', `${IMAGES}${query}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { request_id: string; image_infos: Array<Record<string, any>>; total: number };
}

async function phoneImages(query = '', target: Target = t) {
  const response = await call(target, 'GET', `${PHONE_IMAGES}${query}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.phone_images as Array<Record<string, any>>;
}

const addMember = (imageId: string, member: unknown, target: Target = t) => call(target, 'POST', `${IMAGES}/${imageId}/members`, { body: { member } });
/** UpdateImageMember, sent by the member. */
const answer = (imageId: string, status: unknown, target: Target = t) => call(target, 'PUT', `${IMAGES}/${imageId}/members`, { body: { status } });

/** ResetCloudPhone (or RestartCloudPhone) of one phone onto an image: the response, and the finished job when there is one. */
async function onImage(action: 'batch-reset' | 'batch-restart', phoneId: string, imageId: string, target: Target = t) {
  const response = await call(target, 'POST', `${PHONES}/${action}`, { body: { phones: [{ phone_id: phoneId }], image_id: imageId } });
  const entry = response.body.jobs?.[0];
  return { response, entry, job: entry?.job_id ? await waitForJob(target, entry.job_id) : undefined };
}

const imageOf = async (phoneId: string, target: Target = t) => (await phoneDetail(target, phoneId)).image_id;

/** Output of an async shell command on one phone (its job's execute_msg). */
async function shell(phoneId: string, content: string, target: Target = t) {
  const response = await call(target, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content, phone_ids: [phoneId] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return waitForJob(target, response.body.jobs[0].job_id);
}

describe('CreateImage (OpenCPH)', () => {
  test('an image of a phone is listed at once as the project\'s private, usable image', async () => {
    const before = (await listImages()).total;
    const imageId = await createImage(phonesA[0], 'golden-1.0');
    const listed = await listImages(`?image_id=${imageId}`);
    const domain = (await call(t, 'GET', '/v3/auth/projects', { headers: { 'X-Auth-Token': t.tenant.token } })).body.projects[0].domain_id;
    assert.equal(listed.total, 1);
    const [info] = listed.image_infos;
    assert.deepEqual({ ...info, create_time: '', update_time: '' }, {
      domain_id: domain,
      image_name: 'golden-1.0',
      update_time: '',
      create_time: '',
      image_size: 0,
      project_id: t.tenant.projectId,
      image_id: imageId,
      image_version: BASE.version,
      image_type: 'private',
      status: 1,
    });
    assert.match(info.create_time, WIRE_TIME);
    assert.match(info.update_time, WIRE_TIME);
    assert.equal((await listImages()).total, before + 1);
  });

  test('invalid phone ids and names are refused; another project\'s phone is not found; nothing is made', async () => {
    const before = (await listImages()).total;
    const cases: Array<[unknown, string]> = [
      [{ phone_id: 'x', image_name: 'n' }, 'CPS.0004'],
      [{ image_name: 'n' }, 'CPS.0004'],
      [{ phone_id: UNKNOWN_ID, image_name: 'n' }, 'CPS.0005'],
      [{ phone_id: phonesB[0], image_name: 'n' }, 'CPS.0005'],
      [{ phone_id: phonesA[0] }, 'CPS.0162'],
      [{ phone_id: phonesA[0], image_name: '' }, 'CPS.0162'],
      [{ phone_id: phonesA[0], image_name: 'with space' }, 'CPS.0162'],
      [{ phone_id: phonesA[0], image_name: 'n'.repeat(129) }, 'CPS.0162'],
    ];
    for (const [body, code] of cases) assertCpsError(await call(t, 'POST', IMAGES, { body }), 400, code, JSON.stringify(body));
    assert.equal((await listImages()).total, before);
  });

  test('a phone that is neither running nor stopped is refused with CPS.0165; a stopped one is fine', async () => {
    const phoneId = phonesA[14];
    await addFault(t, { operation: 'restart', phone_id: phoneId, mode: 'fail', times: 1 });
    const restarted = await call(t, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: phoneId }] } });
    await waitForJob(t, restarted.body.jobs[0].job_id);
    assert.equal(await phoneStatus(t, phoneId), -6);
    assertCpsError(await call(t, 'POST', IMAGES, { body: { phone_id: phoneId, image_name: 'broken' } }), 400, 'CPS.0165');

    const stopped = await call(t, 'POST', `${PHONES}/batch-stop`, { body: { phone_ids: [phonesA[13]] } });
    await waitForJob(t, stopped.body.jobs[0].job_id);
    await createImage(phonesA[13], 'from-stopped');
  });
});

describe('ListImages', () => {
  let first: string;
  let second: string;
  before(async () => {
    first = await createImage(phonesA[1], 'list-alpha');
    second = await createImage(phonesA[1], 'list-beta');
  });

  test('newest first, with the total; paging, name, id, status and time filters', async () => {
    const all = await listImages('?image_name=list-');
    assert.deepEqual(all.image_infos.map((i) => i.image_id), [second, first]);
    assert.equal(all.total, 2);
    const page = await listImages('?image_name=list-&offset=1&limit=1');
    assert.deepEqual([page.image_infos.map((i) => i.image_id), page.total], [[first], 2]);
    assert.deepEqual((await listImages('?image_name=beta')).image_infos.map((i) => i.image_id), [second]);
    assert.deepEqual((await listImages(`?image_id=${first}&image_type=private`)).image_infos.map((i) => i.image_id), [first]);
    assert.equal((await listImages('?image_name=list-&status=0')).total, 0);
    assert.equal((await listImages('?image_name=list-&status=1')).total, 2);
    assert.equal((await listImages('?image_name=list-&image_type=public')).total, 0);
    // Terraform sends Unix seconds; milliseconds are understood too.
    const now = Date.now();
    assert.equal((await listImages(`?image_name=list-&create_since=${Math.floor(now / 1000) - 600}`)).total, 2);
    assert.equal((await listImages(`?image_name=list-&create_since=${now + 600_000}`)).total, 0);
    assert.equal((await listImages(`?image_name=list-&create_until=${Math.floor(now / 1000) - 600}`)).total, 0);
    assert.equal((await listImages(`?image_name=list-&src_project_id=${t.tenant.projectId}`)).total, 2);
  });

  test('bad filters are refused with their code', async () => {
    const cases: Array<[string, string]> = [
      ['?limit=0', 'CPS.0002'],
      ['?limit=101', 'CPS.0002'],
      ['?offset=-1', 'CPS.0002'],
      ['?image_type=mine', 'CPS.0116'],
      ['?status=3', 'CPS.0010'],
      ['?image_id=' + 'a'.repeat(33), 'CPS.0030'],
      ['?create_since=yesterday', 'CPS.0174'],
      ['?create_until=-5', 'CPS.0174'],
      ['?create_until=1.7976931348623135e%2B308', 'CPS.0174'],
      ['?create_since=' + Date.UTC(22986, 10, 11), 'CPS.0174'],
      ['?src_project_id=' + 'a'.repeat(33), 'CPS.0046'],
    ];
    for (const [query, code] of cases) assertCpsError(await call(t, 'GET', `${IMAGES}${query}`), 400, code, query);
  });

  test('another project sees none of them', async () => {
    const theirs = await listImages('', as(c));
    assert.deepEqual([theirs.image_infos, theirs.total], [[], 0]);
    assert.equal((await listImages(`?image_id=${first}`, as(c))).total, 0);
  });
});

describe('sharing with members', () => {
  let shared: string;
  before(async () => {
    shared = await createImage(phonesA[2], 'shared-image');
  });

  test('AddImageMember shares the image (again: no change); ListImageMembers lists the projects with epoch-millisecond times', async () => {
    const started = Date.now();
    assertRequestIdOnly(await addMember(shared, b.projectId));
    assertRequestIdOnly(await addMember(shared, b.projectId));
    const response = await call(t, 'GET', `${IMAGES}/${shared}/members`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.request_id, response.headers.get('x-request-id'));
    const [member, ...rest] = response.body.members;
    assert.deepEqual(rest, []);
    assert.deepEqual({ ...member, create_time: 0, update_time: 0 }, { create_time: 0, update_time: 0, image_id: shared, member_id: b.projectId });
    assert.ok(Number.isInteger(member.create_time) && member.create_time >= started - 1000 && member.create_time <= Date.now(), String(member.create_time));
    assert.equal(member.update_time, member.create_time);
  });

  test('a member that accepted it sees the image as shared, beside the public images, and may reset and restart its phones onto it', async () => {
    assertRequestIdOnly(await answer(shared, 'accepted', as(b)));
    const seen = await listImages('', as(b));
    assert.equal(seen.total, 1);
    const [info] = seen.image_infos;
    assert.equal(info.image_id, shared);
    assert.equal(info.image_type, 'share');
    assert.equal(info.src_project_id, t.tenant.projectId);
    assert.equal(info.member_status, 'accepted');
    assert.ok(!('project_id' in info), 'project_id belongs to private images only');
    assert.equal((await listImages('?image_type=private', as(b))).total, 0);
    assert.equal((await listImages(`?image_type=share&src_project_id=${t.tenant.projectId}`, as(b))).total, 1);
    assert.equal((await listImages(`?src_project_id=${c.projectId}`, as(b))).total, 0);

    const images = await phoneImages('', as(b));
    assert.deepEqual(images.find((i) => i.image_id === shared), { image_name: 'shared-image', os_type: 'aosp', os_name: BASE.os_name, image_id: shared, is_public: 2, image_label: 'cloud_phone' });
    assert.deepEqual((await phoneImages('?image_type=share', as(b))).map((i) => i.image_id), [shared]);
    assert.deepEqual((await phoneImages('?is_public=2', as(b))).map((i) => i.image_id), [shared]);
    assert.ok(!(await phoneImages('?image_type=public', as(b))).some((i) => i.image_id === shared));
    assert.ok(!(await phoneImages('?image_type=private', as(b))).some((i) => i.image_id === shared));

    const reset = await onImage('batch-reset', phonesB[0], shared, as(b));
    assert.equal(reset.job?.status, 2, JSON.stringify(reset.response.body));
    assert.equal(await imageOf(phonesB[0], as(b)), shared);
    // The phone boots the base image's system.
    assert.equal((await shell(phonesB[0], 'getprop ro.build.fingerprint', as(b))).execute_msg.trim(), BASE.fingerprint);
    const restart = await onImage('batch-restart', phonesB[1], shared, as(b));
    assert.equal(restart.job?.status, 2, JSON.stringify(restart.response.body));
    assert.equal(await imageOf(phonesB[1], as(b)), shared);
  });

  test('a project it is not shared with cannot see, use or manage it: as if it did not exist', async () => {
    assert.ok(!(await phoneImages('', as(c))).some((i) => i.image_id === shared));
    assertCpsError((await onImage('batch-reset', phonesC[0], shared, as(c))).response, 400, 'CPS.0166');
    assertCpsError((await onImage('batch-restart', phonesC[0], UNKNOWN_ID, as(c))).response, 400, 'CPS.0166');
    assert.equal(await imageOf(phonesC[0], as(c)), BASE.id);
    for (const target of [as(b), as(c)]) {
      assertCpsError(await addMember(shared, c.projectId, target), 404, 'CPS.0166', 'add member');
      assertCpsError(await call(target, 'GET', `${IMAGES}/${shared}/members`), 404, 'CPS.0166', 'list members');
      assertCpsError(await call(target, 'DELETE', `${IMAGES}/${shared}/members/${b.projectId}`), 404, 'CPS.0166', 'delete member');
      assertCpsError(await call(target, 'DELETE', `${IMAGES}/${shared}`), 404, 'CPS.0166', 'delete image');
    }
    assert.equal((await listImages(`?image_id=${shared}`)).total, 1, 'the owner still has it');
  });

  test('AddImageMember refuses malformed, unknown and own project ids with CPS.0046, unknown images with 404 CPS.0166', async () => {
    for (const member of ['abc', UNKNOWN_ID, t.tenant.projectId, '', 42]) {
      assertCpsError(await addMember(shared, member), 400, 'CPS.0046', String(member));
    }
    assertCpsError(await call(t, 'POST', `${IMAGES}/${shared}/members`, { body: {} }), 400, 'CPS.0046', 'no member');
    assertCpsError(await addMember(UNKNOWN_ID, b.projectId), 404, 'CPS.0166');
    assertCpsError(await call(t, 'GET', `${IMAGES}/${UNKNOWN_ID}/members`), 404, 'CPS.0166');
    assert.deepEqual((await call(t, 'GET', `${IMAGES}/${shared}/members`)).body.members.map((m: { member_id: string }) => m.member_id), [b.projectId]);
  });

  test('DeleteImageMember: the project no longer sees or chooses it, its phones already on it keep running it', async () => {
    assertCpsError(await call(t, 'DELETE', `${IMAGES}/${shared}/members/${c.projectId}`), 404, 'CPS.0046', 'not a member');
    assertRequestIdOnly(await call(t, 'DELETE', `${IMAGES}/${shared}/members/${b.projectId}`));
    assert.deepEqual((await call(t, 'GET', `${IMAGES}/${shared}/members`)).body.members, []);
    assert.equal((await listImages('', as(b))).total, 0);
    assert.ok(!(await phoneImages('', as(b))).some((i) => i.image_id === shared));
    assertCpsError((await onImage('batch-reset', phonesB[2], shared, as(b))).response, 400, 'CPS.0166');
    const restarted = await call(as(b), 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: phonesB[0] }] } });
    assert.equal((await waitForJob(as(b), restarted.body.jobs[0].job_id)).status, 2);
    assert.equal(await imageOf(phonesB[0], as(b)), shared);
    assertCpsError(await call(t, 'DELETE', `${IMAGES}/${shared}/members/${b.projectId}`), 404, 'CPS.0046', 'removed twice');
  });
});

describe('UpdateImageMember', () => {
  const V2_SERVERS = '/v2/{project_id}/cloud-phone/servers';
  /** A v2 network set-up (seed 003's example values). */
  const V2_NETWORK = {
    tenant_vpc_id: 'fca063f6-b942-42a8-9004-e5545f58d6a2',
    nics: [{ subnet_id: 'f1cbfc37-eb42-4357-a0ec-9e4f11950908' }],
    public_ip: { eip: { type: '5_bgp' } },
    band_width: { band_width_share_type: 0, band_width_size: 10, band_width_charge_mode: 1 },
  };
  /** ChangeCloudPhoneServer onto `imageId`, on a phone flavor the image's base runs on. */
  const changeBody = (imageId: string) => ({ ...V2_NETWORK, phone_model_name: 'rx1.cp.c15.d46.e1v1', image_id: imageId });
  /** Shared with B, which answers it test after test. */
  let image: string;
  before(async () => {
    image = await createImage(phonesA[11], 'to-answer');
    assertRequestIdOnly(await addMember(image, b.projectId));
  });

  const memberStatus = async (imageId: string, target: Target) => (await listImages(`?image_id=${imageId}`, target)).image_infos[0]?.member_status;
  /** Whether ListCloudPhoneImages offers the image, with image_type all (the default) and share alike. */
  async function offered(imageId: string, target: Target): Promise<boolean> {
    const all = (await phoneImages('', target)).some((i) => i.image_id === imageId);
    const share = (await phoneImages('?image_type=share', target)).some((i) => i.image_id === imageId);
    assert.equal(all, share, 'image_type all and share agree');
    return all;
  }

  /** A v2 purchase whose jobs all succeed: its server ids. */
  async function buyV2(target: Target, overrides: Record<string, unknown>): Promise<string[]> {
    const bought = await call(target, 'POST', V2_SERVERS, { body: purchaseBody({ ...V2_NETWORK, ...overrides }) });
    assert.equal(bought.status, 200, JSON.stringify(bought.body));
    const jobs = await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${bought.body.request_id}`);
    for (const job of jobs.body.jobs) assert.equal((await waitForJob(target, job.job_id)).status, 2);
    return bought.body.server_ids;
  }

  /** What a refused request must leave unchanged: B's servers, its phone count, and the phone `phoneId`. */
  async function snapshot(phoneId: string) {
    const [servers, phones, phone] = await Promise.all([call(as(b), 'GET', '/v1/{project_id}/cloud-phone/servers?limit=100'), call(as(b), 'GET', `${PHONES}?limit=1`), phoneDetail(as(b), phoneId)]);
    return { servers: servers.body.servers.map((s: { server_id: string }) => s.server_id), phones: phones.body.count, phone: [phone.status, phone.image_id] };
  }

  /** B tries every operation that puts `image` on phones: each answers as for an image it does not know, and nothing changes. */
  async function assertUnusable(context: string) {
    const phoneId = phonesB[3];
    const before = await snapshot(phoneId);
    assertCpsError((await onImage('batch-reset', phoneId, image, as(b))).response, 400, 'CPS.0166', `${context}: reset`);
    assertCpsError((await onImage('batch-restart', phoneId, image, as(b))).response, 400, 'CPS.0166', `${context}: restart`);
    assertCpsError(await call(as(b), 'POST', PHONES, { body: purchaseBody({ image_id: image }) }), 400, 'CPS.0030', `${context}: v1 purchase`);
    assertCpsError(await call(as(b), 'POST', V2_SERVERS, { body: purchaseBody({ ...V2_NETWORK, image_id: image }) }), 400, 'CPS.0030', `${context}: v2 purchase`);
    const serverId = (await phoneDetail(as(b), phoneId)).server_id;
    assertCpsError(await call(as(b), 'POST', `/v2/{project_id}/cloud-phone/servers/${serverId}/change`, { body: changeBody(image) }), 400, 'CPS.0030', `${context}: change`);
    assert.deepEqual(await snapshot(phoneId), before, `${context}: nothing was written`);
  }

  test('a new share is pending: the member lists it as such but cannot use it (ListCloudPhoneImages leaves it out; purchases, ChangeCloudPhoneServer, reset and restart refuse it as an unknown image)', async () => {
    const [info] = (await listImages(`?image_id=${image}&image_type=share`, as(b))).image_infos;
    assert.deepEqual([info.image_type, info.src_project_id, info.member_status, info.status], ['share', t.tenant.projectId, 'pending', 1]);
    assert.equal(await offered(image, as(b)), false);
    await assertUnusable('pending');
    const [member] = (await call(t, 'GET', `${IMAGES}/${image}/members`)).body.members;
    assert.equal(member.update_time, member.create_time, 'not answered yet');
  });

  test('accepted by a project of another account: listed as accepted and offered; reset, restart, v1 and v2 purchases and ChangeCloudPhoneServer take it; the owner sees the answer\'s time', async () => {
    const started = Date.now();
    assertRequestIdOnly(await answer(image, 'accepted', as(b)));
    assert.equal(await memberStatus(image, as(b)), 'accepted');
    assert.equal(await offered(image, as(b)), true);
    const [member] = (await call(t, 'GET', `${IMAGES}/${image}/members`)).body.members;
    assert.deepEqual(Object.keys(member).sort(), ['create_time', 'image_id', 'member_id', 'update_time'], 'ListImageMembersView has no status field');
    assert.ok(member.create_time < started && member.update_time >= started, JSON.stringify(member));

    assert.equal((await onImage('batch-reset', phonesB[4], image, as(b))).job?.status, 2);
    assert.equal(await imageOf(phonesB[4], as(b)), image);
    assert.equal((await onImage('batch-restart', phonesB[5], image, as(b))).job?.status, 2);
    assert.equal(await imageOf(phonesB[5], as(b)), image);
    const v1 = await buyServers(as(b), { server_name: 'accepted-v1', image_id: image });
    assert.equal(await imageOf(v1.phoneIds[0], as(b)), image);
    const [v2] = await buyV2(as(b), { server_name: 'accepted-v2', image_id: image });
    assert.equal((await serverDetail(as(b), v2)).status, 5);
    const changed = await call(as(b), 'POST', `/v2/{project_id}/cloud-phone/servers/${v2}/change`, { body: changeBody(image) });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await waitForJob(as(b), changed.body.job_id)).status, 2);
    const phones = (await call(as(b), 'GET', `${PHONES}?server_id=${v2}`)).body.phones;
    assert.ok(phones.length > 0 && phones.every((p: { image_id: string }) => p.image_id === image));
  });

  test('rejected: listed as rejected and refused like a pending share; its phones already on it keep running it; accepted again, usable again; the same answer twice changes nothing', async () => {
    assertRequestIdOnly(await answer(image, 'rejected', as(b)));
    assertRequestIdOnly(await answer(image, 'rejected', as(b)));
    assert.equal(await memberStatus(image, as(b)), 'rejected');
    assert.equal(await offered(image, as(b)), false);
    await assertUnusable('rejected');
    const restarted = await call(as(b), 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: phonesB[4] }] } });
    assert.equal((await waitForJob(as(b), restarted.body.jobs[0].job_id)).status, 2);
    assert.equal(await imageOf(phonesB[4], as(b)), image);

    // As the SDKs send it: signed with an access key, their content type.
    const signed = await call(as(b), 'PUT', `${IMAGES}/${image}/members`, { body: { status: 'accepted' }, sign: b, headers: { 'Content-Type': 'application/json;charset=UTF-8' } });
    assertRequestIdOnly(signed);
    assertRequestIdOnly(await answer(image, 'accepted', as(b)));
    assert.equal(await memberStatus(image, as(b)), 'accepted');
    assert.equal(await offered(image, as(b)), true);
    assert.equal((await onImage('batch-reset', phonesB[6], image, as(b))).job?.status, 2);
  });

  test('AddImageMember again keeps the answer; removed and shared again, the member must accept anew', async () => {
    assertRequestIdOnly(await addMember(image, b.projectId));
    assert.equal(await memberStatus(image, as(b)), 'accepted');
    assertRequestIdOnly(await call(t, 'DELETE', `${IMAGES}/${image}/members/${b.projectId}`));
    assertRequestIdOnly(await addMember(image, b.projectId));
    assert.equal(await memberStatus(image, as(b)), 'pending');
    assert.equal(await offered(image, as(b)), false);
    assertCpsError((await onImage('batch-reset', phonesB[7], image, as(b))).response, 400, 'CPS.0166');
    assertRequestIdOnly(await answer(image, 'accepted', as(b)));
    assert.equal((await onImage('batch-reset', phonesB[7], image, as(b))).job?.status, 2);
  });

  test('a bad status is CPS.0010; an unknown, malformed, public, deleted or unshared image is 404 CPS.0166; the owner is CPS.0046; another project\'s path is 403 CPS.0001; none changes an answer', async () => {
    assertRequestIdOnly(await answer(image, 'rejected', as(b)));
    const bodies: unknown[] = [{ status: 'pending' }, { status: 'ACCEPTED' }, { status: 'accept' }, { status: '' }, { status: 1 }, { status: null }, { status: ['accepted'] }, {}, 'accepted', []];
    for (const body of bodies) assertCpsError(await call(as(b), 'PUT', `${IMAGES}/${image}/members`, { body }), 400, 'CPS.0010', JSON.stringify(body));

    for (const id of [UNKNOWN_ID, 'abc', BASE.id]) assertCpsError(await answer(id, 'accepted', as(b)), 404, 'CPS.0166', id);
    const deleted = await createImage(phonesA[11], 'deleted-share');
    assertRequestIdOnly(await addMember(deleted, b.projectId));
    assertRequestIdOnly(await call(t, 'DELETE', `${IMAGES}/${deleted}`));
    assertCpsError(await answer(deleted, 'accepted', as(b)), 404, 'CPS.0166', 'deleted');
    // C was never a member: the image does not exist for it, and answering does not make it one.
    assertCpsError(await answer(image, 'accepted', as(c)), 404, 'CPS.0166', 'not a member');
    assert.equal((await listImages(`?image_id=${image}`, as(c))).total, 0);
    assertCpsError(await answer(image, 'accepted'), 400, 'CPS.0046', 'the owner');
    assert.equal((await listImages(`?image_id=${image}`)).image_infos[0].image_type, 'private');
    for (const projectId of [t.tenant.projectId, c.projectId]) {
      const response = await call(as(b), 'PUT', `/v1/${projectId}/cloud-phone/images/${image}/members`, { body: { status: 'accepted' } });
      assert.deepEqual([response.status, response.body.error_code], [403, 'CPS.0001'], projectId);
    }
    assert.equal(await memberStatus(image, as(b)), 'rejected');
    assert.deepEqual((await call(t, 'GET', `${IMAGES}/${image}/members`)).body.members.map((m: { member_id: string }) => m.member_id), [b.projectId]);
  });

  test('a project of the owner\'s own account must accept too before it buys with the image', async () => {
    const { iam } = t.server.services;
    const a = t.tenant;
    const project = await iam.createProject(a.domainName, 'sibling');
    const key = await iam.createAccessKey(a.domainName, a.userName, project.name);
    const sibling: Target = { url: t.url, tenant: { ...a, projectId: project.id, projectName: project.name, ...key, token: await getToken(t.url, a.domainName, a.userName, a.password, project.name) } };
    assertRequestIdOnly(await addMember(image, project.id));
    assert.equal(await memberStatus(image, sibling), 'pending');
    assertCpsError(await call(sibling, 'POST', PHONES, { body: purchaseBody({ image_id: image }) }), 400, 'CPS.0030');
    assertRequestIdOnly(await answer(image, 'accepted', sibling));
    const bought = await buyServers(sibling, { server_name: 'sibling', image_id: image });
    assert.equal(await imageOf(bought.phoneIds[0], sibling), image);
  });
});

describe('using custom images', () => {
  test('the owner resets a phone onto its image: a fresh phone of the base system, data of the source phone not included', async () => {
    assert.equal((await shell(phonesA[3], 'touch /sdcard/marker && ls /sdcard/marker')).status, 2);
    const imageId = await createImage(phonesA[3], 'with-marker');
    const { job } = await onImage('batch-reset', phonesA[4], imageId);
    assert.equal(job?.status, 2);
    assert.equal(await imageOf(phonesA[4]), imageId);
    const listed = await call(t, 'GET', `/v1/{project_id}/cloud-phone/phones?server_id=${(await phoneDetail(t, phonesA[4])).server_id}`);
    assert.equal(listed.body.phones.find((p: { phone_id: string }) => p.phone_id === phonesA[4]).image_version, BASE.version, 'the list shows the base image\'s version');
    const listing = await shell(phonesA[4], 'ls /sdcard/marker');
    assert.equal(listing.status, -1, 'the file is not on the new phone');
    // An image of a phone running a custom image has the same base.
    const again = await createImage(phonesA[4], 'second-generation');
    assert.equal((await listImages(`?image_id=${again}`)).image_infos[0].image_version, BASE.version);
    assert.equal((await onImage('batch-reset', phonesA[5], again)).job?.status, 2);
    assert.equal((await shell(phonesA[5], 'getprop ro.build.fingerprint')).execute_msg.trim(), BASE.fingerprint);
  });

  test('a custom image runs only on flavors its base image runs on (per-phone CPS.0255)', async () => {
    const imageId = await createImage(phonesA[6], 'phone-only');
    const game = await buyServers(t, { server_name: 'game', server_model_name: 'physical.rx1.xlarge.cg', phone_model_name: 'rx1.cg.c15.d30.e1v1', image_id: '20032420200401a60b0003a99684b8ea' });
    const { response } = await onImage('batch-reset', game.phoneIds[0], imageId);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.jobs, [phoneError(game.phoneIds[0], 'CPS.0255')]);
  });

  // Purchases check their image in ServerService.validateSetup, which is synchronous: it takes a custom image
  // once it looks the image up with usableImage() (asynchronous), as ResetCloudPhone does.
  test('a purchase may name the project\'s custom image or one shared with it, not another project\'s', async () => {
    const imageId = await createImage(phonesA[7], 'for-purchase');
    const bought = await buyServers(t, { server_name: 'from-custom', image_id: imageId });
    const server = await serverDetail(t, bought.serverIds[0]);
    assert.equal(server.status, 5);
    assert.equal(await imageOf(bought.phoneIds[0]), imageId);
    assert.equal(await phoneStatus(t, bought.phoneIds[0]), 2);

    assertCpsError(await call(as(c), 'POST', PHONES, { body: purchaseBody({ image_id: imageId }) }), 400, 'CPS.0030', 'not shared');
    assertRequestIdOnly(await addMember(imageId, c.projectId));
    assertRequestIdOnly(await answer(imageId, 'accepted', as(c)));
    const theirs = await buyServers(as(c), { server_name: 'shared-purchase', image_id: imageId });
    assert.equal(await imageOf(theirs.phoneIds[0], as(c)), imageId);
  });
});

describe('DeleteImage', () => {
  test('the image leaves every list and can no longer be chosen; phones on it keep running it; deleting again is 404', async () => {
    const imageId = await createImage(phonesA[8], 'doomed');
    assertRequestIdOnly(await addMember(imageId, b.projectId));
    assert.equal((await onImage('batch-reset', phonesA[9], imageId)).job?.status, 2);

    assertRequestIdOnly(await call(t, 'DELETE', `${IMAGES}/${imageId}`));
    assert.equal((await listImages(`?image_id=${imageId}`)).total, 0);
    assert.equal((await listImages(`?image_id=${imageId}`, as(b))).total, 0);
    assert.ok(!(await phoneImages()).some((i) => i.image_id === imageId));
    assertCpsError((await onImage('batch-reset', phonesA[10], imageId)).response, 400, 'CPS.0166');
    assertCpsError(await call(t, 'GET', `${IMAGES}/${imageId}/members`), 404, 'CPS.0166');

    const restarted = await call(t, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: phonesA[9] }] } });
    assert.equal((await waitForJob(t, restarted.body.jobs[0].job_id)).status, 2);
    assert.equal(await imageOf(phonesA[9]), imageId);

    assertCpsError(await call(t, 'DELETE', `${IMAGES}/${imageId}`), 404, 'CPS.0166', 'deleted twice');
    assertCpsError(await call(t, 'DELETE', `${IMAGES}/${UNKNOWN_ID}`), 404, 'CPS.0166', 'unknown');
    assertCpsError(await call(t, 'DELETE', `${IMAGES}/${BASE.id}`), 404, 'CPS.0166', 'a public image');
  });
});
