import type { Db } from '../store/db.ts';
import type { Phone } from '../store/schema.ts';
import type { Catalogue } from '../core/catalogue.ts';
import type { Clock } from '../core/runtime.ts';
import { PHONE_STATUS } from '../core/model.ts';
import { PHONE_TRANSITIONS, SERVER_PROVISIONING, type PhoneOperation } from '../core/lifecycle.ts';
import type { JobPayloads, JobType, PhoneOperationParams } from '../core/job-types.ts';
import { phoneSpec } from '../core/phone-spec.ts';
import { PhoneDeletedError, type PhoneDriver, type PhoneSpec } from '../devices/driver.ts';
import type { JobHandler, JobResult } from './engine.ts';
import { commandHandler, type CommandDeps } from './commands.ts';
import { serverJobHandlers } from './server-handlers.ts';
import { encodeJobHandlers } from './encode-handlers.ts';
import { volumeJobHandlers } from './volume-handlers.ts';
import { koophoneJobHandlers } from './koophone-handlers.ts';
import { koophoneUsageHandlers } from './koophone-usage-handlers.ts';
import { phoneDataHandlers } from './phone-data-handlers.ts';
import { shareJobHandlers } from './share-handlers.ts';
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
const BOOT_PARALLELISM = 16;

export function jobHandlers(deps: CommandDeps): JobHandlers {
  return {
    'server.create': serverCreate(deps),
    'server.delete': serverDelete(deps),
    'phone.restart': phoneOperation('restart', deps, (phone) => deps.driver.restart(phone)),
    'phone.reset': phoneOperation('reset', deps, (phone) => deps.driver.reset(phone)),
    'phone.stop': phoneOperation('stop', deps, (phone) => deps.driver.stop(phone)),
    'phone.update-property': phoneOperation('update-property', deps),
    'phone.command': commandHandler(deps),
    ...serverJobHandlers(deps),
    ...encodeJobHandlers(deps),
    ...volumeJobHandlers(deps),
    ...koophoneJobHandlers(deps),
    ...koophoneUsageHandlers(deps),
    ...phoneDataHandlers(deps),
    ...shareJobHandlers(deps),
  };
}

/** Provisions a bought server: boots each of its phones (1 → 2, or -8), then the server becomes normal (core/lifecycle.ts). */
export function serverCreate(deps: HandlerDeps): JobHandler<unknown> {
  const { db, driver, clock } = deps;
  const { via, success, failure, phones: phone } = SERVER_PROVISIONING;
  return {
    async run(job) {
      const serverId = job.server_id!;
      await db.updateTable('servers').set({ status: via, updated_at: clock.now() }).where('id', '=', serverId).execute();
      // Phones already up (a retried job) are left alone: the handler is safe to run again.
      const phones = await db.selectFrom('phones').selectAll().where('server_id', '=', serverId).where('status', '=', phone.via).orderBy('slot').execute();
      const failed = await onEachPhone(phones, deps, (spec) => driver.create(spec), phone.failure, phone.success);
      deps.noteBulkWrite();
      return failed === 0 ? { ok: true, serverStatus: success } : { ok: false, errorCode: 'CPS.0092', serverStatus: failure };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054', serverStatus: failure, serverPhones: { from: phone.via, to: phone.failure } }),
  };
}

/** Frees what the deleted servers' phones held on their devices, and the servers' shared storage (the rows are already gone). */
function serverDelete({ driver, shared }: HandlerDeps): JobHandler<JobPayloads['server.delete']> {
  return {
    async run(_job, { phone_ids: phoneIds, server_ids: serverIds }) {
      await eachLimited(phoneIds, BOOT_PARALLELISM, (id) => driver.destroy(id));
      for (const serverId of serverIds) await shared.destroy(serverId);
      return { ok: true };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}

/**
 * A phone lifecycle job: the attributes and image given with the request are merged into the phone, the
 * driver acts on it, and the phone ends in the operation's success or failure status (core/lifecycle.ts).
 * Without an action (UpdateCloudPhoneProperty) the attributes are only recorded: they apply at the next boot.
 */
function phoneOperation(operation: PhoneOperation, { db, catalogue, phones }: HandlerDeps, act?: (phone: PhoneSpec) => Promise<void>): JobHandler<PhoneOperationParams> {
  const { success, failure } = PHONE_TRANSITIONS[operation];
  return {
    async run(job, params): Promise<JobResult> {
      const phone = await phones.load(job.phone_id!);
      if (!phone) return { ok: false, errorCode: 'CPS.0005' };
      const property = params.property ? JSON.stringify({ ...JSON.parse(phone.property), ...JSON.parse(params.property) }) : undefined;
      const updated = { ...phone, property: property ?? phone.property, image_id: params.image_id ?? phone.image_id };
      try {
        await act?.(await phoneSpec(updated, { db, catalogue }));
      } catch (error) {
        // Deleted with its server meanwhile: there is no phone left to give a status.
        if (error instanceof PhoneDeletedError) return { ok: false, errorCode: 'CPS.0005' };
        return { ok: false, errorCode: 'CPS.0022', phoneStatus: failure };
      }
      return { ok: true, phoneStatus: success, phoneFields: { property, image_id: params.image_id } };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054', phoneStatus: failure }),
  };
}

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

