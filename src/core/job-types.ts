/**
 * The one way core starts work: every job type with what its handler is given (`params`), like
 * graphile-worker's Tasks, and the queue core writes jobs through. The map is checked where a job is made
 * (`JobQueue.job`) and where its handler reads it (`JobHandlers`, src/jobs/handlers.ts); the queue is
 * src/jobs/enqueue.ts, the only writer of the jobs table besides the engine closing the jobs it runs.
 */
import type { Db } from '../store/db.ts';
import type { NewJob } from '../store/schema.ts';
import type { QuotaChange, QuotaFamily } from './quotas.ts';

// The payloads are declared here, not beside the use cases that queue them, so that this file imports no
// use case and every use case may import it.

/** What a command job runs: the checked command and its parsed content. */
export type CommandPlan =
  | { command: 'shell'; script: string }
  | { command: 'uninstall'; packageName: string }
  | { command: 'push'; bucket: string; key: string }
  | { command: 'install' | 'install-multiple'; flags: string[]; apks: Array<{ bucket: string; key: string }> };

/** What an export job runs: checked paths (trailing `/` dropped) and where the tar goes. */
export interface ExportPlan {
  include_files: string[];
  exclude_files: string[];
  bucket: string;
  key: string;
}

export interface MigratePlan {
  source_phone_id: string;
  migrate_property: boolean;
  /** The target's status before the job, which it gets back when the job finds the source changed. */
  target_status: number;
}

/** What each share job does, as its `params`. */
export interface ShareJobs {
  'share.files.push': { bucket: string; key: string };
  'share.files.list': { path: string; offset: number; limit: number };
  'share.files.delete': { paths: string[] };
  'share.apps.push': { package_name: string; preinstall: boolean; bucket: string; key: string };
  'share.apps.delete': { package_name: string };
}

/** What a KooPhone install job needs (its `params`). */
export interface InstallParams {
  instance_id: string;
  url: string;
  file_name: string;
  object_name: string;
  object_version: string;
  /** MB, as the request gave it. */
  object_size: number;
  content_md5: string;
}

export interface RestoreParams {
  instance_id: string;
}

export interface BackupParams {
  instance_id: string;
  bucket: string;
  key: string;
}

/** What a phone lifecycle job merges into its phone when it succeeds: a new image, new attributes (JSON text). */
export interface PhoneOperationParams {
  property?: string;
  image_id?: string;
}

export interface JobPayloads extends ShareJobs {
  /** Creates the phones of a bought server (its phones at 1). */
  'server.create': Record<string, never>;
  /** Frees the devices of the replaced phones, then creates the server's new ones as a purchase does. */
  'server.change': { replaced_phone_ids: string[] };
  /** The power cycle of the phones the request put at 4. */
  'server.restart': { phone_ids: string[] };
  'server.keypair': { keypair_name: string };
  /** Frees what deleted servers held on their devices (their rows are already gone). */
  'server.delete': { server_ids: string[]; phone_ids: string[] };
  'phone.restart': PhoneOperationParams;
  'phone.reset': PhoneOperationParams;
  'phone.stop': PhoneOperationParams;
  'phone.update-property': PhoneOperationParams;
  'phone.command': CommandPlan;
  'phone.export': ExportPlan;
  'phone.restore': { bucket: string; key: string };
  'phone.migrate': MigratePlan;
  'phone.traffic': { traffic_type: string };
  'phone.expand-volume': { new_size: number };
  'encode-server.restart': { encode_server_id: string };
  'koophone.install': InstallParams;
  'koophone.restore': RestoreParams;
  'koophone.backup': BackupParams;
}

export type JobType = keyof JobPayloads;

/** A job row about to be written. */
export type JobRow = NewJob & { id: string; type: JobType };

/** What a job acts on, and who asked. */
export interface JobTarget {
  projectId: string;
  /** The request, or KooPhone task, that queued it (ListJobs and GetTask find it by this). */
  requestId: string;
  phoneId?: string | null;
  serverId?: string | null;
  /**
   * Jobs of one key run one at a time, in order: by default the phone's, else the server's. A job of
   * neither names its own key.
   */
  lockKey?: string;
  /** Waits for no other job (its key is its own). */
  alone?: boolean;
}

/** A job on one phone, in order with the phone's other jobs. */
export function onPhone(projectId: string, requestId: string, phone: { id: string; server_id: string | null }): JobTarget {
  return { projectId, requestId, phoneId: phone.id, serverId: phone.server_id };
}

/** A job on one server, in order with the server's other jobs. */
export function onServer(projectId: string, requestId: string, serverId: string): JobTarget {
  return { projectId, requestId, serverId };
}

/** How a job recorded as already ended ended: the work was done by the request itself, or refused. */
export type JobEnd = { ok: true } | { ok: false; errorCode: string; errorMsg: string };

export interface EnqueueOptions {
  /** The API the request came through: a quota refusal is that family's documented code (default CPH). */
  family?: QuotaFamily;
  /** What else the request adds to its account, admitted in the same check as its jobs (a purchase's servers and phones). */
  charge?: QuotaChange;
  /**
   * Jobs that must run whatever the account has in flight (those that clean up after a deletion, restores
   * of instances that waited for a phone): not checked against the jobs quota, though they count while queued.
   */
  unchecked?: boolean;
}

export interface JobQueue {
  /** A queued job for `enqueue`, with its id (requests answer with it before it runs). */
  job<T extends JobType>(type: T, params: JobPayloads[T], target: JobTarget): JobRow;
  /** A job recorded as already ended, for `enqueue` (a KooPhone task reports one job per instance). */
  ended(type: JobType, target: JobTarget, end: JobEnd): JobRow;
  /**
   * Writes the jobs in the caller's transaction (begun by `transaction` or `inTransaction`, src/store/db.ts),
   * after admitting the queued ones to the account's jobs quota (a refusal throws, rolling the transaction
   * back), and wakes the engine once the transaction has committed.
   */
  enqueue(db: Db, jobs: JobRow[], options?: EnqueueOptions): Promise<void>;
}
