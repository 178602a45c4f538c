// OpenSSH's one-line RSA public key (`ssh-rsa <base64 blob> [comment]`, RFC 4253 §6.6: the blob is
// string "ssh-rsa", mpint e, mpint n), the form KPS answers `public_key` in, and its MD5 fingerprint.
import { createHash } from 'node:crypto';
import type { RsaNumbers } from '../android/adb-public-key.ts';

const KEY_TYPE = 'ssh-rsa';
/** Imports of RSA-1024 to RSA-4096 (the Terraform provider's KPS documentation). */
const MIN_MODULUS_BITS = 1024;
const MAX_MODULUS_BITS = 4096;
/** Longest line read: a 4096-bit key's blob is ~700 base64 characters; comments are short. */
export const MAX_PUBLIC_KEY_CHARS = 4096;

export interface SshPublicKey extends RsaNumbers {
  /** The decoded blob: what the fingerprint hashes. */
  blob: Buffer;
}

/** The RSA key of an OpenSSH `ssh-rsa` line, or undefined when the line is not one we accept. */
export function parseSshRsa(line: string): SshPublicKey | undefined {
  if (line.length > MAX_PUBLIC_KEY_CHARS) return undefined;
  const [type, encoded] = line.trim().split(/[ \t]+/, 2);
  if (type !== KEY_TYPE || !encoded || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const blob = Buffer.from(encoded, 'base64');
  const fields: Buffer[] = [];
  for (let offset = 0; offset < blob.length; ) {
    if (offset + 4 > blob.length) return undefined;
    const length = blob.readUInt32BE(offset);
    if (offset + 4 + length > blob.length) return undefined;
    fields.push(blob.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (fields.length !== 3 || fields[0].toString('latin1') !== KEY_TYPE) return undefined;
  const [e, n] = [positiveMpint(fields[1]), positiveMpint(fields[2])];
  if (e === undefined || n === undefined) return undefined;
  const bits = n.toString(2).length;
  if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS || n % 2n === 0n || e < 3n || e % 2n === 0n) return undefined;
  return { n, e, blob };
}

/** The OpenSSH line of an RSA key, with `comment` after it if given. */
export function formatSshRsa(key: RsaNumbers, comment?: string): string {
  const blob = Buffer.concat([sshString(Buffer.from(KEY_TYPE)), sshString(mpint(key.e)), sshString(mpint(key.n))]);
  return comment ? `${KEY_TYPE} ${blob.toString('base64')} ${comment}` : `${KEY_TYPE} ${blob.toString('base64')}`;
}

/** MD5 of the blob as 16 colon-separated lowercase hex bytes (`ssh-keygen -l -E md5`; Nova and KPS alike). */
export function md5Fingerprint(blob: Buffer): string {
  return colonHex(createHash('md5').update(blob).digest());
}

export function colonHex(bytes: Buffer): string {
  return bytes.toString('hex').replace(/(..)(?!$)/g, '$1:');
}

/** The modulus size in bits. */
export function modulusBits(key: RsaNumbers): number {
  return key.n.toString(2).length;
}

/** A positive mpint in its shortest form (RFC 4251 §5), else undefined. */
function positiveMpint(bytes: Buffer): bigint | undefined {
  if (bytes.length === 0 || bytes[0] & 0x80) return undefined;
  if (bytes[0] === 0 && (bytes.length === 1 || !(bytes[1] & 0x80))) return undefined;
  return BigInt(`0x${bytes.toString('hex')}`);
}

function mpint(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  return bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
