// The sim driver: every phone is a simulated Android device (device.ts) stored under
// `<dataDir>/phones/<phoneId>/`. Devices are loaded when first used and kept in a bounded LRU, so a node
// can hold far more phones than it has in memory; a phone that was never changed (restarts aside, which
// `phones/boots.log` counts) has no files at all.
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Ids } from '../../core/runtime.ts';
import { CommandTimeoutError, PhoneNotRunningError, type CommandResult, type PhoneDriver, type PhoneSpec } from '../driver.ts';
import { BootLedger } from './boot-ledger.ts';
import { SimDevice, type DeviceOptions } from './device.ts';
import { packTar } from './export.ts';
import type { SharedLayer } from './fs-nodes.ts';
import type { ApkSource } from './packages.ts';
import { screenshotPng } from './screen.ts';
import { CommandAborted } from './shell/limits.ts';
import { runShell } from './shell/run.ts';
import { PhoneStore } from './store.ts';

/** Realistic durations of the simulated operations, in milliseconds, before scaling. */
export const SIM_DURATIONS_MS = {
  create: 20_000,
  start: 12_000,
  stop: 5_000,
  restart: 15_000,
  reset: 20_000,
  /** The real service takes 3–5 minutes for 11 GB; simulated phones hold far less. */
  migrate: 30_000,
} as const;

/** A server's shared storage as its sim phones see it: the shared files, and the apps every new phone gets. */
export interface SimSharedLayer extends SharedLayer {
  /** The APKs (host files, the base first) of each shared app pushed with `pre_install_app` 1. */
  preinstalledApps(): string[][];
}

export interface SimDriverOptions {
  /** Multiplier of every simulated duration (OPENCPH_SIM_TIME_SCALE): 0 instant, 1 realistic. */
  timeScale: number;
  /** The server's data directory; phones live in its `phones/` folder. */
  dataDir: string;
  clock: Clock;
  ids: Ids;
  /** Devices kept in memory at most (least recently used ones that are idle are dropped first). */
  maxLoaded?: number;
  /** The shared storage of each server (sim/shared-storage.ts), which its phones see. */
  sharedLayer?: (serverId: string) => SimSharedLayer | undefined;
}

interface UseOptions {
  /** False for work that reads the device without awaiting anything (nothing to save, no blob to keep). */
  save?: boolean;
}

interface Entry {
  ready: Promise<SimDevice>;
  /** Operations using the device; an entry in use is never evicted, so a phone never has two instances. */
  users: number;
}

/**
 * Durations: create, start, stop, restart and `sleep N` in the shell take their time × the time scale.
 * Timeouts of `shell` are real wall-clock milliseconds given by the caller, independent of the scale:
 * at scale 0 nothing ever times out, at scale 1 `sleep 5` with a 2000 ms timeout throws CommandTimeoutError.
 */
export class SimDriver implements PhoneDriver {
  readonly name = 'sim';
  private readonly entries = new Map<string, Entry>();
  private readonly phonesDir: string;
  private readonly deviceOptions: DeviceOptions;
  private readonly maxLoaded: number;

  constructor(private readonly options: SimDriverOptions) {
    this.phonesDir = join(options.dataDir, 'phones');
    const { clock, ids } = options;
    this.deviceOptions = {
      now: () => clock.now().getTime(),
      random: () => ids.hex32(),
      timeScale: options.timeScale,
      sharedLayer: options.sharedLayer,
      bootLedger: new BootLedger(join(this.phonesDir, 'boots.log')),
    };
    this.maxLoaded = options.maxLoaded ?? 1000;
  }

  /** Number of devices currently held in memory. */
  get loadedCount(): number {
    return this.entries.size;
  }

  async create(phone: PhoneSpec): Promise<void> {
    await this.take('create');
    await this.fresh(phone);
  }

  /** Factory reset (ResetCloudPhone): data, packages and settings are wiped; the spec's image and `property` apply. */
  async reset(phone: PhoneSpec): Promise<void> {
    await this.take('reset');
    await this.fresh(phone);
  }

  async start(phone: PhoneSpec): Promise<void> {
    await this.take('start');
    await this.use(phone, async (device) => device.boot(phone));
  }

  async stop(phone: PhoneSpec): Promise<void> {
    await this.take('stop');
    await this.use(phone, async (device) => device.powerOff());
  }

  async restart(phone: PhoneSpec): Promise<void> {
    // Off for the duration of the reboot; only the state after it is saved.
    await this.use(phone, async (device) => {
      device.powerOff();
      await this.take('restart');
      device.boot(phone);
    });
  }

  async destroy(phoneId: string): Promise<void> {
    const entry = this.entries.get(phoneId);
    this.entries.delete(phoneId);
    // Through the loaded device's own store if there is one: work still running on the phone then fails
    // (PhoneDeletedError) instead of writing the phone back after its files are gone.
    const device = await entry?.ready.catch(() => undefined);
    await (device?.store ?? this.store(phoneId)).destroy();
    await this.deviceOptions.bootLedger.forget(phoneId);
  }

  async shell(phone: PhoneSpec, command: string, options: { timeoutMs?: number } = {}): Promise<CommandResult> {
    return this.useRunning(phone, async (device) => {
      const controller = new AbortController();
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(), options.timeoutMs);
      try {
        return await runShell(device, command, controller.signal);
      } catch (err) {
        if (err instanceof CommandAborted) {
          throw new CommandTimeoutError(controller.signal.aborted ? `Command did not finish within ${options.timeoutMs} ms.` : err.message);
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
    });
  }

  pushTar(phone: PhoneSpec, tarFile: string): Promise<CommandResult> {
    return this.useRunning(phone, (device) => device.pushTar(tarFile));
  }

  install(phone: PhoneSpec, apkFiles: string[], flags: string[]): Promise<CommandResult> {
    return this.useRunning(phone, (device) => device.install(apkSources(apkFiles), flags));
  }

  uninstall(phone: PhoneSpec, packageName: string, flags: string[]): Promise<CommandResult> {
    return this.useRunning(phone, async (device) => device.uninstall(packageName, flags));
  }

  /** Reads the disk, so the phone may be running or stopped. */
  exportData(phone: PhoneSpec, include: string[], exclude: string[], tarFile: string): Promise<CommandResult> {
    return this.use(phone, (device) => packTar(device.fs, include, exclude, tarFile));
  }

  importData(phone: PhoneSpec, tarFile: string): Promise<CommandResult> {
    return this.use(phone, (device) => device.restoreData(tarFile));
  }

  /** Nothing changes, so nothing is saved: a stream takes several screenshots a second. */
  screenshot(phone: PhoneSpec): Promise<Buffer> {
    return this.useRunning(phone, async (device) => screenshotPng(device), { save: false });
  }

  /**
   * The source's disks as last saved (its state and the blobs its files use) are copied to a staging
   * folder while the source is held, so none of its blobs is freed meanwhile; after the simulated copy time
   * the staging folder replaces the target's, and the target boots. A crash leaves the old target, the new
   * one, or none (a fresh device); running the migration again redoes it all.
   */
  async migrate(source: PhoneSpec, target: PhoneSpec): Promise<void> {
    const staging = this.store(`${target.id}.migrating`);
    await staging.clear();
    // A source never changed copies nothing: the target becomes a fresh device.
    await this.use(source, () => this.store(source.id).copyTo(staging, 'fs'));
    await this.take('migrate');
    await this.destroy(target.id);
    await rename(staging.dir, this.store(target.id).dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await this.use(target, async (device) => device.boot(target));
  }

  private store(phoneId: string): PhoneStore {
    return new PhoneStore(join(this.phonesDir, phoneId));
  }

  /**
   * A factory-new device in place of whatever the phone had. The server's pre-installed shared apps come
   * with it, as Huawei installs them again on a phone that is reset or created after the push: they belong
   * to the server's phones like the shared files do. They are installed as a push installs them (`-r -d`);
   * one the image cannot take (`Failure`) is left out, as is one deleted from the shared storage meanwhile.
   */
  private async fresh(phone: PhoneSpec): Promise<void> {
    await this.destroy(phone.id);
    const device = SimDevice.fresh(this.store(phone.id), phone, this.deviceOptions);
    this.entries.set(phone.id, { ready: Promise.resolve(device), users: 0 });
    this.evict();
    await this.use(phone, async () => {
      device.boot(phone);
      for (const apks of this.options.sharedLayer?.(phone.serverId)?.preinstalledApps() ?? []) {
        await device.install(apkSources(apks), ['-r', '-d']).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      }
    });
  }

  private useRunning<T>(phone: PhoneSpec, work: (device: SimDevice) => Promise<T>, options?: UseOptions): Promise<T> {
    return this.use(phone, (device) => {
      if (!device.running) throw new PhoneNotRunningError(`Phone ${phone.id} is not running.`);
      return work(device);
    }, options);
  }

  /** Runs `work` on the phone's device (loaded if needed), then saves what changed (unless `save` is false). */
  private async use<T>(phone: PhoneSpec, work: (device: SimDevice) => Promise<T>, { save = true }: UseOptions = {}): Promise<T> {
    let entry = this.entries.get(phone.id);
    if (entry) {
      this.entries.delete(phone.id);
    } else {
      entry = { ready: SimDevice.open(this.store(phone.id), phone, this.deviceOptions), users: 0 };
    }
    this.entries.set(phone.id, entry);
    entry.users++;
    this.evict();
    try {
      const device = await entry.ready;
      device.bind(phone);
      return await (save ? device.run(() => work(device)) : work(device));
    } catch (err) {
      // A device that failed to load is not kept: the next call reads the disk again.
      if (this.entries.get(phone.id) === entry && !(await entry.ready.then(() => true, () => false))) this.entries.delete(phone.id);
      throw err;
    } finally {
      entry.users--;
      this.evict();
    }
  }

  /** Drops the least recently used devices nobody is using while more than `maxLoaded` are held. */
  private evict(): void {
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.maxLoaded) return;
      if (entry.users === 0) this.entries.delete(id);
    }
  }

  private take(operation: keyof typeof SIM_DURATIONS_MS): Promise<void> {
    const ms = SIM_DURATIONS_MS[operation] * this.options.timeScale;
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }
}

/** APK files on the host as the package manager takes them, named as `adb install` stages them. */
function apkSources(apkFiles: string[]): ApkSource[] {
  return apkFiles.map((hostPath) => ({ hostPath, name: hostPath.split('/').pop()! }));
}
