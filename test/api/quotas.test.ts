import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buyServers, call, purchaseBody, startTestServer, waitForJob, waitForJobs, type Target, type TestServer } from '../helpers/server.ts';
import { assertCpsError } from '../helpers/cps.ts';
import { assertKpError, createBody, createInstances } from '../helpers/koophone.ts';
import { addFault, admin, ADMIN_ENV } from '../helpers/admin.ts';
import { accountQuotas, addObjectBytes, removeObjectBytes, setAccountQuotas, type QuotaResource } from '../../src/core/quotas.ts';
import { DomainError } from '../../src/core/errors.ts';

/**
 * Per-account quotas (src/core/quotas.ts) as tenants meet them: every purchase path and every request that
 * queues jobs is refused past its account's limit with the documented code, and writes nothing; other
 * accounts go on as before. Each test has accounts of its own.
 */
let t: TestServer;

before(async () => {
  t = await startTestServer({ env: ADMIN_ENV });
});
after(() => t.close());

const SERVERS = '/v1/{project_id}/cloud-phone/servers';
const PHONES = '/v1/{project_id}/cloud-phone/phones';
/** purchaseBody's flavor holds 15 phones a server. */
const PHONES_PER_SERVER = 15;

/** A new account (its own user, project and token) with the given limits. */
async function account(name: string, limits: Partial<Record<QuotaResource, number>> = {}): Promise<Target> {
  const tenant = await t.createTenant(name);
  if (Object.keys(limits).length > 0) await setAccountQuotas(t.server.store.db, name, limits);
  return { url: t.url, tenant };
}

async function usage(target: Target) {
  const [quotas] = await accountQuotas(t.server.store.db, target.tenant.domainName);
  return Object.fromEntries(Object.entries(quotas).filter(([key]) => key !== 'account').map(([key, use]) => [key, (use as { used: number }).used]));
}

async function counts(target: Target) {
  // ListCloudPhoneServers has no count: every test account holds fewer than a page of servers.
  const servers = await call(target, 'GET', `${SERVERS}?limit=100`);
  const phones = await call(target, 'GET', `${PHONES}?limit=1`);
  return { servers: servers.body.servers.length as number, phones: phones.body.count as number };
}

/** The §3.5 example (20 phones a server). */
const v2Body = (overrides: Record<string, unknown> = {}) => ({
  server_name: 'quota-v2',
  server_model_name: 'physical.kg1.4xlarge.cp',
  phone_model_name: 'kg1.cp.c20.d64SSD.e1v1',
  image_id: '20060220200717f201120a2300000e91',
  count: 1,
  extend_param: { charging_mode: 0, period_type: 2, period_num: 1, is_auto_pay: 0 },
  tenant_vpc_id: 'fca063f6-b942-42a8-9004-e5545f58d6a2',
  nics: [{ subnet_id: 'f1cbfc37-eb42-4357-a0ec-9e4f11950908' }],
  public_ip: { eip: { type: '5_bgp' } },
  band_width: { band_width_share_type: 0, band_width_size: 300, band_width_charge_mode: 0 },
  ...overrides,
});

describe('server and phone quotas', () => {
  test('purchases up to the server quota are accepted; the next one (v1 or v2) is refused with CPS.0065 and writes nothing', async () => {
    const target = await account('servers-quota', { servers: 3 });
    for (const bought of [await call(target, 'POST', PHONES, { body: purchaseBody({ count: 2 }) }), await call(target, 'POST', '/v2/{project_id}/cloud-phone/servers', { body: v2Body() })]) {
      assert.equal(bought.status, 200, JSON.stringify(bought.body));
      // Their provisioning jobs end before the usage is read (jobs in flight count).
      await waitForJobs(target, (await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${bought.body.request_id}`)).body.jobs);
    }
    const before = await counts(target);
    assert.deepEqual(before, { servers: 3, phones: 2 * PHONES_PER_SERVER + 20 });

    const v1 = await call(target, 'POST', PHONES, { body: purchaseBody() });
    assertCpsError(v1, 400, 'CPS.0065', 'v1');
    assertCpsError(await call(target, 'POST', '/v2/{project_id}/cloud-phone/servers', { body: v2Body() }), 400, 'CPS.0065', 'v2');
    assert.deepEqual(await counts(target), before, 'nothing was bought');
    assertCpsError(await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${v1.body.request_id}`), 400, 'CPS.0050', 'no job was queued');
    assert.deepEqual(await usage(target), { servers: 3, phones: 50, instances: 0, jobs: 0, objectBytes: 0 });

    const other = await account('servers-quota-other');
    assert.equal((await call(other, 'POST', PHONES, { body: purchaseBody({ count: 4 }) })).status, 200, 'another account is not limited by this one');
  });

  test('a purchase that would pass the phone quota is refused with CPS.0196', async () => {
    const target = await account('phones-quota', { phones: 40 });
    assert.equal((await call(target, 'POST', PHONES, { body: purchaseBody({ count: 2 }) })).status, 200);
    assertCpsError(await call(target, 'POST', PHONES, { body: purchaseBody() }), 400, 'CPS.0196');
    assert.deepEqual(await counts(target), { servers: 2, phones: 30 });
  });

  test('deleted servers give their room back, and the kept usage matches what the account holds', async () => {
    const target = await account('deleting', { servers: 2 });
    const { serverIds } = await buyServers(target, { count: 2 });
    assertCpsError(await call(target, 'POST', PHONES, { body: purchaseBody() }), 400, 'CPS.0065');
    const deleted = await call(target, 'DELETE', '/v2/{project_id}/cloud-phone/servers', { body: { server_ids: [serverIds[0]] } });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal((await call(target, 'POST', PHONES, { body: purchaseBody() })).status, 200, 'room again after the deletion');
    const held = await counts(target);
    const used = await usage(target);
    assert.deepEqual({ servers: used.servers, phones: used.phones }, held);
  });

  test('20 purchases at once never take an account past its quota', async () => {
    const target = await account('concurrent', { servers: 5 });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(target, 'POST', PHONES, { body: purchaseBody({ server_name: `burst-${i}` }) })));
    const accepted = answers.filter((answer) => answer.status === 200);
    assert.equal(accepted.length, 5, JSON.stringify(answers.map((answer) => answer.body.error_code ?? 'ok')));
    for (const answer of answers.filter((a) => a.status !== 200)) assertCpsError(answer, 400, 'CPS.0065');
    assert.deepEqual(await counts(target), { servers: 5, phones: 5 * PHONES_PER_SERVER });
  });

  test('a server change to a flavor with more phones is refused past the phone quota', async () => {
    const target = await account('changing', { phones: 20 });
    const [serverId] = (await buyServers(target)).serverIds;
    const change = {
      phone_model_name: 'kg1.cp.c20.d64SSD.e1v1',
      image_id: '20060220200717f201120a2300000e91',
      tenant_vpc_id: 'fca063f6-b942-42a8-9004-e5545f58d6a2',
      nics: [{ subnet_id: 'f1cbfc37-eb42-4357-a0ec-9e4f11950908' }],
      public_ip: { eip: { type: '5_bgp' } },
      band_width: { band_width_share_type: 0, band_width_size: 300, band_width_charge_mode: 0 },
    };
    const path = `/v2/{project_id}/cloud-phone/servers/${serverId}/change`;
    await setAccountQuotas(t.server.store.db, 'changing', { phones: 19 });
    assertCpsError(await call(target, 'POST', path, { body: change }), 400, 'CPS.0196');
    assert.deepEqual(await counts(target), { servers: 1, phones: PHONES_PER_SERVER }, 'the old phones are still there');
    await setAccountQuotas(t.server.store.db, 'changing', { phones: 20 });
    assert.equal((await call(target, 'POST', path, { body: change })).status, 200);
    assert.equal((await usage(target)).phones, 20);
  });
});

describe('jobs quota', () => {
  test('queued and running jobs count: past the limit a request is refused with CPS.0196 and queues nothing', async () => {
    const target = await account('busy', { jobs: 20 });
    const { serverIds, phoneIds } = await buyServers(target);
    const rule = await addFault(t, { operation: 'shell', server_id: serverIds[0], mode: 'hang', times: 0 });
    const command = (ids: string[]) => call(target, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content: 'echo hi', phone_ids: ids } });
    try {
      assert.equal((await command(phoneIds)).status, 200);
      assert.equal((await command(phoneIds.slice(0, 5))).status, 200, '15 + 5 jobs: at the limit');
      assert.equal((await usage(target)).jobs, 20);

      const refused = await command(phoneIds.slice(0, 1));
      assertCpsError(refused, 400, 'CPS.0196');
      assertCpsError(await call(target, 'GET', `/v1/{project_id}/cloud-phone/jobs?request_id=${refused.body.request_id}`), 400, 'CPS.0050');
      const restart = await call(target, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: phoneIds[0] }] } });
      assertCpsError(restart, 400, 'CPS.0196', 'a restart');
      assert.equal((await call(target, 'GET', `${PHONES}/${phoneIds[0]}`)).body.status, 2, 'the phone was not touched');

      const other = await account('busy-other');
      const { phoneIds: theirs } = await buyServers(other);
      const elsewhere = await call(other, 'POST', `${PHONES}/commands`, { body: { command: 'shell', content: 'echo hi', phone_ids: theirs } });
      assert.equal(elsewhere.status, 200, 'another account queues as before');
    } finally {
      assert.equal((await admin(t, 'DELETE', `/admin/faults/${rule.id}`)).status, 204);
    }
    const deadline = Date.now() + 10_000;
    while ((await usage(target)).jobs > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await command(phoneIds.slice(0, 1))).status, 200, 'accepted again once the jobs ended');
  });
});

describe('KooPhone', () => {
  test('CreateInstance past the instance quota is 40010 and buys nothing; deleting gives the room back', async () => {
    const target = await account('instances-quota', { instances: 2 });
    const ids = await createInstances(target, { count: 2 });
    const phonesBefore = (await counts(target)).phones;
    assertKpError(await call(target, 'POST', '/v1/instances/create', { body: createBody({ count: 1 }) }), 200, 'KOOPHONE.API.40010');
    assert.equal((await counts(target)).phones, phonesBefore, 'no server was bought for it');
    assert.equal((await usage(target)).instances, 2);

    const deleted = await call(target, 'POST', '/v1/instances/delete', { body: { instanceIdList: [ids[0]] } });
    assert.equal(deleted.body.error_code, '0', JSON.stringify(deleted.body));
    assert.equal((await createInstances(target, { count: 1 })).length, 1);
    assert.equal((await usage(target)).instances, 2);
  });

  test('server and phone quotas stop CreateInstance with 40010 too, and work past the jobs quota with 429', async () => {
    const target = await account('koophone-phones', { phones: 15 });
    const [instance] = await createInstances(target, { count: 1 });
    // The SKU's flavor holds 15 phones: the spare ones take 14 more, one more needs a server.
    await createInstances(target, { count: 14 });
    assertKpError(await call(target, 'POST', '/v1/instances/create', { body: createBody({ count: 1 }) }), 200, 'KOOPHONE.API.40010');

    await setAccountQuotas(t.server.store.db, 'koophone-phones', { jobs: 0 });
    const reboot = await call(target, 'POST', '/v1/instances/reboot', { body: { instance_ids: [instance] } });
    assert.deepEqual([reboot.status, reboot.body.error_code], [429, 'APIGW.0308']);
    const command = await call(target, 'POST', '/v1/instances/async-command', { body: { instance_ids: [instance], command: 'echo hi' } });
    assert.deepEqual([command.status, command.body.error_code], [429, 'APIGW.0308']);
    assert.equal((await usage(target)).jobs, 0, 'nothing was queued');
  });
});

describe('object bytes', () => {
  // What the writers of an account's objects call (src/core/quotas.ts): exercised here on the store.
  test('bytes are added up to the limit and refused past it; removed bytes give room back; adds at once never pass it', async () => {
    const target = await account('objects', { objectBytes: 1000 });
    const db = t.server.store.db;
    const { id } = await db.selectFrom('domains').select('id').where('name', '=', 'objects').executeTakeFirstOrThrow();
    const refusedWith = (code: string) => (error: unknown) => error instanceof DomainError && error.code === code;
    await addObjectBytes(db, id, 600);
    await assert.rejects(addObjectBytes(db, id, 401), refusedWith('CPS.0196'));
    await assert.rejects(addObjectBytes(db, id, 401, 'koophone'), refusedWith('KOOPHONE.API.62016'));
    assert.equal((await usage(target)).objectBytes, 600);
    await removeObjectBytes(db, id, 600);
    const adds = await Promise.allSettled(Array.from({ length: 20 }, () => addObjectBytes(db, id, 100)));
    assert.equal(adds.filter((add) => add.status === 'fulfilled').length, 10);
    assert.equal((await usage(target)).objectBytes, 1000);
  });

  test('an export counts its tar; one past the quota fails CPS.0196 and stores nothing; a re-export replaces the old bytes', async () => {
    const target = await account('exports', { objectBytes: 1_000_000 });
    const [phoneId] = (await buyServers(target)).phoneIds;
    const exportTo = async (objectPath: string) => {
      const response = await call(target, 'POST', `${PHONES}/batch-storage`, {
        body: { storage_infos: [{ phone_id: phoneId, include_files: ['/data/local/tmp'], bucket_name: 'quota', object_path: objectPath }] },
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return waitForJob(target, response.body.jobs[0].job_id);
    };
    const sync = (content: string) => call(target, 'POST', `${PHONES}/sync-commands`, { body: { command: 'shell', content, phone_ids: [phoneId] } });
    assert.equal((await exportTo('small.tar')).status, 2);
    const small = (await usage(target)).objectBytes;
    assert.ok(small > 0 && small < 100_000, `a tar of an empty folder: ${small} bytes`);
    // The same tar again replaces the first: the account holds it once.
    assert.equal((await exportTo('small.tar')).status, 2);
    assert.equal((await usage(target)).objectBytes, small);
    // 1.5 MB of data cannot be stored under a 1 MB quota.
    const grow = 'cd /data/local/tmp && echo 0123456789abcde > a && cat a a a a a a a a > b && cat b b b b b b b b > a && cat a a a a a a a a > b && cat b b b b b b b b > a && cat a a a a a a a a > b && cat b b b > big && rm a b';
    assert.equal((await sync(grow)).body.jobs[0].status, 2);
    const refused = await exportTo('big.tar');
    assert.deepEqual([refused.status, refused.error_code], [-1, 'CPS.0196']);
    assert.equal((await usage(target)).objectBytes, small);
    const objects = await t.server.services.commandDeps.objects.forProject(target.tenant.projectId);
    assert.equal(await objects.stat('quota', 'big.tar'), undefined, 'nothing stored');
  });
});
