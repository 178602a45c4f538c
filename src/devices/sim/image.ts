// The files and packages of a phone image as a fresh device has them: generated once per image and flavor
// and shared by every phone that runs them (phones keep only their changes, see fs.ts).
import { createHash } from 'node:crypto';
import type { PhoneImage, PhoneModel } from '../../core/catalogue.ts';
import { baseName, parentOf, type FsNode, type SystemView } from './fs-nodes.ts';
import { buildProps, buildTime, kernelRelease, kernelVersion } from './props.ts';
import { AID, FIRST_APP_UID } from './users.ts';

export interface SystemPackage {
  name: string;
  label: string;
  /** Path of the APK, e.g. /system/priv-app/Settings/Settings.apk. */
  path: string;
  uid: number;
  versionCode: number;
  versionName: string;
}

export interface BaseImage {
  nodes: Map<string, FsNode>;
  children: Map<string, string[]>;
  packages: SystemPackage[];
}

// [package, label, directory under /system/<priv-app|app>/, privileged, shared uid]
const SYSTEM_PACKAGES: [string, string, string, boolean, number?][] = [
  ['android', 'Android System', '', true, AID.system],
  ['com.android.backupconfirm', 'com.android.backupconfirm', 'BackupRestoreConfirmation', true],
  ['com.android.bluetooth', 'Bluetooth', 'Bluetooth', false, AID.bluetooth],
  ['com.android.calculator2', 'Calculator', 'Calculator', false],
  ['com.android.camera2', 'Camera', 'Camera2', false],
  ['com.android.captiveportallogin', 'CaptivePortalLogin', 'CaptivePortalLogin', false],
  ['com.android.certinstaller', 'Certificate Installer', 'CertInstaller', false],
  ['com.android.contacts', 'Contacts', 'Contacts', true],
  ['com.android.defcontainer', 'Package Access Helper', 'DefaultContainerService', true],
  ['com.android.deskclock', 'Clock', 'DeskClock', false],
  ['com.android.dialer', 'Phone', 'Dialer', true],
  ['com.android.documentsui', 'Files', 'DocumentsUI', false],
  ['com.android.externalstorage', 'External Storage', 'ExternalStorageProvider', true],
  ['com.android.gallery3d', 'Gallery', 'Gallery2', false],
  ['com.android.htmlviewer', 'HTML Viewer', 'HTMLViewer', false],
  ['com.android.inputmethod.latin', 'Android Keyboard (AOSP)', 'LatinIME', false],
  ['com.android.keychain', 'Key Chain', 'KeyChain', false, AID.system],
  ['com.android.launcher3', 'Launcher3', 'Launcher3', true],
  ['com.android.location.fused', 'Fused Location', 'FusedLocation', true, AID.system],
  ['com.android.managedprovisioning', 'Work profile setup', 'ManagedProvisioning', true],
  ['com.android.mms.service', 'MmsService', 'MmsService', true, AID.radio],
  ['com.android.packageinstaller', 'Package installer', 'PackageInstaller', true],
  ['com.android.phone', 'Phone Services', 'TeleService', true, AID.radio],
  ['com.android.printspooler', 'Print Spooler', 'PrintSpooler', false],
  ['com.android.providers.contacts', 'Contacts Storage', 'ContactsProvider', true],
  ['com.android.providers.downloads', 'Download Manager', 'DownloadProvider', true],
  ['com.android.providers.media', 'Media Storage', 'MediaProvider', true],
  ['com.android.providers.settings', 'Settings Storage', 'SettingsProvider', true, AID.system],
  ['com.android.providers.telephony', 'Phone and Messaging Storage', 'TelephonyProvider', true, AID.radio],
  ['com.android.proxyhandler', 'ProxyHandler', 'ProxyHandler', true],
  ['com.android.server.telecom', 'Call Management', 'Telecom', true, AID.system],
  ['com.android.settings', 'Settings', 'Settings', true, AID.system],
  ['com.android.sharedstoragebackup', 'com.android.sharedstoragebackup', 'SharedStorageBackup', true],
  ['com.android.shell', 'Shell', 'Shell', true, AID.shell],
  ['com.android.systemui', 'System UI', 'SystemUI', true],
  ['com.android.vpndialogs', 'VpnDialogs', 'VpnDialogs', true],
  ['com.android.webview', 'Android System WebView', 'webview', false],
];

/** Toybox and toolbox commands that /system/bin links to their multi-call binary. */
const TOYBOX_LINKS = [
  'cat', 'chmod', 'cp', 'date', 'df', 'du', 'echo', 'find', 'grep', 'head', 'id', 'ln', 'ls', 'md5sum', 'mkdir',
  'mv', 'ps', 'rm', 'rmdir', 'sleep', 'sort', 'stat', 'tail', 'touch', 'uname', 'uniq', 'uptime', 'wc', 'whoami',
];
const TOOLBOX_LINKS = ['getprop', 'reboot', 'setprop'];
const SYSTEM_BINARIES = ['am', 'app_process', 'dumpsys', 'input', 'pm', 'screencap', 'settings', 'sh', 'toolbox', 'toybox', 'wm'];

const cache = new Map<string, BaseImage>();

/** The base tree of an image on a flavor; built at first use, then shared. */
export function baseImage(image: PhoneImage, model: PhoneModel): BaseImage {
  const key = `${image.image_id}/${model.phone_model_name}`;
  let base = cache.get(key);
  if (!base) cache.set(key, (base = buildBase(image, model)));
  return base;
}

function buildBase(image: PhoneImage, model: PhoneModel): BaseImage {
  const nodes = new Map<string, FsNode>();
  const mtime = buildTime(image);
  const add = (path: string, node: FsNode) => nodes.set(path, node);
  const dir = (path: string, mode: number, uid: number = AID.root, gid: number = uid) =>
    add(path, { type: 'dir', mode, uid, gid, mtime });
  const link = (path: string, target: string) =>
    add(path, { type: 'link', mode: 0o777, uid: AID.root, gid: AID.root, mtime, target });
  const file = (path: string, mode: number, content: Buffer | ((view: SystemView) => Buffer), uid: number = AID.root, gid: number = uid) =>
    add(path, typeof content === 'function'
      ? { type: 'file', mode, uid, gid, mtime, size: 0, source: content }
      : { type: 'file', mode, uid, gid, mtime, size: content.length, source: () => content });
  const filler = (path: string, magic: string, min: number, max: number) => {
    const size = min + (seed(path) % (max - min));
    return { type: 'file' as const, size, source: () => fill(magic, size, path) };
  };

  dir('/', 0o755);
  for (const d of ['/acct', '/config', '/oem', '/res', '/storage', '/storage/self', '/sys']) dir(d, 0o755);
  dir('/root', 0o700);
  dir('/sbin', 0o750);
  file('/init', 0o750, fill('\x7fELF', 1_400_000, '/init'));
  file('/init.rc', 0o750, Buffer.from('import /init.environ.rc\nimport /init.usb.rc\nimport /init.${ro.hardware}.rc\n'));
  file('/default.prop', 0o644, Buffer.from(propFile({ 'ro.secure': '1', 'ro.debuggable': '0', 'ro.adb.secure': '0', 'persist.sys.usb.config': 'adb', 'ro.zygote': 'zygote64_32' })));
  link('/etc', '/system/etc');
  link('/vendor', '/system/vendor');
  link('/sdcard', '/storage/emulated/0');
  link('/storage/self/primary', '/storage/emulated/0');

  dir('/dev', 0o755);
  add('/dev/null', { type: 'chr', mode: 0o666, uid: AID.root, gid: AID.root, mtime, major: 1, minor: 3 });
  dir('/mnt', 0o755, AID.root, AID.system);

  dir('/proc', 0o555);
  file('/proc/cpuinfo', 0o444, () => Buffer.from(cpuinfo(model.cpu)));
  file('/proc/meminfo', 0o444, () => Buffer.from(meminfo(model.memory)));
  file('/proc/version', 0o444, () => Buffer.from(`Linux version ${kernelRelease(image)} (cph@cph-build) (gcc version 4.9.x 20150123 (prerelease) (GCC) ) ${kernelVersion(image)}\n`));
  file('/proc/uptime', 0o444, (view) => {
    const up = view.uptimeSeconds();
    return Buffer.from(`${up.toFixed(2)} ${(up * model.cpu * 0.93).toFixed(2)}\n`);
  });
  file('/proc/loadavg', 0o444, () => Buffer.from('0.00 0.00 0.00 1/512 4321\n'));

  dir('/system', 0o755);
  for (const d of ['app', 'etc', 'fonts', 'framework', 'lib', 'lib64', 'media', 'priv-app', 'usr']) dir(`/system/${d}`, 0o755);
  for (const d of ['bin', 'vendor', 'xbin']) dir(`/system/${d}`, 0o755, AID.root, AID.shell);
  file('/system/build.prop', 0o644, Buffer.from(propFile(buildProps(image, model))));
  file('/system/etc/hosts', 0o644, Buffer.from('127.0.0.1       localhost\n::1             ip6-localhost\n'));
  for (const name of SYSTEM_BINARIES) add(`/system/bin/${name}`, { mode: 0o755, uid: AID.root, gid: AID.shell, mtime, ...filler(`/system/bin/${name}`, '\x7fELF', 8_000, 600_000) });
  for (const name of TOYBOX_LINKS) add(`/system/bin/${name}`, { type: 'link', mode: 0o777, uid: AID.root, gid: AID.shell, mtime, target: 'toybox' });
  for (const name of TOOLBOX_LINKS) add(`/system/bin/${name}`, { type: 'link', mode: 0o777, uid: AID.root, gid: AID.shell, mtime, target: 'toolbox' });
  for (const jar of ['framework.jar', 'services.jar', 'ext.jar']) add(`/system/framework/${jar}`, { mode: 0o644, uid: AID.root, gid: AID.root, mtime, ...filler(jar, 'PK\x03\x04', 1_000_000, 9_000_000) });
  for (const lib of ['libc.so', 'libm.so', 'libdl.so', 'liblog.so']) {
    for (const d of ['lib', 'lib64']) add(`/system/${d}/${lib}`, { mode: 0o644, uid: AID.root, gid: AID.root, mtime, ...filler(`${d}/${lib}`, '\x7fELF', 20_000, 900_000) });
  }

  dir('/cache', 0o770, AID.system, AID.cache);
  dir('/data', 0o771, AID.system);
  dir('/data/app', 0o771, AID.system);
  dir('/data/data', 0o771, AID.system);
  dir('/data/local', 0o751, AID.root);
  dir('/data/local/tmp', 0o771, AID.shell);
  dir('/data/media', 0o770, AID.media_rw);
  dir('/data/misc', 0o1771, AID.system, AID.misc);
  dir('/data/system', 0o775, AID.system);
  dir('/data/user', 0o711, AID.system);
  link('/data/user/0', '/data/data');

  dir('/storage/emulated', 0o711, AID.root, AID.sdcard_rw);
  dir('/storage/emulated/0', 0o771, AID.root, AID.sdcard_rw);
  for (const d of ['Alarms', 'DCIM', 'Download', 'Movies', 'Music', 'Notifications', 'Pictures', 'Podcasts', 'Ringtones']) {
    dir(`/storage/emulated/0/${d}`, 0o771, AID.root, AID.sdcard_rw);
  }

  const packages: SystemPackage[] = [];
  let nextUid = FIRST_APP_UID + 1;
  for (const [name, label, apkDir, priv, sharedUid] of SYSTEM_PACKAGES) {
    const path = apkDir ? `/system/${priv ? 'priv-app' : 'app'}/${apkDir}/${apkDir}.apk` : '/system/framework/framework-res.apk';
    if (apkDir) dir(parentOf(path), 0o755);
    add(path, { mode: 0o644, uid: AID.root, gid: AID.root, mtime, ...filler(path, 'PK\x03\x04', 100_000, 12_000_000) });
    const uid = sharedUid ?? nextUid++;
    packages.push({ name, label, path, uid, versionCode: image.opencph.sdk_level, versionName: image.opencph.android_version });
    dir(`/data/data/${name}`, 0o751, uid);
  }

  const children = new Map<string, string[]>();
  for (const path of nodes.keys()) {
    if (path === '/') continue;
    const parent = parentOf(path);
    children.set(parent, [...(children.get(parent) ?? []), baseName(path)]);
  }
  for (const names of children.values()) names.sort();
  return { nodes, children, packages };
}

/** A properties file as /system/build.prop has them, `key=value` per line. */
function propFile(props: Record<string, string>): string {
  return Object.entries(props).map(([k, v]) => `${k}=${v}\n`).join('');
}

function seed(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** Deterministic placeholder bytes for an image file: its magic number, then a pattern from its path. */
function fill(magic: string, size: number, path: string): Buffer {
  const out = Buffer.alloc(size);
  const pattern = createHash('sha256').update(path).digest();
  for (let i = 0; i < size; i += pattern.length) pattern.copy(out, i);
  out.write(magic, 0, 'latin1');
  return out;
}

// Kunpeng 920 cores, which Huawei's cloud phone servers run on.
function cpuinfo(cpus: number): string {
  const features = 'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma dcpop asimddp asimdfhm';
  let out = '';
  for (let i = 0; i < cpus; i++) {
    out += `processor\t: ${i}\nBogoMIPS\t: 200.00\nFeatures\t: ${features}\nCPU implementer\t: 0x48\n`;
    out += 'CPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0xd01\nCPU revision\t: 0\n\n';
  }
  return out;
}

function meminfo(memoryMb: number): string {
  const total = memoryMb * 1024;
  const rows: [string, number][] = [
    ['MemTotal', total], ['MemFree', Math.round(total * 0.42)], ['MemAvailable', Math.round(total * 0.61)],
    ['Buffers', Math.round(total * 0.01)], ['Cached', Math.round(total * 0.18)], ['SwapCached', 0],
    ['Active', Math.round(total * 0.22)], ['Inactive', Math.round(total * 0.12)], ['SwapTotal', 0], ['SwapFree', 0],
    ['Shmem', Math.round(total * 0.004)], ['Slab', Math.round(total * 0.03)],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(16)}${String(v).padStart(8)} kB\n`).join('');
}

