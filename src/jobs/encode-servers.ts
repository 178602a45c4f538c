import { ENCODE_RESTART_JOB } from '../core/encode-servers.ts';
import type { JobPayloads } from '../core/job-types.ts';
import type { JobHandler } from './engine.ts';
import type { HandlerDeps, JobHandlers } from './handlers.ts';

/** Jobs of the encoding servers. */
export function encodeJobHandlers(deps: HandlerDeps): Pick<JobHandlers, typeof ENCODE_RESTART_JOB> {
  return { [ENCODE_RESTART_JOB]: encodeRestart(deps) };
}

/**
 * An encoding server restart. Encoding servers run no code of their own in OpenCPH, so the restart is
 * over once the job's turn comes (after its server's earlier jobs); the server is restarting until then.
 */
function encodeRestart({ db }: HandlerDeps): JobHandler<JobPayloads[typeof ENCODE_RESTART_JOB]> {
  return {
    async run(_job, { encode_server_id: id }) {
      const found = await db.selectFrom('encode_servers').select('id').where('id', '=', id).executeTakeFirst();
      return found ? { ok: true } : { ok: false, errorCode: 'CPS.0123' };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}
