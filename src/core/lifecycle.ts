/** The phone state machine (spec §4.2): which operations each status allows, and where they lead. */
import { PHONE_STATUS } from './model.ts';
import type { CpsCode } from './errors.ts';

const S = PHONE_STATUS;

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
