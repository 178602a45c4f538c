// What the handlers of every job type share: their dependencies, the type of the handler table
// (one handler per job type, src/jobs/registry.ts) and work spread over many phones.
import type { Db } from '../store/db.ts';
import type { Phone } from '../store/schema.ts';
import type { Catalogue } from '../core/catalogue.ts';
import type { Clock } from '../core/runtime.ts';
import { PHONE_STATUS } from '../core/model.ts';
import type { JobPayloads, JobType } from '../core/job-types.ts';
import { phoneSpec } from '../core/phone-spec.ts';
import type { PhoneDriver, PhoneSpec } from '../devices/driver.ts';
import type { JobHandler } from './engine.ts';
import type { SharedStorage } from '../devices/shared-storage.ts';
import type { PhoneLoader } from './phone-loader.ts';

export interface HandlerDeps {
  db: Db;
  catalogue: Catalogue;
  driver: PhoneDriver;
  clock: Clock;
  /** The servers' shared storage (shared files and apps). */
  shared: SharedStorage;
  /** Phone rows by id, read in batches. */
  phones: PhoneLoader;
  /** Tells the store that many rows were just written (see Store.noteBulkWrite). */
  noteBulkWrite(): void;
}

/** A handler for every job type, each given its type's payload. */
export type JobHandlers = { [T in JobType]: JobHandler<JobPayloads[T]> };

/** Phones of one server boot this many at a time. */
export const BOOT_PARALLELISM = 16;

/**
 * Runs a driver operation on each phone (a few at a time); each phone is then `succeededStatus` (running
 * unless told), or `failedStatus` when the operation threw. Returns how many failed.
 */
export async function onEachPhone(
  phones: Phone[],
  deps: HandlerDeps,
  operation: (phone: PhoneSpec) => Promise<void>,
  failedStatus: number,
  succeededStatus: number = PHONE_STATUS.running,
): Promise<number> {
  let failed = 0;
  await eachLimited(phones, BOOT_PARALLELISM, async (phone) => {
    let status = succeededStatus;
    try {
      await operation(await phoneSpec(phone, deps));
    } catch {
      status = failedStatus;
      failed++;
    }
    await deps.db.updateTable('phones').set({ status, updated_at: deps.clock.now() }).where('id', '=', phone.id).execute();
  });
  return failed;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(lanes);
}

