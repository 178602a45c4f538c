// Every call to a phone goes to the driver its row names (PhoneSpec.driver); every call to a server's shared
// storage to the driver of its phones (ShareServer.driver). Core and jobs hold one PhoneDriver and one
// SharedStorage and never know which driver runs a phone. Drivers are built from the registry once per
// process: those the configuration names at start, any other a phone names when it is first used.
import type { CommandResult, PhoneDriver, PhoneSpec } from './driver.ts';
import type { DriverContext, LoadedDriver } from './driver-factory.ts';
import { PhoneOperationError } from './driver.ts';
import type { DriverRegistry } from './registry.ts';
import type { AppPushResult, ShareEntry, ShareServer, SharedStorage, ShareUsage } from './shared-storage.ts';

/** A phone or server names a driver this process's registry does not have. */
export class UnknownDriverError extends PhoneOperationError {}

/** Shared storage asked of a driver that declines it (check `Drivers.sharesStorage` first). */
export class SharedStorageDeclined extends Error {}

export class Drivers {
  private readonly loaded = new Map<string, Promise<LoadedDriver>>();
  /** Every call, sent to the driver of the phone it is about. */
  readonly phones: PhoneDriver;
  /** Every call, sent to the shared storage of the driver of the server it is about. */
  readonly shared: SharedStorage;

  constructor(
    private readonly registry: DriverRegistry,
    private readonly context: DriverContext,
  ) {
    this.phones = phoneDispatch(this);
    this.shared = sharedDispatch(this);
  }

  /** Builds the named drivers now (those the configuration names): a name the registry lacks fails the start. */
  async start(names: Iterable<string>): Promise<void> {
    for (const name of names) await this.driver(name);
  }

  /** Whether the driver offers shared storage (PushShareFiles, PushShareApps…); an unknown one does not. */
  async sharesStorage(name: string): Promise<boolean> {
    return (await this.driver(name).catch(() => undefined))?.shared !== undefined;
  }

  driver(name: string): Promise<LoadedDriver> {
    let driver = this.loaded.get(name);
    if (!driver) {
      const factory = Object.hasOwn(this.registry, name) ? this.registry[name] : undefined;
      if (!factory) return Promise.reject(new UnknownDriverError(`no device driver is named "${name}" (known: ${Object.keys(this.registry).join(', ')})`));
      driver = Promise.resolve(factory(this.context));
      // A driver that failed to start is tried again at its next use.
      driver.catch(() => this.loaded.delete(name));
      this.loaded.set(name, driver);
    }
    return driver;
  }

  async sharedOf(server: ShareServer): Promise<SharedStorage> {
    const { shared } = await this.driver(server.driver);
    if (!shared) throw new SharedStorageDeclined(`the ${server.driver} driver has no shared storage`);
    return shared;
  }

  /** The drivers built so far: those a phone or server that is gone may have used. */
  async started(): Promise<LoadedDriver[]> {
    const settled = await Promise.allSettled(this.loaded.values());
    return settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  }
}

function phoneDispatch(drivers: Drivers): PhoneDriver {
  const on = async (phone: PhoneSpec) => (await drivers.driver(phone.driver)).phones;
  return {
    name: 'dispatch',
    create: async (phone) => (await on(phone)).create(phone),
    start: async (phone) => (await on(phone)).start(phone),
    stop: async (phone) => (await on(phone)).stop(phone),
    restart: async (phone) => (await on(phone)).restart(phone),
    reset: async (phone) => (await on(phone)).reset(phone),
    async destroy(phoneId) {
      for (const driver of await drivers.started()) await driver.phones.destroy(phoneId);
    },
    shell: async (phone, command, options): Promise<CommandResult> => (await on(phone)).shell(phone, command, options),
    pushTar: async (phone, tarFile) => (await on(phone)).pushTar(phone, tarFile),
    install: async (phone, apkFiles, flags) => (await on(phone)).install(phone, apkFiles, flags),
    uninstall: async (phone, packageName, flags) => (await on(phone)).uninstall(phone, packageName, flags),
    exportData: async (phone, include, exclude, tarFile) => (await on(phone)).exportData(phone, include, exclude, tarFile),
    importData: async (phone, tarFile) => (await on(phone)).importData(phone, tarFile),
    screenshot: async (phone) => (await on(phone)).screenshot(phone),
    async migrate(source, target) {
      // A copy of one device's disks is made by the driver that holds them, onto a phone of its own.
      if (source.driver !== target.driver) throw new PhoneOperationError(`a ${source.driver} phone cannot be migrated to a ${target.driver} phone`);
      return (await on(target)).migrate(source, target);
    },
  };
}

function sharedDispatch(drivers: Drivers): SharedStorage {
  const of = (server: ShareServer) => drivers.sharedOf(server);
  return {
    pushFiles: async (server, tarFile): Promise<CommandResult> => (await of(server)).pushFiles(server, tarFile),
    listFiles: async (server, path): Promise<ShareEntry[] | undefined> => (await of(server)).listFiles(server, path),
    deleteFiles: async (server, paths) => (await of(server)).deleteFiles(server, paths),
    usage: async (server): Promise<ShareUsage> => (await of(server)).usage(server),
    pushApp: async (server, packageName, tarFile, preinstall): Promise<AppPushResult> => (await of(server)).pushApp(server, packageName, tarFile, preinstall),
    app: async (server, packageName) => (await of(server)).app(server, packageName),
    deleteApp: async (server, packageName) => (await of(server)).deleteApp(server, packageName),
    async destroy(serverId) {
      for (const driver of await drivers.started()) await driver.shared?.destroy(serverId);
    },
  };
}
