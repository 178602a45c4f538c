import type { PhoneImage, PhoneModel } from '../core/catalogue.ts';

/** What a driver needs to know to run one phone. */
export interface PhoneSpec {
  id: string;
  /** The driver that runs the phone, by its name in the registry (src/devices/registry.ts), as its row records it. */
  driver: string;
  serverId: string;
  name: string;
  imei: string;
  phoneModel: PhoneModel;
  image: PhoneImage;
  /** CPH attribute list values (`property`), already parsed. */
  property: Record<string, string>;
  /** Size of the data volume (`/data`) in GiB: the flavor's disk, or more once ExpandPhoneDataVolumeSize grew it. */
  dataVolumeGiB: number;
}

/** Output and exit status of something run on a phone, as `adb` would report it. */
export interface CommandResult {
  /** stdout and stderr interleaved, as `adb shell` shows them. */
  output: string;
  exitCode: number;
}

/**
 * The only code that touches a phone. Core and the job engine call these; a driver may take as long as
 * the real operation does, and throws PhoneOperationError when the phone cannot do it at all.
 * A phone's state (files, properties, packages) persists across restarts of the phone and of the process.
 */
export interface PhoneDriver {
  readonly name: string;
  /** First boot of a newly provisioned phone: a fresh device from its image. */
  create(phone: PhoneSpec): Promise<void>;
  start(phone: PhoneSpec): Promise<void>;
  stop(phone: PhoneSpec): Promise<void>;
  /** Reboots; data is kept. New `property` values or a new image in `phone` take effect. */
  restart(phone: PhoneSpec): Promise<void>;
  /** Factory reset: data, user packages and settings are wiped; the image (possibly a new one) and `property` apply. */
  reset(phone: PhoneSpec): Promise<void>;
  /**
   * The phone is gone for good (its server was deleted): free whatever it holds. Its row is gone too, so the
   * id alone is given, to every driver: one that holds nothing of that phone does nothing.
   */
  destroy(phoneId: string): Promise<void>;
  /** `adb shell <command>`; a command still running after `timeoutMs` is stopped and throws CommandTimeoutError. */
  shell(phone: PhoneSpec, command: string, options?: { timeoutMs?: number }): Promise<CommandResult>;
  /** Unpacks a tar file (a path on this host) over the phone's root `/`; paths inside the tar decide where files land. */
  pushTar(phone: PhoneSpec, tarFile: string): Promise<CommandResult>;
  /**
   * `adb install` / `adb install-multiple` with flags such as `-r -t -d -g`: APK files are paths on this host.
   * Output is Android's: `Success`, or `Failure [INSTALL_…: message]` with a non-zero exit code.
   */
  install(phone: PhoneSpec, apkFiles: string[], flags: string[]): Promise<CommandResult>;
  /** `adb uninstall [-k] <package>`: `Success` or `Failure [DELETE_FAILED_INTERNAL_ERROR]`. */
  uninstall(phone: PhoneSpec, packageName: string, flags: string[]): Promise<CommandResult>;
  /**
   * BatchExportCloudPhoneData: writes a tar of the phone's data to `tarFile` (a path on this host). It holds
   * every entry at or under each `include` path (absolute), with owner, mode and mtime, members named
   * without the leading `/`; symbolic links are archived as links, never followed. An entry matching an
   * `exclude` pattern is left out with everything under it: `*` matches any run of characters, `/` included,
   * as in `tar --exclude`. An `include` path that does not exist is skipped and named in the output.
   * Works on a running or a stopped phone.
   */
  exportData(phone: PhoneSpec, include: string[], exclude: string[], tarFile: string): Promise<CommandResult>;
  /**
   * BatchImportCloudPhoneData: unpacks a tar written by `exportData` over `/`; entries land at their paths
   * with the owners, modes and mtimes the tar holds, replacing files that exist. All or nothing: a refused
   * archive (output says why, non-zero exit code) changes nothing. Works on a running or a stopped phone.
   */
  importData(phone: PhoneSpec, tarFile: string): Promise<CommandResult>;
  /**
   * The screen as it is now: the bytes of a PNG file at the display's size, what `screencap -p` writes.
   * Changes nothing on the phone; cheap enough to be called several times a second (a KooPhone stream).
   * The phone must be running (else PhoneOperationError).
   */
  screenshot(phone: PhoneSpec): Promise<Buffer>;
  /**
   * BatchMigrateCloudPhone: `target` becomes a copy of the stopped `source`'s system and data disks (files,
   * packages, settings, persistent properties) and boots with its own identity (id, IMEI, name) and the
   * image and `property` that `target` carries. `source` is not changed.
   */
  migrate(source: PhoneSpec, target: PhoneSpec): Promise<void>;
}

export class PhoneOperationError extends Error {}
/** The phone is off: stopped, or being restarted by another job meanwhile. */
export class PhoneNotRunningError extends PhoneOperationError {}
/** The phone was deleted (its server released) while the operation ran. */
export class PhoneDeletedError extends Error {}
export class CommandTimeoutError extends Error {}
