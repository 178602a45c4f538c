import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, MAX_JSON_VALUES, parseJsonBody } from '../../src/api/body.ts';
import { addressKey, isAddressOrCidr } from '../../src/api/connections.ts';
import { LoginGuard, MAX_TRACKED_LOGINS, WIDE_LOCK_FACTOR, type LoginAttempt } from '../../src/core/login-guard.ts';

/** The front door's pieces on their own: bounded JSON, client addresses, the login lockout. */

describe('parseJsonBody', () => {
  const parse = (text: string) => parseJsonBody(Buffer.from(text));

  test('parses JSON as JSON.parse does, strings with escaped quotes and brackets included', () => {
    const value = { a: '\\"[[{{,,', b: [[1, 2], { c: 'x\\' }], d: '\u00e9\u0000' };
    assert.deepEqual(parse(JSON.stringify(value)), value);
    assert.equal(parse('{"a":'), undefined);
    assert.equal(parse(`"${'['.repeat(100)}`), undefined);
  });

  test(`refuses nesting past ${MAX_JSON_DEPTH} levels and more than ${MAX_JSON_VALUES} values, but not the same in strings`, () => {
    assert.ok(parse(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`));
    assert.equal(parse(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`), undefined);
    assert.ok(parse(`[${'0,'.repeat(MAX_JSON_VALUES - 2)}0]`));
    assert.equal(parse(`[${'0,'.repeat(MAX_JSON_VALUES)}0]`), undefined);
    assert.equal(parse(`[${'[],'.repeat(MAX_JSON_VALUES)}[]]`), undefined);
    assert.deepEqual(parse(JSON.stringify({ text: '[,'.repeat(MAX_JSON_VALUES) })), { text: '[,'.repeat(MAX_JSON_VALUES) });
  });
});

describe('addressKey', () => {
  test('an IPv4 address as it is, an IPv4-mapped one as IPv4, an IPv6 one by its /64', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('2001:db8:0:1::5'), '2001:db8:0:1::/64');
    assert.equal(addressKey('2001:0db8:0000:0001:ffff:0:0:1'), '2001:db8:0:1::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('64:ff9b::1.2.3.4'), '64:ff9b:0:0::/64');
  });

  test('trusted proxies are addresses or CIDRs', () => {
    for (const entry of ['10.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1', '0.0.0.0/0']) assert.ok(isAddressOrCidr(entry), entry);
    for (const entry of ['proxy.local', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/1', '10.0.0.0/', '']) assert.ok(!isAddressOrCidr(entry), entry);
  });
});

describe('LoginGuard', () => {
  const policy = { maxFailures: 3, windowSeconds: 60, lockSeconds: 120 };
  const fakeClock = () => {
    let now = 0;
    return { clock: { now: () => new Date(now) }, advance: (seconds: number) => (now += seconds * 1000) };
  };
  const fail = (guard: LoginGuard, user: string, address: string) => {
    const attempt = guard.begin(user, address);
    assert.equal(typeof attempt, 'object', `${user} from ${address}: ${String(attempt)}`);
    (attempt as LoginAttempt).finish('failed');
  };

  test('failures spread over more than the window do not lock; a success from the address clears them', () => {
    const { clock, advance } = fakeClock();
    const guard = new LoginGuard(policy, clock);
    fail(guard, 'u', 'a');
    fail(guard, 'u', 'a');
    advance(61);
    fail(guard, 'u', 'a');
    fail(guard, 'u', 'a');
    (guard.begin('u', 'a') as LoginAttempt).finish('succeeded');
    fail(guard, 'u', 'a');
    fail(guard, 'u', 'a');
    fail(guard, 'u', 'a');
    assert.equal(guard.begin('u', 'a'), 'locked');
    advance(119);
    assert.equal(guard.begin('u', 'a'), 'locked');
    advance(1);
    assert.equal(typeof guard.begin('u', 'a'), 'object');
  });

  test('attempts still being checked count: a parallel burst is throttled, and an unchecked one counts neither way', () => {
    const { clock } = fakeClock();
    const guard = new LoginGuard(policy, clock);
    const burst = [guard.begin('u', 'a'), guard.begin('u', 'a'), guard.begin('u', 'a')] as LoginAttempt[];
    assert.equal(guard.begin('u', 'a'), 'throttled');
    burst[0].finish('unchecked');
    burst[1].finish('failed');
    burst[2].finish('failed');
    fail(guard, 'u', 'a');
    assert.equal(guard.begin('u', 'a'), 'locked');
  });

  test(`one address locks all users at ${WIDE_LOCK_FACTOR}× the failures, one user from all addresses likewise`, () => {
    const { clock } = fakeClock();
    const guard = new LoginGuard(policy, clock);
    for (let i = 0; i < policy.maxFailures * WIDE_LOCK_FACTOR; i++) fail(guard, `user-${i}`, 'sprayer');
    assert.equal(guard.begin('anyone', 'sprayer'), 'locked');
    for (let i = 0; i < policy.maxFailures * WIDE_LOCK_FACTOR; i++) fail(guard, 'target', `address-${Math.floor(i / policy.maxFailures)}`);
    assert.equal(guard.begin('target', 'fresh'), 'locked');
    assert.equal(typeof guard.begin('other', 'fresh'), 'object');
  });

  test(`remembers at most ${MAX_TRACKED_LOGINS} keys per count, the stalest forgotten first`, () => {
    const { clock } = fakeClock();
    const guard = new LoginGuard({ ...policy, maxFailures: 1 }, clock);
    fail(guard, 'first', 'a');
    assert.equal(guard.begin('first', 'a'), 'locked');
    // Each from an address of its own, so that no wider count locks first.
    for (let i = 0; i < MAX_TRACKED_LOGINS; i++) fail(guard, `user-${i}`, `address-${i}`);
    const tallies = (guard as unknown as { counts: Array<{ tally: { tallies: Map<string, unknown> } }> }).counts.map(({ tally }) => tally.tallies.size);
    assert.ok(tallies.every((size) => size <= MAX_TRACKED_LOGINS), JSON.stringify(tallies));
    assert.equal(typeof guard.begin('first', 'a'), 'object');
  });

  test('no lockout when maxFailures is 0', () => {
    const { clock } = fakeClock();
    const guard = new LoginGuard({ ...policy, maxFailures: 0 }, clock);
    for (let i = 0; i < 100; i++) fail(guard, 'u', 'a');
  });
});
