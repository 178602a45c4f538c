// What the operations on a batch of servers share (RestartCloudPhoneServer, UpdateKeypair, the shared-storage
// pushes): the size of a batch and the answer for each server.
import { cpsError, type ItemError } from '../errors.ts';

/** Most servers one batch request may name (spec §8 row 41). */
export const MAX_BATCH_SERVERS = 100;

/** The answer of a batch operation for each server it names: its job, or why it was refused. */
export type ServerBatchEntry = { server_id: string; job_id: string } | ({ server_id: string } & ItemError);

/** A batch names at least one server (CPS.0095) and at most MAX_BATCH_SERVERS (CPS.0096). */
export function validateBatchSize(count: number) {
  if (count === 0) throw cpsError('CPS.0095');
  if (count > MAX_BATCH_SERVERS) throw cpsError('CPS.0096');
}
