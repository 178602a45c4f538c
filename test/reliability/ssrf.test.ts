import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createInstances, installApp } from '../helpers/koophone.ts';
import { ADMIN_ENV } from '../helpers/admin.ts';
import { hostileUrl, Origin, rebindingResolver, sendBytes, staticResolver } from '../helpers/hostile-urls.ts';

/**
 * Issue 13, finding 6: KooPhone InstallApp fetched whatever `install_package_url` named, the server's own
 * loopback services and admin API included, followed redirects there, and its job's error text told the
 * status, size and MD5 of what it reached. Here a service on 127.0.0.1 stands for what tenants must not
 * reach, and a server on 127.0.0.2 (allow-listed: tests have no Internet) for a package host outside.
 */

const apk = readFileSync(fileURLToPath(new URL('../fixtures/apk/hello-v1.apk', import.meta.url)));
/** What every failed download says, whatever it reached. */
const DOWNLOAD_FAILED = 'the package could not be downloaded from install_package_url';
const HUGE = 100 * 1024 * 1024;

let t: TestServer;
let dataDir: string;
let instance: string;
let inside: Origin;
let outside: Origin;
let version = 0;

before(async () => {
  inside = await new Origin().start('127.0.0.1');
  // The same port on 127.0.0.2: a client that is turned to loopback after checking the name reaches `inside`.
  outside = await new Origin().start('127.0.0.2', inside.port);
  for (const origin of [inside, outside]) origin.routes.set('/hello-v1.apk', (_request, response) => response.end(apk));
  // Working folders that a crash left behind; the server removes them when it starts.
  dataDir = mkdtempSync(join(tmpdir(), 'opencph-ssrf-'));
  mkdirSync(join(dataDir, 'tmp', 'install-leftover'), { recursive: true });
  writeFileSync(join(dataDir, 'tmp', 'install-leftover', 'package.apk'), apk);
  const names = staticResolver({
    'internal.example': ['127.0.0.1'],
    localhost: ['127.0.0.1', '::1'],
    'metadata.example': ['169.254.169.254'],
  });
  t = await startTestServer({
    env: { ...ADMIN_ENV, OPENCPH_DATA_DIR: dataDir, OPENCPH_DOWNLOAD_ALLOW: '127.0.0.2' },
    resolver: rebindingResolver('rebind.example', '127.0.0.2', '127.0.0.1', names),
  });
  [instance] = await createInstances(t, { instanceNamePrefix: 'ssrf' });
});

after(async () => {
  await t?.close();
  await inside.close();
  await outside.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** InstallApp of hello-v1.apk (1 MB declared) from `url`; its job once it ended. */
async function installFrom(url: string, overrides: Record<string, unknown> = {}) {
  const [job] = await installApp(t, url, [instance], { object_version: `1.0.${version++}`, ...overrides });
  return job;
}

function assertDownloadFailed(job: Record<string, unknown>, url: string) {
  assert.deepEqual(
    [job.status, job.error_code, job.error_msg, job.execute_msg],
    [-1, 'KOOPHONE.API.62017', 'Download failed, please check the install_package_url.', DOWNLOAD_FAILED],
    `${url}: ${JSON.stringify(job)}`,
  );
}

const scratch = () => readdirSync(join(dataDir, 'tmp'));
const outsideUrl = () => `http://127.0.0.2:${outside.port}`;

test('working folders a crash left behind are removed when the server starts', () => {
  assert.deepEqual(scratch(), []);
});

test('loopback, the admin API, link-local and names of them are refused, with one message that tells nothing', async () => {
  const port = inside.port;
  outside.routes.set('/redirect-1', (_request, response) => response.writeHead(302, { location: '/redirect-2' }).end());
  outside.routes.set('/redirect-2', (_request, response) => response.writeHead(301, { location: `http://localhost:${port}/hello-v1.apk` }).end());
  outside.routes.set('/redirect-literal', (_request, response) => response.writeHead(307, { location: `http://2130706433:${port}/hello-v1.apk` }).end());
  const targets = [
    `${t.url}/admin/faults`,
    `${t.url}/v1/instances/batch-query?page_no=1&page_size=1`,
    `http://127.0.0.1:${port}/hello-v1.apk`,
    'http://127.0.0.1:1/',
    `http://2130706433:${port}/hello-v1.apk`,
    `http://0x7f.1:${port}/hello-v1.apk`,
    `http://0177.0.0.1:${port}/hello-v1.apk`,
    `http://[::ffff:127.0.0.1]:${port}/hello-v1.apk`,
    `http://localhost:${port}/hello-v1.apk`,
    `http://internal.example:${port}/hello-v1.apk?Signature=secret`,
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://metadata.example/latest/meta-data/',
    `${outsideUrl()}/redirect-1`,
    `${outsideUrl()}/redirect-literal`,
    // Generated ones, as the fuzzing suite makes them (fixed seed).
    ...fc.sample(hostileUrl(port), { numRuns: 12, seed: 13 }),
  ];
  const messages = new Set<string>();
  for (const url of targets) {
    const job = await installFrom(url);
    assertDownloadFailed(job, url);
    messages.add(JSON.stringify([job.error_code, job.error_msg, job.execute_msg]));
  }
  assert.equal(messages.size, 1);
  assert.equal(inside.hits(), 0, 'nothing on loopback was asked for anything');
  assert.equal(outside.hits('/redirect-1'), 1, 'the allowed first hop was fetched, the loopback hop it led to was not');
  assert.deepEqual(scratch(), []);
});

test('a name that turns to loopback after its check is downloaded from the address that was checked', async () => {
  const before = outside.hits('/hello-v1.apk');
  const job = await installFrom(`http://rebind.example:${inside.port}/hello-v1.apk`);
  assert.deepEqual([job.status, job.error_code], [2, ''], JSON.stringify(job));
  assert.equal(outside.hits('/hello-v1.apk'), before + 1);
  assert.equal(inside.hits(), 0);
});

test('a body far larger than its object_size is cut off early; nothing of it stays on disk', async () => {
  outside.routes.set('/huge.apk', (_request, response) => sendBytes(outside, response, HUGE));
  outside.routes.set('/huge-declared.apk', (_request, response) => {
    response.writeHead(200, { 'content-length': String(HUGE) });
    sendBytes(outside, response, HUGE);
  });
  for (const path of ['/huge.apk', '/huge-declared.apk']) {
    outside.bytesSent = 0;
    const job = await installFrom(`${outsideUrl()}${path}`);
    assertDownloadFailed(job, path);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // 1 MB declared + 1 MB of slack, plus what socket buffers hold.
    assert.ok(outside.bytesSent < 16 * 1024 * 1024, `${path}: ${outside.bytesSent} of ${HUGE} bytes went out`);
    assert.deepEqual(scratch(), []);
  }
});

test('a gzip-encoded answer is neither inflated nor installed, and packages are asked for as they are', async () => {
  const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
  outside.routes.set('/gzip.apk', (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb));
  const job = await installFrom(`${outsideUrl()}/gzip.apk`, { object_size: 32 });
  assertDownloadFailed(job, '/gzip.apk');
  assert.equal(outside.requests.at(-1)!.headers['accept-encoding'], 'identity');
  assert.deepEqual(scratch(), []);
});
