// R6, noisy neighbour: every attack of issue 13, one after another, by tenant A with its own credentials,
// while tenant B lists its phones (and calls /health) every 20 ms and restarts its phones one after another.
// Each of B's answers must come within 2 s (the goal is a p99 of 250 ms; docs/reliability.md has what was
// measured), each of B's restarts must succeed, and each attack must end the way the documents say.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { APK_BOMBS } from '../helpers/hostile-apk.ts';
import { fanOutBomb, recursionBomb, REGEX_BOMBS, regexBombCommand } from '../helpers/hostile-shell.ts';
import { manyFiles, writeTar } from '../helpers/hostile-tar.ts';
import { loopbackUrls } from '../helpers/hostile-urls.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { createBody, createInstances, installApp } from '../helpers/koophone.ts';
import { underAttack, type NeighbourReport } from '../helpers/neighbour.ts';
import { buyServers, call, purchaseBody, putObject, startTestServer, waitForJob, type Target, type TestServer } from '../helpers/server.ts';

const PHONES = '/v1/{project_id}/cloud-phone/phones';
/** Long jobs (50,000 files, a command's time limit) on a loaded machine. */
const JOB_WAIT_MS = 300_000;
/** Asynchronous commands end after this (OPENCPH_COMMAND_TIMEOUT_SECONDS), so the fan-out bomb ends in the test's time. */
const COMMAND_TIMEOUT_SECONDS = 5;

let t: TestServer;
let attacker: Target;
let victim: Target;
let attackerPhones: string[];
let victimPhones: string[];
let instanceId: string;
const figures: Array<{ attack: string } & NeighbourReport> = [];

before(async () => {
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0', OPENCPH_COMMAND_TIMEOUT_SECONDS: String(COMMAND_TIMEOUT_SECONDS) } });
  attacker = t;
  victim = { url: t.url, tenant: await t.createTenant('victim') };
  attackerPhones = (await buyServers(attacker)).phoneIds;
  victimPhones = (await buyServers(victim)).phoneIds;
  [instanceId] = await createInstances(attacker, { instanceNamePrefix: 'attacker' });
});

after(async () => {
  console.log('# R6 noisy neighbour: attack | neighbour calls | p50 | p99 | max (ms) | event loop delay p99 | max (ms)');
  for (const f of figures) {
    console.log(`# R6 | ${f.attack} | ${f.calls} | ${f.p50.toFixed(0)} | ${f.p99.toFixed(0)} | ${f.max.toFixed(0)} | ${f.loopDelayP99.toFixed(0)} | ${f.loopDelayMax.toFixed(0)}`);
  }
  await t?.close();
});

/**
 * Runs `attack` as tenant A while B is served (underAttack: every answer within 2 s) and restarts its phones,
 * one every 300 ms, each of which must succeed; records B's latencies under the attack's name.
 */
async function whileNeighbourWorks<T>(ctx: TestContext, name: string, attack: () => Promise<T>): Promise<T> {
  const restarts: string[] = [];
  let attacking = true;
  const { result, report } = await underAttack(ctx, victim, async () => {
    const work = (async () => {
      for (let i = 0; attacking; i++) {
        const response = await call(victim, 'POST', `${PHONES}/batch-restart`, { body: { phones: [{ phone_id: victimPhones[i % victimPhones.length] }] } });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        if (response.body.jobs[0].job_id) restarts.push(response.body.jobs[0].job_id);
        await sleep(300);
      }
    })();
    try {
      return await attack();
    } finally {
      attacking = false;
      await work;
    }
  });
  assert.ok(restarts.length > 0, 'the neighbour restarted phones meanwhile');
  for (const jobId of restarts) assert.equal((await waitForJob(victim, jobId, JOB_WAIT_MS)).status, 2, `the neighbour's restart ${jobId}`);
  figures.push({ attack: name, ...report });
  return result;
}

/** Puts a file in A's bucket; its obs:// URL. */
const putAttackObject = (key: string, data: Buffer | ((file: string) => Promise<unknown>)) => putObject(t, attacker.tenant, 'attack', key, data);

/** An asynchronous command on A's phones; every job once finished. */
async function commandJobs(command: string, content: string, phoneIds = attackerPhones) {
  const response = await call(attacker, 'POST', `${PHONES}/commands`, { body: { command, content, phone_ids: phoneIds } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return Promise.all(response.body.jobs.map((job: { job_id: string }) => waitForJob(attacker, job.job_id, JOB_WAIT_MS)));
}

test('APK bombs through CPH install and KooPhone InstallApp end as invalid APKs', { timeout: 600_000 }, async (ctx) => {
  const urls = await Promise.all(Object.values(APK_BOMBS).map(async (make, i) => putAttackObject(`apk/${i}.apk`, await make())));
  await whileNeighbourWorks(ctx, 'APK bombs (22, CPH install on 15 phones each, and KooPhone InstallApp)', async () => {
    // One bomb at a time on every phone (15 jobs followed at once: the test's client stays under the
    // server's connections per address).
    for (const url of urls) {
      for (const job of await commandJobs('install', url)) assert.deepEqual([job.status, job.error_code], [-1, 'CPS.0191'], JSON.stringify(job));
    }
    const [job] = await installApp(attacker, urls[0], [instanceId], {}, JOB_WAIT_MS);
    assert.deepEqual([job.status, job.error_code], [-1, 'KOOPHONE.API.62019']);
  });
});

test('regex bombs, synchronous and asynchronous, answer at once', { timeout: 600_000 }, async (ctx) => {
  await whileNeighbourWorks(ctx, `regex bombs (${REGEX_BOMBS.length} patterns, sync and async on 15 phones)`, async () => {
    for (const bomb of REGEX_BOMBS) {
      const command = regexBombCommand(bomb);
      const sync = await call(attacker, 'POST', `${PHONES}/sync-commands`, { body: { command: 'shell', content: command, phone_ids: attackerPhones } });
      assert.equal(sync.status, 200, JSON.stringify(sync.body));
      for (const job of sync.body.jobs) assert.deepEqual([job.status, job.execute_msg], [2, '1\n'], JSON.stringify(job));
      for (const job of await commandJobs('shell', command)) assert.deepEqual([job.status, job.execute_msg], [2, '1\n']);
    }
  });
});

test('recursion and fan-out bombs end failed within the command time limit', { timeout: 600_000 }, async (ctx) => {
  await whileNeighbourWorks(ctx, 'recursion and fan-out shell bombs (async, 15 phones each)', async () => {
    const [recursion, fanOut] = await Promise.all([commandJobs('shell', recursionBomb()), commandJobs('shell', fanOutBomb())]);
    for (const job of recursion) assert.deepEqual([job.status, job.error_code], [-1, 'CPS.0191'], JSON.stringify(job));
    for (const job of fanOut) assert.deepEqual([job.status, job.error_code], [-1, 'CPS.0054'], JSON.stringify(job));
  });
});

test('a push of 50,000 files is unpacked while the neighbour is served', { timeout: 600_000 }, async (ctx) => {
  const url = await putAttackObject('many-files.tar', (file) => writeTar(file, manyFiles(50_000)));
  await whileNeighbourWorks(ctx, 'push of 50,000 one-byte files', async () => {
    const [job] = await commandJobs('push', url, [attackerPhones[0]]);
    assert.equal(job.status, 2, JSON.stringify(job));
  });
});

test('InstallApp of internal URLs is refused with one message for every target', { timeout: 600_000 }, async (ctx) => {
  const port = Number(new URL(t.url).port);
  const urls = loopbackUrls(port, '/admin/faults');
  await whileNeighbourWorks(ctx, `InstallApp of ${urls.length} loopback URLs`, async () => {
    const messages = new Set<string>();
    for (const url of urls) {
      const [job] = await installApp(attacker, url, [instanceId], {}, JOB_WAIT_MS);
      assert.equal(job.error_code, 'KOOPHONE.API.62017', `${url}: ${JSON.stringify(job)}`);
      messages.add(`${job.error_msg} | ${job.execute_msg}`);
    }
    assert.equal(messages.size, 1, [...messages].join('\n'));
  });
});

test('24 bodies of 12 MB to the token API are refused before they are read', { timeout: 600_000 }, async (ctx) => {
  const body = Buffer.from(`[${'[],'.repeat(4 * 1024 * 1024 - 1)}[]]`);
  const port = Number(new URL(t.url).port);
  await whileNeighbourWorks(ctx, '24 × 12 MB bodies to POST /v3/auth/tokens', async () => {
    const answers = await Promise.all(
      Array.from({ length: 24 }, () => rawRequest({ port, method: 'POST', path: '/v3/auth/tokens', headers: { 'Content-Type': 'application/json' }, body, timeoutMs: 30_000 })),
    );
    for (const answer of answers) {
      assert.deepEqual([answer.status, answer.body.error_code], [413, 'APIGW.0201']);
      assert.ok(answer.bodyBytesSent < body.length, 'answered before the whole body was sent');
    }
  });
});

test('200 password guesses lock the account for the guesser; the right password is then refused too', { timeout: 600_000 }, async (ctx) => {
  const login = (password: string) =>
    fetch(`${t.url}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        auth: { identity: { methods: ['password'], password: { user: { name: attacker.tenant.userName, password, domain: { name: attacker.tenant.domainName } } } }, scope: { project: { name: attacker.tenant.projectName } } },
      }),
    }).then(async (response) => ({ status: response.status, body: await response.json() }));
  await whileNeighbourWorks(ctx, '200 password guesses, 20 at a time', async () => {
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => login(`guess-${round}-${i}`)));
      for (const answer of answers) assert.ok([401, 429].includes(answer.status), JSON.stringify(answer));
    }
  });
  const right = await login(attacker.tenant.password);
  assert.equal(right.status, 401);
  assert.match(right.body.error_msg, /locked/);
});

test('2,000 idle connections from one address do not lock other clients out', { timeout: 600_000 }, async (ctx) => {
  const port = Number(new URL(t.url).port);
  const sockets: Socket[] = [];
  try {
    await whileNeighbourWorks(ctx, '2,000 idle connections from one address', async () => {
      for (let i = 0; i < 2000; i++) {
        const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        socket.on('error', () => {});
        sockets.push(socket);
        if (i % 100 === 99) await sleep(10);
      }
      await sleep(1000);
    });
    // The server holds at most its per-address limit of them. The others' closes may still be on their way,
    // and on a loaded machine some handshakes only complete after SYN retries (seconds later), to be closed then.
    const open = () => sockets.filter((socket) => !socket.destroyed && socket.readyState === 'open').length;
    const connecting = () => sockets.filter((socket) => !socket.destroyed && socket.readyState === 'opening').length;
    for (const deadline = Date.now() + 30_000; (open() > 256 || connecting() > 0) && Date.now() < deadline; ) await sleep(100);
    assert.ok(open() <= 256, `${open()} connections still open`);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

test('a burst of purchases for 3,150 phones stops at the phone quota', { timeout: 600_000 }, async (ctx) => {
  await whileNeighbourWorks(ctx, '21 purchases of 150 phones at once', async () => {
    const answers = await Promise.all(Array.from({ length: 21 }, (_, i) => call(attacker, 'POST', PHONES, { body: purchaseBody({ server_name: `burst-${i}`, count: 10 }) })));
    assert.ok(answers.some((answer) => answer.status === 400 && answer.body.error_code === 'CPS.0196'), 'some purchases were refused');
    const held = await call(attacker, 'GET', `${PHONES}?limit=1`);
    assert.ok(held.body.count <= 2000, `${held.body.count} phones held`);
    // KooPhone's CreateInstance past the quota is refused the same way.
    const more = await call(attacker, 'POST', '/v1/instances/create', { body: createBody({ count: 1500 }) });
    assert.equal(more.body.error_code, 'KOOPHONE.API.40010', JSON.stringify(more.body));
  });
});
