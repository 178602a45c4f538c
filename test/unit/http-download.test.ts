import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { addressRange, DestinationPolicy, isAllowEntry } from '../../src/objects/destination-policy.ts';
import { DOWNLOADS_PER_TENANT, DownloadFailed, HttpDownloads, MAX_REDIRECTS, type DownloadOptions } from '../../src/objects/http-download.ts';
import { LOOPBACK_HOSTS, loopbackUrls, Origin, PUBLIC_ADDRESSES, REFUSED_ADDRESSES, rebindingResolver, sendBytes, staticResolver } from '../helpers/hostile-urls.ts';

describe('destination policy', () => {
  const policy = new DestinationPolicy();

  test('refuses every special-purpose address, IPv6 forms that carry one included, and names the range', () => {
    for (const [range, addresses] of Object.entries(REFUSED_ADDRESSES)) {
      for (const address of addresses) {
        assert.equal(addressRange(address), range, address);
        assert.ok(policy.refusal('example.com', address), `${address} is refused`);
      }
    }
  });

  test('lets public addresses through, IPv6 forms of public IPv4 addresses too', () => {
    for (const address of PUBLIC_ADDRESSES) assert.equal(policy.refusal('example.com', address), undefined, address);
  });

  test('allow-listed CIDRs, addresses and host names are reached although the policy would refuse them', () => {
    const allowing = new DestinationPolicy(['10.1.0.0/16', '127.0.0.2', 'fd00::/8', 'Mirror.Internal']);
    assert.equal(allowing.refusal('a.example', '10.1.2.3'), undefined);
    assert.equal(allowing.refusal('a.example', '::ffff:10.1.2.3'), undefined, 'an IPv4-mapped address matches IPv4 entries');
    assert.equal(allowing.refusal('a.example', '127.0.0.2'), undefined);
    assert.equal(allowing.refusal('a.example', 'fd12::1'), undefined);
    assert.equal(allowing.refusal('mirror.internal.', '192.168.1.5'), undefined, 'names compare without case or trailing dot');
    assert.equal(allowing.refusal('MIRROR.internal', '127.0.0.1'), undefined);
    // Nothing beyond the entries.
    assert.equal(allowing.refusal('a.example', '10.2.0.1'), 'private');
    assert.equal(allowing.refusal('a.example', '127.0.0.1'), 'loopback');
    assert.equal(allowing.refusal('other.internal', '192.168.1.5'), 'private');
    assert.equal(allowing.refusal('mirror.internal.evil.example', '192.168.1.5'), 'private');
    assert.equal(allowing.refusal('a.example', 'fe80::1'), 'linkLocal');
  });

  test('allow-list entries: CIDRs, dotted-quad or IPv6 addresses and host names only', () => {
    for (const entry of ['10.0.0.0/8', '192.168.1.10', 'fd00::/8', '::1', 'mirror.internal', 'a-b.example.com', 'localhost']) assert.ok(isAllowEntry(entry), entry);
    for (const entry of ['10', '0x7f.1', '2130706433', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/8', '10.0.0.0/', 'a..b', 'host_name', '-a.example', 'http://mirror', 'a b']) {
      assert.equal(isAllowEntry(entry), false, entry);
    }
  });

  test('OPENCPH_DOWNLOAD_* settings: defaults, the allow-list read from commas, and bad values refused at start', () => {
    const defaults = loadConfig({}).downloads;
    assert.deepEqual(defaults, { allow: [], maxBytes: 2 * 1024 ** 3, timeoutSeconds: 600, concurrency: 16 });
    assert.deepEqual(loadConfig({ OPENCPH_DOWNLOAD_ALLOW: ' 10.0.0.0/8, mirror.internal ,' }).downloads.allow, ['10.0.0.0/8', 'mirror.internal']);
    for (const env of [
      { OPENCPH_DOWNLOAD_ALLOW: '10.0.0.0/8,0x7f.1' },
      { OPENCPH_DOWNLOAD_MAX_BYTES: '0' },
      { OPENCPH_DOWNLOAD_MAX_BYTES: String(3 * 1024 ** 3) },
      { OPENCPH_DOWNLOAD_TIMEOUT_SECONDS: '0' },
      { OPENCPH_DOWNLOAD_CONCURRENCY: '1.5' },
    ]) {
      assert.throws(() => loadConfig(env), ConfigError, JSON.stringify(env));
    }
  });
});

describe('HTTP downloads', () => {
  /** Stands in for an allowed host on the Internet (allow-listed, since tests have no Internet). */
  let outside: Origin;
  /** What a tenant must not reach: a service on the server's own loopback address. */
  let inside: Origin;
  const logged: Array<Record<string, unknown>> = [];

  before(async () => {
    inside = await new Origin().start('127.0.0.1');
    // The same port on both addresses: a client that connects to loopback instead reaches `inside`.
    outside = await new Origin().start('127.0.0.2', inside.port);
  });
  after(async () => {
    await outside.close();
    await inside.close();
  });

  function downloads(options: Partial<DownloadOptions> = {}) {
    return new HttpDownloads({
      allow: ['127.0.0.2/32'],
      maxBytes: 1024 * 1024,
      timeoutSeconds: 5,
      concurrency: 16,
      idleMs: 2_000,
      log: { info: (details) => logged.push(details as Record<string, unknown>) },
      resolver: staticResolver({ 'outside.example': ['127.0.0.2'], 'inside.example': ['127.0.0.1'], 'both.example': ['127.0.0.2', '127.0.0.1'] }),
      ...options,
    });
  }

  /** The body as text, or the DownloadFailed's message. */
  async function get(client: HttpDownloads, url: string, maxBytes = 1024 * 1024, tenant = 'tenant-a'): Promise<string> {
    const chunks: Buffer[] = [];
    try {
      await client.fetch(url, { tenant, maxBytes }, (body) => pipeline(body, new Writable({ write: (chunk, _encoding, done) => (chunks.push(chunk), done()) })));
      return Buffer.concat(chunks).toString();
    } catch (error) {
      assert.ok(error instanceof DownloadFailed, String(error));
      return `failed: ${error.message}`;
    }
  }

  test('an allowed host is downloaded, asked for its bytes as they are (accept-encoding: identity)', async () => {
    assert.equal(await get(downloads(), `http://outside.example:${outside.port}/package.apk?Signature=s`), 'package bytes');
    assert.equal(outside.requests.at(-1)!.headers['accept-encoding'], 'identity');
    assert.match(await get(downloads(), `http://user:password@outside.example:${outside.port}/package.apk`), /credentials in the URL/);
  });

  test('every spelling of the loopback address is refused before any connection or DNS lookup', async () => {
    const client = downloads({ resolver: () => assert.fail('an IP literal is never looked up') });
    const before = inside.hits();
    for (const url of loopbackUrls(inside.port, '/admin/faults')) assert.match(await get(client, url), /^failed: .* which downloads may not reach$/, url);
    assert.equal(inside.hits(), before);
    assert.equal(LOOPBACK_HOSTS.length, loopbackUrls(1).length);
  });

  test('a name with any refused address is refused; the log tells the operator why, without the query', async () => {
    const client = downloads();
    const before = inside.hits();
    assert.match(await get(client, `http://inside.example:${inside.port}/`), /inside\.example is at 127\.0\.0\.1 \(loopback\)/);
    assert.match(await get(client, `http://both.example:${outside.port}/`), /both\.example is at 127\.0\.0\.1 \(loopback\)/);
    assert.match(await get(client, `http://missing.example:${outside.port}/`), /ENOTFOUND/);
    assert.equal(inside.hits(), before);
    await get(client, `http://inside.example:${inside.port}/secret?Signature=s3cr3t`);
    assert.deepEqual(logged.at(-1), { tenant: 'tenant-a', url: `http://inside.example:${inside.port}/secret`, reason: `inside.example is at 127.0.0.1 (loopback), which downloads may not reach` });
  });

  test('DNS rebinding: the address checked is the address connected to', async () => {
    // The name answers an allowed address first and loopback afterwards: a client that looks it up again to connect reaches loopback.
    const resolver = rebindingResolver('rebind.example', '127.0.0.2', '127.0.0.1');
    outside.routes.set('/rebind', (_request, response) => response.end('from the checked address'));
    inside.routes.set('/rebind', (_request, response) => response.end('from loopback'));
    assert.equal(await get(downloads({ resolver }), `http://rebind.example:${outside.port}/rebind`), 'from the checked address');
    assert.equal(resolver.lookups, 1);
    assert.equal(inside.hits('/rebind'), 0);
  });

  test(`redirects: each hop is checked, at most ${MAX_REDIRECTS} are followed, only to http(s)`, async () => {
    const redirect = (location: string) => (_request: IncomingMessage, response: ServerResponse) => response.writeHead(302, { location }).end();
    outside.routes.set('/to-inside', redirect(`http://127.0.0.1:${inside.port}/secret`));
    outside.routes.set('/to-inside-by-name', redirect(`http://inside.example:${inside.port}/secret`));
    outside.routes.set('/via', redirect('/to-inside'));
    outside.routes.set('/to-file', redirect('file:///etc/passwd'));
    for (let hop = 0; hop <= MAX_REDIRECTS + 1; hop++) outside.routes.set(`/chain/${hop}`, redirect(hop === 0 ? '/package.apk' : `/chain/${hop - 1}`));
    const client = downloads();
    const before = inside.hits();
    assert.match(await get(client, `http://outside.example:${outside.port}/via`), /127\.0\.0\.1 \(loopback\)/);
    assert.match(await get(client, `http://outside.example:${outside.port}/to-inside-by-name`), /loopback/);
    assert.match(await get(client, `http://outside.example:${outside.port}/to-file`), /file: URL/);
    assert.equal(inside.hits(), before);
    assert.equal(await get(client, `http://outside.example:${outside.port}/chain/${MAX_REDIRECTS - 1}`), 'package bytes');
    assert.match(await get(client, `http://outside.example:${outside.port}/chain/${MAX_REDIRECTS}`), /more than 5 redirects/);
  });

  test('a body past the limit is cut off: at once when its length says so, after the limit when it does not say', async () => {
    outside.routes.set('/declared', (_request, response) => {
      response.writeHead(200, { 'content-length': String(100 * 1024 * 1024) });
      sendBytes(outside, response, 100 * 1024 * 1024);
    });
    outside.routes.set('/chunked', (_request, response) => sendBytes(outside, response, 100 * 1024 * 1024));
    const client = downloads();
    outside.bytesSent = 0;
    assert.match(await get(client, `http://outside.example:${outside.port}/declared`), /content-length 104857600 is over the limit of 1048576 bytes/);
    outside.bytesSent = 0;
    assert.match(await get(client, `http://outside.example:${outside.port}/chunked`), /passed the limit of 1048576 bytes/);
    // What the server got out before the connection closed: the limit plus socket buffers, not 100 MB.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(outside.bytesSent < 16 * 1024 * 1024, `${outside.bytesSent} bytes sent`);
    // The configured maximum wins over a larger request.
    assert.match(await get(downloads({ maxBytes: 1000 }), `http://outside.example:${outside.port}/chunked`, 10 * 1024 * 1024), /limit of 1000 bytes/);
  });

  test('a compressed answer is refused rather than inflated', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    outside.routes.set('/gzip', (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb));
    assert.match(await get(downloads(), `http://outside.example:${outside.port}/gzip`), /answered content-encoding gzip/);
  });

  test('errors say what happened for the log: status, idle connection, deadline', async () => {
    outside.routes.set('/missing', (_request, response) => response.writeHead(404).end('no'));
    outside.routes.set('/silent', (_request, response) => response.writeHead(200).write('a'));
    outside.routes.set('/trickle', (_request, response) => {
      response.writeHead(200);
      const timer = setInterval(() => response.write('a'), 20);
      response.on('close', () => clearInterval(timer));
    });
    assert.match(await get(downloads(), `http://outside.example:${outside.port}/missing`), /answered HTTP 404$/);
    let started = Date.now();
    assert.match(await get(downloads({ idleMs: 200 }), `http://outside.example:${outside.port}/silent`), /idle for 200 ms/);
    assert.ok(Date.now() - started < 2_000);
    started = Date.now();
    assert.match(await get(downloads({ timeoutSeconds: 0.3 }), `http://outside.example:${outside.port}/trickle`), /no answer within 0.3 s/);
    assert.ok(Date.now() - started < 2_000);
  });

  test(`downloads in progress are bounded in total and per tenant (${DOWNLOADS_PER_TENANT}); tenants take turns`, async () => {
    const held: Array<() => void> = [];
    outside.routes.set('/held', (_request, response) => held.push(() => response.end('done')));
    const concurrency = DOWNLOADS_PER_TENANT + 2;
    const client = downloads({ concurrency });
    const url = `http://outside.example:${outside.port}/held`;
    const until = async (condition: () => boolean) => {
      while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    outside.maxOpen = outside.open;
    const many = Array.from({ length: 20 }, () => get(client, url, 1024, 'busy'));
    await until(() => held.length === DOWNLOADS_PER_TENANT);
    const other = get(client, url, 1024, 'quiet');
    await until(() => held.length === DOWNLOADS_PER_TENANT + 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(held.length, DOWNLOADS_PER_TENANT + 1, 'the busy tenant waits for its own slots; the other tenant does not wait for it');
    let settled = false;
    const all = Promise.all(many).finally(() => (settled = true));
    while (!settled) {
      while (held.length > 0) held.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(await other, 'done');
    assert.deepEqual(new Set(await all), new Set(['done']));
    assert.ok(outside.maxOpen <= concurrency, `${outside.maxOpen} connections at once`);
  });
});
