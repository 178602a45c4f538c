// Values made up for new servers and phones: order and product ids, addresses, IMEIs. Drawn from the injected
// ids, so that predictable ids make them predictable too.
import type { Ids } from '../runtime.ts';

/** An order as the buy and change APIs answer it: `CS…` order id, `OFFI…` product id (spec §1.4). */
export function newOrder(ids: Ids, now: Date) {
  return {
    order_id: `CS${formatOrderTime(now)}${alnum(ids, 5)}`,
    product_id: `OFFI${digits(ids, 18)}`,
  };
}

/** The name of the `index`th of `count` servers bought at once: `-0001`, `-0002`… when there are several. */
export function serverName(base: string, index: number, count: number): string {
  return count > 1 ? `${base}-${String(index).padStart(4, '0')}` : base;
}

/** A server's addresses; without public IPs (no EIP asked for) `public_ip` is empty. */
export function serverAddresses(ids: Ids, count: number, network: 'v1' | 'v2', subnetCidr: string, withPublicIp: boolean) {
  const prefix = network === 'v1' ? subnetCidr.split('.').slice(0, 3).join('.') : `172.16.${ids.int(256)}`;
  return Array.from({ length: count }, () => ({
    server_ip: `${prefix}.${between(ids, 2, 255)}`,
    public_ip: withPublicIp ? `100.${between(ids, 64, 128)}.${ids.int(256)}.${between(ids, 1, 255)}` : '',
  }));
}

/** An address on a server's internal network, 10.224.0.0/12, as its phones and encoding servers have. */
export function internalIp(ids: Ids): string {
  return `10.${between(ids, 224, 240)}.${ids.int(256)}.${between(ids, 2, 255)}`;
}

/** A 15-digit IMEI whose last digit is the Luhn check digit, as real devices report. */
export function generateImei(ids: Ids): string {
  const body = '86' + digits(ids, 12);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = Number(body[i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return body + ((10 - (sum % 10)) % 10);
}

function formatOrderTime(date: Date): string {
  return date.toISOString().replace(/[-T:]/g, '').slice(2, 12);
}

/** An integer from `min` to `max` - 1. */
function between(ids: Ids, min: number, max: number): number {
  return min + ids.int(max - min);
}

function digits(ids: Ids, length: number): string {
  return Array.from({ length }, () => ids.int(10)).join('');
}

function alnum(ids: Ids, length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length }, () => alphabet[ids.int(alphabet.length)]).join('');
}
