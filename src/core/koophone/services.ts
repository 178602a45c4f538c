import type { Store } from '../../store/db.ts';
import type { CommandDeps } from '../../jobs/commands.ts';
import type { Catalogue } from '../catalogue.ts';
import { CommandService } from '../commands.ts';
import type { Clock, Ids } from '../runtime.ts';
import { ServerService } from '../servers.ts';
import { InstanceApps } from './apps.ts';
import { InstanceCommands } from './commands.ts';
import type { InstanceService } from './instances.ts';
import { InstanceOperations } from './operations.ts';
import { InstanceOrders } from './orders.ts';
import { SkuCatalogue } from './skus.ts';

/** The KooPhone use cases, over the same store, phones and CPH services as the CPH API. */
export interface KooPhoneServices {
  skus: SkuCatalogue;
  operations: InstanceOperations;
  orders: InstanceOrders;
  commands: InstanceCommands;
  apps: InstanceApps;
}

export function createKooPhone(options: { store: Store; catalogue: Catalogue; clock: Clock; ids: Ids; instances: InstanceService; commandDeps: CommandDeps }): KooPhoneServices {
  const { store, catalogue, clock, ids, instances, commandDeps } = options;
  const skus = SkuCatalogue.load(catalogue);
  const servers = new ServerService(store.db, store.noteBulkWrite, catalogue, clock, ids);
  return {
    skus,
    operations: new InstanceOperations(store.db, clock, instances, skus),
    orders: new InstanceOrders(store.db, clock, ids, instances, skus, catalogue, servers),
    commands: new InstanceCommands(store.db, instances, new CommandService(store.db, clock, ids)),
    apps: new InstanceApps(store.db, instances, commandDeps),
  };
}
