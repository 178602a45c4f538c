/**
 * The state machines of phones (spec §4.2) and servers (spec §4.1): which operations each status allows,
 * where they lead, and the status changes a job's closing applies, committed with the closing under its
 * lease (src/jobs/engine.ts), so that no phone or server is left in a transitional status by a job that ended.
 */
import type { Db } from '../store/db.ts';
import { PHONE_STATUS, SERVER_STATUS } from './model.ts';
import type { CpsCode } from './errors.ts';

const S = PHONE_STATUS;
const V = SERVER_STATUS;

export type PhoneOperation = 'restart' | 'reset' | 'stop' | 'update-property';

export interface PhoneTransition {
  /** Statuses the operation may start from. */
  from: readonly number[];
  /** Status while the job runs; none when the phone keeps its status. */
  via?: number;
  /** Status when the job succeeds, and when it fails; none when the status does not change. */
  success?: number;
  failure?: number;
  /** Refusal of a phone in any other status, after the guards every operation shares. */
  refusal: CpsCode;
}

export const PHONE_TRANSITIONS: Record<PhoneOperation, PhoneTransition> = {
  reset: { from: [S.running, S.stopped, S.resetFailed, S.restartFailed, S.abnormal], via: S.resetting, success: S.running, failure: S.resetFailed, refusal: 'CPS.0165' },
  // Also starts a stopped phone, and retries a failed stop.
  restart: {
    from: [S.running, S.stopped, S.resetFailed, S.restartFailed, S.abnormal, S.stopFailed],
    via: S.restarting,
    success: S.running,
    failure: S.restartFailed,
    refusal: 'CPS.0165',
  },
  stop: { from: [S.running, S.stopFailed], via: S.stopping, success: S.stopped, failure: S.stopFailed, refusal: 'CPS.0141' },
  // Attributes are recorded on any settled phone and take effect when it next boots (spec §3.24: an abnormal
  // phone gets them when it runs again); a phone in the middle of another operation is not available.
  'update-property': {
    from: [S.running, S.stopped, S.resetFailed, S.restartFailed, S.abnormal, S.stopFailed],
    refusal: 'CPS.0022',
  },
};

/** The documented code refusing `operation` on a phone in `status`, or undefined when it is allowed. */
export function phoneRefusal(operation: PhoneOperation, status: number): CpsCode | undefined {
  if (status === S.beingCreated || status === S.creating) return 'CPS.0213';
  if (status === S.frozen) return 'CPS.0053';
  const transition = PHONE_TRANSITIONS[operation];
  return transition.from.includes(status) ? undefined : transition.refusal;
}

/**
 * A server being provisioned (bought, or set up anew by a change): ordered (0) until its job starts,
 * provisioning (1) while its phones are created (1 → 2, or -8 for each that fails), then normal (5), or
 * abnormal (2) when a phone could not be created.
 */
export const SERVER_PROVISIONING = {
  via: V.provisioning,
  success: V.normal,
  failure: V.abnormal,
  phones: { via: S.creating, success: S.running, failure: S.createFailed },
} as const;

/**
 * A power cycle of a server (RestartCloudPhoneServer), from normal and from the two ends of one that went
 * wrong: stopping failed (a phone did not stop) and stopped (no phone came back up). The server goes 11
 * being stopped → 10 stopped → 13 starting → 5 normal, its phones (all that a phone restart takes, except
 * those stopped on purpose) 4 restarting → 2, or -9 when one does not stop, -6 when one does not start.
 */
export const SERVER_RESTART = {
  from: [V.normal, V.stopped, V.stopFailed] as readonly number[],
  refusal: 'CPS.0158',
  stopping: V.stopping,
  stopped: V.stopped,
  starting: V.starting,
  success: V.normal,
  stopFailure: V.stopFailed,
  phones: {
    from: PHONE_TRANSITIONS.restart.from.filter((status) => status !== S.stopped),
    via: S.restarting,
    success: S.running,
    stopFailure: S.stopFailed,
    failure: S.restartFailed,
  },
} as const;

/**
 * The status changes a job's closing applies to the phone and server it acts on (`jobs.phone_id`,
 * `jobs.server_id`), in the transaction that closes it.
 */
export interface JobEffects {
  phoneStatus?: number;
  /** Phone settings that take effect with the job's success (new attributes, new image, new route). */
  phoneFields?: { property?: string; image_id?: string; traffic_type?: string };
  serverStatus?: number;
  /** Phones of the job's server still in status `from` move to `to` (a provisioning that gave up). */
  serverPhones?: { from: number; to: number };
}

/** Applies the effects of closed jobs; phones given the same change are updated by one statement. */
export async function applyJobEffects(trx: Db, closed: Array<{ phoneId: string | null; serverId: string | null; effects: JobEffects }>, now: Date): Promise<void> {
  const phoneChanges = new Map<string, { set: Record<string, unknown>; phoneIds: string[] }>();
  for (const { phoneId, effects } of closed) {
    if ((effects.phoneStatus === undefined && !effects.phoneFields) || !phoneId) continue;
    const set = { ...effects.phoneFields, ...(effects.phoneStatus !== undefined && { status: effects.phoneStatus }) };
    const key = JSON.stringify(set);
    const change = phoneChanges.get(key) ?? phoneChanges.set(key, { set, phoneIds: [] }).get(key)!;
    change.phoneIds.push(phoneId);
  }
  for (const { set, phoneIds } of phoneChanges.values()) {
    await trx.updateTable('phones').set({ ...set, updated_at: now }).where('id', 'in', phoneIds).execute();
  }
  for (const { serverId, effects } of closed) {
    if (!serverId) continue;
    if (effects.serverPhones) {
      await trx
        .updateTable('phones')
        .set({ status: effects.serverPhones.to, updated_at: now })
        .where('server_id', '=', serverId)
        .where('status', '=', effects.serverPhones.from)
        .execute();
    }
    if (effects.serverStatus !== undefined) {
      await trx.updateTable('servers').set({ status: effects.serverStatus, updated_at: now }).where('id', '=', serverId).execute();
    }
  }
}
