// Android system properties as every driver meets them: the fingerprint's format, the CPH attribute list
// (spec §6.1: its defaults, and a phone's `property` as the properties it sets) and the rule `setprop` holds
// values to. What a phone's build and running system define is the driver's (a simulated phone generates
// them, src/devices/sim/props.ts; a real one has its own).

/** The parts of `ro.build.fingerprint`: `brand/product/device:release/id/incremental:type/tags`. */
export function parseFingerprint(fingerprint: string) {
  const [left, middle = '', right = ''] = fingerprint.split(':');
  const [brand = 'Huawei', product = 'monbox', device = 'HWSTF'] = left.split('/');
  const [, , incremental = '20200101'] = middle.split('/');
  const [type = 'user', tags = 'release-keys'] = right.split('/');
  return { brand, product, device, incremental, type, tags };
}

/**
 * The CPH attribute list (spec §6.1) with its documented defaults; attributes without a default are
 * absent until a `property` sets them. ro.product.manufacturer/name/device and ro.build.product are
 * among them, so the attribute list, not the image, names the product.
 */
export const CPH_DEFAULTS: Readonly<Record<string, string>> = {
  'com.cph.mainkeys': '0',
  'disable.status.bar': '0',
  'ro.permission.changed': '0',
  'ro.install.auto': '0',
  'ro.com.cph.non_root': '0',
  'ro.com.cph.notification_disable': '0',
  'com.cph.disable_fb_permission': '0',
  'ro.com.cph.toast_enable': '0',
  'sys.prop.write_wifissid': 'cloudphone_wifi',
  'gsm.sim.operator.iso-country': 'cn',
  'gsm.sim.operator.numeric': '46000',
  'gsm.sim.operator.alpha': 'CMCC',
  'gsm.operator.iso-country': 'cn',
  'gsm.operator.numeric': '46000',
  'gsm.operator.alpha': 'CMCC',
  'ro.board.platform': 'hi3660',
  'ro.build.product': 'STF',
  'ro.product.device': 'HWSTF',
  'ro.com.cph.sfs_enable': '0',
  'ro.product.manufacturer': 'Huawei',
  'ro.product.name': 'monbox',
  'qemu.hw.mainkeys': '0',
  'ro.horizontal.screen': '0',
};

/** Attribute names used by the spec's examples for list entries (spec §6.1). */
const CPH_ALIASES: Readonly<Record<string, string>> = {
  'sys.prop.writephonenum': 'sys.prop.write_phonenum',
  'sys.prop.writeimsi': 'sys.prop.write_imsi',
  'sys.prop.writewifissid': 'sys.prop.write_wifissid',
  'sys.prop.wifid': 'sys.prop.write_wifissid',
};

/** A phone's `property` as properties: aliases resolved to the list's names. */
export function cphProperties(property: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(property)) out[CPH_ALIASES[key] ?? key] = String(value);
  return out;
}

/** `setprop`'s rule: read-only properties are set once, values are at most 91 bytes (PROP_VALUE_MAX - 1). */
export function setpropError(key: string, value: string, current: string | undefined): string | undefined {
  if (!/^[\w.@:-]+$/.test(key)) return 'invalid key';
  if (key.startsWith('ro.') && current !== undefined) return 'read-only';
  if (!key.startsWith('ro.') && Buffer.byteLength(value) > 91) return 'value too long';
  return undefined;
}
