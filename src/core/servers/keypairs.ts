// UpdateKeypair: the key pair a server's SSH access uses.
import { transaction } from '../../store/db.ts';
import type { KeypairUpdate } from '../../api/schemas/cph/servers.ts';
import { onServer, type JobRow } from '../job-types.ts';
import { itemError } from '../errors.ts';
import { validateBatchSize, type ServerBatchEntry } from './batch.ts';
import { lockServers } from './rows.ts';
import type { ServerContext } from './setup.ts';
import { keypairRefusal } from './validation.ts';

/**
 * One job per normal server, which records the new key pair. Key pairs are not stored by OpenCPH, so any
 * name an ECS key pair could have (letters, digits, `_`, `-`, ≤64) is taken as existing.
 */
export async function updateKeypairs(context: ServerContext, projectId: string, requestId: string, items: KeypairUpdate[]): Promise<ServerBatchEntry[]> {
  const { queue } = context;
  validateBatchSize(items.length);
  return transaction(context.db, async (trx) => {
    const status = await lockServers(trx, projectId, items.map((item) => item.server_id));
    const jobs: JobRow[] = [];
    const entries = items.map((item): ServerBatchEntry => {
      const refusal = keypairRefusal(item, status.get(item.server_id));
      if (refusal) return { server_id: item.server_id, ...itemError(refusal) };
      // A server named twice gets two jobs, run in order: the last name wins.
      const job = queue.job('server.keypair', { keypair_name: item.keypair_name }, onServer(projectId, requestId, item.server_id));
      jobs.push(job);
      return { server_id: item.server_id, job_id: job.id };
    });
    await queue.enqueue(trx, jobs);
    return entries;
  });
}
