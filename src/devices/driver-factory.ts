// How a driver is built: the registry (registry.ts) holds one factory per driver name, and each phone's
// calls go to the driver its row names (dispatch.ts).
import type { Clock, Ids } from '../core/runtime.ts';
import type { PhoneDriver } from './driver.ts';
import type { SharedStorage } from './shared-storage.ts';

/** What a driver is built with (src/wiring.ts, from the configuration). */
export interface DriverContext {
  /** The server's data directory; a driver keeps its own state in a folder of it. */
  dataDir: string;
  clock: Clock;
  ids: Ids;
  /** Multiplier of simulated durations (OPENCPH_SIM_TIME_SCALE): 0 instant, 1 realistic. */
  timeScale: number;
}

/** A driver as the registry builds it: its phones and, if it offers one, the shared storage of their servers. */
export interface LoadedDriver {
  phones: PhoneDriver;
  /** Absent: the driver declines shared storage, and PushShareFiles/PushShareApps answer CPS.0137/CPS.0147. */
  shared?: SharedStorage;
}

/** Builds a driver once per process, when it is first needed. */
export type DriverFactory = (context: DriverContext) => LoadedDriver | Promise<LoadedDriver>;
