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
