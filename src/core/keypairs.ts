// Huawei's key pair service (KPS): CreateKeypair (generate or import), ListKeypairs,
// ListKeypairDetail, UpdateKeypairDescription, DeleteKeypair. Readings of the sources: docs/kps-notes.md.
//
// Tenancy: a key pair belongs to its IAM user (`scope` 'user') or to the account ('domain'), not to a
// project; a user sees their own keys and the account's. Another user's or account's key answers as a
// missing one (404). Names are unique among the keys one user sees.
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { sql, type Selectable, type Transaction } from 'kysely';
import type { Static } from '@sinclair/typebox';
import type { CreateKeypairAction } from '../api/schemas/kps/keypairs.ts';
import type { Db } from '../store/db.ts';
import type { Database, KeypairTable } from '../store/schema.ts';
import { decodeAdbPublicKey, encodeAdbPublicKey, fitsAdb, type RsaNumbers } from '../android/adb-public-key.ts';
import { colonHex, formatSshRsa, md5Fingerprint, modulusBits, parseSshRsa } from './ssh-public-key.ts';
import { kpsError } from './errors.ts';
import type { Principal } from './iam.ts';
import type { Clock } from './runtime.ts';

export type CreateKeypairInput = Static<typeof CreateKeypairAction>;
type Keypair = Selectable<KeypairTable>;

/** Most key pairs one user may hold: Nova's default `key_pairs` quota (docs/kps-notes.md). */
export const DEFAULT_KEYPAIRS_PER_USER = 100;
/** The comment of a generated key's OpenSSH line, as in KPS's examples and Nova's generator. */
const GENERATED_COMMENT = 'Generated-by-Nova';

const generateRsa = promisify(generateKeyPair);

/** What a key pair is made of once its input is checked: what the row stores and the create answer says. */
interface KeyMaterial {
  type: 'ssh' | 'x509';
  publicKey: string;
  adbPublicKey: string | null;
  fingerprint: string;
  algorithm: string;
  /** A generated key's PEM, answered once. */
  generatedPrivateKey?: string;
  /** Kept in the store: a hosted key (`key_protection`). */
  keptPrivateKey: string | null;
}

export class KeypairService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly perUser: number,
  ) {}

  /** CreateKeypair: the key is checked (or generated) before the transaction that admits its name and quota. */
  async create(caller: Principal, input: CreateKeypairInput) {
    if (input.user_id !== undefined && input.user_id !== caller.userId) throw kpsError('KPS.0009');
    const scope = input.scope ?? 'user';
    const material = await keyMaterial(input);
    const now = this.clock.now();
    await this.db.transaction().execute(async (trx) => {
      await lockAccount(trx, caller.domainId);
      // An account key is seen by every user of the account, so its name must be free for all of them.
      const rivals = scope === 'domain' ? trx.selectFrom('keypairs').where('domain_id', '=', caller.domainId) : visibleTo(trx, caller);
      const clash = await rivals.where('name', '=', input.name).select('id').executeTakeFirst();
      if (clash) throw kpsError('KPS.0004');
      const held = await trx.selectFrom('keypairs').select((eb) => eb.fn.countAll<string>().as('count')).where('domain_id', '=', caller.domainId).where('user_id', '=', caller.userId).executeTakeFirstOrThrow();
      if (Number(held.count) >= this.perUser) throw kpsError('KPS.0005');
      await trx
        .insertInto('keypairs')
        .values({
          domain_id: caller.domainId,
          user_id: caller.userId,
          name: input.name,
          scope,
          type: material.type,
          public_key: material.publicKey,
          adb_public_key: material.adbPublicKey,
          fingerprint: material.fingerprint,
          algorithm: material.algorithm,
          description: '',
          private_key: material.keptPrivateKey,
          created_at: now,
          updated_at: now,
        })
        .execute();
    });
    return {
      name: input.name,
      type: material.type,
      public_key: material.publicKey,
      ...(material.generatedPrivateKey !== undefined && { private_key: material.generatedPrivateKey }),
      fingerprint: material.fingerprint,
      user_id: caller.userId,
    };
  }

  /** ListKeypairs: by name, after `marker`; `next_marker` only when another page follows. */
  async list(caller: Principal, limit: number, marker?: string) {
    const rows = await visibleTo(this.db, caller)
      .$if(marker !== undefined, (query) => query.where('name', '>', marker!))
      .selectAll()
      .orderBy('name')
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    return {
      keypairs: page.map((row) => ({
        keypair: {
          name: row.name,
          type: row.type,
          scope: row.scope,
          public_key: row.public_key,
          fingerprint: row.fingerprint,
          is_key_protection: row.private_key !== null,
          frozen_state: '0',
        },
      })),
      page_info: {
        ...(rows.length > limit && { next_marker: page[page.length - 1].name }),
        ...(marker !== undefined && { previous_marker: marker }),
        current_count: page.length,
      },
    };
  }

  /** ListKeypairDetail. */
  async show(caller: Principal, name: string) {
    const row = await this.find(this.db, caller, name);
    return {
      name: row.name,
      id: Number(row.id),
      type: row.type,
      scope: row.scope,
      public_key: row.public_key,
      fingerprint: row.fingerprint,
      is_key_protection: row.private_key !== null,
      deleted: false,
      description: row.description,
      user_id: row.user_id,
      create_time: row.created_at.getTime(),
      delete_time: 0,
      update_time: row.updated_at.getTime(),
      frozen_state: 0,
      key_id: '',
      algorithm: row.algorithm,
    };
  }

  /** UpdateKeypairDescription. */
  async describe(caller: Principal, name: string, description: string): Promise<void> {
    const row = await this.find(this.db, caller, name);
    await this.db.updateTable('keypairs').set({ description, updated_at: this.clock.now() }).where('id', '=', row.id).execute();
  }

  /** DeleteKeypair. Servers given the key keep it (docs/kps-notes.md, DeleteKeypair). */
  async delete(caller: Principal, name: string): Promise<void> {
    const row = await this.find(this.db, caller, name);
    await this.db.deleteFrom('keypairs').where('id', '=', row.id).execute();
  }

  /** The key pair the caller sees by that name; KPS.0006 (404) otherwise. */
  private async find(db: Db, caller: Principal, name: string): Promise<Keypair> {
    const row = await visibleTo(db, caller).where('name', '=', name).selectAll().executeTakeFirst();
    if (!row) throw kpsError('KPS.0006');
    return row;
  }
}

/** The caller's own key pairs and the account's. */
function visibleTo(db: Db | Transaction<Database>, caller: Principal) {
  return db
    .selectFrom('keypairs')
    .where('domain_id', '=', caller.domainId)
    .where((eb) => eb.or([eb('user_id', '=', caller.userId), eb('scope', '=', 'domain')]));
}

/** Creations of one account, in any process, one after another: the name and quota checks see each other. */
async function lockAccount(trx: Transaction<Database>, domainId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`keypairs:${domainId}`}, 0))`.execute(trx);
}

/** The stored form of a create's key: generated, imported from `public_key`, or from a hosted private key. */
async function keyMaterial(input: CreateKeypairInput): Promise<KeyMaterial> {
  const type = input.type ?? 'ssh';
  const hostedPrivate = input.key_protection?.private_key;
  if (input.key_protection?.encryption.type === 'kms' && !input.key_protection.encryption.kms_key_id && !input.key_protection.encryption.kms_key_name) {
    throw kpsError('KPS.0010');
  }
  if (type === 'x509') {
    // Accepted only as an import and stored as given (docs/kps-notes.md); nothing in CPH uses it.
    if (input.public_key === undefined || hostedPrivate !== undefined) throw kpsError('KPS.0009');
    return x509Material(input.public_key);
  }
  if (hostedPrivate !== undefined) return hostedMaterial(hostedPrivate, input.public_key);
  if (input.public_key !== undefined) return { ...importedMaterial(input.public_key, input.name), keptPrivateKey: null };
  const { privateKey } = await generateRsa('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  // A generated key is hosted only when the request asks for it (`key_protection`).
  const numbers = numbersOf(privateKey);
  return { ...rsaMaterial(numbers, formatSshRsa(numbers, GENERATED_COMMENT)), generatedPrivateKey: pem, keptPrivateKey: input.key_protection ? pem : null };
}

/** A key given as its private half (`key_protection.private_key`), which must match `public_key` when both are given. */
function hostedMaterial(pem: string, publicKey: string | undefined): KeyMaterial {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw kpsError('KPS.0010');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw kpsError('KPS.0010');
  const numbers = numbersOf(privateKey);
  if (publicKey === undefined) return { ...rsaMaterial(numbers, formatSshRsa(numbers)), keptPrivateKey: pem };
  const given = importedMaterial(publicKey, '');
  if (given.publicNumbers.n !== numbers.n || given.publicNumbers.e !== numbers.e) throw kpsError('KPS.0010');
  return { ...given, keptPrivateKey: pem };
}

/**
 * An imported public key: an OpenSSH `ssh-rsa` line, kept as given, or an `adbkey.pub` line, answered in
 * OpenSSH form with its comment (`user@host`), else the key pair's name, as the comment.
 */
function importedMaterial(line: string, name: string): ReturnType<typeof rsaMaterial> {
  const ssh = parseSshRsa(line);
  if (ssh) return rsaMaterial(ssh, line.trim());
  const adb = decodeAdbPublicKey(line);
  if (!adb) throw kpsError('KPS.0003');
  const comment = line.trim().split(/[ \t]/).slice(1).join(' ').trim() || name;
  return rsaMaterial(adb, formatSshRsa(adb, comment));
}

/** An RSA key in both public forms: OpenSSH (what KPS answers) and, for a 2048-bit key, adb's. */
function rsaMaterial(numbers: RsaNumbers, publicKey: string): Omit<KeyMaterial, 'keptPrivateKey'> & { publicNumbers: RsaNumbers } {
  return {
    publicNumbers: numbers,
    type: 'ssh',
    publicKey,
    adbPublicKey: fitsAdb(numbers) ? encodeAdbPublicKey(numbers) : null,
    fingerprint: md5Fingerprint(parseSshRsa(publicKey)!.blob),
    algorithm: `RSA${modulusBits(numbers)}`,
  };
}

/** An x509 certificate (PEM), fingerprinted as Nova does: SHA-1 of the certificate. */
function x509Material(pem: string): KeyMaterial {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw kpsError('KPS.0003');
  }
  const fingerprint = colonHex(createHash('sha1').update(certificate.raw).digest());
  return { type: 'x509', publicKey: pem, adbPublicKey: null, fingerprint, algorithm: '', keptPrivateKey: null };
}

function numbersOf(key: KeyObject): RsaNumbers {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const number = (field: string | undefined) => BigInt(`0x${Buffer.from(field!, 'base64url').toString('hex')}`);
  return { n: number(jwk.n), e: number(jwk.e) };
}
