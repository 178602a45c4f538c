// One simulated phone: its file system, properties, packages, settings and processes, the shell that
// runs commands on it, and its persistence. A phone that differs from a fresh device in nothing but its
// boot count has no files (the count is in the driver's boot ledger); once it does, `state.jsonl` holds
// every difference, and each operation appends what it changed (store.ts).
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CommandResult, PhoneSpec } from '../driver.ts';
import { DeviceFs } from './fs.ts';
import { mountTable, type FsNode, type SharedLayer } from './fs-nodes.ts';
import { Overlay } from './overlay.ts';
import { baseImage } from './image.ts';
import { FIRST_INSTALL_UID, installFlags, InstallFailure, PackageManager, type ApkSource, type PackagesState } from './packages.ts';
import { cphProperties, CPH_DEFAULTS, setpropError } from '../../android/props.ts';
import { bootProps, buildProps } from './props.ts';
import { unpackTar } from './push.ts';
import type { PhoneStore } from './store.ts';
import type { BootLedger } from './boot-ledger.ts';
import { ROOT } from './users.ts';

export type SettingsNamespace = 'system' | 'secure' | 'global';

export interface AppProcess {
  pid: number;
  name: string;
  uid: number;
  startedAt: number;
}

/** Everything a phone changed but its files, as saved in state.jsonl beside the entries of its file system. */
interface DeviceState {
  version: 1;
  running: boolean;
  bootedAt: number;
  /**
   * Boots since the phone was created or factory reset, that one included (`settings get global boot_count`).
   * Absent: 1, the boot at creation. Kept in the boot ledger while the phone has no state.json.
   */
  bootCount?: number;
  /** The CPH `property` applied at the last boot. */
  cphProperty: Record<string, string>;
  persistProps: Record<string, string>;
  runtimeProps: Record<string, string>;
  /** `settings put` values; null for a deleted default. */
  settings: Record<SettingsNamespace, Record<string, string | null>>;
  packages: PackagesState;
  /** `wm size` / `wm density` overrides. */
  display: { size?: string; density?: number };
  /** `input` commands received, latest last. */
  inputs: string[];
  processes: AppProcess[];
  /** Component in the foreground (`am start`), e.g. com.x/.Main. */
  foreground?: string;
  nextPid: number;
}

export interface DeviceOptions {
  now(): number;
  /** 32 random hex characters. */
  random(): string;
  /** Multiplier of simulated durations (`sleep`). */
  timeScale: number;
  /** The shared storage of a server, seen by its phones between the image and their own changes. */
  sharedLayer?(serverId: string): SharedLayer | undefined;
  /** The boot counts of phones without a state.json. */
  bootLedger: BootLedger;
}

const MAX_INPUTS = 100;
/** Unused blobs deleted between two turns of the event loop (a refused push may leave tens of thousands). */
const BLOBS_PER_TURN = 256;
const FIRST_APP_PID = 3000;

function freshState(now: number): DeviceState {
  return {
    version: 1, running: true, bootedAt: now, cphProperty: {}, persistProps: {}, runtimeProps: {},
    settings: { system: {}, secure: {}, global: {} }, packages: { installed: {}, nextUid: FIRST_INSTALL_UID },
    display: {}, inputs: [], processes: [], nextPid: FIRST_APP_PID,
  };
}

export class SimDevice {
  readonly fs: DeviceFs;
  readonly packages: PackageManager;
  /** Pid of the shell running the current command (`$$`, `ps`). */
  shellPid = 5000;
  private active = 0;
  private imageKey: string;

  private constructor(
    readonly store: PhoneStore,
    public spec: PhoneSpec,
    private readonly state: DeviceState,
    overlay: Overlay,
    private persisted: boolean,
    private readonly options: DeviceOptions,
  ) {
    this.imageKey = imageKey(spec);
    const view = { now: () => this.now(), uptimeSeconds: () => this.uptimeSeconds() };
    const shared = () => options.sharedLayer?.(this.spec.serverId);
    this.fs = new DeviceFs(baseImage(spec.image, spec.phoneModel), overlay, store, mountTable(spec.phoneModel, spec.dataVolumeGiB), view, shared);
    this.packages = new PackageManager({
      fs: this.fs,
      system: baseImage(spec.image, spec.phoneModel).packages,
      state: state.packages,
      sdk: spec.image.opencph.sdk_level,
      now: () => this.now(),
      random: () => this.options.random(),
      autoGrant: () => this.getprop('ro.permission.changed') === '1',
      importBlob: (path) => this.importBlob(path),
      stopPackage: (name) => this.stopApp(name),
    });
  }

  /** The phone as saved, or a fresh device when nothing was ever saved. */
  static async open(store: PhoneStore, spec: PhoneSpec, options: DeviceOptions): Promise<SimDevice> {
    const overlay = new Overlay();
    const saved = await store.readSaved<DeviceState, FsNode | null>('fs', overlay);
    overlay.takeChanges(); // what was read is saved already
    const state = saved ?? { ...freshState(options.now()), bootCount: await options.bootLedger.count(spec.id) };
    return new SimDevice(store, spec, state, overlay, saved !== undefined, options);
  }

  /** A factory-new phone (its directory must have been cleared), about to boot for the first time. */
  static fresh(store: PhoneStore, spec: PhoneSpec, options: DeviceOptions): SimDevice {
    return new SimDevice(store, spec, { ...freshState(options.now()), bootCount: 0 }, new Overlay(), false, options);
  }

  get running(): boolean {
    return this.state.running;
  }

  get timeScale(): number {
    return this.options.timeScale;
  }

  get idle(): boolean {
    return this.active === 0;
  }

  now(): number {
    return this.options.now();
  }

  uptimeSeconds(): number {
    return Math.max(0, (this.now() - this.state.bootedAt) / 1000);
  }

  /** Takes the latest record of the phone; a new image or flavor only matters from the next boot on. */
  bind(spec: PhoneSpec): void {
    if (imageKey(spec) === this.imageKey) this.spec = spec;
    // A data volume grown meanwhile shows at once: Android resizes /data while it is mounted.
    this.fs.mounts = mountTable(this.spec.phoneModel, spec.dataVolumeGiB);
  }

  // ---- power ----

  /** Power-on: the spec's image, flavor and `property` take effect; runtime state starts empty. */
  boot(spec: PhoneSpec): void {
    this.spec = spec;
    if (imageKey(spec) !== this.imageKey) {
      this.imageKey = imageKey(spec);
      this.fs.rebase(baseImage(spec.image, spec.phoneModel), mountTable(spec.phoneModel, spec.dataVolumeGiB));
    }
    const property = cphProperties(spec.property);
    // The attribute list wins over what `setprop persist.*` left before the boot.
    for (const key of Object.keys(property)) delete this.state.persistProps[key];
    Object.assign(this.state, {
      cphProperty: property, runtimeProps: {}, processes: [], foreground: undefined, running: true, bootedAt: this.now(),
      bootCount: (this.state.bootCount ?? 1) + 1,
    });
  }

  powerOff(): void {
    Object.assign(this.state, { running: false, runtimeProps: {}, processes: [], foreground: undefined });
  }

  /** `reboot` from the shell: the phone comes back with its data and the same configuration. */
  reboot(): void {
    this.boot(this.spec);
  }

  // ---- properties ----

  props(): Record<string, string> {
    const spec = this.spec;
    const serial = spec.id.slice(0, 16).toUpperCase();
    const layers: Record<string, string>[] = [
      buildProps(spec.image, spec.phoneModel),
      { 'ro.serialno': serial, 'ro.boot.serialno': serial, 'ro.com.cph.imei': spec.imei, 'net.hostname': spec.name },
      this.state.running ? bootProps() : {},
      CPH_DEFAULTS,
      this.state.cphProperty,
      this.state.persistProps,
      this.state.runtimeProps,
    ];
    return Object.assign({}, ...layers);
  }

  getprop(key: string): string | undefined {
    return this.props()[key];
  }

  /** `setprop`: false when Android refuses the change. */
  setprop(key: string, value: string): boolean {
    if (setpropError(key, value, this.getprop(key))) return false;
    if (key.startsWith('persist.')) this.state.persistProps[key] = value;
    else this.state.runtimeProps[key] = value;
    return true;
  }

  // ---- settings ----

  settings(namespace: SettingsNamespace): Record<string, string> {
    const merged: Record<string, string | null> = { ...this.defaultSettings()[namespace], ...this.state.settings[namespace] };
    return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== null));
  }

  putSetting(namespace: SettingsNamespace, key: string, value: string | null): void {
    this.state.settings[namespace][key] = value;
  }

  private defaultSettings(): Record<SettingsNamespace, Record<string, string>> {
    const androidId = createHash('sha256').update(this.spec.id).digest('hex').slice(0, 16);
    return {
      system: {
        accelerometer_rotation: '1', dtmf_tone: '1', font_scale: '1.0', haptic_feedback_enabled: '1',
        screen_brightness: '102', screen_brightness_mode: '0', screen_off_timeout: '60000', sound_effects_enabled: '1',
        user_rotation: this.getprop('ro.horizontal.screen') === '1' ? '1' : '0', volume_music: '11', volume_ring: '5',
      },
      secure: {
        android_id: androidId, default_input_method: 'com.android.inputmethod.latin/.LatinIME',
        enabled_input_methods: 'com.android.inputmethod.latin/.LatinIME', install_non_market_apps: '1',
        location_providers_allowed: 'gps,network', mock_location: '0', skip_first_use_hints: '1', user_setup_complete: '1',
      },
      global: {
        adb_enabled: '1', airplane_mode_on: '0', animator_duration_scale: '1.0', auto_time: '1', auto_time_zone: '1',
        bluetooth_on: '0', boot_count: String(this.state.bootCount ?? 1), data_roaming: '0', development_settings_enabled: '1', device_name: this.spec.name,
        device_provisioned: '1', mobile_data: '1', stay_on_while_plugged_in: '0', transition_animation_scale: '1.0',
        wifi_on: '1', window_animation_scale: '1.0',
      },
    };
  }

  // ---- display, input, processes ----

  /** Physical size of the screen (`720x1280`): the flavor's, turned for landscape phones. */
  physicalSize(): [number, number] {
    const [w, h] = this.spec.phoneModel.resolution.split('x').map(Number);
    return this.getprop('ro.horizontal.screen') === '1' ? [h, w] : [w, h];
  }

  get display(): DeviceState['display'] {
    return this.state.display;
  }

  recordInput(args: string[]): void {
    this.state.inputs.push(args.join(' '));
    if (this.state.inputs.length > MAX_INPUTS) this.state.inputs.splice(0, this.state.inputs.length - MAX_INPUTS);
  }

  get inputs(): readonly string[] {
    return this.state.inputs;
  }

  get processes(): readonly AppProcess[] {
    return this.state.processes;
  }

  get foreground(): string | undefined {
    return this.state.foreground;
  }

  startApp(name: string, component: string): void {
    const pkg = this.packages.get(name);
    if (!pkg) return;
    if (!this.state.processes.some((p) => p.name === name)) {
      this.state.processes.push({ pid: this.state.nextPid++, name, uid: pkg.uid, startedAt: this.now() });
    }
    this.state.foreground = component;
  }

  stopApp(name: string): void {
    this.state.processes = this.state.processes.filter((p) => p.name !== name);
    if (this.state.foreground?.startsWith(`${name}/`)) this.state.foreground = undefined;
  }

  // ---- operations ----

  /** `adb install` / `pm install`: `Success`, or `Failure [CODE: message]` with exit status 1. */
  async install(apks: ApkSource[], flags: string[]): Promise<CommandResult> {
    try {
      await this.packages.install(apks, installFlags(flags));
      return { output: 'Success\n', exitCode: 0 };
    } catch (err) {
      if (err instanceof InstallFailure) return { output: `Failure [${err.message}]\n`, exitCode: 1 };
      throw err;
    }
  }

  uninstall(name: string, flags: string[]): CommandResult {
    return this.packages.uninstall(name, flags.includes('-k'))
      ? { output: 'Success\n', exitCode: 0 }
      : { output: 'Failure [DELETE_FAILED_INTERNAL_ERROR]\n', exitCode: 1 };
  }

  /** Unpacks a tar on the host over `/`, as root; all or nothing. */
  pushTar(tarFile: string): Promise<CommandResult> {
    return unpackTar(tarFile, { fs: this.fs, cred: ROOT, importBlob: (stream) => this.importBlob(stream) });
  }

  /**
   * Restores a data export over `/` as root, with the owners, modes and mtimes it holds; all or nothing.
   * Apps it put back in /data/app are then found as Android's package scan at boot finds them.
   */
  async restoreData(tarFile: string): Promise<CommandResult> {
    const result = await unpackTar(tarFile, { fs: this.fs, cred: ROOT, importBlob: (stream) => this.importBlob(stream), keepOwners: true });
    if (result.exitCode === 0) await this.packages.scan();
    return result;
  }

  /** Imports host bytes into the blob store; until a file refers to them they are garbage. */
  private async importBlob(source: string | Buffer | AsyncIterable<Buffer>): Promise<{ hash: string; size: number }> {
    const blob = await this.store.importBlob(source);
    this.fs.release(blob.hash);
    return blob;
  }

  // ---- persistence ----

  /** Runs an operation, then saves what changed; blobs nothing refers to are deleted once no operation runs. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await work();
    } finally {
      try {
        await this.save();
      } finally {
        this.active--;
        if (this.active === 0) await this.removeReleasedBlobs();
      }
    }
  }

  /**
   * Deletes the blobs no file uses, some at a time, while no operation runs (one could be about to use
   * them): they are put back for the next operation's end when one starts meanwhile.
   */
  private async removeReleasedBlobs(): Promise<void> {
    const hashes = this.fs.takeReleasedBlobs();
    while (hashes.length) {
      if (!this.idle) {
        for (const hash of hashes) this.fs.release(hash);
        return;
      }
      for (const hash of hashes.splice(-BLOBS_PER_TURN)) if (!this.fs.usesBlob(hash)) this.store.removeBlobSync(hash);
      if (hashes.length) await nextTurn();
    }
  }

  private async save(): Promise<void> {
    if (!this.persisted && this.isPristine()) {
      this.store.assertNotDeleted();
      await this.options.bootLedger.record(this.spec.id, this.state.bootCount ?? 1);
      return;
    }
    await this.store.save(this.state, this.fs.overlay);
    this.persisted = true;
  }

  /** Nothing differs from a fresh device but the boot count. */
  private isPristine(): boolean {
    const s = this.state;
    const empty = (o: object) => Object.keys(o).length === 0;
    return s.running && this.fs.overlay.size === 0 && empty(s.cphProperty) && empty(s.persistProps) && empty(s.runtimeProps)
      && empty(s.settings.system) && empty(s.settings.secure) && empty(s.settings.global) && empty(s.packages.installed)
      && empty(s.display) && s.inputs.length === 0 && s.processes.length === 0 && s.foreground === undefined;
  }
}

function imageKey(spec: PhoneSpec): string {
  return `${spec.image.image_id}/${spec.phoneModel.phone_model_name}`;
}
