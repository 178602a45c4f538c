import fc from 'fast-check';
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Resolver } from '../../src/objects/http-download.ts';

// Download targets a tenant should never reach: addresses of every class the destination policy refuses,
// spellings of the loopback address, and resolvers that stand in for hostile DNS. For the policy's unit
// tests, the SSRF reproduction and the fuzzing suite.

/** Addresses the policy refuses, by the range it names (IPv6 forms carrying an IPv4 address name both). */
export const REFUSED_ADDRESSES: Record<string, string[]> = {
  loopback: ['127.0.0.1', '127.255.255.254', '::1'],
  private: ['10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1'],
  carrierGradeNat: ['100.64.0.1', '100.127.255.254'],
  uniqueLocal: ['fc00::1', 'fd12:3456:789a::1'],
  linkLocal: ['169.254.169.254', '169.254.0.1', 'fe80::1'],
  multicast: ['224.0.0.1', '239.255.255.250', 'ff02::1'],
  broadcast: ['255.255.255.255'],
  unspecified: ['0.0.0.0', '0.1.2.3', '::'],
  reserved: ['192.0.0.1', '192.0.2.1', '198.51.100.1', '203.0.113.1', '198.18.0.1', '240.0.0.1', '2001:db8::1'],
  'ipv4Mapped:loopback': ['::ffff:127.0.0.1'],
  'ipv4Mapped:private': ['::ffff:10.0.0.1'],
  'ipv4Mapped:linkLocal': ['::ffff:169.254.169.254'],
  'rfc6145:loopback': ['::ffff:0:127.0.0.1'],
  'rfc6052:loopback': ['64:ff9b::127.0.0.1'],
  'rfc6052:private': ['64:ff9b::192.168.0.1'],
  '6to4:loopback': ['2002:7f00:1::1'],
  '6to4:linkLocal': ['2002:a9fe:a9fe::1'],
  // Local-use NAT64 (RFC 8215), Teredo, the discard prefix, site-local, ORCHID, documentation.
  rfc6052: ['64:ff9b:1::a00:1'],
  teredo: ['2001::1'],
  discard: ['100::1'],
  deprecatedSiteLocal: ['fec0::1'],
  // IPv4-compatible (deprecated) and other space outside IPv6 global unicast.
  unassigned: ['::7f00:1', '::a00:1', '4000::1', 'e000::1'],
};

/** Addresses anyone could reach: the policy lets them through. */
export const PUBLIC_ADDRESSES = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '172.32.0.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1'];

/**
 * Spellings of 127.0.0.1 in a URL's host: decimal, octal and hexadecimal IPv4 (which URL parsers and
 * inet_aton read as 127.0.0.1), short forms, and IPv6 forms that carry it.
 */
export const LOOPBACK_HOSTS = [
  '127.0.0.1',
  '2130706433',
  '0x7f000001',
  '0x7f.0.0.1',
  '0177.0.0.1',
  '0177.0.0.01',
  '127.1',
  '127.0.1',
  '127.000.000.001',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '[0:0:0:0:0:ffff:127.0.0.1]',
  '[::1]',
  '[::]',
  '0.0.0.0',
  '0',
];

/** Every loopback spelling as a URL to `port` and `path` on this machine. */
export function loopbackUrls(port: number, path = '/'): string[] {
  return LOOPBACK_HOSTS.map((host) => `http://${host}:${port}${path}`);
}

/** A URL host for an address: IPv6 in brackets. */
export function urlHost(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/**
 * Hostile download URLs for property-based tests: any loopback spelling to `port` (where something
 * listens), any refused address, either scheme, with odd paths, credentials and queries.
 */
export function hostileUrl(port: number): fc.Arbitrary<string> {
  const refused = Object.values(REFUSED_ADDRESSES).flat();
  const host = fc.oneof(fc.constantFrom(...LOOPBACK_HOSTS), fc.constantFrom(...refused).map(urlHost));
  const path = fc.constantFrom('/', '/admin/faults', '/latest/meta-data/iam/security-credentials/', '/v3/auth/tokens', '/%2e%2e/etc/passwd');
  return fc
    .record({
      scheme: fc.constantFrom('http', 'https'),
      credentials: fc.constantFrom('', 'user:pass@'),
      host,
      port: fc.constantFrom(port, 1, 80, 443, 6379),
      path,
      query: fc.constantFrom('', '?AccessKeyId=AK&Signature=secret'),
    })
    .map(({ scheme, credentials, host, port, path, query }) => `${scheme}://${credentials}${host}:${port}${path}${query}`);
}

/** A resolver from a fixed table; names not in it do not exist. */
export function staticResolver(table: Record<string, string[]>): Resolver {
  return async (host) => {
    const addresses = table[host.toLowerCase()];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address): LookupAddress => ({ address, family: isIP(address) }));
  };
}

/**
 * DNS rebinding: `host` answers `first` the first time it is looked up and `then` every time after, as a
 * name with a zero TTL does when its owner changes it between a check and a connection.
 */
export function rebindingResolver(host: string, first: string, then: string, others: Resolver = staticResolver({})): Resolver & { lookups: number } {
  const resolver = Object.assign(
    async (name: string): Promise<LookupAddress[]> => {
      if (name.toLowerCase() !== host) return others(name);
      const address = resolver.lookups++ === 0 ? first : then;
      return [{ address, family: isIP(address) }];
    },
    { lookups: 0 },
  );
  return resolver;
}

/** A local HTTP server whose routes the tests set; it counts requests and the bytes it managed to send. */
export class Origin {
  server!: Server;
  requests: IncomingMessage[] = [];
  bytesSent = 0;
  open = 0;
  maxOpen = 0;
  routes = new Map<string, (request: IncomingMessage, response: ServerResponse) => void>();

  /** Listens on `host` (and `port`: the same port on two loopback addresses makes a rebinding target). */
  async start(host: string, port = 0) {
    this.server = createServer((request, response) => {
      this.requests.push(request);
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      response.on('close', () => this.open--);
      const route = this.routes.get(request.url!.replace(/\?.*$/, ''));
      if (route) route(request, response);
      else response.end('package bytes');
    });
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return this;
  }

  get port() {
    return (this.server.address() as AddressInfo).port;
  }

  hits(path?: string) {
    return this.requests.filter((request) => path === undefined || request.url === path).length;
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

/** Sends `total` bytes in 64 KB writes as fast as the client reads them, counting what left. */
export function sendBytes(origin: Origin, response: ServerResponse, total: number) {
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  let sent = 0;
  const more = () => {
    while (sent < total && !response.destroyed) {
      sent += chunk.length;
      origin.bytesSent += chunk.length;
      if (!response.write(chunk)) return void response.once('drain', more);
    }
    response.end();
  };
  more();
}
