// System properties of a simulated phone, in layers (later wins):
//   build      what the image and the flavor define (ro.build.*, ro.product.*, density, ...)
//   identity   this phone's own (ro.serialno, IMEI)
//   boot       what a running system sets (sys.boot_completed, init.svc.*)
//   CPH        the attribute list's defaults (spec §6.1), then the phone's `property` applied at boot
//   persist    `setprop persist.*`, kept across reboots
//   runtime    other `setprop` values, gone at the next boot
import type { PhoneImage, PhoneModel } from '../../core/catalogue.ts';
import { parseFingerprint } from '../../android/props.ts';
import { dateTime } from './format.ts';

/** Build date of the image, from the fingerprint's incremental (`YYYYMMDD`), at noon UTC. */
export function buildTime(image: PhoneImage): number {
  const { incremental } = parseFingerprint(image.opencph.fingerprint);
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(incremental);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12) : Date.UTC(2020, 0, 1, 12);
}

/** Linux release of the image's kernel. */
export function kernelRelease(image: PhoneImage): string {
  return image.opencph.sdk_level >= 30 ? '4.19.157' : '4.4.171';
}

/** The build date as `date` prints it (`Mon Mar 30 12:00:00 UTC 2020`). */
function buildDateText(image: PhoneImage): string {
  return dateTime(buildTime(image));
}

/** `uname -v`: build number and date of the kernel. */
export function kernelVersion(image: PhoneImage): string {
  return `#1 SMP PREEMPT ${buildDateText(image)}`;
}

/** Properties defined by the image and the flavor: the content of /system/build.prop and friends. */
export function buildProps(image: PhoneImage, model: PhoneModel): Record<string, string> {
  const { android_version: release, sdk_level: sdk, build_id: id, fingerprint } = image.opencph;
  const fp = parseFingerprint(fingerprint);
  const built = buildTime(image);
  const patch = `${new Date(built).toISOString().slice(0, 8)}05`;
  return {
    'dalvik.vm.heapsize': '512m',
    'dalvik.vm.isa.arm.variant': 'cortex-a15',
    'dalvik.vm.isa.arm64.variant': 'generic',
    'net.bt.name': 'Android',
    'persist.sys.dalvik.vm.lib.2': 'libart.so',
    'persist.sys.timezone': 'UTC',
    'ro.allow.mock.location': '0',
    'ro.baseband': 'unknown',
    'ro.bootloader': 'unknown',
    'ro.build.characteristics': 'default',
    'ro.build.date': buildDateText(image),
    'ro.build.date.utc': String(Math.floor(built / 1000)),
    'ro.build.description': `${fp.product}-${fp.type} ${release} ${id} ${fp.incremental} ${fp.tags}`,
    'ro.build.display.id': `${fp.product}-${fp.type} ${release} ${id} ${fp.incremental} ${fp.tags}`,
    'ro.build.fingerprint': fingerprint,
    'ro.build.flavor': `${fp.product}-${fp.type}`,
    'ro.build.host': 'cph-build',
    'ro.build.id': id,
    'ro.build.tags': fp.tags,
    'ro.build.type': fp.type,
    'ro.build.user': 'cph',
    'ro.build.version.all_codenames': 'REL',
    'ro.build.version.base_os': '',
    'ro.build.version.codename': 'REL',
    'ro.build.version.incremental': fp.incremental,
    'ro.build.version.preview_sdk': '0',
    'ro.build.version.release': release,
    'ro.build.version.sdk': String(sdk),
    'ro.build.version.security_patch': patch,
    'ro.config.alarm_alert': 'Alarm_Classic.ogg',
    'ro.config.notification_sound': 'OnTheHunt.ogg',
    'ro.debuggable': '0',
    'ro.hardware': fp.product,
    'ro.opengles.version': '196610',
    'ro.product.board': fp.product,
    'ro.product.brand': fp.brand,
    'ro.product.cpu.abi': 'arm64-v8a',
    'ro.product.cpu.abilist': 'arm64-v8a,armeabi-v7a,armeabi',
    'ro.product.cpu.abilist32': 'armeabi-v7a,armeabi',
    'ro.product.cpu.abilist64': 'arm64-v8a',
    'ro.product.locale': 'en-US',
    'ro.product.model': 'STF-AL00',
    'ro.revision': '0',
    'ro.secure': '1',
    'ro.sf.lcd_density': String(model.opencph.density),
    'ro.wifi.channels': '',
    'ro.zygote': 'zygote64_32',
    'wifi.interface': 'wlan0',
  };
}

/** Properties of a running system that are not configuration. */
export function bootProps(): Record<string, string> {
  const services = ['adbd', 'bootanim', 'installd', 'logd', 'netd', 'servicemanager', 'surfaceflinger', 'ueventd', 'vold', 'zygote'];
  const props: Record<string, string> = {
    'dev.bootcomplete': '1',
    'init.svc.bootanim': 'stopped',
    'service.bootanim.exit': '1',
    'sys.boot_completed': '1',
    'sys.usb.config': 'adb',
    'sys.usb.state': 'adb',
  };
  for (const s of services) props[`init.svc.${s}`] ??= 'running';
  return props;
}
