import { Duplex } from 'node:stream';
import type { PGlite } from '@electric-sql/pglite';

/**
 * A socket-like stream into an embedded PGlite database, for node-postgres's `stream` option: what the
 * client writes is PostgreSQL's wire protocol, run by PGlite as a server would, and its replies are
 * read back as if from the network.
 *
 * node-postgres then parses the replies as it does for a PostgreSQL server (the same result types on both
 * stores), and in about half the time PGlite's own query API takes: that API parses every reply message
 * into objects before handing it over, and asks for each statement's parameter types in a round trip of
 * its own.
 */
export class PGliteStream extends Duplex {
  private pending: Buffer[] = [];
  private scheduled = false;

  constructor(private readonly lite: PGlite) {
    super();
  }

  // The parts of net.Socket that node-postgres calls.
  connect(): this {
    queueMicrotask(() => this.emit('connect'));
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A query is written as several messages (parse, bind, describe, execute, sync) in one go: they are
    // handed to PGlite together, in one call.
    this.pending.push(chunk);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => void this.exchange());
    }
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.push(null);
    callback();
  }

  private async exchange(): Promise<void> {
    this.scheduled = false;
    const messages = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    const replies: Buffer[] = [];
    try {
      // The chunks are views of PGlite's memory, reused by its next reply: copied.
      await this.lite.execProtocolRawStream(messages, { onRawData: (data) => void replies.push(Buffer.from(data)) });
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (replies.length > 0) this.push(replies.length === 1 ? replies[0] : Buffer.concat(replies));
  }
}
