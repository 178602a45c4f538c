import type { PhoneDriver, PhoneSpec } from '../driver.ts';

/** Realistic durations of the simulated operations, in milliseconds, before scaling. */
export const SIM_DURATIONS_MS = {
  create: 20_000,
  start: 12_000,
  stop: 5_000,
  restart: 15_000,
} as const;

/**
 * Simulated phones. Every operation takes its realistic duration multiplied by the time scale
 * (OPENCPH_SIM_TIME_SCALE), so 0 finishes at once and 1 feels like a real cloud phone.
 */
export class SimDriver implements PhoneDriver {
  readonly name = 'sim';

  constructor(private readonly timeScale: number) {}

  create(_phone: PhoneSpec): Promise<void> {
    return this.take('create');
  }

  start(_phone: PhoneSpec): Promise<void> {
    return this.take('start');
  }

  stop(_phone: PhoneSpec): Promise<void> {
    return this.take('stop');
  }

  restart(_phone: PhoneSpec): Promise<void> {
    return this.take('restart');
  }

  async destroy(_phoneId: string): Promise<void> {}

  private take(operation: keyof typeof SIM_DURATIONS_MS): Promise<void> {
    const ms = SIM_DURATIONS_MS[operation] * this.timeScale;
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }
}
