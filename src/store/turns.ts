// Store connections are handed out by turns, shared fairly between the tenants asking for them. A tenant's
// burst (the provisioning of 2,000 phones, 21 purchases at once) queues hundreds of statements; first come,
// first served, another tenant's one query would wait behind all of them (docs/reliability.md, R6). Each
// piece of work says whose it is (`asOwner`: a request's project, a job's project), and waiting owners are
// served in rounds, one turn each, each owner's own requests in order.
import { AsyncLocalStorage } from 'node:async_hooks';

const owners = new AsyncLocalStorage<string>();

/** Runs `work` (and everything it starts) on behalf of `owner`: its store connections are that owner's turns. */
export function asOwner<T>(owner: string, work: () => T): T {
  return owners.run(owner, work);
}

/** Whose work is asking: the owner set by `asOwner`, or '' for the server's own work (sessions, the engine's bookkeeping). */
export function currentOwner(): string {
  return owners.getStore() ?? '';
}

/** At most `capacity` turns at once; waiting owners are served round-robin, each owner's waiters in order. */
export class FairTurns {
  private active = 0;
  /** Owners with waiters, in the order of their next turn (a Map keeps insertion order). */
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly capacity: number) {}

  acquire(owner = currentOwner()): Promise<void> {
    if (this.active < this.capacity && this.waiting.size === 0) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.waiting.get(owner);
      if (queue) queue.push(resolve);
      else this.waiting.set(owner, [resolve]);
    });
  }

  /** Ends a turn: the next owner in the round gets it, and goes to the back of the round. */
  release(): void {
    const next = this.waiting.entries().next();
    if (next.done) {
      this.active--;
      return;
    }
    const [owner, queue] = next.value;
    const resolve = queue.shift()!;
    this.waiting.delete(owner);
    if (queue.length > 0) this.waiting.set(owner, queue);
    resolve();
  }
}

interface PooledClient {
  release(error?: Error | boolean): void;
}

/**
 * A pg pool whose connections are handed out by fair turns: `capacity` (the pool's size) at most, so that
 * the pool itself never queues, first come first served.
 */
export function fairPool<C extends PooledClient>(pool: { connect(): Promise<C>; end(): Promise<void> }, capacity: number) {
  const turns = new FairTurns(capacity);
  return {
    async connect(): Promise<C> {
      await turns.acquire();
      let client: C;
      try {
        client = await pool.connect();
      } catch (error) {
        turns.release();
        throw error;
      }
      const release = client.release.bind(client);
      client.release = (error?: Error | boolean) => {
        release(error);
        turns.release();
      };
      return client;
    },
    end: () => pool.end(),
  };
}
