import type { PhoneImage, PhoneModel } from '../core/catalogue.ts';
import type { CommandResult } from './driver.ts';

/** The server whose shared storage an operation works on. */
export interface ShareServer {
  id: string;
  /** The driver of the server's phones, whose shared storage it is. */
  driver: string;
  /** The flavor and image of its phones: shared paths are the paths these phones see. */
  phoneModel: PhoneModel;
  image: PhoneImage;
  /** Size of the shared storage (the flavor's `max_share_disk_size_g`). */
  capacityBytes: number;
}

/** One entry of a shared-storage directory, as `ls -l` shows it. */
export interface ShareEntry {
  name: string;
  type: 'dir' | 'file' | 'link';
  /** `ls -l`'s size column: bytes of a file, 4096 for a directory, the target's length for a link. */
  size: number;
  /** Modification time, ms since the epoch. */
  mtime: number;
}

export interface ShareUsage {
  totalBytes: number;
  usedBytes: number;
}

export type AppPushResult =
  /** The APKs of the app (host files, the base first), ready for `PhoneDriver.install`. */
  | { ok: true; apks: string[] }
  /** `tar`: the archive could not be unpacked; `package`: it holds no APK of the named package. */
  | { ok: false; reason: 'tar' | 'package'; output: string };

/**
 * The storage every phone of a server shares (CPH shared storage and shared apps). Shared files appear in
 * every phone of the server at their paths (`/data/...`, `/cache/...`) until they are deleted; a phone that
 * changes or deletes one does so for itself only. Shared apps are kept apart from the shared files; the
 * caller installs their APKs on the phones (and the driver, on phones created or reset later, when they
 * are pre-installed). Changes to one server's storage are made one after another.
 */
export interface SharedStorage {
  /** Unpacks a tar (a host file) into the shared files by its member paths, under /data or /cache; all or nothing. */
  pushFiles(server: ShareServer, tarFile: string): Promise<CommandResult>;
  /** The entries of a shared-storage directory, sorted by name; undefined when `path` is not a directory there. */
  listFiles(server: ShareServer, path: string): Promise<ShareEntry[] | undefined>;
  /** Removes paths, and everything under them, from the shared files; paths it does not hold are passed over. */
  deleteFiles(server: ShareServer, paths: string[]): Promise<void>;
  /** Space used by shared files and apps together. */
  usage(server: ShareServer): Promise<ShareUsage>;
  /** Unpacks an app's tar (a BatchExportCloudPhoneData export: /data/app/<package>-*, …) in place of an earlier push. */
  pushApp(server: ShareServer, packageName: string, tarFile: string, preinstall: boolean): Promise<AppPushResult>;
  /** A shared app of the server, if it has one of that name. */
  app(server: ShareServer, packageName: string): Promise<{ preinstall: boolean } | undefined>;
  /** Removes a shared app (nothing happens when there is none of that name). */
  deleteApp(server: ShareServer, packageName: string): Promise<void>;
  /** The server is gone: its shared storage is freed (every driver is told, as with PhoneDriver.destroy). */
  destroy(serverId: string): Promise<void>;
}
