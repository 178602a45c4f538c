// Android's fixed user and group ids (system/core android_filesystem_config.h) and the identities
// commands run as.

export const AID = {
  root: 0,
  system: 1000,
  radio: 1001,
  bluetooth: 1002,
  input: 1004,
  log: 1007,
  adb: 1011,
  install: 1012,
  media: 1013,
  sdcard_rw: 1015,
  keystore: 1017,
  media_rw: 1023,
  sdcard_r: 1028,
  logd: 1036,
  shell: 2000,
  cache: 2001,
  net_bt_admin: 3001,
  net_bt: 3002,
  inet: 3003,
  net_bw_stats: 3006,
  readproc: 3009,
  everybody: 9997,
  misc: 9998,
} as const;

/** First uid of applications (`u0_a0`). */
export const FIRST_APP_UID = 10000;

const NAMES = new Map<number, string>(Object.entries(AID).map(([name, id]) => [id, name]));

/** The name `ls -l`, `ps` and `id` show for a uid or gid: `u0_a57` for applications, the number when unknown. */
export function idName(id: number): string {
  if (id >= FIRST_APP_UID && id < FIRST_APP_UID + 10000) return `u0_a${id - FIRST_APP_UID}`;
  return NAMES.get(id) ?? String(id);
}

export interface Cred {
  uid: number;
  gid: number;
  groups: number[];
  /** SELinux context, printed by `id`. */
  context: string;
}

// adbd gives `adb shell` these supplementary groups.
const SHELL_GROUPS = [
  AID.shell, AID.input, AID.log, AID.adb, AID.sdcard_rw, AID.sdcard_r,
  AID.net_bt_admin, AID.net_bt, AID.inet, AID.net_bw_stats, AID.readproc,
];

export const SHELL: Cred = { uid: AID.shell, gid: AID.shell, groups: SHELL_GROUPS, context: 'u:r:shell:s0' };
export const ROOT: Cred = { uid: AID.root, gid: AID.root, groups: [AID.root, ...SHELL_GROUPS.slice(1)], context: 'u:r:su:s0' };
