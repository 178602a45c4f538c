import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { BlockList, isIP, isIPv6, type Socket } from 'node:net';

/** The HTTP server's connection limits and timeouts (OPENCPH_MAX_CONNECTIONS… in the README). */
export interface ConnectionLimits {
  /** Open connections at most; more are closed as they are accepted. Absent: defaultMaxConnections(). */
  maxConnections?: number;
  /** Open connections of one client address (an IPv6 /64) at most; 0 = no limit. */
  maxConnectionsPerAddress: number;
  /**
   * Reverse proxies in front of the server (addresses or CIDRs): their connections carry many clients, so
   * the per-address limit does not count them, and a request through them comes from the last address
   * before them in X-Forwarded-For (for the login lockout). Empty: no proxy is trusted.
   */
  trustedProxies: string[];
  /** How long a client has to send a request's head, from its connection or its previous request. */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

/** How long a whole request, head and body (at most API_BODY_LIMIT), may take to arrive. */
export const REQUEST_TIMEOUT_MS = 60_000;

/** How often Node closes connections past those timeouts (its default, 30 s, would let them live that much longer). */
export const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;

/** The default connection limit is at most this, and half the open-file limit below 20,000. */
export const MAX_CONNECTIONS_CEILING = 10_000;

/** Assumed when the open-file limit cannot be read (not Linux): the common default soft limit of 1,024. */
const ASSUMED_OPEN_FILE_LIMIT = 1024;

/**
 * Applies the limits to `server` before it listens. An idle connection that sends nothing, or its head
 * slowly, is closed after the headers timeout (408); one address cannot hold more than its share, so
 * that one client's connections never lock others out; the total stays under the open-file limit, whose
 * exhaustion would stop the server accepting anyone (and opening its own files). A WebSocket (KooPhone
 * signalling) counts as a connection while open; the timeouts do not apply to it once upgraded.
 *
 * Returns what to call when the server stops: Node stops its timeout checks then, so a connection that
 * never sends a request would hold the server's closing forever. Connections with no request in flight
 * are closed at once instead (requests under way finish), and new ones as they arrive.
 */
export function limitConnections(server: Server, limits: ConnectionLimits): () => void {
  server.maxConnections = limits.maxConnections ?? defaultMaxConnections();
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = Math.max(REQUEST_TIMEOUT_MS, limits.headersTimeoutMs);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Read when the server starts listening, which starts the check.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = CONNECTIONS_CHECK_INTERVAL_MS;
  if (limits.maxConnectionsPerAddress > 0) limitPerAddress(server, limits.maxConnectionsPerAddress, addressList(limits.trustedProxies));
  return closeWaitingConnections(server);
}

/** Tracks the connections with no request in flight; the function returned closes them, and every new one. */
function closeWaitingConnections(server: Server): () => void {
  const waiting = new Set<Socket>();
  let stopping = false;
  server.on('connection', (socket: Socket) => {
    if (stopping) return void socket.destroy();
    waiting.add(socket);
    socket.once('close', () => waiting.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const { socket } = request;
    waiting.delete(socket);
    response.once('close', () => {
      if (!socket.destroyed) waiting.add(socket);
    });
  });
  server.on('upgrade', (request: IncomingMessage) => waiting.delete(request.socket));
  return () => {
    stopping = true;
    for (const socket of waiting) socket.destroy();
  };
}

function limitPerAddress(server: Server, limit: number, proxies: BlockList): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (isTrusted(proxies, address)) return;
    const key = addressKey(address);
    const count = (open.get(key) ?? 0) + 1;
    if (count > limit) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = open.get(key)! - 1;
      if (left === 0) open.delete(key);
      else open.set(key, left);
    });
  });
}

/** Whether `entry` is an IP address or a CIDR (`10.0.0.0/8`, `fd00::/8`), as OPENCPH_TRUSTED_PROXIES takes. */
export function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

function addressList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function isTrusted(proxies: BlockList, address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return proxies.check(mapped[1], 'ipv4');
  return isIP(address) !== 0 && proxies.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

/**
 * What one client is, for per-address limits: an IPv4 address (IPv4-mapped IPv6 included) as it is, an
 * IPv6 address by its /64, the smallest network a site is given (one host can use all of it).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  const unzoned = address.replace(/%.*$/, '');
  if (!isIPv6(unzoned)) return address;
  const [head, tail = ''] = unzoned.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  // A trailing dotted IPv4 part (::ffff:0:1.2.3.4, 64:ff9b::1.2.3.4) stands for two groups.
  const rightGroups = right.length + (right.at(-1)?.includes('.') ? 1 : 0);
  const groups = unzoned.includes('::') ? [...left, ...Array(8 - left.length - rightGroups).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Half the process's open-file limit, at most MAX_CONNECTIONS_CEILING: the rest is for the store, phones' files and downloads. */
export function defaultMaxConnections(): number {
  return Math.min(MAX_CONNECTIONS_CEILING, Math.floor((openFileLimit() ?? ASSUMED_OPEN_FILE_LIMIT) / 2));
}

/** The soft limit on open files (`ulimit -n`) from Linux's /proc; undefined elsewhere or when unlimited. */
function openFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}
