import type { Phone } from '../store/schema.ts';
import { PHONE_STATUS, SERVER_STATUS } from '../core/model.ts';
import type { JobHandler, JobResult } from './engine.ts';
import type { CommandDeps } from './commands.ts';
import { onEachPhone, serverCreate, type HandlerDeps } from './handlers.ts';

/** Jobs of the server-level operations (restart, flavor and server changes, key pairs…). */
export function serverJobHandlers(deps: CommandDeps): Record<string, JobHandler> {
  return {
    'server.restart': serverRestart(deps),
    'server.change': serverChange(deps),
    'server.keypair': serverKeypair(deps),
  };
}

/** Records the server's new key pair; the server APIs show it as `keypair_name`. */
function serverKeypair({ db, clock }: HandlerDeps): JobHandler {
  return {
    async run(job) {
      const { keypair_name: keypairName } = job.params as { keypair_name: string };
      const updated = await db.updateTable('servers').set({ keypair_name: keypairName, updated_at: clock.now() }).where('id', '=', job.server_id!).executeTakeFirst();
      return updated.numUpdatedRows === 0n ? { ok: false, errorCode: 'CPS.0015' } : { ok: true };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}

/**
 * A power cycle of a server (RestartCloudPhoneServer), over the phones the request put at 4:
 * 11 being stopped: each phone stops (a phone that does not is -9);
 * 10 stopped, 13 starting: each phone starts (2, or -6 when it does not);
 * 5 normal, as long as one phone runs (a failed phone can be restarted on its own).
 * The two ends that went wrong, from which the server can be restarted again: 12 stopping failed (a phone
 * did not stop; the server did not go down, so the phones that did stop are started again at once), and
 * 10 stopped (no phone came back up).
 */
function serverRestart(deps: HandlerDeps): JobHandler {
  const { db, clock, driver } = deps;
  const setStatus = (serverId: string, status: number) =>
    db.updateTable('servers').set({ status, updated_at: clock.now() }).where('id', '=', serverId).execute();
  return {
    async run(job): Promise<JobResult> {
      const serverId = job.server_id!;
      const { phone_ids: phoneIds } = job.params as { phone_ids: string[] };
      // A retried job goes on with the phones not finished yet.
      const pending = (): Promise<Phone[]> =>
        phoneIds.length ? db.selectFrom('phones').selectAll().where('id', 'in', phoneIds).where('status', '=', PHONE_STATUS.restarting).execute() : Promise.resolve([]);
      const start = async () => {
        const phones = await pending();
        return { phones: phones.length, failed: await onEachPhone(phones, deps, (spec) => driver.start(spec), PHONE_STATUS.restartFailed) };
      };

      await setStatus(serverId, SERVER_STATUS.stopping);
      const stopFailures = await onEachPhone(await pending(), deps, (spec) => driver.stop(spec), PHONE_STATUS.stopFailed, PHONE_STATUS.restarting);
      if (stopFailures > 0) {
        await start();
        return { ok: false, errorCode: 'CPS.0158', serverStatus: SERVER_STATUS.stopFailed };
      }
      await setStatus(serverId, SERVER_STATUS.stopped);
      await setStatus(serverId, SERVER_STATUS.starting);
      const started = await start();
      if (started.failed === 0) return { ok: true, serverStatus: SERVER_STATUS.normal };
      return { ok: false, errorCode: 'CPS.0022', serverStatus: started.failed === started.phones ? SERVER_STATUS.stopped : SERVER_STATUS.normal };
    },
    retryable: true,
    abandoned: () => ({
      ok: false,
      errorCode: 'CPS.0054',
      serverStatus: SERVER_STATUS.normal,
      serverPhones: { from: PHONE_STATUS.restarting, to: PHONE_STATUS.restartFailed },
    }),
  };
}

/**
 * ChangeCloudPhoneServerModel and ChangeCloudPhoneServer: the devices of replaced phones are freed, then the
 * server's phones at 1 are created on its new set-up like a bought server's (2, or -8 and the server abnormal).
 */
function serverChange(deps: HandlerDeps): JobHandler {
  const provision = serverCreate(deps);
  return {
    async run(job) {
      const { replaced_phone_ids: replaced } = job.params as { replaced_phone_ids: string[] };
      for (const phoneId of replaced) await deps.driver.destroy(phoneId);
      return provision.run(job);
    },
    retryable: true,
    abandoned: (job) => provision.abandoned(job),
  };
}
