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
