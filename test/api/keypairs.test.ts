// Huawei KPS key pairs over HTTP (`/v3/{project_id}/keypairs`): CreateKeypair (generated, OpenSSH import,
// adbkey.pub import), ListKeypairs, ListKeypairDetail, UpdateKeypairDescription, DeleteKeypair, with the
// codes docs/kps-notes.md and src/core/errors.ts (KPS_CODES) give.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { call, getToken, startTestServer, type ApiResponse, type Target, type Tenant, type TestServer } from '../helpers/server.ts';

const KEYPAIRS = '/v3/{project_id}/keypairs';
const STATUS: Record<string, number> = { 'KPS.0006': 404 };

let t: TestServer;
let other: Tenant;
/** A second user of the default tenant's account, in its project. */
let colleague: Tenant;
const asOther = (): Target => ({ url: t.url, tenant: other });
const asColleague = (): Target => ({ url: t.url, tenant: colleague });

before(async () => {
  t = await startTestServer();
  other = await t.createTenant('tenant-b');
  const user = await t.server.services.iam.createUser(t.tenant.domainName, 'bob', 'bob-password-1');
  colleague = { ...t.tenant, userName: 'bob', password: user.password, token: await getToken(t.url, t.tenant.domainName, 'bob', user.password, t.tenant.projectName) };
});
after(() => t.close());

const create = (keypair: unknown, target: Target = t) => call(target, 'POST', KEYPAIRS, { body: { keypair } });
const show = (name: string, target: Target = t) => call(target, 'GET', `${KEYPAIRS}/${name}`);
const list = (query = '', target: Target = t) => call(target, 'GET', `${KEYPAIRS}${query}`);

function assertKpsError(response: ApiResponse, code: string) {
  assert.equal(response.status, STATUS[code] ?? 400, JSON.stringify(response.body));
  assert.equal(response.body.error_code, code);
  assert.equal(typeof response.body.error_msg, 'string');
}

function assertOk(response: ApiResponse, status = 200) {
  assert.equal(response.status, status, JSON.stringify(response.body));
}

// --- Key formats, written here from their specifications rather than taken from src/ ---

const bigintOf = (bytes: Buffer) => BigInt(`0x${bytes.toString('hex') || '0'}`);
const numbersOf = (key: KeyObject) => {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return { n: bigintOf(Buffer.from(jwk.n!, 'base64url')), e: bigintOf(Buffer.from(jwk.e!, 'base64url')) };
};
const bytesOf = (value: bigint) => Buffer.from(value.toString(16).padStart(Math.ceil(value.toString(16).length / 2) * 2, '0'), 'hex');
const sshString = (bytes: Buffer) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const mpint = (value: bigint) => { const bytes = bytesOf(value); return bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes; };

/** RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n. */
function sshBlob(key: KeyObject): Buffer {
  const { n, e } = numbersOf(key);
  return Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshString(mpint(e)), sshString(mpint(n))]);
}

/** The RSA public key of an `ssh-rsa` line, for node:crypto. */
function publicKeyOfSshLine(line: string): KeyObject {
  const blob = Buffer.from(line.split(' ')[1], 'base64');
  const fields: Buffer[] = [];
  for (let offset = 0; offset < blob.length; offset += 4 + blob.readUInt32BE(offset)) fields.push(blob.subarray(offset + 4, offset + 4 + blob.readUInt32BE(offset)));
  assert.equal(fields[0].toString(), 'ssh-rsa');
  const b64url = (bytes: Buffer) => (bytes[0] === 0 ? bytes.subarray(1) : bytes).toString('base64url');
  return createPublicKey({ key: { kty: 'RSA', e: b64url(fields[1]), n: b64url(fields[2]) }, format: 'jwk' });
}

const md5Fingerprint = (blob: Buffer) => createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (let b = base % modulus, x = exponent; x > 0n; x >>= 1n, b = (b * b) % modulus) if (x & 1n) result = (result * b) % modulus;
  return result;
}

/**
 * adbkey.pub as AOSP's android_pubkey.cpp writes it: base64 of {u32 modulus_size_words = 64, u32 n0inv =
 * -1/n mod 2^32, modulus (256 bytes, little-endian), rr = (2^2048)^2 mod n (little-endian), u32 exponent},
 * then " user@host".
 */
function adbPublicKey(key: KeyObject, comment = 'tester@host'): string {
  const { n, e } = numbersOf(key);
  const word = 2n ** 32n;
  // The units mod 2^32 form a group of order 2^31: n^(2^31 - 1) is n's inverse.
  const n0inv = (word - modPow(n % word, 2n ** 31n - 1n, word)) % word;
  const littleEndian = (value: bigint) => Buffer.from(value.toString(16).padStart(512, '0'), 'hex').reverse();
  const struct = Buffer.alloc(524);
  struct.writeUInt32LE(64, 0);
  struct.writeUInt32LE(Number(n0inv), 4);
  littleEndian(n).copy(struct, 8);
  littleEndian((1n << 4096n) % n).copy(struct, 264);
  struct.writeUInt32LE(Number(e), 520);
  return `${struct.toString('base64')} ${comment}`;
}

const rsaKey = (bits = 2048) => generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 }).privateKey;

describe('CreateKeypair', () => {
  test('generates an RSA-2048 pair: the private key is PKCS#1 PEM, answered once, and signs what the stored public key verifies', async () => {
    const before = Date.now();
    const response = await create({ name: 'generated-1', type: 'ssh', scope: 'user' });
    assertOk(response);
    const { keypair } = response.body;
    assert.deepEqual(Object.keys(keypair).sort(), ['fingerprint', 'name', 'private_key', 'public_key', 'type', 'user_id']);
    assert.equal(keypair.name, 'generated-1');
    assert.equal(keypair.type, 'ssh');
    assert.match(keypair.private_key, /^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----\n?$/);
    assert.match(keypair.public_key, /^ssh-rsa AAAAB3NzaC1yc2E[A-Za-z0-9+/=]+ Generated-by-Nova$/);
    const privateKey = createPrivateKey(keypair.private_key);
    assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(privateKey.asymmetricKeyDetails?.publicExponent, 65537n);
    const data = Buffer.from('adb auth token 20 b');
    const stored = (await show('generated-1')).body.keypair;
    assert.ok(verify('sha256', data, publicKeyOfSshLine(stored.public_key), sign('sha256', data, privateKey)));
    assert.equal(keypair.fingerprint, md5Fingerprint(sshBlob(privateKey)));

    assert.equal(stored.private_key, undefined);
    assert.equal(stored.public_key, keypair.public_key);
    assert.equal(stored.fingerprint, keypair.fingerprint);
    assert.equal(stored.user_id, keypair.user_id);
    assert.equal(stored.is_key_protection, false);
    assert.equal(stored.algorithm, 'RSA2048');
    assert.equal(stored.scope, 'user');
    assert.equal(stored.deleted, false);
    assert.equal(stored.delete_time, 0);
    assert.equal(stored.frozen_state, 0);
    assert.equal(stored.description, '');
    assert.ok(Number.isInteger(stored.id));
    // Milliseconds, as Terraform reads them.
    assert.ok(stored.create_time >= before - 1000 && stored.create_time <= Date.now() + 1000, String(stored.create_time));
  });

  test('imports an OpenSSH ssh-rsa line, kept as given; no private key is answered', async () => {
    const key = rsaKey();
    const line = `ssh-rsa ${sshBlob(key).toString('base64')} me@laptop`;
    const response = await create({ name: 'imported-ssh', public_key: line });
    assertOk(response);
    assert.equal(response.body.keypair.private_key, undefined);
    assert.equal(response.body.keypair.public_key, line);
    assert.equal(response.body.keypair.fingerprint, md5Fingerprint(sshBlob(key)));
    assert.equal((await show('imported-ssh')).body.keypair.public_key, line);
  });

  test("imports adb's adbkey.pub form and answers it in OpenSSH form, with the same fingerprint as the key's ssh-rsa line", async () => {
    const key = rsaKey();
    const response = await create({ name: 'imported-adb', public_key: adbPublicKey(key, 'dev@workstation') });
    assertOk(response);
    const { keypair } = response.body;
    assert.equal(keypair.public_key, `ssh-rsa ${sshBlob(key).toString('base64')} dev@workstation`);
    assert.equal(keypair.fingerprint, md5Fingerprint(sshBlob(key)));
    const data = Buffer.from('token');
    assert.ok(verify('sha1', data, publicKeyOfSshLine(keypair.public_key), sign('sha1', data, key)));
  });

  test('imports an RSA-4096 key (not an adb key, but a KPS one)', async () => {
    const key = rsaKey(4096);
    assertOk(await create({ name: 'imported-4096', public_key: `ssh-rsa ${sshBlob(key).toString('base64')}` }));
    assert.equal((await show('imported-4096')).body.keypair.algorithm, 'RSA4096');
  });

  test('refuses bad names (KPS.0002), a name taken (KPS.0004), bad public keys (KPS.0003), bodies without a keypair (KPS.0001), another user_id (KPS.0009)', async () => {
    for (const name of ['', 'has space', 'dot.name', 'ünï', 'x'.repeat(256)]) assertKpsError(await create({ name }), 'KPS.0002');
    assertKpsError(await create({ public_key: 'ssh-rsa AAAA' }), 'KPS.0002');
    assertOk(await create({ name: 'x'.repeat(255), public_key: `ssh-rsa ${sshBlob(rsaKey()).toString('base64')}` }));
    assertKpsError(await create({ name: 'generated-1' }), 'KPS.0004');
    const key = rsaKey();
    const adb = adbPublicKey(key);
    const broken = Buffer.from(adb.split(' ')[0], 'base64');
    broken[300] ^= 1; // rr no longer matches the modulus
    const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    for (const public_key of [
      'ssh-rsa',
      'ssh-rsa not-base64!',
      `ssh-rsa ${sshBlob(key).subarray(0, 100).toString('base64')}`,
      `ssh-ed25519 ${ed25519}`,
      `ssh-rsa ${sshBlob(rsaKey(512)).toString('base64')}`,
      adb.slice(0, 600),
      broken.toString('base64'),
      '',
    ]) {
      assertKpsError(await create({ name: 'bad-key', public_key }), 'KPS.0003');
    }
    assert.equal((await show('bad-key')).status, 404);
    assertKpsError(await call(t, 'POST', KEYPAIRS, { body: {} }), 'KPS.0001');
    assertKpsError(await call(t, 'POST', KEYPAIRS, { body: { keypair: 'x' } }), 'KPS.0001');
    assertKpsError(await create({ name: 'someone-else', user_id: 'ffffffffffffffffffffffffffffffff' }), 'KPS.0009');
    assertKpsError(await create({ name: 'bad-scope', scope: 'project' }), 'KPS.0009');
  });

  test('AK/SK-signed requests (the official signer) create and list', async () => {
    const signed = await call(t, 'POST', KEYPAIRS, { body: { keypair: { name: 'signed-1' } }, sign: t.tenant });
    assertOk(signed);
    assert.match(signed.body.keypair.private_key, /BEGIN RSA PRIVATE KEY/);
    const listed = await call(t, 'GET', `${KEYPAIRS}?limit=1000`, { sign: t.tenant });
    assertOk(listed);
    assert.ok(listed.body.keypairs.some((entry: { keypair: { name: string } }) => entry.keypair.name === 'signed-1'));
  });
});

describe('ListKeypairs', () => {
  test('pages by name after `marker`; page_info says where the next page starts', async () => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    const line = `ssh-rsa ${sshBlob(rsaKey()).toString('base64')}`;
    for (const name of names) assertOk(await create({ name, public_key: line }, asOther()));
    const all = await list('', asOther());
    assertOk(all);
    assert.deepEqual(all.body.keypairs.map((entry: { keypair: { name: string } }) => entry.keypair.name), names);
    assert.deepEqual(all.body.page_info, { current_count: 5 });
    assert.deepEqual(Object.keys(all.body.keypairs[0].keypair).sort(), ['fingerprint', 'frozen_state', 'is_key_protection', 'name', 'public_key', 'scope', 'type']);
    assert.equal(all.body.keypairs[0].keypair.frozen_state, '0');

    const first = await list('?limit=2', asOther());
    assert.deepEqual(first.body.keypairs.map((entry: { keypair: { name: string } }) => entry.keypair.name), ['page-a', 'page-b']);
    assert.deepEqual(first.body.page_info, { next_marker: 'page-b', current_count: 2 });
    const second = await list('?limit=2&marker=page-b', asOther());
    assert.deepEqual(second.body.keypairs.map((entry: { keypair: { name: string } }) => entry.keypair.name), ['page-c', 'page-d']);
    assert.deepEqual(second.body.page_info, { next_marker: 'page-d', previous_marker: 'page-b', current_count: 2 });
    const last = await list('?limit=2&marker=page-d', asOther());
    assert.deepEqual(last.body.page_info, { previous_marker: 'page-d', current_count: 1 });

    for (const query of ['?limit=0', '?limit=1001', '?limit=abc', '?limit=1.5']) assertKpsError(await list(query, asOther()), 'KPS.0008');
  });
});

describe('UpdateKeypairDescription, DeleteKeypair', () => {
  test('a description is set (200, empty body) and shown; too long is KPS.0007; unknown names are 404 KPS.0006', async () => {
    assertOk(await create({ name: 'described', public_key: `ssh-rsa ${sshBlob(rsaKey()).toString('base64')}` }));
    const updated = await call(t, 'PUT', `${KEYPAIRS}/described`, { body: { keypair: { description: 'CI phones' } } });
    assertOk(updated);
    assert.equal(updated.body, undefined);
    const shown = (await show('described')).body.keypair;
    assert.equal(shown.description, 'CI phones');
    assert.ok(shown.update_time >= shown.create_time);
    assertKpsError(await call(t, 'PUT', `${KEYPAIRS}/described`, { body: { keypair: { description: 'x'.repeat(256) } } }), 'KPS.0007');
    assertKpsError(await call(t, 'PUT', `${KEYPAIRS}/described`, { body: {} }), 'KPS.0001');
    assertKpsError(await call(t, 'PUT', `${KEYPAIRS}/missing`, { body: { keypair: { description: 'x' } } }), 'KPS.0006');
  });

  test('delete answers 204; the key is then unknown (404 KPS.0006) and its name free again', async () => {
    assertOk(await create({ name: 'short-lived' }));
    const deleted = await call(t, 'DELETE', `${KEYPAIRS}/short-lived`);
    assertOk(deleted, 204);
    assert.equal(deleted.body, undefined);
    assertKpsError(await show('short-lived'), 'KPS.0006');
    assertKpsError(await call(t, 'DELETE', `${KEYPAIRS}/short-lived`), 'KPS.0006');
    assertOk(await create({ name: 'short-lived' }));
  });
});

describe('tenancy and quota', () => {
  test("another account's key pairs are invisible: not listed, 404 to show, update and delete; their names are free", async () => {
    assertOk(await create({ name: 'mine-only' }));
    assertKpsError(await show('mine-only', asOther()), 'KPS.0006');
    assertKpsError(await call(asOther(), 'DELETE', `${KEYPAIRS}/mine-only`), 'KPS.0006');
    assertKpsError(await call(asOther(), 'PUT', `${KEYPAIRS}/mine-only`, { body: { keypair: { description: 'x' } } }), 'KPS.0006');
    const theirs = await list('', asOther());
    assert.ok(!theirs.body.keypairs.some((entry: { keypair: { name: string } }) => entry.keypair.name === 'mine-only'));
    assertOk(await create({ name: 'mine-only' }, asOther()));
    assertOk(await show('mine-only'));
    // The path's project must be the credential's own, as on every route.
    const foreignPath = await call(t, 'GET', `/v3/${other.projectId}/keypairs`);
    assert.notEqual(foreignPath.status, 200);
  });

  test("a user's key is theirs alone; an account (domain) key is seen by every user of the account and takes its name for all", async () => {
    assertOk(await create({ name: 'alice-own' }));
    assertOk(await create({ name: 'team-key', scope: 'domain' }));
    assertKpsError(await show('alice-own', asColleague()), 'KPS.0006');
    const seen = await list('', asColleague());
    assert.deepEqual(seen.body.keypairs.map((entry: { keypair: { name: string } }) => entry.keypair.name), ['team-key']);
    assert.equal((await show('team-key', asColleague())).body.keypair.scope, 'domain');
    assertKpsError(await create({ name: 'team-key' }, asColleague()), 'KPS.0004');
    assertOk(await create({ name: 'alice-own' }, asColleague()));
    assertKpsError(await create({ name: 'alice-own', scope: 'domain' }, asColleague()), 'KPS.0004');
  });

  test('a user holds at most OPENCPH_QUOTA_KEYPAIRS_PER_USER key pairs (KPS.0005); deleting one makes room', async () => {
    const small = await startTestServer({ env: { OPENCPH_QUOTA_KEYPAIRS_PER_USER: '2' } });
    try {
      const line = `ssh-rsa ${sshBlob(rsaKey()).toString('base64')}`;
      assertOk(await create({ name: 'one', public_key: line }, small));
      assertOk(await create({ name: 'two', public_key: line }, small));
      assertKpsError(await create({ name: 'three', public_key: line }, small), 'KPS.0005');
      assertOk(await call(small, 'DELETE', `${KEYPAIRS}/one`), 204);
      assertOk(await create({ name: 'three', public_key: line }, small));
    } finally {
      await small.close();
    }
  });
});
