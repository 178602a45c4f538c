import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Where a download may connect. Tenants choose the URLs, so by default only addresses anyone on the
 * Internet could reach are dialled: loopback, private (RFC 1918, CGNAT, ULA), link-local (cloud metadata at
 * 169.254.169.254), multicast, broadcast, unspecified and reserved ranges are refused, and so are IPv6 forms
 * that carry such an IPv4 address (mapped, SIIT, NAT64, 6to4). Operators with internal package mirrors
 * allow-list them by CIDR or host name (OPENCPH_DOWNLOAD_ALLOW).
 */
export class DestinationPolicy {
  private readonly ranges: Array<[Address, number]> = [];
  private readonly hosts = new Set<string>();

  /** `allow`: entries already checked with `isAllowEntry`. */
  constructor(allow: readonly string[] = []) {
    for (const entry of allow) {
      const range = allowRange(entry);
      if (range) this.ranges.push(range);
      else this.hosts.add(hostKey(entry));
    }
  }

  /**
   * Why connecting to `address` (an IP literal) for the URL host `host` is refused, or undefined when it is
   * allowed. `host` is the URL's host name (or the literal itself): an allow-listed name may resolve anywhere.
   */
  refusal(host: string, address: string): string | undefined {
    if (this.hosts.has(hostKey(host))) return undefined;
    if (!ipaddr.isValid(address)) return 'not an IP address';
    // An IPv4-mapped address is matched against IPv4 entries: it is where the socket really goes.
    const target = ipaddr.process(address);
    if (this.ranges.some(([network, bits]) => network.kind() === target.kind() && target.match(network, bits))) return undefined;
    const range = addressRange(address);
    return range === 'global' ? undefined : range;
  }
}

/** IPv6 global unicast (RFC 4291 §2.4): everything else in the IPv6 space is special or unassigned. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
/** Prefixes whose last 32 bits are an IPv4 address the packet ends up at. */
const IPV4_SUFFIXED: Array<[Address, number]> = ['::ffff:0:0/96', '::ffff:0:0:0/96', '64:ff9b::/96'].map((cidr) => ipaddr.parseCIDR(cidr));
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');

/**
 * 'global' for an address anyone could reach, otherwise the name of its special range (ipaddr.js's names,
 * e.g. 'loopback', 'private', 'linkLocal'; 'unassigned' for IPv6 outside 2000::/3).
 */
export function addressRange(address: string): string {
  return rangeOf(ipaddr.parse(address));
}

function rangeOf(address: Address): string {
  if (address.kind() === 'ipv4') {
    const range = address.range();
    return range === 'unicast' ? 'global' : range;
  }
  const v6 = address as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded) {
    const range = rangeOf(embedded);
    return range === 'global' ? range : `${v6.range()}:${range}`;
  }
  const range = v6.range();
  if (range !== 'unicast') return range;
  return v6.match(GLOBAL_UNICAST_V6) ? 'global' : 'unassigned';
}

/** The IPv4 address inside an IPv4-mapped, SIIT (RFC 6145), NAT64 (RFC 6052) or 6to4 (RFC 3056) address. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const bytes = address.toByteArray();
  if (IPV4_SUFFIXED.some((range) => address.match(range))) return new ipaddr.IPv4(bytes.slice(12, 16));
  if (address.match(SIX_TO_FOUR)) return new ipaddr.IPv4(bytes.slice(2, 6));
  return undefined;
}

/** Host names of letters, digits and hyphens, in dot-separated labels (RFC 1123). */
const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** An OPENCPH_DOWNLOAD_ALLOW entry: a CIDR (`10.0.0.0/8`, `fd00::/8`), an IP address, or a host name. */
export function isAllowEntry(entry: string): boolean {
  // A host whose last label is a number is an IPv4 address to URL parsers (`0x7f.1` is 127.0.0.1), never a name.
  return allowRange(entry) !== undefined || (HOST_NAME.test(entry) && !/(^|\.)(\d+|0x[0-9a-f]*)\.?$/i.test(entry));
}

function allowRange(entry: string): [Address, number] | undefined {
  // Only dotted-quad IPv4: ipaddr.js also reads `10` or `0x0a.1` as addresses, which is not what an operator means.
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !(ipaddr.IPv4.isValidFourPartDecimal(address) || ipaddr.IPv6.isValid(address))) return undefined;
  const parsed = ipaddr.parse(address);
  const maxBits = parsed.kind() === 'ipv4' ? 32 : 128;
  if (bits === undefined) return [parsed, maxBits];
  const prefix = Number(bits);
  return /^\d{1,3}$/.test(bits) && prefix <= maxBits ? [parsed, prefix] : undefined;
}

/** URL host names compare without case or a trailing dot; IPv6 literals without their brackets. */
function hostKey(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}
