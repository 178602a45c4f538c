// The CPH phone attributes a `property` may set (spec §6.1) and the check of their values, shared by the
// phone operations that take a `property` and by ChangeCloudPhoneServer.
import { cpsMessage, itemError, type CpsCode, type ItemError } from './errors.ts';

const BINARY = /^[01]$/;
const CARRIER_NAME = /^[A-Za-z0-9_@#.,:/\\() -]{1,90}$/;
const COUNTRY = /^[A-Za-z,]{1,10}$/;
// "Only letters and commas", yet the default is 46000: digits are allowed too (spec §8 row 26).
const OPERATOR_ID = /^[A-Za-z0-9,]{1,10}$/;
// The printed special characters miss `:` and `.`, which every URL needs (spec §8 row 27).
const GAME_URL = /^(?=.{1,256}$)https?:\/\/[A-Za-z0-9_.,/;:?=&%#-]+$/;
// Deprecated attributes have no rule left to check; they are still accepted.
const DEPRECATED = /^.*$/s;

/** The value rule of every attribute of the list (spec §6.1), as a pattern or an integer range. */
const ATTRIBUTES: Record<string, RegExp | [number, number]> = {
  'com.cph.mainkeys': BINARY,
  'disable.status.bar': BINARY,
  'ro.permission.changed': BINARY,
  'ro.install.auto': BINARY,
  'ro.com.cph.non_root': BINARY,
  'ro.com.cph.notification_disable': BINARY,
  'com.cph.disable_fb_permission': BINARY,
  'com.cph.bandwidth_limit': /^(-1|[1-9]\d{0,7})$/,
  'ro.com.cph.toast_enable': BINARY,
  'com.cph.cam_local_pic_path': /^[A-Za-z0-9_@#.:/ -]{1,90}$/,
  'persist.sys.locale': /^[A-Za-z0-9-]{1,64}$/,
  'sys.prop.write_imsi': /^\d{1,15}$/,
  'sys.prop.write_phonenum': /^\d{1,20}$/,
  'sys.prop.write_wifissid': /^[A-Za-z0-9_./-]{1,64}$/,
  'gsm.sim.operator.iso-country': COUNTRY,
  'gsm.sim.operator.numeric': OPERATOR_ID,
  'gsm.sim.operator.alpha': CARRIER_NAME,
  'gsm.operator.iso-country': COUNTRY,
  'gsm.operator.numeric': OPERATOR_ID,
  'gsm.operator.alpha': CARRIER_NAME,
  'ro.hardware.gpu-renderer': DEPRECATED,
  'ro.board.platform': DEPRECATED,
  'ro.build.product': DEPRECATED,
  'ro.product.device': DEPRECATED,
  'ro.com.cph.sfs_enable': DEPRECATED,
  'ro.product.manufacturer': DEPRECATED,
  'ro.product.name': DEPRECATED,
  'qemu.hw.mainkeys': BINARY,
  'ro.horizontal.screen': BINARY,
  'com.cph.cg.sign_check_url': GAME_URL,
  'com.cph.cg.event_notify_url': GAME_URL,
  'com.cph.cg.heartbeat_url': GAME_URL,
  'com.cph.cg.heartbeat_interval': /^\d{1,10}$/,
  'com.cph.cg.app_port': [10000, 11000],
  'com.cph.cg.h5_port': [10000, 11000],
  'ro.com.cph.cloud_app_engine': BINARY,
};

/** Spellings of the document's examples (spec §8 row 25): accepted, stored as sent, checked as the listed name. */
const ALIASES: Record<string, string> = {
  'sys.prop.writephonenum': 'sys.prop.write_phonenum',
  'sys.prop.writeimsi': 'sys.prop.write_imsi',
  'sys.prop.writewifissid': 'sys.prop.write_wifissid',
  'sys.prop.wifid': 'sys.prop.write_wifissid',
};

/** The one flavor on which the download rate cannot be limited (spec §6.1 #8). */
const NO_BANDWIDTH_LIMIT_FLAVOR = 'rx1.cp.c60.d32.e1v1.qemu';

/**
 * The error of a `property` JSON string for a phone of `phoneModelName`: not a JSON object of string or
 * number values (CPS.0078), a listed attribute with a value outside its rule (CPS.0164) or one the flavor
 * does not support (CPS.0163). Unlisted names pass, so that documented examples keep working (spec §8 row 25).
 */
export function checkProperty(text: string, phoneModelName: string): ItemError | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return itemError('CPS.0078');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return itemError('CPS.0078');
  for (const [name, raw] of Object.entries(value)) {
    if (typeof raw !== 'string' && typeof raw !== 'number') return itemError('CPS.0078');
    const canonical = ALIASES[name] ?? name;
    const rule = ATTRIBUTES[canonical];
    if (!rule) continue;
    if (canonical === 'com.cph.bandwidth_limit' && phoneModelName === NO_BANDWIDTH_LIMIT_FLAVOR) return namedError('CPS.0163', name);
    const given = String(raw);
    const valid = rule instanceof RegExp ? rule.test(given) : /^\d+$/.test(given) && Number(given) >= rule[0] && Number(given) <= rule[1];
    if (!valid) return namedError('CPS.0164', name);
  }
  return undefined;
}

function namedError(code: CpsCode, name: string): ItemError {
  return { error_code: code, error_msg: cpsMessage(code, name) };
}
