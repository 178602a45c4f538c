import type { Phone } from '../store/schema.ts';
import { SERVER_PROVISIONING, SERVER_RESTART } from '../core/lifecycle.ts';
import type { JobPayloads } from '../core/job-types.ts';
import type { JobHandler, JobResult } from './engine.ts';
import type { CommandDeps } from './commands.ts';
import { BOOT_PARALLELISM, eachLimited, onEachPhone, type HandlerDeps, type JobHandlers } from './handlers.ts';

/** Jobs of the servers (core/servers.ts): provisioning, deletion, restart, flavor and server changes, key pairs. */
export function serverJobHandlers(
  deps: CommandDeps,
): Pick<JobHandlers, 'server.create' | 'server.delete' | 'server.restart' | 'server.change' | 'server.keypair'> {
  return {
    'server.create': serverCreate(deps),
    'server.delete': serverDelete(deps),
    'server.restart': serverRestart(deps),
    'server.change': serverChange(deps),
    'server.keypair': serverKeypair(deps),
  };
}

/** Provisions a bought server: boots each of its phones (1 → 2, or -8), then the server becomes normal (core/lifecycle.ts). */
function serverCreate(deps: HandlerDeps): JobHandler<unknown> {
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

/** Records the server's new key pair; the server APIs show it as `keypair_name`. */
function serverKeypair({ db, clock }: HandlerDeps): JobHandler<JobPayloads['server.keypair']> {
  return {
    async run(job, { keypair_name: keypairName }) {
      const updated = await db.updateTable('servers').set({ keypair_name: keypairName, updated_at: clock.now() }).where('id', '=', job.server_id!).executeTakeFirst();
      return updated.numUpdatedRows === 0n ? { ok: false, errorCode: 'CPS.0015' } : { ok: true };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}

/**
 * A power cycle of a server (RestartCloudPhoneServer, SERVER_RESTART in core/lifecycle.ts), over the phones
 * the request put at 4: 11 being stopped: each phone stops (a phone that does not is -9); 10 stopped,
 * 13 starting: each phone starts (2, or -6 when it does not); 5 normal, as long as one phone runs (a failed
 * phone can be restarted on its own). The two ends that went wrong, from which the server can be restarted
 * again: 12 stopping failed (a phone did not stop; the server did not go down, so the phones that did stop
 * are started again at once), and 10 stopped (no phone came back up).
 */
function serverRestart(deps: HandlerDeps): JobHandler<JobPayloads['server.restart']> {
  const { db, clock, driver } = deps;
  const { phones: phone } = SERVER_RESTART;
  const setStatus = (serverId: string, status: number) =>
    db.updateTable('servers').set({ status, updated_at: clock.now() }).where('id', '=', serverId).execute();
  return {
    async run(job, { phone_ids: phoneIds }): Promise<JobResult> {
      const serverId = job.server_id!;
      // A retried job goes on with the phones not finished yet.
      const pending = (): Promise<Phone[]> =>
        phoneIds.length ? db.selectFrom('phones').selectAll().where('id', 'in', phoneIds).where('status', '=', phone.via).execute() : Promise.resolve([]);
      const start = async () => {
        const phones = await pending();
        return { phones: phones.length, failed: await onEachPhone(phones, deps, (spec) => driver.start(spec), phone.failure, phone.success) };
      };

      await setStatus(serverId, SERVER_RESTART.stopping);
      const stopFailures = await onEachPhone(await pending(), deps, (spec) => driver.stop(spec), phone.stopFailure, phone.via);
      if (stopFailures > 0) {
        await start();
        return { ok: false, errorCode: 'CPS.0158', serverStatus: SERVER_RESTART.stopFailure };
      }
      await setStatus(serverId, SERVER_RESTART.stopped);
      await setStatus(serverId, SERVER_RESTART.starting);
      const started = await start();
      if (started.failed === 0) return { ok: true, serverStatus: SERVER_RESTART.success };
      return { ok: false, errorCode: 'CPS.0022', serverStatus: started.failed === started.phones ? SERVER_RESTART.stopped : SERVER_RESTART.success };
    },
    retryable: true,
    abandoned: () => ({
      ok: false,
      errorCode: 'CPS.0054',
      serverStatus: SERVER_RESTART.success,
      serverPhones: { from: phone.via, to: phone.failure },
    }),
  };
}

/**
 * ChangeCloudPhoneServerModel and ChangeCloudPhoneServer: the devices of replaced phones are freed, then the
 * server's phones at 1 are created on its new set-up like a bought server's (2, or -8 and the server abnormal).
 */
function serverChange(deps: HandlerDeps): JobHandler<JobPayloads['server.change']> {
  const provision = serverCreate(deps);
  return {
    async run(job, params) {
      for (const phoneId of params.replaced_phone_ids) await deps.driver.destroy(phoneId);
      return provision.run(job, params);
    },
    retryable: true,
    abandoned: (job, params) => provision.abandoned(job, params),
  };
}
