import { ENCODE_RESTART_JOB } from '../core/encode-servers.ts';
import type { JobHandler } from './engine.ts';
import type { HandlerDeps } from './handlers.ts';

/** Jobs of the encoding servers. */
export function encodeJobHandlers(deps: HandlerDeps): Record<string, JobHandler> {
  return { [ENCODE_RESTART_JOB]: encodeRestart(deps) };
}

/**
 * An encoding server restart. Encoding servers run no code of their own in OpenCPH, so the restart is
 * over once the job's turn comes (after its server's earlier jobs); the server is restarting until then.
 */
function encodeRestart({ db }: HandlerDeps): JobHandler {
  return {
    async run(job) {
      const { encode_server_id: id } = job.params as { encode_server_id: string };
      const found = await db.selectFrom('encode_servers').select('id').where('id', '=', id).executeTakeFirst();
      return found ? { ok: true } : { ok: false, errorCode: 'CPS.0123' };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}
