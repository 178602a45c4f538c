// Fault injection for people who run OpenCPH as a stand-in: chosen driver calls fail or hang, and
// lifecycle operations take chosen times. Rules live in memory (they are test set-up, not data) and are
// managed through the admin API (src/api/admin/faults.ts).
import type { Ids } from '../core/runtime.ts';
import { CommandTimeoutError, PhoneOperationError, type CommandResult, type PhoneDriver, type PhoneSpec } from './driver.ts';

export const FAULT_OPERATIONS = ['create', 'start', 'stop', 'restart', 'reset', 'shell', 'pushTar', 'install', 'uninstall', 'exportData', 'importData', 'migrate', 'screenshot'] as const;
export type FaultOperation = (typeof FAULT_OPERATIONS)[number];

/** The operations whose duration can be set. */
export const TIMED_OPERATIONS = ['create', 'start', 'stop', 'restart', 'reset', 'migrate'] as const;
export type TimedOperation = (typeof TIMED_OPERATIONS)[number];

export interface FaultRuleInput {
  operation: FaultOperation;
  phone_id?: string;
  server_id?: string;
  /** 'fail': the call throws PhoneOperationError; 'hang': the call does not return. */
  mode: 'fail' | 'hang';
  /** How many matching calls the rule affects before it is removed; 0 = every call, for good. */
  times?: number;
}

export interface FaultRule extends Required<Pick<FaultRuleInput, 'operation' | 'mode' | 'times'>> {
  id: string;
  phone_id?: string;
  server_id?: string;
  /** Calls affected so far. */
  matched: number;
}

export type Durations = Partial<Record<TimedOperation, number>>;

export class FaultInjector {
  private rules: FaultRule[] = [];
  private durationsMs: Durations = {};
  /** Calls held by 'hang' rules, by rule id: removing the rule lets them go (see `release`). */
  private readonly hung = new Map<string, Set<(error: Error) => void>>();

  constructor(private readonly ids: Ids) {}

  list(): FaultRule[] {
    return this.rules.map((rule) => ({ ...rule }));
  }

  add(input: FaultRuleInput): FaultRule {
    const rule: FaultRule = { id: this.ids.hex32(), ...input, times: input.times ?? 1, matched: 0 };
    this.rules.push(rule);
    return { ...rule };
  }

  /** False when there is no such rule (nor calls it still holds). */
  remove(id: string): boolean {
    const known = this.hung.has(id) || this.rules.some((rule) => rule.id === id);
    this.rules = this.rules.filter((rule) => rule.id !== id);
    this.release(id);
    return known;
  }

  clear(): void {
    this.rules = [];
    for (const id of [...this.hung.keys()]) this.release(id);
  }

  get durations(): Durations {
    return { ...this.durationsMs };
  }

  /** Replaces every override; an operation left out takes the driver's own time again. */
  set durations(durations: Durations) {
    this.durationsMs = { ...durations };
  }

  /**
   * The oldest rule matching a call, counted as used; a rule that has used up its `times` is removed
   * (calls it still holds stay held until `remove` or `clear`).
   */
  take(operation: FaultOperation, phone: PhoneSpec): FaultRule | undefined {
    const rule = this.rules.find(
      (r) => r.operation === operation && (r.phone_id === undefined || r.phone_id === phone.id) && (r.server_id === undefined || r.server_id === phone.serverId),
    );
    if (!rule) return undefined;
    rule.matched++;
    if (rule.times > 0 && rule.matched >= rule.times) this.rules = this.rules.filter((r) => r !== rule);
    return rule;
  }

  /**
   * A call that never returns on its own. It fails once its rule is deleted or all rules are cleared (a
   * stuck operation that gives up), so the job ends and the process can shut down; with `timeoutMs` (a
   * synchronous shell) it times out like a command that runs too long.
   */
  hang(rule: FaultRule, timeoutMs?: number): Promise<never> {
    return new Promise((_resolve, reject) => {
      const held = this.hung.get(rule.id) ?? new Set();
      this.hung.set(rule.id, held);
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => settle(new CommandTimeoutError(`Command did not finish within ${timeoutMs} ms.`)), timeoutMs);
      const settle = (error: Error) => {
        clearTimeout(timer);
        held.delete(settle);
        if (held.size === 0) this.hung.delete(rule.id);
        reject(error);
      };
      held.add(settle);
    });
  }

  private release(ruleId: string): void {
    for (const settle of this.hung.get(ruleId) ?? []) settle(new PhoneOperationError(`injected fault ${ruleId} was removed while the call hung`));
    this.hung.delete(ruleId);
  }
}

/**
 * `driver` with the injector's faults and durations applied. A duration override is a wait before the
 * driver's own operation (a driver's internal timing cannot be replaced from outside), so it is exact
 * when the driver itself is instant (OPENCPH_SIM_TIME_SCALE=0) and adds to the simulated time otherwise.
 */
export function withFaults(driver: PhoneDriver, injector: FaultInjector): PhoneDriver {
  async function guard<T>(operation: FaultOperation, phone: PhoneSpec, call: () => Promise<T>, timeoutMs?: number): Promise<T> {
    const rule = injector.take(operation, phone);
    if (rule?.mode === 'fail') throw new PhoneOperationError(`injected fault ${rule.id}: ${operation} fails`);
    if (rule?.mode === 'hang') return injector.hang(rule, timeoutMs);
    const delay = injector.durations[operation as TimedOperation];
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    return call();
  }
  return {
    name: driver.name,
    create: (phone) => guard('create', phone, () => driver.create(phone)),
    start: (phone) => guard('start', phone, () => driver.start(phone)),
    stop: (phone) => guard('stop', phone, () => driver.stop(phone)),
    restart: (phone) => guard('restart', phone, () => driver.restart(phone)),
    reset: (phone) => guard('reset', phone, () => driver.reset(phone)),
    destroy: (phoneId) => driver.destroy(phoneId),
    shell: (phone, command, options): Promise<CommandResult> => guard('shell', phone, () => driver.shell(phone, command, options), options?.timeoutMs),
    pushTar: (phone, tarFile) => guard('pushTar', phone, () => driver.pushTar(phone, tarFile)),
    install: (phone, apkFiles, flags) => guard('install', phone, () => driver.install(phone, apkFiles, flags)),
    uninstall: (phone, packageName, flags) => guard('uninstall', phone, () => driver.uninstall(phone, packageName, flags)),
    exportData: (phone, include, exclude, tarFile) => guard('exportData', phone, () => driver.exportData(phone, include, exclude, tarFile)),
    importData: (phone, tarFile) => guard('importData', phone, () => driver.importData(phone, tarFile)),
    // A migration is the target's operation: rules name the phone whose disks are replaced.
    migrate: (source, target) => guard('migrate', target, () => driver.migrate(source, target)),
    // A failing or stuck screen capture is what a stream's client must cope with (docs/streaming.md).
    screenshot: (phone) => guard('screenshot', phone, () => driver.screenshot(phone)),
  };
}
