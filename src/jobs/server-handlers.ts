import { PHONE_STATUS, SERVER_STATUS } from '../core/model.ts';
import type { JobHandler } from './engine.ts';
import type { CommandDeps } from './commands.ts';
import { onEachPhone, type HandlerDeps } from './handlers.ts';

/** Jobs of the server-level operations (restart, key pairs…). */
export function serverJobHandlers(deps: CommandDeps): Record<string, JobHandler> {
  return {
    'server.restart': serverRestart(deps),
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
 * Restarts the phones a server restart put at 4 (each → 2, or -6), then the server is normal again. A phone
 * that failed does not make the server abnormal: it can be restarted on its own.
 */
function serverRestart(deps: HandlerDeps): JobHandler {
  const { db } = deps;
  return {
    async run(job) {
      const { phone_ids: phoneIds } = job.params as { phone_ids: string[] };
      // A retried job restarts only the phones not finished yet.
      const phones = phoneIds.length
        ? await db.selectFrom('phones').selectAll().where('id', 'in', phoneIds).where('status', '=', PHONE_STATUS.restarting).execute()
        : [];
      const failed = await onEachPhone(phones, deps, (spec) => deps.driver.restart(spec), PHONE_STATUS.restartFailed);
      return failed === 0
        ? { ok: true, serverStatus: SERVER_STATUS.normal }
        : { ok: false, errorCode: 'CPS.0022', serverStatus: SERVER_STATUS.normal };
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
