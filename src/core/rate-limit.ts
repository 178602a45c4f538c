import type { Clock } from './runtime.ts';

/**
 * At most `limit` calls per key in any window of `windowMs` (a sliding log: exact, and small because
 * limits are a handful of calls). A limit of 0 means unlimited. Kept per process.
 */
export class SlidingWindowLimiter {
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Records a call and answers whether it is allowed; a refused call is not recorded. */
  take(key: string): boolean {
    if (this.limit === 0) return true;
    const now = this.clock.now().getTime();
    const recent = (this.calls.get(key) ?? []).filter((time) => time > now - this.windowMs);
    if (recent.length >= this.limit) {
      this.calls.set(key, recent);
      return false;
    }
    recent.push(now);
    this.calls.set(key, recent);
    return true;
  }
}

/** Requests of one account that may wait for a turn to change something; more are refused (429). */
export const ACCOUNT_WRITES_WAITING = 64;

/** A key already has `queue` calls waiting for a turn. */
export class GateFull extends Error {}

/**
 * At most `limit` calls per key at once; the next `queue` wait their turn in order (in memory, holding
 * nothing else), and more are refused with GateFull. Kept per process.
 */
export class ConcurrencyGate {
  private readonly keys = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(
    private readonly limit: number,
    private readonly queue: number,
  ) {}

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { running: 0, waiting: [] }));
    if (state.running >= this.limit) {
      if (state.waiting.length >= this.queue) throw new GateFull(`${key}: ${this.queue} calls already waiting`);
      // The turn is handed over by the call that ends (below), which does not lower `running`.
      await new Promise<void>((resolve) => state.waiting.push(resolve));
    } else {
      state.running++;
    }
    try {
      return await work();
    } finally {
      const next = state.waiting.shift();
      if (next) next();
      else if (--state.running === 0) this.keys.delete(key);
    }
  }
}
