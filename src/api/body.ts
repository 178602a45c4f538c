/**
 * Request bodies: how large they may be, and JSON parsing whose cost is bounded by what a request needs.
 * JSON.parse costs per value more than per byte: a megabyte of `[[],[],…]` is 350,000 arrays and took
 * tens of milliseconds (seconds at 12 MB, docs/security.md), a megabyte of ordinary text a few.
 */

/**
 * The body limit of every API route but the token API. The largest body a client needs is
 * UpdateCloudPhoneProperty for 100 phones (CPS.0190 past that) with 8 KB of attributes each, about 0.9 MB;
 * every other operation takes at most 100 ids, paths or instances. Huawei's gateway takes up to 12 MB
 * from AK/SK clients (spec §1.3.2) but no operation needs it.
 */
export const API_BODY_LIMIT = 1024 * 1024;

/** POST /v3/auth/tokens: names, a password and a scope, under 1 KB in practice. */
export const TOKEN_BODY_LIMIT = 8 * 1024;

/** Nesting past what any request has (a token request nests 6 levels): such a body is malformed. */
export const MAX_JSON_DEPTH = 64;

/** Arrays, objects and their elements or members in one body: a request of 100 phones has hundreds. */
export const MAX_JSON_VALUES = 100_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * The JSON value of `body`, or undefined when it is not JSON or nests deeper than MAX_JSON_DEPTH or holds
 * more than MAX_JSON_VALUES values. The limits are checked on the bytes before parsing (about 2 ms a
 * megabyte), so a body is refused before it costs more than a request can need.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (!withinJsonLimits(body)) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Counts containers and commas outside strings; it does not validate JSON (JSON.parse does). */
function withinJsonLimits(body: Buffer): boolean {
  let depth = 0;
  let values = 0;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (byte === QUOTE) {
      i = closingQuote(body, i);
      if (i < 0) return true;
    } else if (byte === COMMA) {
      if (++values > MAX_JSON_VALUES) return false;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > MAX_JSON_DEPTH || ++values > MAX_JSON_VALUES) return false;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return true;
}

/** Where the string opened at `start` ends: the next quote after an even run of backslashes; -1 if none (not JSON). */
function closingQuote(body: Buffer, start: number): number {
  let end = start;
  for (;;) {
    end = body.indexOf(QUOTE, end + 1);
    if (end < 0) return -1;
    let backslashes = 0;
    while (body[end - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
}
