import type { DriverFactory } from '../driver-factory.ts';
import { SimDriver } from './driver.ts';
import { SimSharedStorage } from './shared-storage.ts';

/** The sim driver as the registry builds it: simulated phones, which see their server's shared storage. */
export const simDriver: DriverFactory = async ({ dataDir, clock, ids, timeScale }) => {
  const shared = new SimSharedStorage({ dataDir, clock });
  await shared.load();
  const phones = new SimDriver({ timeScale, dataDir, clock, ids, sharedLayer: (serverId) => shared.layer(serverId) });
  return { phones, shared };
};
