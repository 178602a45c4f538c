// The device drivers a deployment can run, by name. A phone row records the name of its driver (chosen when
// the phone is bought: OPENCPH_DRIVER, or OPENCPH_DRIVER_BY_FLAVOR for its flavor), so phones of several
// drivers live side by side; src/devices/dispatch.ts sends each call to its phone's driver. A driver is one
// folder under src/devices/ and one line here.
import type { DriverFactory } from './driver-factory.ts';
import { simDriver } from './sim/factory.ts';

export type DriverRegistry = Readonly<Record<string, DriverFactory>>;

export const DRIVERS: DriverRegistry = {
  sim: simDriver,
};

/** Which driver runs a phone bought now: the one its flavor is mapped to, else the default. */
export interface DriverChoice {
  default: string;
  byFlavor: Readonly<Record<string, string>>;
}

export function driverFor(choice: DriverChoice, phoneModelName: string): string {
  return Object.hasOwn(choice.byFlavor, phoneModelName) ? choice.byFlavor[phoneModelName] : choice.default;
}
