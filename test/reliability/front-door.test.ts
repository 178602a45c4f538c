import { connect } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startTestServer, type Tenant, type TestServer } from '../helpers/server.ts';
import { signWithOfficialSigner } from '../helpers/sign.ts';
import { StreamClient, deviceToken, readyInstance } from '../helpers/koophone-stream.ts';
import { rawRequest as sendRaw, type RawAnswer } from '../helpers/raw-http.ts';

/**
 * The HTTP front door under attack (issue 13, findings 7–9), over real sockets against an in-process
 * server: work done before authentication, password guessing, and connection exhaustion. Each attack
 * runs while another tenant lists its phones, whose every answer must come within 2 s. The event loop
 * (this process's, which is also the server's) is watched two ways: its longest stall, and the share of
 * the attack's time it was busy rather than waiting for I/O (its utilisation), which CPU contention from
 * other processes on a loaded machine barely moves.
 */

const MINUTE_MS = 60_000;
/** Another tenant's requests meanwhile: each answered within this. */
const NEIGHBOUR_BOUND_MS = 2_000;
/** The longest the event loop may stall during an attack: generous for a loaded machine (before the fixes: 5.6 s). */
const LOOP_STALL_BOUND_MS = 1_000;
const PHONES = '/v1/{project_id}/cloud-phone/phones';
const BATCH_RESTART = '/v1/{project_id}/cloud-phone/phones/batch-restart';
/** A client address of its own: all of 127.0.0.0/8 reaches a server listening on 127.0.0.1 (Linux). */
const address = (n: number) => `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;

/** The server's clock, moved forward to let locks expire. */
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

let t: TestServer;
let neighbour: Tenant;
let port: number;

before(async () => {
  t = await startTestServer({ clock });
  neighbour = await t.createTenant('neighbour');
  port = Number(new URL(t.url).port);
});
after(() => t?.close());

/** A request written by hand (test/helpers/raw-http.ts) to the test server, `{project_id}` filled in. */
function rawRequest(options: Omit<Parameters<typeof sendRaw>[0], 'port'> & { port?: number }): Promise<RawAnswer> {
  return sendRaw({ ...options, port: options.port ?? port, path: options.path.replace('{project_id}', t.tenant.projectId) });
}

interface AttackFigures<T> {
  result: T;
  /** The event loop's longest stall. */
  loopStallMs: number;
  /** The share of the attack's time the event loop was busy. */
  loopBusy: number;
  /** CPU time of the whole process (server, client, thread pool) during the attack. */
  cpuMs: number;
  neighbourMs: number[];
}

/** Runs `attack` while the neighbour lists its phones again and again, and measures the event loop meanwhile. */
async function underAttack<T>(attack: () => Promise<T>): Promise<AttackFigures<T>> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const utilisation = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const neighbourMs: number[] = [];
  let attacking = true;
  const listing = (async () => {
    while (attacking) {
      const started = performance.now();
      const response = await call({ url: t.url, tenant: neighbour }, 'GET', `${PHONES}?limit=1`);
      neighbourMs.push(performance.now() - started);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    const result = await attack();
    const used = process.cpuUsage(cpu);
    return {
      result,
      loopStallMs: loop.max / 1e6,
      loopBusy: performance.eventLoopUtilization(utilisation).utilization,
      cpuMs: (used.user + used.system) / 1000,
      neighbourMs,
    };
  } finally {
    attacking = false;
    await listing;
    loop.disable();
  }
}

/**
 * Prints the figures (docs/reliability.md takes them) and checks that the event loop kept up: no long
 * stall, the neighbour served, and at most `bounds.cpuMs` of CPU time or `bounds.busy` of the loop's time
 * spent (measures a loaded machine leaves as they are, unlike latencies).
 */
function assertLoopKeptUp(name: string, figures: AttackFigures<RawAnswer[]>, bounds: { cpuMs?: number; busy?: number }) {
  const slowest = Math.max(...figures.result.map((answer) => answer.ms));
  const neighbour = Math.max(...figures.neighbourMs);
  console.log(`# ${name} figures: ${JSON.stringify({ loopStallMs: Math.round(figures.loopStallMs), loopBusy: Number(figures.loopBusy.toFixed(2)), cpuMs: Math.round(figures.cpuMs), slowestAnswerMs: Math.round(slowest), neighbourMaxMs: Math.round(neighbour) })}`);
  assert.ok(figures.loopStallMs < LOOP_STALL_BOUND_MS, `the event loop stalled ${Math.round(figures.loopStallMs)} ms`);
  if (bounds.cpuMs !== undefined) assert.ok(figures.cpuMs < bounds.cpuMs, `${Math.round(figures.cpuMs)} ms of CPU`);
  if (bounds.busy !== undefined) assert.ok(figures.loopBusy < bounds.busy, `the event loop was busy ${Math.round(figures.loopBusy * 100)} % of the time`);
  assertNeighbourServed(figures.neighbourMs);
}

function assertNeighbourServed(neighbourMs: number[]) {
  assert.ok(neighbourMs.length > 0, 'the neighbour got no answer during the attack');
  assert.ok(Math.max(...neighbourMs) < NEIGHBOUR_BOUND_MS, `the neighbour waited ${Math.round(Math.max(...neighbourMs))} ms`);
}

function assertGatewayError(answer: { status: number; body: any; headers: Record<string, string> | Headers }, status: number, code: string) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.error_code, code, JSON.stringify(answer.body));
  assert.equal(typeof answer.body.error_msg, 'string');
  const requestId = answer.headers instanceof Headers ? answer.headers.get('x-request-id') : answer.headers['x-request-id'];
  assert.equal(requestId, answer.body.request_id);
}

/** `count` values `[[],[],…]`: the cheapest bytes for the most work JSON.parse can be given. */
const emptyArrays = (count: number) => Buffer.from(`[${'[],'.repeat(count - 1)}[]]`);

/** POST /v3/auth/tokens from `from` (a loopback address of its own), to `options.port` (default: the main server). */
const login = (from: string, user: { domain: string; name: string; password: string }, options: { timeoutMs?: number; port?: number; headers?: Record<string, string> } = {}) =>
  rawRequest({
    from,
    port: options.port,
    timeoutMs: options.timeoutMs ?? 30_000,
    method: 'POST',
    path: '/v3/auth/tokens',
    headers: { 'Content-Type': 'application/json', ...options.headers },
    body: Buffer.from(JSON.stringify({
      auth: { identity: { methods: ['password'], password: { user: { name: user.name, password: user.password, domain: { name: user.domain } } } }, scope: { project: { name: 'cn-north-4' } } },
    })),
  });
const asUser = (tenant: Tenant, password = tenant.password) => ({ domain: tenant.domainName, name: tenant.userName, password });

function assertLocked(answer: RawAnswer) {
  assertGatewayError(answer, 401, 'APIGW.0301');
  assert.equal(answer.body.error_msg, 'Incorrect IAM authentication information: The account is locked.');
}

describe('finding 7: work before authentication', () => {
  test('24 parallel 12 MB [[],[],…] bodies to POST /v3/auth/tokens: 413 APIGW.0201 at once, nothing parsed', async () => {
    // Just under the 12 MiB that Huawei's gateway (and this server, before) took.
    const body = emptyArrays(4_000_000);
    const figures = await underAttack(() =>
      Promise.all(
        Array.from({ length: 24 }, () => rawRequest({ method: 'POST', path: '/v3/auth/tokens', headers: { 'Content-Type': 'application/json' }, body, timeoutMs: 120_000 })),
      ),
    );
    for (const answer of figures.result) assertGatewayError(answer, 413, 'APIGW.0201');
    // Before the fix, 5.6 s of CPU per body.
    assertLoopKeptUp('12 MB token bodies', figures, { cpuMs: 5_000 });
  });

  test('a body with no, a bad or an expired credential is refused with 401 APIGW.0301 from its headers, before the body is sent', async () => {
    const body = emptyArrays(4_000_000);
    const sdkDate = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const signedWith = (ak: string, date: Date) => signWithOfficialSigner({
      method: 'POST',
      url: `${t.url}${BATCH_RESTART.replace('{project_id}', t.tenant.projectId)}`,
      headers: { 'Content-Type': 'application/json', 'X-Sdk-Date': sdkDate(date) },
      body: '{}',
      ak,
      sk: t.tenant.sk,
    });
    const credentials: Record<string, Record<string, string>> = {
      none: {},
      'a forged token': { 'X-Auth-Token': `MII${Buffer.from('{}').toString('base64url')}.forged` },
      'an unknown access key': signedWith('UNKNOWNACCESSKEY0001', new Date()),
      'a signature 16 minutes old': signedWith(t.tenant.ak, new Date(Date.now() - 16 * MINUTE_MS)),
    };
    const figures = await underAttack(() =>
      Promise.all(
        Object.values(credentials).map((headers) =>
          rawRequest({ method: 'POST', path: BATCH_RESTART, headers: { ...headers, 'Content-Type': 'application/json' }, body, sendBody: false, timeoutMs: NEIGHBOUR_BOUND_MS }),
        ),
      ),
    );
    for (const [name, answer] of Object.keys(credentials).map((name, i) => [name, figures.result[i]] as const)) {
      assert.equal(answer.status, 401, `${name}: ${JSON.stringify(answer.body)}`);
      assertGatewayError(answer, 401, 'APIGW.0301');
      // The rest of the body is not read to be thrown away: the connection ends with the answer.
      assert.equal(answer.headers.connection, 'close', name);
    }
    assertNeighbourServed(figures.neighbourMs);
  });

  test('Expect: 100-continue: "100 Continue" only once the credentials passed; a refused client is answered without it', async () => {
    /** The first bytes the server sends after a head that asks before sending its body. */
    const firstAnswer = (token: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ port, host: '127.0.0.1' });
        socket.once('data', (chunk) => (socket.destroy(), resolve(chunk.toString())));
        socket.once('error', reject);
        socket.write(
          `POST ${BATCH_RESTART.replace('{project_id}', t.tenant.projectId)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
            `Content-Length: 1000000\r\nExpect: 100-continue\r\nX-Auth-Token: ${token}\r\n\r\n`,
        );
      });
    assert.match(await firstAnswer(t.tenant.token), /^HTTP\/1\.1 100 Continue\r\n/);
    assert.match(await firstAnswer('forged'), /^HTTP\/1\.1 401 /);
  });

  test('a signed body is parsed only once its signature checks out: a tampered one that is not JSON is 401, not 400', async () => {
    const url = `${t.url}${BATCH_RESTART.replace('{project_id}', t.tenant.projectId)}`;
    const headers = signWithOfficialSigner({ method: 'POST', url, headers: { 'Content-Type': 'application/json' }, body: '{"phones":[]}', ak: t.tenant.ak, sk: t.tenant.sk });
    const response = await fetch(url, { method: 'POST', headers, body: '{"phones":[' });
    assertGatewayError({ status: response.status, headers: response.headers, body: await response.json() }, 401, 'APIGW.0301');
  });

  test('per-route body limits: 8 KB for a token request, 1 MB for the API, 413 APIGW.0201 past them', async () => {
    const tokenBody = JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'alice', password: 'x'.repeat(9 * 1024), domain: { name: 'tenant-a' } } } } } });
    const token = await fetch(`${t.url}/v3/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: tokenBody });
    assertGatewayError({ status: token.status, headers: token.headers, body: await token.json() }, 413, 'APIGW.0201');

    const phones = Array.from({ length: 100 }, () => ({ phone_id: 'a'.repeat(32), property: 'p'.repeat(12 * 1024) }));
    assertGatewayError(await call(t, 'POST', BATCH_RESTART, { body: { phones } }), 413, 'APIGW.0201');
    const koophone = await call(t, 'POST', '/v1/instances/batch-query-status', { body: { instance_ids: ['i'.repeat(2 * 1024 * 1024)] }, headers: { 'X-Request-Id': 'front-door' } });
    assert.equal(koophone.status, 413, JSON.stringify(koophone.body));
    assert.equal(koophone.body.error_code, 'APIGW.0201');

    // The largest legitimate body still fits: UpdateCloudPhoneProperty of 100 phones with 8 KB of attributes each.
    const property = JSON.stringify(Object.fromEntries(Array.from({ length: 240 }, (_, i) => [`ro.opencph.test${i}`, 'v'.repeat(10)])));
    assert.ok(property.length > 8_000 && property.length <= 8_192, `${property.length}`);
    const largest = await call(t, 'POST', '/v1/{project_id}/cloud-phone/phones/batch-update-property', {
      body: { phones: Array.from({ length: 100 }, (_, i) => ({ phone_id: i.toString(16).padStart(32, '0'), property })) },
    });
    assert.equal(largest.status, 200, JSON.stringify(largest.body).slice(0, 300));
    assert.equal(largest.body.jobs.length, 100);
  });

  test('an authenticated tenant\'s 1 MB of [[],[],…] is refused as malformed without stalling anyone', async () => {
    const body = Buffer.concat([Buffer.from('{"phones":'), emptyArrays(340_000), Buffer.from('}')]);
    const figures = await underAttack(() =>
      Promise.all(
        Array.from({ length: 8 }, () =>
          rawRequest({ method: 'POST', path: BATCH_RESTART, headers: { 'X-Auth-Token': t.tenant.token, 'Content-Type': 'application/json' }, body, timeoutMs: 60_000 }),
        ),
      ),
    );
    for (const answer of figures.result) assertGatewayError(answer, 400, 'CPS.0077');
    assertLoopKeptUp('1 MB [[],…] bodies', figures, { cpuMs: 1_000 });
  });
});

describe('finding 8: password guessing', () => {
  test('5 wrong passwords lock the user for 15 minutes: the right one is refused meanwhile, accepted after', async () => {
    const victim = await t.createTenant('guessed');
    const attacker = address(10);
    for (let i = 0; i < 5; i++) {
      const answer = await login(attacker, asUser(victim, `wrong-password-${i}`));
      assertGatewayError(answer, 401, 'APIGW.0301');
      assert.equal(answer.body.error_msg, 'Incorrect IAM authentication information: the account, user name, password or scope is wrong');
    }
    assertLocked(await login(attacker, asUser(victim)));
    // Refused without computing a hash: 200 more guesses cost next to nothing.
    const started = performance.now();
    for (let i = 0; i < 200; i++) assertLocked(await login(attacker, asUser(victim, `guess-${i}`)));
    assert.ok(performance.now() - started < 5_000, `200 refused guesses took ${Math.round(performance.now() - started)} ms`);

    offsetMs += 14 * MINUTE_MS;
    assertLocked(await login(attacker, asUser(victim)));
    offsetMs += MINUTE_MS + 1_000;
    assert.equal((await login(attacker, asUser(victim))).status, 201);
  });

  test('one address locks a user only for itself; spraying many users locks the address; many addresses lock the user everywhere', async () => {
    const victim = await t.createTenant('sprayed');
    const lockedHere = address(20);
    for (let i = 0; i < 5; i++) await login(lockedHere, asUser(victim, `wrong-${i}`));
    assertLocked(await login(lockedHere, asUser(victim)));
    assert.equal((await login(address(21), asUser(victim))).status, 201, 'the user logs in from elsewhere');

    // 50 wrong passwords from one address, one per user: that address is locked for every user.
    const sprayer = address(22);
    for (let i = 0; i < 50; i++) assertGatewayError(await login(sprayer, { domain: 'nobody', name: `user-${i}`, password: 'wrong-password' }), 401, 'APIGW.0301');
    assertLocked(await login(sprayer, asUser(neighbour)));
    assert.equal((await login(address(23), asUser(neighbour))).status, 201);

    // 50 wrong passwords for one user from 10 addresses: the user is locked everywhere until the lock ends.
    const target = await t.createTenant('distributed');
    for (let a = 0; a < 10; a++) for (let i = 0; i < 5; i++) await login(address(30 + a), asUser(target, `wrong-${a}-${i}`));
    assertLocked(await login(address(45), asUser(target)));
    offsetMs += 15 * MINUTE_MS + 1_000;
    assert.equal((await login(address(45), asUser(target))).status, 201);
  });

  test('passwords are checked off the event loop, two at a time: a burst of 100 logins is answered, the excess at once with 429 APIGW.0308', async () => {
    const figures = await underAttack(() =>
      Promise.all(Array.from({ length: 100 }, (_, i) => login(address(100 + i), { domain: 'burst', name: `user-${i}`, password: 'wrong-password' }, { timeoutMs: 120_000 }))),
    );
    const throttled = figures.result.filter((answer) => answer.status === 429);
    const checked = figures.result.filter((answer) => answer.status === 401);
    for (const answer of throttled) assertGatewayError(answer, 429, 'APIGW.0308');
    for (const answer of checked) assertGatewayError(answer, 401, 'APIGW.0301');
    assert.equal(throttled.length + checked.length, 100);
    // Two checking and 64 waiting (a few more as the first ones end); the rest refused without waiting for them.
    assert.ok(checked.length >= 66 && throttled.length > 0, `${checked.length} checked`);
    assert.ok(Math.max(...throttled.map((answer) => answer.ms)) < Math.max(...checked.map((answer) => answer.ms)), 'the excess waited');
    // The CPU is the thread pool's; the event loop waits for it (before the fix, it computed every hash).
    assertLoopKeptUp('login burst', figures, { busy: 0.8 });
  });
});

describe('finding 9: connection exhaustion', () => {
  /** A reverse proxy this server trusts (OPENCPH_TRUSTED_PROXIES). */
  const PROXY = address(60);
  /** The headers timeout of this server (10 s by default). */
  const HEADERS_TIMEOUT_MS = 3_000;

  /** A server of its own with short timeouts, a total limit and the default per-address limit (256). */
  let c: TestServer;
  let cPort: number;
  before(async () => {
    c = await startTestServer({
      env: { OPENCPH_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), OPENCPH_KEEP_ALIVE_TIMEOUT_MS: '1000', OPENCPH_MAX_CONNECTIONS: '600', OPENCPH_TRUSTED_PROXIES: `${PROXY},10.0.0.0/8` },
    });
    cPort = Number(new URL(c.url).port);
  });
  after(() => c?.close());

  /**
   * Connections that send nothing: how many closed, and how many of those were refused as they arrived
   * (closed without a byte, where a timed-out one gets its 408 first).
   */
  class IdleSockets {
    closed = 0;
    refused = 0;

    /**
     * Opens `count` from `from`, 100 at a time (more at once would overflow the listen backlog, and the
     * kernel would retry them a second later); resolves once each is open or closed.
     */
    async add(from: string, count: number): Promise<void> {
      for (let opened = 0; opened < count; opened += 100) {
        await Promise.all(Array.from({ length: Math.min(100, count - opened) }, () => this.one(from)));
      }
    }

    private one(from: string): Promise<void> {
      return new Promise((resolve) => {
        const socket = connect({ port: cPort, host: '127.0.0.1', localAddress: from });
        let answered = false;
        socket.on('error', () => {});
        socket.on('data', () => (answered = true));
        socket.on('connect', () => resolve());
        socket.on('close', () => {
          this.closed++;
          if (!answered) this.refused++;
          resolve();
        });
      });
    }
  }

  /** Samples how many connections the server holds, every 20 ms until stopped; the most seen. */
  function watchServerConnections(): () => number {
    let most = 0;
    const timer = setInterval(() => c.server.app.server.getConnections((_error, count) => (most = Math.max(most, count))), 20);
    return () => (clearInterval(timer), most);
  }

  const waitUntil = async (what: string, condition: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const listPhones = async () => {
    const started = performance.now();
    const response = await call(c, 'GET', `${PHONES}?limit=1`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return performance.now() - started;
  };

  test('2,000 half-open connections from one address: 256 are kept, the rest closed as they arrive, all closed after the headers timeout; others are served meanwhile', async () => {
    const attack = new IdleSockets();
    const started = performance.now();
    const held = watchServerConnections();
    const opening = attack.add(address(2), 2_000);
    const neighbourMs = [await listPhones(), await listPhones()];
    await opening;
    const openingMs = performance.now() - started;
    const mostHeld = held();
    console.log(`# per-address figures: ${JSON.stringify({ refused: attack.refused, mostHeld, openingMs: Math.round(openingMs), neighbourMaxMs: Math.round(Math.max(...neighbourMs)) })}`);
    // The attacker's 256 and the neighbour's few.
    assert.ok(mostHeld <= 256 + 4, `the server held ${mostHeld} connections`);
    // 1,744 refused, fewer when opening them took longer than the headers timeout, which then made room.
    assert.ok(attack.refused >= 1_000 && attack.refused <= 2_000 - 256, `${attack.refused} refused`);
    assert.ok(Math.max(...neighbourMs) < NEIGHBOUR_BOUND_MS, `waited ${Math.max(...neighbourMs)} ms`);
    // The headers timeout closes the rest.
    await waitUntil('closing the idle connections', () => attack.closed === 2_000, HEADERS_TIMEOUT_MS + 5_000);
  });

  test('a request head sent slowly is closed after the headers timeout with 408', async () => {
    const started = performance.now();
    const answer = await new Promise<string>((resolve) => {
      const socket = connect({ port: cPort, host: '127.0.0.1' });
      let received = '';
      const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);
      socket.on('connect', () => socket.write(`GET ${PHONES.replace('{project_id}', c.tenant.projectId)} HTTP/1.1\r\nHost: x\r\n`));
      socket.on('data', (chunk) => (received += chunk));
      socket.on('error', () => {});
      socket.on('close', () => (clearInterval(drip), resolve(received)));
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /"error_code":"APIGW.0201"/);
    assert.ok(performance.now() - started < HEADERS_TIMEOUT_MS + 2_500, `closed after ${Math.round(performance.now() - started)} ms`);
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const socket = connect({ port: cPort, host: '127.0.0.1' });
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now())));
    await new Promise((resolve) => socket.on('connect', resolve));
    socket.write(`GET /health HTTP/1.1\r\nHost: x\r\n\r\n`);
    const answered = await new Promise<number>((resolve) => socket.once('data', () => resolve(performance.now())));
    assert.ok((await closed) - answered < 2_500, 'the idle connection stayed open');
  });

  test('connections past the total limit are closed as they arrive; the server takes new ones once those time out', async () => {
    // 4 addresses × 200: 600 fit under the total limit, 200 are closed at once.
    const attack = new IdleSockets();
    const held = watchServerConnections();
    await Promise.all([3, 4, 5, 6].map((n) => attack.add(address(n), 200)));
    await waitUntil('refusing the connections past the total limit', () => attack.refused >= 150, 2_000);
    const mostHeld = held();
    console.log(`# total-limit figures: ${JSON.stringify({ refused: attack.refused, mostHeld })}`);
    assert.ok(mostHeld <= 600, `the server held ${mostHeld} connections`);
    await waitUntil('closing the idle connections', () => attack.closed === 800, HEADERS_TIMEOUT_MS + 5_000);
    assert.ok((await listPhones()) < NEIGHBOUR_BOUND_MS);
  });

  test('behind a trusted proxy: its connections are not limited per address, and logins lock per client it forwards', async () => {
    const proxied = new IdleSockets();
    await proxied.add(PROXY, 300);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(proxied.refused, 0);
    await waitUntil('closing the idle connections', () => proxied.closed === 300, HEADERS_TIMEOUT_MS + 5_000);

    const through = (client: string) => ({ port: cPort, headers: { 'X-Forwarded-For': client } });
    for (let i = 0; i < 5; i++) await login(PROXY, asUser(c.tenant, `wrong-${i}`), through('198.51.100.7'));
    assertLocked(await login(PROXY, asUser(c.tenant), through('198.51.100.7')));
    assert.equal((await login(PROXY, asUser(c.tenant), through('198.51.100.8'))).status, 201);
    // An address that is not a trusted proxy cannot choose whom it is counted as.
    for (let i = 0; i < 5; i++) await login(address(61), asUser(c.tenant, `wrong-${i}`), through('198.51.100.9'));
    assertLocked(await login(address(61), asUser(c.tenant), through('198.51.100.9')));
    assert.equal((await login(PROXY, asUser(c.tenant), through('198.51.100.9'))).status, 201);
  });

  test('a KooPhone signalling WebSocket stays open past the headers and keep-alive timeouts', async () => {
    const instance = await readyInstance(c, 'front-door-viewer');
    const { url } = await deviceToken(c, instance);
    const stream = await StreamClient.open(url);
    await new Promise((resolve) => setTimeout(resolve, HEADERS_TIMEOUT_MS + 1_500));
    const before = stream.frames.length;
    await stream.waitFrames(before + 2, 5_000);
    stream.close();
    assert.equal((await stream.closed).code, 1000);
  });
});
