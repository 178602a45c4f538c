// adb's public key format, as `adbkey.pub` and each line of a device's `adb_keys` hold it: the base64 of
// the 524-byte RSAPublicKey struct of AOSP's libcrypto_utils/android_pubkey.cpp, then an optional comment
// (`user@host`). The struct is little-endian: modulus_size_words (u32, 64), n0inv (u32, -1/n mod 2^32),
// the modulus (256 bytes), rr = (2^2048)^2 mod n (256 bytes), the exponent (u32). Only 2048-bit RSA keys
// fit it (android_pubkey_encode refuses others; docs/kps-notes.md, "A KPS key as an ADB key").

/** An RSA public key as its two numbers. */
export interface RsaNumbers {
  n: bigint;
  e: bigint;
}

const MODULUS_BYTES = 256;
const MODULUS_WORDS = MODULUS_BYTES / 4;
export const ADB_PUBLIC_KEY_BYTES = 4 + 4 + MODULUS_BYTES + MODULUS_BYTES + 4;
const WORD = 2n ** 32n;

/** Whether a key can serve as an adb key: RSA with a 2048-bit modulus. */
export function fitsAdb(key: RsaNumbers): boolean {
  return key.n.toString(2).length === MODULUS_BYTES * 8 && key.e < WORD;
}

/** The `adb_keys` line of a 2048-bit RSA key: the encoded struct, then `comment` if given. */
export function encodeAdbPublicKey(key: RsaNumbers, comment?: string): string {
  if (!fitsAdb(key)) throw new Error('only 2048-bit RSA keys can be adb keys');
  const struct = Buffer.alloc(ADB_PUBLIC_KEY_BYTES);
  struct.writeUInt32LE(MODULUS_WORDS, 0);
  struct.writeUInt32LE(Number(n0inv(key.n)), 4);
  writeLittleEndian(struct, 8, key.n);
  writeLittleEndian(struct, 8 + MODULUS_BYTES, montgomeryRr(key.n));
  struct.writeUInt32LE(Number(key.e), 8 + 2 * MODULUS_BYTES);
  const encoded = struct.toString('base64');
  return comment ? `${encoded} ${comment}` : encoded;
}

/**
 * The key of an `adbkey.pub` line, or undefined when it is not one: as adbd reads `adb_keys`, the first
 * token (split on space or tab) must be the base64 of exactly 524 bytes; the rest of the line is free. The
 * derived fields (n0inv, rr) must agree with the modulus, so a damaged key is refused here rather than
 * failing every later authentication.
 */
export function decodeAdbPublicKey(line: string): RsaNumbers | undefined {
  const token = line.trim().split(/[ \t]/, 1)[0];
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
  const struct = Buffer.from(token, 'base64');
  if (struct.length !== ADB_PUBLIC_KEY_BYTES || struct.toString('base64') !== token) return undefined;
  if (struct.readUInt32LE(0) !== MODULUS_WORDS) return undefined;
  const n = readLittleEndian(struct, 8);
  const e = BigInt(struct.readUInt32LE(8 + 2 * MODULUS_BYTES));
  const key = { n, e };
  if (!fitsAdb(key) || n % 2n === 0n || e < 3n || e % 2n === 0n) return undefined;
  if (BigInt(struct.readUInt32LE(4)) !== n0inv(n) || readLittleEndian(struct, 8 + MODULUS_BYTES) !== montgomeryRr(n)) return undefined;
  return key;
}

/** -1/n mod 2^32, for an odd n. */
function n0inv(n: bigint): bigint {
  // Newton's iteration doubles the correct low bits of an inverse each step: 1 → 2 → 4 … → 32 bits.
  const low = n % WORD;
  let inverse = 1n;
  for (let bits = 0; bits < 5; bits++) inverse = (inverse * (2n - low * inverse)) % WORD;
  return (WORD - ((inverse % WORD) + WORD) % WORD) % WORD;
}

function montgomeryRr(n: bigint): bigint {
  return (1n << BigInt(2 * MODULUS_BYTES * 8)) % n;
}

function writeLittleEndian(target: Buffer, offset: number, value: bigint): void {
  for (let index = 0; index < MODULUS_BYTES; index++) target[offset + index] = Number((value >> BigInt(8 * index)) & 0xffn);
}

function readLittleEndian(source: Buffer, offset: number): bigint {
  return BigInt(`0x${Buffer.from(source.subarray(offset, offset + MODULUS_BYTES)).reverse().toString('hex')}`);
}
