// The package manager of a simulated phone: the image's system packages plus what was installed, with
// Android's install rules and failure messages (PackageManagerService, PackageInstallerSession).
import { ApkParseError, readApk, type ApkInfo } from '../../android/apk.ts';
import type { DeviceFs } from './fs.ts';
import { FsError } from './fs-nodes.ts';
import type { SystemPackage } from './image.ts';
import { AID, FIRST_APP_UID, ROOT } from './users.ts';

/** An installed (or uninstalled with `-k`) package, as saved in the phone's state. */
export interface InstalledPackage {
  name: string;
  versionCode: number;
  versionName: string;
  label: string;
  minSdk: number;
  targetSdk: number;
  /** Directory of the APKs, e.g. /data/app/com.x-1. */
  codePath: string;
  /** Split names, in install order (`split_<name>.apk` beside base.apk). */
  splits: string[];
  uid: number;
  firstInstallTime: number;
  lastUpdateTime: number;
  /** False after `uninstall -k`: the data directory and uid are kept for a later install. */
  installed: boolean;
  /** Runtime permissions granted at install (`-g`, or the ro.permission.changed attribute). */
  grantedAll: boolean;
  /** Installed with `-t` (test-only APKs allowed). */
  testOnly: boolean;
}

export interface PackagesState {
  installed: Record<string, InstalledPackage>;
  nextUid: number;
}

/** What `pm` and `dumpsys` show of a package, system or installed. */
export interface PackageView {
  name: string;
  label: string;
  versionCode: number;
  versionName: string;
  minSdk: number;
  targetSdk: number;
  uid: number;
  system: boolean;
  codePath: string;
  apkPaths: string[];
  splits: string[];
  dataDir: string;
  firstInstallTime: number;
  lastUpdateTime: number;
  grantedAll: boolean;
}

/** An APK to install: where its bytes are on the host, and its blob when it is already in the phone's store. */
export interface ApkSource {
  hostPath: string;
  /** File name the installer session stages it under (adb's `<index>_<name>` for install-multiple). */
  name: string;
  blob?: { hash: string; size: number };
}

export interface InstallFlags {
  replace: boolean;
  downgrade: boolean;
  grant: boolean;
  testOnly: boolean;
}

/** `pm install`/`adb install` flags; unknown ones are ignored as pm ignores flags it does not use here. */
export function installFlags(args: string[]): InstallFlags {
  return {
    replace: args.includes('-r'),
    downgrade: args.includes('-d'),
    grant: args.includes('-g'),
    testOnly: args.includes('-t'),
  };
}

export interface PackageHost {
  fs: DeviceFs;
  system: SystemPackage[];
  state: PackagesState;
  sdk: number;
  now(): number;
  /** 32 random hex characters, for install directories and session ids. */
  random(): string;
  /** Whether the CPH attribute ro.permission.changed grants every runtime permission at install. */
  autoGrant(): boolean;
  /** Imports a host file into the phone's blob store. */
  importBlob(hostPath: string): Promise<{ hash: string; size: number }>;
  /** The package's processes are stopped (uninstall, clear, update). */
  stopPackage(name: string): void;
}

export class InstallFailure extends Error {
  constructor(
    readonly code: string,
    readonly detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
  }
}

export class PackageManager {
  constructor(private readonly host: PackageHost) {}

  list(): PackageView[] {
    const views = new Map<string, PackageView>();
    for (const pkg of this.host.system) views.set(pkg.name, this.systemView(pkg));
    for (const pkg of Object.values(this.host.state.installed)) {
      if (pkg.installed) views.set(pkg.name, this.installedView(pkg, views.has(pkg.name)));
    }
    return [...views.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get(name: string): PackageView | undefined {
    const pkg = this.host.state.installed[name];
    const system = this.host.system.find((p) => p.name === name);
    if (pkg?.installed) return this.installedView(pkg, system !== undefined);
    return system && this.systemView(system);
  }

  private systemView(pkg: SystemPackage): PackageView {
    const time = this.host.fs.lstat(pkg.path, ROOT).node.mtime;
    return {
      name: pkg.name, label: pkg.label, versionCode: pkg.versionCode, versionName: pkg.versionName,
      minSdk: this.host.sdk, targetSdk: this.host.sdk, uid: pkg.uid, system: true,
      codePath: pkg.path.slice(0, pkg.path.lastIndexOf('/')), apkPaths: [pkg.path], splits: [],
      dataDir: `/data/data/${pkg.name}`, firstInstallTime: time, lastUpdateTime: time, grantedAll: true,
    };
  }

  private installedView(pkg: InstalledPackage, system: boolean): PackageView {
    return {
      name: pkg.name, label: pkg.label, versionCode: pkg.versionCode, versionName: pkg.versionName,
      minSdk: pkg.minSdk, targetSdk: pkg.targetSdk, uid: pkg.uid, system, codePath: pkg.codePath,
      apkPaths: [`${pkg.codePath}/base.apk`, ...pkg.splits.map((s) => `${pkg.codePath}/split_${s}.apk`)],
      splits: pkg.splits, dataDir: `/data/data/${pkg.name}`, firstInstallTime: pkg.firstInstallTime,
      lastUpdateTime: pkg.lastUpdateTime, grantedAll: pkg.grantedAll,
    };
  }

  /** `adb install` / `install-multiple`: `Success`, or throws InstallFailure with Android's code and message. */
  async install(apks: ApkSource[], flags: InstallFlags): Promise<void> {
    if (apks.length === 0) throw new InstallFailure('INSTALL_FAILED_INVALID_APK', 'No packages staged');
    const session = parseInt(this.host.random().slice(0, 7), 16) + 1_000_000_000;
    const stageDir = `/data/app/vmdl${session}.tmp`;
    const staged = apks.map((source, index) => ({ source, hostPath: source.hostPath, path: `${stageDir}/${apks.length > 1 ? `${index}_${source.name}` : 'base.apk'}` }));
    const { parsed, base } = await readSession(staged);

    const name = base.packageName;
    const previous = this.host.state.installed[name];
    const current = this.get(name);
    if (current && !flags.replace) {
      throw new InstallFailure('INSTALL_FAILED_ALREADY_EXISTS', `Attempt to re-install ${name} without first uninstalling.`);
    }
    const existingVersion = current?.versionCode ?? (previous && !previous.installed ? previous.versionCode : undefined);
    if (existingVersion !== undefined && base.versionCode < existingVersion && !flags.downgrade) {
      const context = current ? '' : ' on app uninstalled with DELETE_KEEP_DATA';
      throw new InstallFailure(
        'INSTALL_FAILED_VERSION_DOWNGRADE',
        `Downgrade detected${context}: Update version code ${base.versionCode} is older than current ${existingVersion}`,
      );
    }
    if (base.minSdk > this.host.sdk) {
      throw new InstallFailure('INSTALL_FAILED_OLDER_SDK', `Requires newer sdk version #${base.minSdk} (current version is #${this.host.sdk})`);
    }

    const fs = this.host.fs;
    const codePath = this.newCodePath(name, previous?.installed ? previous.codePath : undefined);
    const owner = { uid: AID.system, gid: AID.system };
    try {
      fs.mkdirs(codePath, ROOT, 0o755, owner);
      for (const { apk, source } of parsed) {
        const blob = source.blob ?? (await this.host.importBlob(source.hostPath));
        const file = apk.split === undefined ? 'base.apk' : `split_${apk.split}.apk`;
        fs.writeBlob(`${codePath}/${file}`, blob.hash, blob.size, ROOT, { owner: { ...owner, mode: 0o644 } });
      }
    } catch (err) {
      fs.removeTree(codePath);
      if (err instanceof FsError && err.code === 'ENOSPC') throw new InstallFailure('INSTALL_FAILED_INSUFFICIENT_STORAGE');
      throw err;
    }
    if (previous?.installed && previous.codePath !== codePath) fs.removeTree(previous.codePath);
    this.register(codePath, parsed.map((p) => p.apk), flags);
  }

  /**
   * Android's scan of /data/app at boot, after a data restore put package directories back there
   * (`<package>-<suffix>/base.apk` and its splits; on Android 11 one level deeper): a package the phone
   * does not have is registered in place, with the uid its restored data directory belongs to. As Android
   * does, it passes over APKs it cannot parse or whose SDK is too new, a second copy of a package the phone
   * has, and a copy of a system package that is not newer than the image's.
   */
  async scan(): Promise<void> {
    const known = new Set(Object.values(this.host.state.installed).flatMap((pkg) => (pkg.installed ? [pkg.codePath] : [])));
    for (const [codePath, apks] of this.packageDirs()) {
      if (known.has(codePath)) continue;
      let session: Awaited<ReturnType<typeof readSession>>;
      try {
        session = await readSession(apks);
      } catch (err) {
        if (err instanceof InstallFailure) continue;
        throw err;
      }
      const name = session.base.packageName;
      const system = this.host.system.find((p) => p.name === name);
      if (this.host.state.installed[name]?.installed || session.base.minSdk > this.host.sdk) continue;
      if (system && session.base.versionCode <= system.versionCode) continue;
      this.register(codePath, session.parsed.map((p) => p.apk), { grant: false, testOnly: false }, () => this.restoredUid(name));
    }
  }

  /** Directories of /data/app (or of its Android 11 parent directories) holding a base.apk, with their APK files. */
  private packageDirs(): Map<string, Array<{ path: string; hostPath: string }>> {
    const fs = this.host.fs;
    const children = (dir: string) => fs.readdir(dir, ROOT).map((name) => ({ name, path: `${dir}/${name}`, node: fs.lstat(`${dir}/${name}`, ROOT).node }));
    const found = new Map<string, Array<{ path: string; hostPath: string }>>();
    const visit = (dir: string, depth: number) => {
      const entries = children(dir);
      const apks = entries.filter((e) => e.node.type === 'file' && (e.name === 'base.apk' || /^split_.+\.apk$/.test(e.name)));
      if (apks.some((e) => e.name === 'base.apk')) {
        const files = apks.flatMap((e) => {
          const hostPath = fs.hostPath(e.path, ROOT);
          return hostPath ? [{ path: e.path, hostPath }] : [];
        });
        found.set(dir, files);
      } else if (depth < 2) {
        for (const e of entries) if (e.node.type === 'dir') visit(e.path, depth + 1);
      }
    };
    for (const e of children('/data/app')) if (e.node.type === 'dir') visit(e.path, 1);
    return found;
  }

  /**
   * Records the package of `apks` as installed at `codePath`. A package the phone had before keeps its uid,
   * first install time and grants; a new one gets `newUid()`.
   */
  private register(codePath: string, apks: ApkInfo[], flags: Pick<InstallFlags, 'grant' | 'testOnly'>, newUid = () => this.host.state.nextUid++): void {
    const base = apks.find((apk) => apk.split === undefined)!;
    const name = base.packageName;
    const previous = this.host.state.installed[name];
    const current = this.get(name);
    const now = this.host.now();
    const uid = previous?.uid ?? this.systemUid(name) ?? newUid();
    this.ensureDataDir(name, uid);
    this.host.stopPackage(name);
    this.host.state.installed[name] = {
      name, versionCode: base.versionCode, versionName: base.versionName, label: base.label,
      minSdk: base.minSdk, targetSdk: base.targetSdk, codePath,
      splits: apks.flatMap((apk) => (apk.split === undefined ? [] : [apk.split])), uid,
      firstInstallTime: previous?.firstInstallTime ?? current?.firstInstallTime ?? now, lastUpdateTime: now, installed: true,
      grantedAll: flags.grant || this.host.autoGrant() || (previous?.grantedAll ?? false), testOnly: flags.testOnly,
    };
  }

  /**
   * The uid of a restored package: the owner of its data directory when that is an app's uid no other
   * package has (the package manager's record of it was not restored), else a new one.
   */
  private restoredUid(name: string): number {
    const state = this.host.state;
    const dir = `/data/data/${name}`;
    const owner = this.host.fs.exists(dir, ROOT) ? this.host.fs.lstat(dir, ROOT).node.uid : undefined;
    const taken = (uid: number) => [...this.host.system, ...Object.values(state.installed)].some((pkg) => pkg.uid === uid);
    if (owner === undefined || owner < FIRST_APP_UID || taken(owner)) return state.nextUid++;
    state.nextUid = Math.max(state.nextUid, owner + 1);
    return owner;
  }

  private systemUid(name: string): number | undefined {
    return this.host.system.find((p) => p.name === name)?.uid;
  }

  /** Android 7 numbers install directories (-1, -2, ...); 8 uses a random suffix; 11 nests it in a random parent. */
  private newCodePath(name: string, current: string | undefined): string {
    const fs = this.host.fs;
    if (this.host.sdk < 26) {
      for (let i = 1; ; i++) {
        const path = `/data/app/${name}-${i}`;
        if (path !== current && !fs.exists(path, ROOT)) return path;
      }
    }
    const token = () => Buffer.from(this.host.random(), 'hex').toString('base64url') + '==';
    return this.host.sdk >= 30 ? `/data/app/~~${token()}/${name}-${token()}` : `/data/app/${name}-${token()}`;
  }

  private ensureDataDir(name: string, uid: number): void {
    const fs = this.host.fs;
    const owner = { uid, gid: uid };
    const dir = `/data/data/${name}`;
    if (!fs.exists(dir, ROOT)) fs.mkdir(dir, ROOT, 0o751, owner);
    for (const sub of ['cache', 'code_cache']) if (!fs.exists(`${dir}/${sub}`, ROOT)) fs.mkdir(`${dir}/${sub}`, ROOT, 0o771, owner);
  }

  /** `pm uninstall [-k]`: false when there is nothing the user may remove. */
  uninstall(name: string, keepData: boolean): boolean {
    const pkg = this.host.state.installed[name];
    if (!pkg?.installed) return false;
    const fs = this.host.fs;
    fs.removeTree(pkg.codePath);
    if (pkg.codePath.startsWith('/data/app/~~')) fs.removeTree(pkg.codePath.slice(0, pkg.codePath.lastIndexOf('/')));
    this.host.stopPackage(name);
    // Removing an update of a system package brings the image's version back, with its data.
    if (this.systemUid(name) !== undefined) {
      delete this.host.state.installed[name];
    } else if (keepData) {
      pkg.installed = false;
    } else {
      fs.removeTree(`/data/data/${name}`);
      delete this.host.state.installed[name];
    }
    return true;
  }

  /** `pm clear`: the package's data directory is emptied. */
  clear(name: string): boolean {
    const pkg = this.get(name);
    if (!pkg) return false;
    this.host.stopPackage(name);
    this.host.fs.removeTree(pkg.dataDir);
    this.ensureDataDir(name, pkg.uid);
    return true;
  }
}

/**
 * Reads the APKs of one package (`path` names each in messages) and checks them as
 * PackageInstallerSession.validateInstallLocked does: one package, one version, each split once, a base.
 */
async function readSession<T extends { hostPath: string; path: string }>(files: T[]): Promise<{ parsed: Array<T & { apk: ApkInfo }>; base: ApkInfo }> {
  const parsed: Array<T & { apk: ApkInfo }> = [];
  for (const file of files) {
    try {
      parsed.push({ ...file, apk: await readApk(file.hostPath) });
    } catch (err) {
      if (err instanceof ApkParseError) throw new InstallFailure('INSTALL_PARSE_FAILED_NOT_APK', `Failed to parse ${file.path}`);
      throw err;
    }
  }
  const [first] = parsed;
  const seen = new Set<string | undefined>();
  for (const { apk, path } of parsed) {
    if (seen.has(apk.split)) throw new InstallFailure('INSTALL_FAILED_INVALID_APK', `Split ${apk.split ?? 'null'} was defined multiple times`);
    seen.add(apk.split);
    if (apk.packageName !== first.apk.packageName) {
      throw new InstallFailure('INSTALL_FAILED_INVALID_APK', `${path} package ${apk.packageName} inconsistent with ${first.apk.packageName}`);
    }
    if (apk.versionCode !== first.apk.versionCode) {
      throw new InstallFailure('INSTALL_FAILED_INVALID_APK', `${path} version code ${apk.versionCode} inconsistent with ${first.apk.versionCode}`);
    }
  }
  const base = parsed.find((p) => p.apk.split === undefined)?.apk;
  if (!base) throw new InstallFailure('INSTALL_FAILED_INVALID_APK', 'Full install must include a base package');
  return { parsed, base };
}

/** uid of the first package a user installs (`u0_a60`), above those of the image. */
export const FIRST_INSTALL_UID = FIRST_APP_UID + 60;
