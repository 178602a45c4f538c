import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verification of Huawei Cloud "SDK-HMAC-SHA256" AK/SK signatures, as produced by the official
 * SDKs (Node, Python, Go, Java) and API Gateway signers:
 *
 *   Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2;...>, Signature=<hex>
 *
 *   canonical request = method \n canonical URI \n canonical query \n canonical headers \n
 *                       signed headers \n hex(sha256(body))
 *   string to sign    = SDK-HMAC-SHA256 \n <X-Sdk-Date> \n hex(sha256(canonical request))
 *   signature         = hex(hmac-sha256(SK, string to sign))
 *
 * Everything is rebuilt from the request as it arrived on the wire: the raw path and query, the
 * header values and the raw body bytes.
 */

export interface SignedRequest {
  method: string;
  /** The raw request target as received: path plus optional '?query', percent-encoded as sent. */
  url: string;
  /** Node's IncomingHttpHeaders (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes as received (never re-serialised). */
  body: Buffer | undefined;
}

export interface ParsedAuthorization {
  algorithm: string;
  accessKey: string;
  /** Lower-case header names, in the order the client listed them. */
  signedHeaders: string[];
  signature: string;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** How far X-Sdk-Date may be from the server clock, either way. */
export const SIGNATURE_WINDOW_MS = 15 * 60 * 1000;

const ALGORITHM = 'SDK-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const AUTHORIZATION = /^SDK-HMAC-SHA256\s+Access=([^\s,]+),\s*SignedHeaders=([^\s,]+),\s*Signature=([0-9a-fA-F]+)$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const match = AUTHORIZATION.exec(value.trim());
  if (!match) return undefined;
  const [, accessKey, headerList, signature] = match;
  const signedHeaders = headerList.toLowerCase().split(';');
  if (!signedHeaders.every((name) => HEADER_NAME.test(name))) return undefined;
  return { algorithm: ALGORITHM, accessKey, signedHeaders, signature };
}

/**
 * What can be checked of a signature without the body: X-Sdk-Date is present, well formed and within
 * the window, and every signed header is there. A request that fails here is refused before its body
 * is read.
 */
export function checkSignedHeaders(req: Omit<SignedRequest, 'body'>, auth: ParsedAuthorization, now: Date): SignatureCheck {
  const date = header(req, 'x-sdk-date');
  if (date === undefined) return fail('x-sdk-date is missing');
  const signedAt = parseSdkDate(date);
  if (signedAt === undefined) return fail('x-sdk-date is invalid, expected the form YYYYMMDDTHHMMSSZ (UTC)');
  const age = now.getTime() - signedAt;
  if (age > SIGNATURE_WINDOW_MS) return fail('the signature has expired, x-sdk-date is more than 15 minutes old');
  if (age < -SIGNATURE_WINDOW_MS) return fail('x-sdk-date is more than 15 minutes in the future, check the client clock');
  // Every SDK signs X-Sdk-Date. Host is not required: the Go SDK never signs it.
  if (!auth.signedHeaders.includes('x-sdk-date')) return fail('signed headers must include x-sdk-date');
  const missing = auth.signedHeaders.find((name) => header(req, name) === undefined);
  return missing === undefined ? { ok: true } : fail(`signed header ${missing} is missing`);
}

export function verifySignature(req: SignedRequest, auth: ParsedAuthorization, secretKey: string, now: Date): SignatureCheck {
  const headersCheck = checkSignedHeaders(req, auth, now);
  if (!headersCheck.ok) return headersCheck;
  // The header lines are sorted by name; the SignedHeaders list itself is signed exactly as sent.
  const canonicalHeaders = [...auth.signedHeaders].sort().map((name) => `${name}:${header(req, name)!.trim()}\n`);

  const payloadHash = payloadHashOf(req);
  if (payloadHash === undefined) return fail('x-sdk-content-sha256 does not match the request body');

  const queryStart = req.url.indexOf('?');
  const path = queryStart < 0 ? req.url : req.url.slice(0, queryStart);
  const query = queryStart < 0 ? '' : req.url.slice(queryStart + 1);
  const canonicalQuery = canonicalQueryString(query);
  const expected = Buffer.from(auth.signature.toLowerCase());

  // Usually a single candidate (see canonicalUris).
  for (const canonicalUri of canonicalUris(path)) {
    const canonicalRequest = [
      req.method.toUpperCase(),
      canonicalUri,
      canonicalQuery,
      canonicalHeaders.join(''),
      auth.signedHeaders.join(';'),
      payloadHash,
    ].join('\n');
    const stringToSign = `${ALGORITHM}\n${header(req, 'x-sdk-date')}\n${sha256Hex(canonicalRequest)}`;
    const actual = Buffer.from(createHmac('sha256', secretKey).update(stringToSign).digest('hex'));
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) return { ok: true };
  }
  return fail('verify aksk signature fail');
}

function fail(reason: string): SignatureCheck {
  return { ok: false, reason };
}

function header(req: Pick<SignedRequest, 'headers'>, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Milliseconds since the epoch, or undefined unless `date` is a real UTC instant in YYYYMMDDTHHMMSSZ form. */
function parseSdkDate(date: string): number | undefined {
  const match = SDK_DATE.exec(date);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls over out-of-range fields (month 13, 25:00, Feb 30); reject those instead.
  const roundTrip = new Date(time).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return roundTrip === date ? time : undefined;
}

/**
 * The payload hash the client signed. Clients may send `X-Sdk-Content-Sha256`, which the signers use
 * verbatim instead of hashing the body: `UNSIGNED-PAYLOAD` (the SDKs add it for non-JSON bodies)
 * leaves the body unsigned; any other value must be the body's actual hash, else undefined.
 */
function payloadHashOf(req: SignedRequest): string | undefined {
  const bodyHash = sha256Hex(req.body ?? Buffer.alloc(0));
  const declared = header(req, 'x-sdk-content-sha256');
  if (declared === undefined) return bodyHash;
  if (declared === UNSIGNED_PAYLOAD) return UNSIGNED_PAYLOAD;
  return declared.toLowerCase() === bodyHash ? declared : undefined;
}

/**
 * The canonical URI: each path segment decoded, then percent-encoded leaving only RFC 3986
 * unreserved characters, always ending with '/'.
 *
 * The Python, Go and Java signers encode the path as the caller wrote it. The Node signer instead
 * encodes `url.parse(endpoint).pathname`, and legacy `url.parse` has already escaped a few
 * characters (space, quotes, < > ^ ` { | }), which therefore end up encoded twice ('a b' ->
 * 'a%2520b'). When a path contains such characters both forms are tried.
 */
function canonicalUris(path: string): string[] {
  const segments = path.split('/').map(percentDecode);
  const standard = joinSegments(segments.map(encode));
  const nodeLegacy = joinSegments(segments.map((s) => encode(s.replace(/[\t\n\v\f\r "'<>^`{|}]/g, encode))));
  return standard === nodeLegacy ? [standard] : [standard, nodeLegacy];
}

function joinSegments(segments: string[]): string {
  const path = segments.join('/');
  return path.endsWith('/') ? path : `${path}/`;
}

/**
 * The canonical query: parameters decoded, sorted by name, repeated names sorted by value, each
 * pair re-encoded as `name=value`. A bare `name` (the Go SDK sends empty values that way) signs as
 * `name=`. A '+' is a space, as the HTTP framework reads it: the SDKs never send a raw '+', they
 * encode spaces and pluses as %20 and %2B.
 */
function canonicalQueryString(query: string): string {
  const params = new Map<string, string[]>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeQueryComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeQueryComponent(pair.slice(eq + 1));
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return [...params.keys()]
    .sort()
    .flatMap((name) => params.get(name)!.sort().map((value) => `${encode(name)}=${encode(value)}`))
    .join('&');
}

function decodeQueryComponent(component: string): string {
  return percentDecode(component.replace(/\+/g, ' '));
}

/** Decodes %XX runs as UTF-8 and leaves malformed escapes as they are (like Python's `unquote`). */
function percentDecode(text: string): string {
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

/** Percent-encodes the UTF-8 bytes of everything except RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~). */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
