// Where one simulated phone lives on the host: `<dataDir>/phones/<phoneId>/`.
//   state.jsonl  everything that differs from a fresh device (see device.ts), absent while nothing does
//   blobs/<sha256>  contents of the files written on the phone, named by their hash, so copies are free
// state.jsonl is a journal, one JSON value a line, so that a save writes what changed, not every file of a
// phone that holds a hundred thousand:
//   ["<path>", <entry>]   an entry of the phone's file system set ("<path>", null: a deletion of the image's)
//   ["<path>"]            an entry removed
//   {"head": <state>}     the rest of the state, which commits the entries written since the previous head
// A save appends entries and a head; a process killed meanwhile leaves lines without a head, which are not
// read and are cut off before the next append. Once the journal is twice as long as when last written
// whole, it is written whole again. Older versions kept everything in state.json, which is read once and
// replaced by the journal at the next save; the shared storage of servers still keeps one.
// Every file written whole goes to a temporary file that is renamed into place: a process killed at any
// moment leaves either the old or the new file, never a torn one.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Transform } from 'node:stream';
import { PhoneDeletedError } from '../driver.ts';

let tmpCounter = 0;
const tmpName = (target: string) => `${target}.${process.pid}.${++tmpCounter}.tmp`;

/** Bytes of text serialised per write: each write gives the event loop a turn. */
const WRITE_BYTES = 64 * 1024;
/** Entries read back between two turns of the event loop. */
const ENTRIES_PER_TURN = 1000;
/** Bytes of the journal read at a time. */
const READ_BYTES = 128 * 1024;
/** A journal grows to twice its last whole write, and this much more, before it is written whole again. */
const JOURNAL_SLACK = 64 * 1024;

/** The large keyed part of a state, of which a save writes what changed (a phone's file system). */
export interface Journaled<V> {
  readonly entries: ReadonlyMap<string, V>;
  /** The keys set or removed since the last call. */
  takeChanges(): Iterable<string>;
}

/** Where saved entries are read into. */
export interface EntrySink<V> {
  set(key: string, value: V): void;
  delete(key: string): void;
}

export class PhoneStore {
  readonly statePath: string;
  readonly journalPath: string;
  readonly blobDir: string;
  /** Where the journal's last head ends, its length when last written whole, and whether lines of a cut save follow. */
  private journal?: { bytes: number; whole: number; torn: boolean };
  /** The last save: saves run one after the other. */
  private saving: Promise<void> = Promise.resolve();

  private deleted = false;
  /** Whether blobs/ was made by this store (and not removed since): a mkdir per blob is a round trip per file. */
  private blobDirMade = false;

  constructor(readonly dir: string) {
    this.statePath = join(dir, 'state.json');
    this.journalPath = join(dir, 'state.jsonl');
    this.blobDir = join(dir, 'blobs');
  }

  /**
   * The state as last saved, its entries put into `entries`: the journal, read a line at a time so that a
   * large one does not hold the event loop, or the state.json of an older version, whose `legacyField` held
   * the entries. Undefined when nothing was saved.
   */
  async readSaved<T, V>(legacyField: string, entries: EntrySink<V>): Promise<T | undefined> {
    if (!existsSync(this.journalPath)) {
      const state = await this.readState<Record<string, unknown>>();
      if (!state) return undefined;
      const { [legacyField]: legacy, ...head } = state;
      for (const [key, value] of Object.entries((legacy ?? {}) as Record<string, V>)) entries.set(key, value);
      return head as T;
    }
    let pending: Array<[string, V] | [string]> = [];
    let head: T | undefined;
    let committed = 0;
    let end = 0;
    for await (const line of lines(this.journalPath)) {
      end = line.end;
      if (!line.complete) break;
      const record = JSON.parse(line.text) as [string, V] | [string] | { head: T };
      // What comes before the first head was written whole (and renamed into place): none of it can be missing.
      if (Array.isArray(record) && head === undefined) put(entries, record);
      else if (Array.isArray(record)) pending.push(record);
      if (Array.isArray(record)) continue;
      for (const [i, entry] of pending.entries()) {
        put(entries, entry);
        if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
      }
      pending = [];
      head = record.head;
      committed = line.end;
    }
    if (head === undefined) throw new Error(`${this.journalPath} holds no saved state`);
    this.journal = { bytes: committed, whole: committed, torn: end > committed };
    return head;
  }

  /** Saves `head` and what changed in `entries` after the saves before it: all of it is read back, or none. */
  save<V>(head: unknown, entries: Journaled<V>): Promise<void> {
    const saved = this.saving.then(() => this.writeSaved(head, entries));
    this.saving = saved.catch(() => {});
    return saved;
  }

  /** Copies what is saved (the state, the blobs its entries use) to another store; false when nothing is. */
  async copyTo(other: PhoneStore, legacyField: string): Promise<boolean> {
    const entries = new Map<string, { blob?: string } | null>();
    const head = await this.readSaved(legacyField, entries);
    if (head === undefined) return false;
    const blobs = new Set([...entries.values()].flatMap((entry) => (entry?.blob ? [entry.blob] : [])));
    for (const hash of blobs) await other.importBlob(this.blobPath(hash));
    await other.save(head, { entries, takeChanges: () => [] });
    return true;
  }

  private async writeSaved<V>(head: unknown, map: Journaled<V>): Promise<void> {
    this.assertNotDeleted();
    const headLine = `${JSON.stringify({ head })}\n`;
    const journal = this.journal;
    try {
      if (!journal || journal.bytes > 2 * journal.whole + JOURNAL_SLACK) {
        map.takeChanges();
        await this.writeWhole(headLine, [...map.entries]);
      } else {
        const changes = [...map.takeChanges()].map((key): [string, V] | [string] => (map.entries.has(key) ? [key, map.entries.get(key)!] : [key]));
        await this.append(journal, headLine, changes);
      }
    } catch (err) {
      // This save may be half written: the next one writes everything anew.
      this.journal = undefined;
      throw err;
    }
  }

  private async writeWhole(headLine: string, entries: Array<[string, unknown]>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const bytes = await replaceFile(this.journalPath, [jsonLines(entries), [headLine]]);
    this.journal = { bytes, whole: bytes, torn: false };
    // What an older version saved is read no more.
    await rm(this.statePath, { force: true });
  }

  private async append(journal: { bytes: number; torn: boolean }, headLine: string, changes: Array<[string, unknown] | [string]>): Promise<void> {
    if (journal.torn) {
      await truncate(this.journalPath, journal.bytes);
      journal.torn = false;
    }
    const file = await open(this.journalPath, 'a');
    try {
      journal.bytes += await writePieces(file, [jsonLines(changes), [headLine]]);
    } finally {
      await file.close();
    }
  }

  async readState<T>(): Promise<T | undefined> {
    // Most phones have no state (never changed): a failed open costs a thread-pool round trip and an
    // error with its stack, ten times the check.
    if (!existsSync(this.statePath)) return undefined;
    try {
      return JSON.parse(await readFile(this.statePath, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Writes state.json (the shared storage of a server keeps one), serialised a slice at a time; Maps are written as objects. */
  async writeState(state: unknown): Promise<void> {
    this.assertNotDeleted();
    await mkdir(this.dir, { recursive: true });
    await replaceFile(this.statePath, [jsonPieces(state)]);
  }

  blobPath(hash: string): string {
    return join(this.blobDir, hash);
  }

  /** Stores `data` and returns its hash; storing the same bytes twice keeps one copy. */
  async putBlob(data: Buffer): Promise<string> {
    const hash = createHash('sha256').update(data).digest('hex');
    const path = this.blobPath(hash);
    this.assertNotDeleted();
    // A synchronous check costs a tenth of a round trip to the thread pool: a tar of many small files makes many.
    if (!existsSync(path)) {
      await this.makeBlobDir();
      await writeAtomically(path, data);
    }
    return hash;
  }

  /**
   * Copies a host file or stream into the blob store without holding it in memory (APKs and tars run to
   * gigabytes); bytes already in memory are stored as `putBlob` stores them.
   */
  async importBlob(source: string | Buffer | AsyncIterable<Buffer>): Promise<{ hash: string; size: number }> {
    if (Buffer.isBuffer(source)) return { hash: await this.putBlob(source), size: source.length };
    this.assertNotDeleted();
    await this.makeBlobDir();
    const tmp = tmpName(join(this.blobDir, 'import'));
    const hasher = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hasher.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const input = typeof source === 'string' ? createReadStream(source) : source;
    try {
      await pipeline(input, tap, createWriteStream(tmp));
      const hash = hasher.digest('hex');
      await rename(tmp, this.blobPath(hash));
      return { hash, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private async makeBlobDir(): Promise<void> {
    if (this.blobDirMade) return;
    await mkdir(this.blobDir, { recursive: true });
    this.blobDirMade = true;
  }

  readBlob(hash: string): Promise<Buffer> {
    return readFile(this.blobPath(hash));
  }

  /** Synchronous so that no write of the same blob can slip in between the reference check and the unlink. */
  removeBlobSync(hash: string): void {
    try {
      unlinkSync(this.blobPath(hash));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Removes the phone's files; writes through this store fail from now on, so that work still running cannot bring them back. */
  destroy(): Promise<void> {
    this.deleted = true;
    return this.clear();
  }

  /** Removes the files, the store staying usable (a staging folder left by an interrupted migration). */
  clear(): Promise<void> {
    this.blobDirMade = false;
    // A write already under way may land while the folder is being removed: the removal is then retried.
    return rm(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }

  /** Throws PhoneDeletedError once the phone is deleted: nothing of it may be written any more. */
  assertNotDeleted(): void {
    if (this.deleted) throw new PhoneDeletedError(`phone ${basename(this.dir)} was deleted`);
  }
}

function put<V>(entries: EntrySink<V>, entry: [string, V] | [string]): void {
  if (entry.length === 2) entries.set(entry[0], entry[1]);
  else entries.delete(entry[0]);
}

function* jsonLines(values: unknown[]): Generator<string> {
  for (const value of values) yield `${JSON.stringify(value)}\n`;
}

/**
 * JSON.stringify's text of a JSON value, in pieces: a Map (written as an object) and an object holding
 * objects are written a member at a time, so that a large one (a tree of a hundred thousand entries) is
 * serialised between turns of the event loop.
 */
function* jsonPieces(value: unknown): Generator<string> {
  const members = value instanceof Map ? value.entries() : undefined;
  if (!members && (value === null || typeof value !== 'object' || Array.isArray(value) || Object.values(value).every((member) => member === null || typeof member !== 'object'))) {
    yield JSON.stringify(value);
    return;
  }
  let separator = '{';
  for (const [key, member] of members ?? Object.entries(value as object)) {
    if (member === undefined) continue;
    yield `${separator}${JSON.stringify(key)}:`;
    yield* jsonPieces(member);
    separator = ',';
  }
  yield separator === '{' ? '{}' : '}';
}

/** Writes the pieces of text, WRITE_BYTES at a time; returns the bytes written. */
async function writePieces(file: FileHandle, parts: Array<Iterable<string>>): Promise<number> {
  let bytes = 0;
  let text = '';
  for (const part of parts) {
    for (const piece of part) {
      text += piece;
      if (text.length < WRITE_BYTES) continue;
      bytes += (await file.write(text)).bytesWritten;
      text = '';
    }
  }
  if (text) bytes += (await file.write(text)).bytesWritten;
  return bytes;
}

/** Writes a file whole: to a temporary file renamed into place. Returns the bytes written. */
async function replaceFile(path: string, parts: Array<Iterable<string>>): Promise<number> {
  const tmp = tmpName(path);
  const file = await open(tmp, 'w');
  try {
    const bytes = await writePieces(file, parts);
    await file.close();
    await rename(tmp, path);
    return bytes;
  } catch (err) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The lines of a file and where each ends; the last is not `complete` when no newline ends it (a save cut short). */
async function* lines(path: string): AsyncGenerator<{ text: string; end: number; complete: boolean }> {
  let pieces: Buffer[] = [];
  let end = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BYTES }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
      pieces.push(chunk.subarray(start, newline));
      const line = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
      end += line.length + 1;
      pieces = [];
      start = newline + 1;
      yield { text: line.toString('utf8'), end, complete: true };
    }
    if (start < chunk.length) pieces.push(chunk.subarray(start));
  }
  if (pieces.length) {
    const rest = Buffer.concat(pieces);
    yield { text: rest.toString('utf8'), end: end + rest.length, complete: false };
  }
}

async function writeAtomically(path: string, data: string | Buffer): Promise<void> {
  const tmp = tmpName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
