import type { ReadCache } from '../store/read-cache.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { CommandDeps } from '../jobs/commands.ts';
import type { SyncCommands } from '../jobs/sync-commands.ts';
import type { FaultInjector } from '../devices/faults.ts';
import type { Catalogue } from '../core/catalogue.ts';
import type { Iam } from '../core/iam.ts';
import type { JobHistory, JobQueries } from '../core/jobs.ts';
import type { PhoneService } from '../core/phones.ts';
import type { Clock, Ids } from '../core/runtime.ts';
import type { ServerService } from '../core/servers.ts';
import type { EncodeServerService } from '../core/encode-servers.ts';
import type { PhoneExtraService } from '../core/phone-extras.ts';
import type { CommandService } from '../core/commands.ts';
import type { PhoneDataService } from '../core/phone-data.ts';
import type { ImageService } from '../core/images.ts';
import type { TagService } from '../core/tags.ts';
import type { KeypairService } from '../core/keypairs.ts';
import type { ShareService } from '../core/share.ts';
import type { ConcurrencyGate } from '../core/rate-limit.ts';
import type { InstanceService } from '../core/koophone/instances.ts';
import type { StreamingService } from '../core/koophone/streaming.ts';
import type { InstanceUsage } from '../core/koophone/usage.ts';
import type { InstanceApps } from '../core/koophone/apps.ts';
import type { InstanceCommands } from '../core/koophone/commands.ts';
import type { InstanceOperations } from '../core/koophone/operations.ts';
import type { InstanceOrders } from '../core/koophone/orders.ts';
import type { SkuCatalogue } from '../core/koophone/skus.ts';

/** Everything the API layer calls, built once per process by the composition root (src/wiring.ts). */
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
  /** RunSyncCommand and KooPhone SyncCommand: their limits, rate limit and jobs run in the request. */
  syncCommands: SyncCommands;
  /** Phone data export and restore, migration, traffic routing. */
  phoneData: PhoneDataService;
  /** Custom images and the projects they are shared with. */
  images: ImageService;
  /** Server tags. */
  tags: TagService;
  /** KPS key pairs of users and accounts. */
  keypairs: KeypairService;
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
  /** What command jobs run with. */
  commandDeps: CommandDeps;
  /** Per account: requests that change something, at once, so that no tenant's burst holds every store connection while the others wait. */
  rateLimits: { accountWrites: ConcurrencyGate };
  /** Serialised pages of the phone list, valid until phones, servers or custom images change. */
  phoneListCache: ReadCache;
  engine: JobEngine;
  /** The admin API's token and what it controls; absent unless OPENCPH_ADMIN_TOKEN is set. */
  admin?: { token: string; faults: FaultInjector };
}

/** The KooPhone use cases, over the same store, phones and CPH services as the CPH API. */
export interface KooPhoneServices {
  skus: SkuCatalogue;
  operations: InstanceOperations;
  orders: InstanceOrders;
  commands: InstanceCommands;
  apps: InstanceApps;
}
