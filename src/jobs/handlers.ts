import type { Db } from '../store/db.ts';
import type { Phone } from '../store/schema.ts';
import type { Catalogue } from '../core/catalogue.ts';
import type { Clock } from '../core/runtime.ts';
import { PHONE_STATUS, SERVER_STATUS } from '../core/model.ts';
import type { PhoneDriver, PhoneSpec } from '../devices/driver.ts';
import type { JobHandler, JobResult } from './engine.ts';
import { commandHandler, type CommandDeps } from './commands.ts';

export interface HandlerDeps {
  db: Db;
  catalogue: Catalogue;
  driver: PhoneDriver;
  clock: Clock;
}

/** Phones of one server boot this many at a time. */
const BOOT_PARALLELISM = 16;

export function jobHandlers(deps: CommandDeps): Record<string, JobHandler> {
  return {
    'server.create': serverCreate(deps),
    'server.delete': serverDelete(deps),
    'phone.restart': phoneRestart(deps),
    'phone.command': commandHandler(deps),
  };
}

/** Provisions a bought server: boots each of its phones (1 → 2, or -8), then the server becomes normal. */
function serverCreate({ db, catalogue, driver, clock }: HandlerDeps): JobHandler {
  return {
    async run(job) {
      const serverId = job.server_id!;
      await db.updateTable('servers').set({ status: SERVER_STATUS.provisioning, updated_at: clock.now() }).where('id', '=', serverId).execute();
      // Phones already up (a retried job) are left alone: the handler is safe to run again.
      const phones = await db.selectFrom('phones').selectAll().where('server_id', '=', serverId).where('status', '=', PHONE_STATUS.creating).orderBy('slot').execute();
      let failed = 0;
      await eachLimited(phones, BOOT_PARALLELISM, async (phone) => {
        let status: number = PHONE_STATUS.running;
        try {
          await driver.create(phoneSpec(phone, catalogue));
        } catch {
          status = PHONE_STATUS.createFailed;
          failed++;
        }
        await db.updateTable('phones').set({ status, updated_at: clock.now() }).where('id', '=', phone.id).execute();
      });
      return failed === 0
        ? { ok: true, serverStatus: SERVER_STATUS.normal }
        : { ok: false, errorCode: 'CPS.0092', serverStatus: SERVER_STATUS.abnormal };
    },
    retryable: true,
    abandoned: () => ({
      ok: false,
      errorCode: 'CPS.0054',
      serverStatus: SERVER_STATUS.abnormal,
      serverPhones: { from: PHONE_STATUS.creating, to: PHONE_STATUS.createFailed },
    }),
  };
}

/** Frees what the deleted servers' phones held on their devices (the rows are already gone). */
function serverDelete({ driver }: HandlerDeps): JobHandler {
  return {
    async run(job) {
      const { phone_ids: phoneIds } = job.params as { phone_ids: string[] };
      await eachLimited(phoneIds, BOOT_PARALLELISM, (id) => driver.destroy(id));
      return { ok: true };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}

/** Restarts (or starts) a phone, applying new attributes or a new image given with the request. */
function phoneRestart({ db, catalogue, driver }: HandlerDeps): JobHandler {
  return {
    async run(job): Promise<JobResult> {
      const phone = await db.selectFrom('phones').selectAll().where('id', '=', job.phone_id!).executeTakeFirst();
      if (!phone) return { ok: false, errorCode: 'CPS.0005' };
      const params = job.params as { property?: string; image_id?: string };
      const property = params.property ? JSON.stringify({ ...JSON.parse(phone.property), ...JSON.parse(params.property) }) : undefined;
      const updated = { ...phone, property: property ?? phone.property, image_id: params.image_id ?? phone.image_id };
      try {
        await driver.restart(phoneSpec(updated, catalogue));
      } catch {
        return { ok: false, errorCode: 'CPS.0022', phoneStatus: PHONE_STATUS.restartFailed };
      }
      return { ok: true, phoneStatus: PHONE_STATUS.running, phoneFields: { property, image_id: params.image_id } };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054', phoneStatus: PHONE_STATUS.restartFailed }),
  };
}

export function phoneSpec(phone: Phone, catalogue: Catalogue): PhoneSpec {
  const phoneModel = catalogue.phoneModel(phone.phone_model_name);
  const image = catalogue.image(phone.image_id);
  if (!phoneModel || !image) throw new Error(`phone ${phone.id} refers to a flavor or image missing from the catalogue`);
  return { id: phone.id, serverId: phone.server_id, name: phone.name, imei: phone.imei, phoneModel, image, property: JSON.parse(phone.property) as Record<string, string> };
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(lanes);
}

