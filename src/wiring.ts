// The composition root: reads the configuration and builds the process's parts (the store's users, the
// object store, the device drivers, the job engine and the services the API calls). Nothing below src/
// builds its own dependencies; each layer exports its classes and types, and only this file chooses them.
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { ConfigError, type Config } from './config.ts';
import type { Store } from './store/db.ts';
import { ReadCache } from './store/read-cache.ts';
import { JobEngine } from './jobs/engine.ts';
import { Enqueue } from './jobs/enqueue.ts';
import { jobHandlers } from './jobs/registry.ts';
import type { CommandDeps } from './jobs/commands.ts';
import { SyncCommands } from './jobs/sync-commands.ts';
import { Scratch } from './jobs/scratch.ts';
import { phoneLoader } from './jobs/phone-loader.ts';
import { Drivers } from './devices/dispatch.ts';
import { DRIVERS, driverFor, type DriverChoice, type DriverRegistry } from './devices/registry.ts';
import { FaultInjector, withFaults } from './devices/faults.ts';
import { createObjectStore } from './objects/factory.ts';
import { HttpDownloads, type Resolver } from './objects/http-download.ts';
import { Catalogue } from './core/catalogue.ts';
import { Iam } from './core/iam.ts';
import { publishQuotaDefaults } from './core/quotas.ts';
import { JobHistory, JobQueries } from './core/jobs.ts';
import { PhoneService } from './core/phones.ts';
import { randomIds, systemClock, type Clock, type Ids } from './core/runtime.ts';
import { ServerService } from './core/servers.ts';
import { EncodeServerService } from './core/encode-servers.ts';
import { PhoneExtraService } from './core/phone-extras.ts';
import { CommandService } from './core/commands.ts';
import { PhoneDataService } from './core/phone-data.ts';
import { ImageService } from './core/images.ts';
import { TagService } from './core/tags.ts';
import { KeypairService } from './core/keypairs.ts';
import { ShareService } from './core/share.ts';
import { ACCOUNT_WRITES_WAITING, ConcurrencyGate, SlidingWindowLimiter } from './core/rate-limit.ts';
import { AccountObjects } from './core/account-objects.ts';
import { InstanceService } from './core/koophone/instances.ts';
import { StreamingService } from './core/koophone/streaming.ts';
import { InstanceUsage } from './core/koophone/usage.ts';
import { InstanceApps } from './core/koophone/apps.ts';
import { InstanceCommands } from './core/koophone/commands.ts';
import { InstanceOperations } from './core/koophone/operations.ts';
import { InstanceOrders } from './core/koophone/orders.ts';
import { SkuCatalogue } from './core/koophone/skus.ts';
import type { KooPhoneServices, Services } from './api/services.ts';

export async function createServices(
  config: Config,
  store: Store,
  log: FastifyBaseLogger,
  overrides: { clock?: Clock; ids?: Ids; resolver?: Resolver; drivers?: DriverRegistry } = {},
): Promise<Services> {
  const clock = overrides.clock ?? systemClock;
  const ids = overrides.ids ?? randomIds;
  const catalogue = Catalogue.load();
  const registry = overrides.drivers ?? DRIVERS;
  const configured = configuredDrivers(config.drivers, registry, catalogue);
  const iam = new Iam(store.db, clock, ids);
  await iam.init();
  await publishQuotaDefaults(store.db, config.quotas);
  const drivers = new Drivers(registry, { dataDir: config.dataDir, clock, ids, timeScale: config.simTimeScale });
  await drivers.start(configured);
  const shared = drivers.shared;
  // Faults can only be injected through the admin API, so without it the driver is used as it is.
  const admin = config.adminToken ? { token: config.adminToken, faults: new FaultInjector(ids) } : undefined;
  const driver = admin ? withFaults(drivers.phones, admin.faults) : drivers.phones;
  const downloads = new HttpDownloads({ ...config.downloads, log, resolver: overrides.resolver });
  const scratch = new Scratch(join(config.dataDir, 'tmp'));
  const commandDeps: CommandDeps = { db: store.db, catalogue, driver, clock, objects: new AccountObjects(store.db, createObjectStore(config)), shared, phones: phoneLoader(store.db), noteBulkWrite: store.noteBulkWrite, downloads, scratch, commandTimeoutMs: config.commandTimeoutSeconds * 1000 };
  // Work is queued by core through `queue`, which wakes the engine once the jobs are committed.
  const queue = new Enqueue({ ids, clock, wake: () => engine.wake() });
  const engine = new JobEngine({
    db: store.db,
    clock,
    ids,
    log,
    leaseSeconds: config.jobLeaseSeconds,
    handlers: jobHandlers(commandDeps),
  });
  const servers = new ServerService(store.db, store.noteBulkWrite, catalogue, clock, ids, queue, (phoneModelName) => driverFor(config.drivers, phoneModelName));
  const commands = new CommandService(store.db, queue);
  const instances = new InstanceService(store.db, clock, ids, queue);
  const skus = SkuCatalogue.load(catalogue);
  const koophone: KooPhoneServices = {
    skus,
    operations: new InstanceOperations(store.db, clock, instances, skus),
    orders: new InstanceOrders(store.db, clock, ids, instances, skus, catalogue, servers),
    commands: new InstanceCommands(store.db, instances, commands),
    apps: new InstanceApps(store.db, instances, commandDeps),
  };
  const koophoneStreaming = new StreamingService(store.db, clock, ids, instances, commandDeps, config.publicUrl);
  return {
    clock,
    ids,
    catalogue,
    iam,
    servers,
    phones: new PhoneService(store.db, catalogue, clock, queue),
    jobs: new JobQueries(store.db),
    jobHistory: new JobHistory(store.db, clock, config.jobRetentionHours, store.noteBulkWrite, log),
    commands,
    syncCommands: new SyncCommands({
      commands,
      instanceCommands: koophone.commands,
      engine,
      perUser: new SlidingWindowLimiter(config.syncCommandsPerMinute, 60_000, clock),
      commandDeps,
    }),
    phoneData: new PhoneDataService(store.db, catalogue, commandDeps.objects, clock, queue),
    images: new ImageService(store.db, catalogue, clock, ids),
    tags: new TagService(store.db, clock),
    keypairs: new KeypairService(store.db, clock, config.keypairsPerUser),
    share: new ShareService(store.db, catalogue, queue, (driver) => drivers.sharesStorage(driver)),
    encodeServers: new EncodeServerService(store.db, queue),
    phoneExtras: new PhoneExtraService(store.db, catalogue, clock, ids, queue),
    instances,
    koophone,
    koophoneStreaming,
    koophoneUsage: new InstanceUsage(store.db, clock, instances, koophone.skus, koophoneStreaming),
    commandDeps,
    rateLimits: { accountWrites: new ConcurrencyGate(config.accountWritesAtOnce, ACCOUNT_WRITES_WAITING) },
    phoneListCache: new ReadCache(store.changes),
    engine,
    admin,
  };
}

/** The drivers the configuration names, once checked: a flavor the catalogue lacks or a driver the registry lacks stops the start. */
function configuredDrivers(choice: DriverChoice, registry: DriverRegistry, catalogue: Catalogue): Set<string> {
  for (const flavor of Object.keys(choice.byFlavor)) {
    if (!catalogue.phoneModel(flavor)) throw new ConfigError(`OPENCPH_DRIVER_BY_FLAVOR: the catalogue has no flavor named ${flavor}`);
  }
  const names = new Set([choice.default, ...Object.values(choice.byFlavor)]);
  for (const name of names) {
    if (!Object.hasOwn(registry, name)) throw new ConfigError(`no device driver is named "${name}" (OPENCPH_DRIVER, OPENCPH_DRIVER_BY_FLAVOR); known: ${Object.keys(registry).join(', ')}`);
  }
  return names;
}
