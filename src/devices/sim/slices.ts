import { setImmediate as nextTurn } from 'node:timers/promises';

/** Longest run of one tenant's work (a shell command, an unpacking) before the event loop gets a turn. */
export const SLICE_MS = 4;

/** Work cut into slices of at most SLICE_MS, between which the event loop serves everyone else. */
export class Slices {
  protected sliceStart = performance.now();

  /**
   * Gives the event loop a turn once the current slice has run SLICE_MS. True when it did: anything (the
   * phone's file system) may have changed meanwhile.
   */
  async next(): Promise<boolean> {
    if (performance.now() - this.sliceStart < SLICE_MS) return false;
    this.sliceEnded();
    await nextTurn();
    this.sliceStart = performance.now();
    return true;
  }

  /** A slice ended (the time since `sliceStart` was spent working): for a subclass that counts it. */
  protected sliceEnded(): void {}
}
