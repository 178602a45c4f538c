import type { StoreChanges } from './changes.ts';

/**
 * Bytes made from the store (a page of the phone list, serialised), kept in memory while the store has not
 * changed since they were made: what dashboards and pollers ask for again and again is then answered
 * without a query. The least recently used go first beyond `maxBytes`.
 */
export class ReadCache {
  private readonly entries = new Map<string, { generation: number; bytes: Buffer }>();
  private size = 0;

  constructor(
    private readonly changes: StoreChanges,
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  async bytes(key: string, make: () => Promise<string>): Promise<Buffer> {
    const { changes } = this;
    const entry = this.entries.get(key);
    if (entry?.generation === changes.generation && changes.complete) {
      // Most recently used last; moved only when it is not already there.
      if (this.entries.size > 1) {
        this.entries.delete(key);
        this.entries.set(key, entry);
      }
      return entry.bytes;
    }
    if (entry) this.forget(key, entry);
    const generation = changes.generation;
    const bytes = Buffer.from(await make());
    // A write that ended while `make` read may or may not be in its text: keep only what no write overlapped.
    if (generation === changes.generation && changes.complete) this.keep(key, { generation, bytes });
    return bytes;
  }

  private keep(key: string, entry: { generation: number; bytes: Buffer }): void {
    const previous = this.entries.get(key);
    if (previous) this.forget(key, previous);
    this.entries.set(key, entry);
    this.size += entry.bytes.length;
    if (this.size <= this.maxBytes) return;
    for (const [oldest, old] of this.entries) {
      this.forget(oldest, old);
      if (this.size <= this.maxBytes) break;
    }
  }

  private forget(key: string, entry: { bytes: Buffer }): void {
    this.entries.delete(key);
    this.size -= entry.bytes.length;
  }
}
