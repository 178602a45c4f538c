/** Status enums of the wire (spec §4). */

export const SERVER_STATUS = {
  /** 0, 1, 3 and 4 all mean "creating"; OpenCPH goes 0 (ordered) → 1 (provisioning) → 5. */
  ordered: 0,
  provisioning: 1,
  abnormal: 2,
  normal: 5,
  frozen: 8,
  stopped: 10,
  stopping: 11,
  stopFailed: 12,
  starting: 13,
} as const;

/** A job's `status` (spec §1.7). */
export const JOB_STATUS = { running: 1, succeeded: 2, failed: -1 } as const;

export const PHONE_STATUS = {
  beingCreated: 0,
  creating: 1,
  running: 2,
  resetting: 3,
  restarting: 4,
  frozen: 6,
  stopping: 7,
  stopped: 8,
  resetFailed: -5,
  restartFailed: -6,
  abnormal: -7,
  createFailed: -8,
  stopFailed: -9,
} as const;

/** Every documented phone status, valid as a ListCloudPhones `status` filter. */
export const PHONE_STATUS_VALUES: number[] = Object.values(PHONE_STATUS);

/**
 * Encoding server `status` (spec §4.4). The response lists 0/4/5 as "being created" while the filter calls
 * 4 frozen and 5 stopped; OpenCPH reports 0 creating, 1, 2, 3, and 4/5 only when an operator sets them (§8 row 12).
 */
export const ENCODE_SERVER_STATUS = { creating: 0, running: 1, abnormal: 2, restarting: 3, frozen: 4, stopped: 5 } as const;

/** ListEncodeServers `status` filter values; 100 and 1014 mean creating, like 0. */
export const ENCODE_SERVER_STATUS_FILTERS = [0, 1, 2, 3, 4, 5, 100, 1014];
