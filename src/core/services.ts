import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { Store } from '../store/db.ts';
import { ReadCache } from '../store/read-cache.ts';
import type { FastifyBaseLogger } from 'fastify';
import { JobEngine } from '../jobs/engine.ts';
import { jobHandlers } from '../jobs/handlers.ts';
import { SimDriver } from '../devices/sim/driver.ts';
import { SimSharedStorage } from '../devices/sim/shared-storage.ts';
import { FaultInjector, withFaults } from '../devices/faults.ts';
import { Catalogue } from './catalogue.ts';
import { Iam } from './iam.ts';
import { publishQuotaDefaults } from './quotas.ts';
import { JobHistory, JobQueries } from './jobs.ts';
import { PhoneService } from './phones.ts';
import { randomIds, systemClock, type Clock, type Ids } from './runtime.ts';
import { ServerService } from './servers.ts';
import { EncodeServerService } from './encode-servers.ts';
import { PhoneExtraService } from './phone-extras.ts';
import { CommandService } from './commands.ts';
import { PhoneDataService } from './phone-data.ts';
import { ImageService } from './images.ts';
import { TagService } from './tags.ts';
import { ShareService } from './share.ts';
import { ACCOUNT_WRITES_WAITING, ConcurrencyGate, SlidingWindowLimiter } from './rate-limit.ts';
import { createObjectStore } from '../objects/store.ts';
import { AccountObjects } from './account-objects.ts';
import type { CommandDeps } from '../jobs/commands.ts';
import { Scratch } from '../jobs/scratch.ts';
import { HttpDownloads, type Resolver } from '../objects/http-download.ts';
import { phoneLoader } from '../jobs/phone-loader.ts';
import { InstanceService } from './koophone/instances.ts';
import { createKooPhone, type KooPhoneServices } from './koophone/services.ts';
import { StreamingService } from './koophone/streaming.ts';
import { InstanceUsage } from './koophone/usage.ts';

/** Everything the API layer calls, wired once per process. */
export interface Services {
  clock: Clock;
  ids: Ids;
  catalogue: Catalogue;
  iam: Iam;
  servers: ServerService;
  phones: PhoneService;
  jobs: JobQueries;
  /** Deletes finished jobs past OPENCPH_JOB_RETENTION_HOURS. */
  jobHistory: JobHistory;
  commands: CommandService;
  /** Phone data export and restore, migration, traffic routing. */
  phoneData: PhoneDataService;
  /** Custom images and the projects they are shared with. */
  images: ImageService;
  /** Server tags. */
  tags: TagService;
  /** Shared storage and shared apps of servers. */
  share: ShareService;
  encodeServers: EncodeServerService;
  /** Phone operations of Huawei's SDK beyond the documents: connection infos, data volume expansion. */
  phoneExtras: PhoneExtraService;
  /** KooPhone instances and tasks. */
  instances: InstanceService;
  koophone: KooPhoneServices;
  /** KooPhone video settings, device tokens and streams. */
  koophoneStreaming: StreamingService;
  /** KooPhone preparation (restore onto a phone) and backup. */
  koophoneUsage: InstanceUsage;
  /** What command jobs run with; synchronous commands run them in the request. */
  commandDeps: CommandDeps;
  /**
   * Per user: RunSyncCommand calls a minute. Per account: requests that change something, at once, so that
   * no tenant's burst holds every store connection while the others wait.
   */
  rateLimits: { syncCommands: SlidingWindowLimiter; accountWrites: ConcurrencyGate };
  /** Serialised pages of the phone list, valid until phones, servers or custom images change. */
  phoneListCache: ReadCache;
  engine: JobEngine;
  /** The admin API's token and what it controls; absent unless OPENCPH_ADMIN_TOKEN is set. */
  admin?: { token: string; faults: FaultInjector };
}

export async function createServices(
  config: Config,
  store: Store,
  log: FastifyBaseLogger,
  overrides: { clock?: Clock; ids?: Ids; resolver?: Resolver } = {},
): Promise<Services> {
  const clock = overrides.clock ?? systemClock;
  const ids = overrides.ids ?? randomIds;
  const catalogue = Catalogue.load();
  const iam = new Iam(store.db, clock, ids);
  await iam.init();
  await publishQuotaDefaults(store.db, config.quotas);
  const shared = new SimSharedStorage({ dataDir: config.dataDir, clock });
  await shared.load();
  const sim = new SimDriver({ timeScale: config.simTimeScale, dataDir: config.dataDir, clock, ids, sharedLayer: (serverId) => shared.layer(serverId) });
  // Faults can only be injected through the admin API, so without it the driver is used as it is.
  const admin = config.adminToken ? { token: config.adminToken, faults: new FaultInjector(ids) } : undefined;
  const driver = admin ? withFaults(sim, admin.faults) : sim;
  const downloads = new HttpDownloads({ ...config.downloads, log, resolver: overrides.resolver });
  const scratch = new Scratch(join(config.dataDir, 'tmp'));
  const commandDeps: CommandDeps = { db: store.db, catalogue, driver, clock, objects: new AccountObjects(store.db, createObjectStore(config)), shared, phones: phoneLoader(store.db), noteBulkWrite: store.noteBulkWrite, downloads, scratch, commandTimeoutMs: config.commandTimeoutSeconds * 1000 };
  const engine = new JobEngine({
    db: store.db,
    clock,
    ids,
    log,
    leaseSeconds: config.jobLeaseSeconds,
    handlers: jobHandlers(commandDeps),
  });
  const instances = new InstanceService(store.db, clock, ids);
  const koophone = createKooPhone({ store, catalogue, clock, ids, instances, commandDeps });
  const koophoneStreaming = new StreamingService(store.db, clock, ids, instances, commandDeps, config.publicUrl);
  return {
    clock,
    ids,
    catalogue,
    iam,
    servers: new ServerService(store.db, store.noteBulkWrite, catalogue, clock, ids),
    phones: new PhoneService(store.db, catalogue, clock, ids),
    jobs: new JobQueries(store.db),
    jobHistory: new JobHistory(store.db, clock, config.jobRetentionHours, store.noteBulkWrite, log),
    commands: new CommandService(store.db, clock, ids),
    phoneData: new PhoneDataService(store.db, catalogue, commandDeps.objects, clock, ids),
    images: new ImageService(store.db, catalogue, clock, ids),
    tags: new TagService(store.db, clock),
    share: new ShareService(store.db, catalogue, clock, ids),
    encodeServers: new EncodeServerService(store.db, clock, ids),
    phoneExtras: new PhoneExtraService(store.db, catalogue, clock, ids),
    instances,
    koophone,
    koophoneStreaming,
    koophoneUsage: new InstanceUsage(store.db, clock, instances, koophone.skus, koophoneStreaming),
    commandDeps,
    rateLimits: {
      syncCommands: new SlidingWindowLimiter(config.syncCommandsPerMinute, 60_000, clock),
      accountWrites: new ConcurrencyGate(config.accountWritesAtOnce, ACCOUNT_WRITES_WAITING),
    },
    phoneListCache: new ReadCache(store.changes),
    engine,
    admin,
  };
}
