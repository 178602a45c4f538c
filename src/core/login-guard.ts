import type { Clock } from './runtime.ts';

/**
 * Huawei IAM's account lockout, whose defaults are 5 failed logins within 15 minutes locking the user
 * for 15 minutes (IAM console, "Login Authentication Policy"; a locked user's token request is 401
 * "The account is locked.").
 */
export interface LoginPolicy {
  /** Failed logins that lock (see LoginGuard); 0 turns the lockout off. */
  maxFailures: number;
  /** Failures older than this are forgotten ("time for resetting the account lockout counter"). */
  windowSeconds: number;
  lockSeconds: number;
}

/** Failures of one address across all users, or of one user across all addresses, that lock: this many times `maxFailures`. */
export const WIDE_LOCK_FACTOR = 10;

/** Keys each count remembers at most, the least recently failed forgotten first, whatever an attacker sprays. */
export const MAX_TRACKED_LOGINS = 10_000;

/** Why a login is not tried: locked until its lock ends, or too many attempts for it are still being checked. */
export type LoginRefusal = 'locked' | 'throttled';

/** How a login ended: `unchecked` when its password could not be checked (busy, an error), which counts neither way. */
export type LoginOutcome = 'succeeded' | 'failed' | 'unchecked';

/** A login being checked; `finish` records its outcome. */
export interface LoginAttempt {
  finish(outcome: LoginOutcome): void;
}

/**
 * Who may try a password now. Three counts, each locking for `lockSeconds` at its threshold within
 * `windowSeconds`:
 * - a user from one client address: `maxFailures` (Huawei's rule, seen from the attacker's address);
 * - one address across users (password spraying): `maxFailures` × WIDE_LOCK_FACTOR;
 * - one user across addresses (guessing from many addresses): `maxFailures` × WIDE_LOCK_FACTOR.
 * So one address cannot lock a user out for everyone: that takes WIDE_LOCK_FACTOR addresses, while the
 * same user logs in from elsewhere meanwhile. Attempts still being checked count as failures until they
 * end (so that a burst in parallel gets no more tries than a sequence), but are refused as throttled,
 * not locked, since they may yet succeed. Kept in this process's memory (docs/security.md says why).
 */
export class LoginGuard {
  private readonly counts: Array<{ tally: FailureTally; key: (user: string, address: string) => string }>;

  constructor(
    policy: LoginPolicy,
    private readonly clock: Clock,
  ) {
    const window = policy.windowSeconds * 1000;
    const lock = policy.lockSeconds * 1000;
    const wide = policy.maxFailures * WIDE_LOCK_FACTOR;
    this.counts =
      policy.maxFailures === 0
        ? []
        : [
            { tally: new FailureTally(policy.maxFailures, window, lock, true), key: (user, address) => `${address}\n${user}` },
            { tally: new FailureTally(wide, window, lock, false), key: (_user, address) => address },
            { tally: new FailureTally(wide, window, lock, false), key: (user) => user },
          ];
  }

  /** Starts a login of `user` (any string naming one account's user) from `address`, unless refused. */
  begin(user: string, address: string): LoginAttempt | LoginRefusal {
    const now = this.clock.now().getTime();
    const keys = this.counts.map(({ tally, key }) => ({ tally, key: key(user, address) }));
    let refusal: LoginRefusal | undefined;
    for (const { tally, key } of keys) {
      const state = tally.state(key, now);
      if (state === 'locked') return 'locked';
      if (state === 'full') refusal = 'throttled';
    }
    if (refusal) return refusal;
    for (const { tally, key } of keys) tally.start(key, now);
    return {
      finish: (outcome) => {
        const end = this.clock.now().getTime();
        for (const { tally, key } of keys) tally.finish(key, end, outcome);
      },
    };
  }
}

interface Tally {
  failures: number;
  /** When the first of `failures` happened. */
  since: number;
  lockedUntil: number;
  inFlight: number;
}

/** Failures per key in a window, with a lock at `threshold`; at most MAX_TRACKED_LOGINS keys. */
class FailureTally {
  // A Map iterates in insertion order: entries are re-inserted when they change, so the first is the stalest.
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
    private readonly lockMs: number,
    /** Whether a success clears the key's failures (a user who got it right from that address). */
    private readonly successClears: boolean,
  ) {}

  state(key: string, now: number): 'locked' | 'full' | 'open' {
    const tally = this.current(key, now);
    if (!tally) return 'open';
    if (tally.lockedUntil > now) return 'locked';
    return tally.failures + tally.inFlight >= this.threshold ? 'full' : 'open';
  }

  start(key: string, now: number): void {
    const tally = this.current(key, now) ?? { failures: 0, since: now, lockedUntil: 0, inFlight: 0 };
    tally.inFlight++;
    this.store(key, tally);
  }

  finish(key: string, now: number, outcome: LoginOutcome): void {
    // Forgotten meanwhile (pushed out by other keys, or its window passed): counted afresh.
    const tally = this.current(key, now) ?? { failures: 0, since: now, lockedUntil: 0, inFlight: 1 };
    tally.inFlight = Math.max(0, tally.inFlight - 1);
    if (outcome === 'succeeded') {
      if (this.successClears) tally.failures = 0;
    } else if (outcome === 'failed' && tally.lockedUntil <= now && ++tally.failures >= this.threshold) {
      tally.lockedUntil = now + this.lockMs;
      tally.failures = 0;
    }
    if (tally.failures === 0 && tally.inFlight === 0 && tally.lockedUntil <= now) this.tallies.delete(key);
    else this.store(key, tally);
  }

  /** The key's tally, its failures reset once the window since the first has passed. */
  private current(key: string, now: number): Tally | undefined {
    const tally = this.tallies.get(key);
    if (tally && tally.failures > 0 && now - tally.since >= this.windowMs) {
      tally.failures = 0;
      tally.since = now;
    }
    if (tally && tally.failures === 0) tally.since = now;
    return tally;
  }

  private store(key: string, tally: Tally): void {
    this.tallies.delete(key);
    this.tallies.set(key, tally);
    if (this.tallies.size > MAX_TRACKED_LOGINS) this.tallies.delete(this.tallies.keys().next().value!);
  }
}
