import { promises as dns, type LookupAddress } from 'node:dns';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { DestinationPolicy } from './destination-policy.ts';

/** Every address a host name has (all of them are checked, so whichever one the socket picks was checked). */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (host) => dns.lookup(host, { all: true, verbatim: true });

export interface DownloadSettings {
  /** OPENCPH_DOWNLOAD_ALLOW: CIDRs and host names that may be reached although the policy refuses them. */
  allow: readonly string[];
  /** OPENCPH_DOWNLOAD_MAX_BYTES: no download is longer, whatever its request says. */
  maxBytes: number;
  /** OPENCPH_DOWNLOAD_TIMEOUT_SECONDS: a download (every hop and the body) that has not finished by then fails. */
  timeoutSeconds: number;
  /** OPENCPH_DOWNLOAD_CONCURRENCY: downloads in progress at once in this process. */
  concurrency: number;
}

export interface DownloadOptions extends DownloadSettings {
  log: { info(details: object, message: string): void };
  resolver?: Resolver;
  /** Silence allowed on a connection (connecting, waiting for headers, between two reads of the body). */
  idleMs?: number;
}

/** Redirects followed per download; each hop is checked like the first URL. */
export const MAX_REDIRECTS = 5;
/** Default idle limit: a server that sends nothing for this long is not going to send a package. */
export const DOWNLOAD_IDLE_MS = 30_000;
/** One tenant's downloads at once, so that another tenant's install does not wait behind a thousand of them. */
export const DOWNLOADS_PER_TENANT = 4;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'OpenCPH';

/**
 * A download that did not happen. Its message (which hop, address, status or error) is for the operator's
 * log only: callers answer tenants with one generic message, so that a URL cannot be used to probe what
 * the server can reach (which ports answer, what a page says, how large it is).
 */
export class DownloadFailed extends Error {}

/** Limits of one download. */
export interface DownloadRequest {
  /** Whose download: one tenant's downloads take turns with other tenants' (`DOWNLOADS_PER_TENANT`). */
  tenant: string;
  /** The body may not be longer (at most the configured maximum). */
  maxBytes: number;
}

/**
 * HTTP(S) downloads of tenant-supplied URLs. Each hop, redirects included, resolves its host once, checks
 * every address against the destination policy and connects to exactly those addresses (the connection's
 * own `lookup`), so a name that answers differently a moment later (DNS rebinding) reaches nothing new.
 * Bodies are fetched as they are (`accept-encoding: identity`), never decompressed, and cut off past the
 * limit, the deadline or an idle connection.
 */
export class HttpDownloads {
  private readonly policy: DestinationPolicy;
  private readonly slots: FairSlots;
  private readonly resolver: Resolver;
  private readonly idleMs: number;

  constructor(private readonly options: DownloadOptions) {
    this.policy = new DestinationPolicy(options.allow);
    this.slots = new FairSlots(options.concurrency, Math.min(DOWNLOADS_PER_TENANT, options.concurrency));
    this.resolver = options.resolver ?? systemResolver;
    this.idleMs = options.idleMs ?? DOWNLOAD_IDLE_MS;
  }

  /** Fetches `url` and hands its body to `consume`; DownloadFailed (with details for the log) when it cannot. */
  async fetch(url: string, request: DownloadRequest, consume: (body: Readable) => Promise<void>): Promise<void> {
    const maxBytes = Math.min(request.maxBytes, this.options.maxBytes);
    const release = await this.slots.acquire(request.tenant);
    const deadline = AbortSignal.timeout(this.options.timeoutSeconds * 1000);
    let target: URL | undefined;
    try {
      target = new URL(url);
      for (let hop = 0; ; hop++) {
        const response = await this.get(target, deadline);
        const location = response.headers.location;
        if (REDIRECT_STATUSES.has(response.statusCode!) && location) {
          response.destroy();
          if (hop === MAX_REDIRECTS) throw new DownloadFailed(`more than ${MAX_REDIRECTS} redirects`);
          target = new URL(location, target);
          continue;
        }
        try {
          await consume(this.body(response, maxBytes));
        } finally {
          response.destroy();
        }
        return;
      }
    } catch (error) {
      const reason = deadline.aborted ? `no answer within ${this.options.timeoutSeconds} s` : (error as Error).message;
      this.options.log.info({ tenant: request.tenant, url: target ? redact(target) : '(not a URL)', reason }, 'download failed');
      throw error instanceof DownloadFailed ? error : new DownloadFailed(reason);
    } finally {
      release();
    }
  }

  /** One hop: a GET to an address the policy allows, answered with headers. */
  private get(target: URL, signal: AbortSignal): Promise<IncomingMessage> {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new DownloadFailed(`${target.protocol} URL`);
    // As fetch() did: a package URL carries its signature in the query, never a user and password to send on.
    if (target.username || target.password) throw new DownloadFailed('credentials in the URL');
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    // Node connects to an IP literal without a lookup, so literals are checked here and names in `lookup`.
    if (isIP(host)) this.check(host, host);
    const client = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request: ClientRequest = client.get(target, {
        // A connection of its own: a pooled one could lead to an address checked for another host.
        agent: false,
        lookup: this.checkedLookup(host),
        headers: { 'accept-encoding': 'identity', 'user-agent': USER_AGENT },
        signal,
        timeout: this.idleMs,
      });
      let answered: IncomingMessage | undefined;
      request.on('timeout', () => {
        const idle = new DownloadFailed(`idle for ${this.idleMs} ms`);
        answered?.destroy(idle);
        request.destroy(idle);
      });
      request.on('error', reject);
      request.on('response', (response) => {
        answered = response;
        const encoding = (response.headers['content-encoding'] ?? 'identity').toLowerCase();
        const problem =
          REDIRECT_STATUSES.has(response.statusCode!) && response.headers.location ? undefined
          : response.statusCode !== 200 ? `HTTP ${response.statusCode}`
          // The body would not be the package's bytes, and decompressing it is how a small answer becomes a huge one.
          : encoding !== 'identity' ? `content-encoding ${encoding}`
          : undefined;
        if (problem) {
          request.destroy();
          reject(new DownloadFailed(`${redact(target)} answered ${problem}`));
        } else {
          resolve(response);
        }
      });
    });
  }

  /** The response body, failing as soon as it passes `maxBytes` (at once when it says it will). */
  private body(response: IncomingMessage, maxBytes: number): Readable {
    const declared = Number(response.headers['content-length'] ?? 0);
    if (declared > maxBytes) throw new DownloadFailed(`content-length ${declared} is over the limit of ${maxBytes} bytes`);
    let bytes = 0;
    const limited = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) return done(new DownloadFailed(`the body passed the limit of ${maxBytes} bytes`));
        done(null, chunk);
      },
    });
    // pipe() does not pass errors on: a connection cut or timed out must fail the download, not stall it.
    response.on('error', (error) => limited.destroy(error));
    return response.pipe(limited);
  }

  /** Resolves `host` once, refuses it if any of its addresses is refused, and hands the socket those addresses. */
  private checkedLookup(host: string): LookupFunction {
    return (hostname, options, callback) => {
      this.resolver(hostname)
        .then((found) => {
          const addresses = options.family === 4 || options.family === 6 ? found.filter((entry) => entry.family === options.family) : found;
          if (addresses.length === 0) throw new DownloadFailed(`${host} has no address`);
          for (const { address } of addresses) this.check(host, address);
          return addresses;
        })
        .then(
          (addresses) => (options.all ? callback(null, addresses) : callback(null, addresses[0].address, addresses[0].family)),
          (error: Error) => callback(error, '', 0),
        );
    };
  }

  private check(host: string, address: string): void {
    const refusal = this.policy.refusal(host, address);
    if (refusal) throw new DownloadFailed(`${host} is at ${address} (${refusal}), which downloads may not reach`);
  }
}

/** The URL without credentials or query: signed OBS URLs carry their signature there. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * At most `total` holders at once, and at most `perKey` of one key; when a slot frees up, the waiting keys
 * take turns (round robin), so one key's long queue does not hold back the others.
 */
class FairSlots {
  private running = 0;
  private readonly held = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(
    private readonly total: number,
    private readonly perKey: number,
  ) {}

  acquire(key: string): Promise<() => void> {
    return new Promise((resolve) => {
      const queue = this.waiting.get(key) ?? [];
      queue.push(() => resolve(this.releaser(key)));
      this.waiting.set(key, queue);
      this.pump();
    });
  }

  private releaser(key: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const held = this.held.get(key)! - 1;
      if (held === 0) this.held.delete(key);
      else this.held.set(key, held);
      this.pump();
    };
  }

  private pump(): void {
    while (this.running < this.total) {
      const key = [...this.waiting.keys()].find((candidate) => (this.held.get(candidate) ?? 0) < this.perKey);
      if (key === undefined) return;
      const queue = this.waiting.get(key)!;
      const start = queue.shift()!;
      // The key goes to the back of the line.
      this.waiting.delete(key);
      if (queue.length > 0) this.waiting.set(key, queue);
      this.running++;
      this.held.set(key, (this.held.get(key) ?? 0) + 1);
      start();
    }
  }
}
