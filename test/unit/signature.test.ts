import { createHash, createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseAuthorization,
  SIGNATURE_WINDOW_MS,
  verifySignature,
  type SignedRequest,
  type SignatureCheck,
} from '../../src/api/auth/signature.ts';
import { signWithOfficialSigner } from '../helpers/sign.ts';

const AK = 'HPUATESTACCESSKEY001';
const SK = 'test-secret-key-0123456789';
const SDK_DATE = '20250301T120000Z';
const SIGNED_AT = new Date('2025-03-01T12:00:00Z');

function check(req: SignedRequest, now = SIGNED_AT, sk = SK): SignatureCheck {
  const auth = parseAuthorization(String(req.headers.authorization));
  assert.ok(auth, `unparsable Authorization: ${req.headers.authorization}`);
  return verifySignature(req, auth, sk, now);
}

function assertFails(result: SignatureCheck, reason: RegExp): void {
  assert.equal(result.ok, false);
  assert.match((result as { reason: string }).reason, reason);
}

function withHeaders(req: SignedRequest, changes: Record<string, string | undefined>): SignedRequest {
  return { ...req, headers: { ...req.headers, ...changes } };
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The signature algorithm written out step by step, independently of the code under test. */
function signByHand(canonicalRequest: string, sdkDate: string, sk: string): string {
  const stringToSign = `SDK-HMAC-SHA256\n${sdkDate}\n${sha256Hex(canonicalRequest)}`;
  return createHmac('sha256', sk).update(stringToSign).digest('hex');
}

describe('requests signed by the official Node signer and sent over HTTP', () => {
  let server: Server;
  let origin: string;
  let received: SignedRequest;

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received = { method: req.method!, url: req.url!, headers: req.headers, body: chunks.length ? Buffer.concat(chunks) : undefined };
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => server.close());

  /** Signs with the official signer, sends with fetch and returns the request as the server received it. */
  async function send(method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<SignedRequest> {
    const url = origin + path;
    const headers = signWithOfficialSigner({
      method,
      url,
      headers: { 'X-Project-Id': 'proj1', 'X-Sdk-Date': SDK_DATE, ...options.headers },
      body: options.body,
      ak: AK,
      sk: SK,
    });
    const response = await fetch(url, { method, headers, body: options.body });
    assert.equal(response.status, 200);
    return received;
  }

  test('GET with a query that needs encoding: spaces, unicode, RFC 3986 reserved characters, repeated and unsorted keys', async () => {
    const req = await send('GET', "/v1/proj1/cloud-phone/phones?status=2&name=my phone 1&tag=一&tag=ü&tag=b&q=(x)*!'~&empty=&flag&offset=0");
    assert.match(req.url, /name=my%20phone%201/);
    assert.match(req.url, /&flag&/);
    assert.deepEqual(check(req), { ok: true });
  });

  test('POST with a JSON body', async () => {
    const body = JSON.stringify({ phone_ids: ['a1', 'b2'], property: '{"x":1}' });
    const req = await send('POST', '/v1/proj1/cloud-phone/phones/batch-restart', { headers: { 'content-type': 'application/json' }, body });
    assert.deepEqual(check(req), { ok: true });
  });

  test('DELETE with a body', async () => {
    const body = JSON.stringify({ server_ids: ['s1'] });
    const req = await send('DELETE', '/v1/proj1/cloud-phone/servers', { headers: { 'content-type': 'application/json' }, body });
    assert.deepEqual(check(req), { ok: true });
  });

  test('a path with characters that need encoding, including ones legacy url.parse escapes itself', async () => {
    const req = await send('GET', "/v1/proj1/cloud-phone/phones/my phone(1)~é'{x}/detail");
    assert.match(req.url, /my%20phone\(1\)~%C3%A9'%7Bx%7D/);
    assert.deepEqual(check(req), { ok: true });
  });

  test('a path that needs no encoding, with and without a trailing slash', async () => {
    assert.deepEqual(check(await send('GET', '/v1/proj1/cloud-phone/servers')), { ok: true });
    assert.deepEqual(check(await send('GET', '/v1/proj1/cloud-phone/servers/')), { ok: true });
  });

  test('the official signer signs host, x-sdk-date and every header it is given', async () => {
    const req = await send('GET', '/v1/proj1/cloud-phone/servers');
    const auth = parseAuthorization(String(req.headers.authorization));
    assert.deepEqual(auth?.signedHeaders, ['host', 'x-project-id', 'x-sdk-date']);
  });

  describe('tampering', () => {
    let req: SignedRequest;
    before(async () => {
      const body = JSON.stringify({ phone_ids: ['a1'] });
      req = await send('POST', '/v1/proj1/cloud-phone/phones/batch-restart?force=false', { headers: { 'content-type': 'application/json' }, body });
      assert.deepEqual(check(req), { ok: true });
    });

    test('the body', () => {
      assertFails(check({ ...req, body: Buffer.from(JSON.stringify({ phone_ids: ['a2'] })) }), /verify aksk signature fail/);
      assertFails(check({ ...req, body: undefined }), /verify aksk signature fail/);
    });

    test('the query', () => {
      assertFails(check({ ...req, url: req.url.replace('force=false', 'force=true') }), /verify aksk signature fail/);
      assertFails(check({ ...req, url: `${req.url}&extra=1` }), /verify aksk signature fail/);
    });

    test('the path and the method', () => {
      assertFails(check({ ...req, url: req.url.replace('batch-restart', 'batch-reset') }), /verify aksk signature fail/);
      assertFails(check({ ...req, method: 'PUT' }), /verify aksk signature fail/);
    });

    test('a signed header', () => {
      assertFails(check(withHeaders(req, { 'x-project-id': 'proj2' })), /verify aksk signature fail/);
      assertFails(check(withHeaders(req, { host: 'evil.example.com' })), /verify aksk signature fail/);
    });

    test('a signed header that is removed', () => {
      assertFails(check(withHeaders(req, { 'x-project-id': undefined })), /signed header x-project-id is missing/);
    });

    test('the signature, the secret key', () => {
      const auth = String(req.headers.authorization);
      const flipped = auth.replace(/Signature=(.)/, (_, c: string) => `Signature=${c === '0' ? '1' : '0'}`);
      assertFails(check(withHeaders(req, { authorization: flipped })), /verify aksk signature fail/);
      assertFails(check(withHeaders(req, { authorization: `${auth}00` })), /verify aksk signature fail/);
      assertFails(check(req, SIGNED_AT, 'another-secret'), /verify aksk signature fail/);
    });

    test('the date header, which is part of the string to sign', () => {
      assertFails(check(withHeaders(req, { 'x-sdk-date': '20250301T120001Z' })), /verify aksk signature fail/);
    });

    test('a request older than 15 minutes has expired', () => {
      assert.deepEqual(check(req, new Date(SIGNED_AT.getTime() + SIGNATURE_WINDOW_MS)), { ok: true });
      assertFails(check(req, new Date(SIGNED_AT.getTime() + SIGNATURE_WINDOW_MS + 1000)), /expired/);
    });

    test('a request dated more than 15 minutes in the future is refused', () => {
      assert.deepEqual(check(req, new Date(SIGNED_AT.getTime() - SIGNATURE_WINDOW_MS)), { ok: true });
      assertFails(check(req, new Date(SIGNED_AT.getTime() - SIGNATURE_WINDOW_MS - 1000)), /in the future/);
    });

    test('a missing or malformed date', () => {
      assertFails(check(withHeaders(req, { 'x-sdk-date': undefined })), /x-sdk-date is missing/);
      for (const date of ['2025-03-01T12:00:00Z', '20250301T120000', '20250301t120000z', '20250230T120000Z', '20250301T246000Z', '', 'x20250301T120000Z', '20250301T120000Zx']) {
        assertFails(check(withHeaders(req, { 'x-sdk-date': date })), /x-sdk-date is invalid/);
      }
    });

    test('x-sdk-date left out of the signed headers', () => {
      const auth = String(req.headers.authorization).replace(';x-sdk-date', '');
      assertFails(check(withHeaders(req, { authorization: auth })), /signed headers must include x-sdk-date/);
    });
  });

  test('a non-JSON body: the SDK sends X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD and the body is not signed', async () => {
    const req = await send('PUT', '/v1/proj1/cloud-phone/files', { headers: { 'content-type': 'application/octet-stream' }, body: 'raw bytes' });
    assert.equal(req.headers['x-sdk-content-sha256'], 'UNSIGNED-PAYLOAD');
    assert.deepEqual(check(req), { ok: true });
    assert.deepEqual(check({ ...req, body: Buffer.from('other bytes') }), { ok: true });
    assertFails(check(withHeaders(req, { 'x-sdk-content-sha256': undefined })), /signed header x-sdk-content-sha256 is missing/);
  });
});

describe('requests signed by other clients', () => {
  test('a JSON body serialised Python-style (", " and ": ") verifies against those exact bytes', () => {
    const body = '{"phone_ids": ["a1", "b2"], "force": true}';
    const canonicalRequest = [
      'POST',
      '/v1/proj1/cloud-phone/phones/batch-restart/',
      '',
      'content-type:application/json\nhost:cph.example.com\nx-project-id:proj1\nx-sdk-date:20250301T120000Z\n',
      'content-type;host;x-project-id;x-sdk-date',
      sha256Hex(body),
    ].join('\n');
    const signature = signByHand(canonicalRequest, SDK_DATE, SK);
    const req: SignedRequest = {
      method: 'POST',
      url: '/v1/proj1/cloud-phone/phones/batch-restart',
      headers: {
        host: 'cph.example.com',
        'content-type': 'application/json',
        'x-project-id': 'proj1',
        'x-sdk-date': SDK_DATE,
        authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=${signature}`,
      },
      body: Buffer.from(body),
    };
    assert.deepEqual(check(req), { ok: true });
    assertFails(check({ ...req, body: Buffer.from(JSON.stringify(JSON.parse(body))) }), /verify aksk signature fail/);
  });

  test('the Go SDK form: host not signed, an empty query value sent as a bare name, a body ending in a newline', () => {
    const body = '{"name":"phone 1"}\n';
    const canonicalRequest = [
      'PUT',
      '/v1/proj1/cloud-phone/phones/p1/',
      'dry_run=&name=a%20b',
      'user-agent:huaweicloud-usdk-go/3.0\nx-project-id:proj1\nx-sdk-date:20250301T120000Z\n',
      'user-agent;x-project-id;x-sdk-date',
      sha256Hex(body),
    ].join('\n');
    const req: SignedRequest = {
      method: 'PUT',
      url: '/v1/proj1/cloud-phone/phones/p1?name=a%20b&dry_run',
      headers: {
        host: '127.0.0.1:8080',
        'content-type': 'application/json',
        'user-agent': 'huaweicloud-usdk-go/3.0',
        'x-project-id': 'proj1',
        'x-sdk-date': SDK_DATE,
        authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=user-agent;x-project-id;x-sdk-date, Signature=${signByHand(canonicalRequest, SDK_DATE, SK)}`,
      },
      body: Buffer.from(body),
    };
    assert.deepEqual(check(req), { ok: true });
  });

  test("a '+' in the query is a space, as the HTTP framework reads it; %2B is a plus", () => {
    const canonicalRequest = ['GET', '/v1/x/', 'name=a%20b%2Bc', `x-sdk-date:${SDK_DATE}\n`, 'x-sdk-date', sha256Hex('')].join('\n');
    const req: SignedRequest = {
      method: 'GET',
      url: '/v1/x?name=a+b%2Bc',
      headers: {
        'x-sdk-date': SDK_DATE,
        authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=x-sdk-date, Signature=${signByHand(canonicalRequest, SDK_DATE, SK)}`,
      },
      body: undefined,
    };
    assert.deepEqual(check(req), { ok: true });
    assert.deepEqual(check({ ...req, url: '/v1/x?name=a%20b%2Bc' }), { ok: true });
    assertFails(check({ ...req, url: '/v1/x?name=a%2Bb%2Bc' }), /verify aksk signature fail/);
  });

  test('the known-answer vectors of the Go SDK signer tests', () => {
    const now = new Date('2006-01-02T15:04:05Z');
    const auth = (signature: string) => `SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=${signature}`;
    const get: SignedRequest = {
      method: 'GET',
      url: '/path?limit=1',
      headers: {
        host: 'example.huaweicloud.com',
        'x-sdk-date': '20060102T150405Z',
        authorization: auth('5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624'),
      },
      body: undefined,
    };
    const post: SignedRequest = {
      method: 'POST',
      url: '/path?key=value',
      headers: {
        host: 'example.huaweicloud.com',
        'content-type': 'application/json',
        'x-sdk-date': '20060102T150405Z',
        authorization: auth('cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59'),
      },
      body: Buffer.from('{"Name":"test","Id":1}\n'),
    };
    assert.deepEqual(check(get, now, 'SecretKey'), { ok: true });
    assert.deepEqual(check(post, now, 'SecretKey'), { ok: true });
  });

  test('X-Sdk-Content-Sha256 carrying the body hash must match the body', () => {
    const body = '{"a": 1}';
    const canonicalRequest = [
      'POST',
      '/v1/x/',
      '',
      `x-sdk-content-sha256:${sha256Hex(body)}\nx-sdk-date:${SDK_DATE}\n`,
      'x-sdk-content-sha256;x-sdk-date',
      sha256Hex(body),
    ].join('\n');
    const req: SignedRequest = {
      method: 'POST',
      url: '/v1/x',
      headers: {
        'x-sdk-content-sha256': sha256Hex(body),
        'x-sdk-date': SDK_DATE,
        authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=x-sdk-content-sha256;x-sdk-date, Signature=${signByHand(canonicalRequest, SDK_DATE, SK)}`,
      },
      body: Buffer.from(body),
    };
    assert.deepEqual(check(req), { ok: true });
    assertFails(check({ ...req, body: Buffer.from('{"a": 2}') }), /x-sdk-content-sha256 does not match the request body/);
  });
});

describe('parseAuthorization', () => {
  test('reads the access key, the signed headers and the signature', () => {
    const signature = 'ab'.repeat(32);
    assert.deepEqual(parseAuthorization(`SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;X-Project-Id;x-sdk-date, Signature=${signature}`), {
      algorithm: 'SDK-HMAC-SHA256',
      accessKey: AK,
      signedHeaders: ['host', 'x-project-id', 'x-sdk-date'],
      signature,
    });
  });

  test('anything else is not an SDK-HMAC-SHA256 authorization', () => {
    const signature = 'ab'.repeat(32);
    for (const value of [
      '',
      'Bearer abc',
      `SDK-HMAC-SHA1 Access=${AK}, SignedHeaders=host;x-sdk-date, Signature=${signature}`,
      `sdk-hmac-sha256 Access=${AK}, SignedHeaders=host;x-sdk-date, Signature=${signature}`,
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;x-sdk-date`,
      `SDK-HMAC-SHA256 SignedHeaders=host;x-sdk-date, Signature=${signature}`,
      `SDK-HMAC-SHA256 Access=, SignedHeaders=host;x-sdk-date, Signature=${signature}`,
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=, Signature=${signature}`,
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;;x-sdk-date, Signature=${signature}`,
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;x-sdk-date, Signature=not-hex`,
      `SDK-HMAC-SHA256 Access=${AK}, Signature=${signature}, SignedHeaders=host;x-sdk-date`,
      // Anything before or after the whole of it, or a header name that is not a token.
      `x SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;x-sdk-date, Signature=${signature}`,
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;x-sdk-date, Signature=${signature} x`,
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;x-sdk-date, Signature=${signature}, Extra=1`,
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;x sdk date, Signature=${signature}`,
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;x-sdk-date(1), Signature=${signature}`,
    ]) {
      assert.equal(parseAuthorization(value), undefined, value);
    }
  });

  test('the separators may be any run of white space, as the SDKs write them', () => {
    const signature = 'ab'.repeat(32);
    const parsed = parseAuthorization(`  SDK-HMAC-SHA256   Access=${AK},   SignedHeaders=host;x-sdk-date,\tSignature=${signature}  `);
    assert.deepEqual(parsed?.signedHeaders, ['host', 'x-sdk-date']);
  });
});
