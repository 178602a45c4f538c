// How many times each phone that has nothing else to save has booted: `<dataDir>/phones/boots.log`, one
// line `<phoneId> <count>` per change, the last line of a phone winning. A restart of an untouched phone
// changes only its boot count, and giving it a directory and a state.json of its own would cost two file
// creations (a fraction of a millisecond each on an ordinary disk, ten thousand phones restarted at once
// making seconds of it); appended here, the boots of hundreds of phones cost one write. A phone that has a
// state.json keeps its count there, and the ledger's line for it no longer counts.
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The count of a phone the ledger does not know: the boot at its creation. */
const DEFAULT_COUNT = 1;
/** The ledger is rewritten with one line per phone when it holds this many more lines than that. */
const COMPACT_SLACK = 1000;

export class BootLedger {
  private readonly counts = new Map<string, number>();
  private loading?: Promise<void>;
  /** Lines waiting for the next write, and the write that will carry them. */
  private batch: string[] = [];
  private batchWritten?: Promise<void>;
  private lastWrite: Promise<void> = Promise.resolve();
  /** The write carrying each phone's latest record, until it is done. */
  private readonly unwritten = new Map<string, Promise<void>>();

  constructor(private readonly path: string) {}

  /** The phone's boots as last recorded here (1 when it never was). */
  async count(phoneId: string): Promise<number> {
    await this.load();
    return this.counts.get(phoneId) ?? DEFAULT_COUNT;
  }

  /**
   * Records the phone's count; resolves once it is written. Records arriving while a write is under way are
   * written together by the next one.
   */
  async record(phoneId: string, count: number): Promise<void> {
    await this.load();
    // Already recorded: done once that record is written.
    if ((this.counts.get(phoneId) ?? DEFAULT_COUNT) === count) return this.unwritten.get(phoneId);
    this.counts.set(phoneId, count);
    this.batch.push(`${phoneId} ${count}\n`);
    if (!this.batchWritten) {
      const written = this.lastWrite.then(() => {
        const lines = this.batch;
        this.batch = [];
        this.batchWritten = undefined;
        return appendFile(this.path, lines.join(''));
      });
      this.batchWritten = written;
      this.lastWrite = written.catch(() => {});
    }
    const written = this.batchWritten;
    this.unwritten.set(phoneId, written);
    void written.finally(() => {
      if (this.unwritten.get(phoneId) === written) this.unwritten.delete(phoneId);
    }).catch(() => {});
    return written;
  }

  /** A deleted phone's count (its id is never used again, or by a new phone counting from its creation). */
  forget(phoneId: string): Promise<void> {
    return this.record(phoneId, DEFAULT_COUNT);
  }

  private load(): Promise<void> {
    return (this.loading ??= this.read());
  }

  private async read(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let lines = 0;
    for (const line of text.split('\n')) {
      const [phoneId, count] = line.split(' ');
      // A line cut short (the disk filled up mid-write) is skipped.
      if (!phoneId || !/^\d+$/.test(count ?? '')) continue;
      this.counts.set(phoneId, Number(count));
      lines++;
    }
    if (lines > this.counts.size + COMPACT_SLACK) await this.compact();
  }

  /** One line per phone that differs from the default, written aside and renamed over the ledger. */
  private async compact(): Promise<void> {
    const lines = [...this.counts].filter(([, count]) => count !== DEFAULT_COUNT).map(([phoneId, count]) => `${phoneId} ${count}\n`);
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, lines.join(''));
    await rename(tmp, this.path);
  }
}
