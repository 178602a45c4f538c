import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Db } from '../store/db.ts';
import type { Clock, Ids } from './runtime.ts';

/**
 * Accounts (domains), IAM users, projects, access keys and tokens.
 * A domain is a tenant; a project belongs to one domain; an access key belongs to a user and one project.
 */

export const TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** Who a request acts as, once authenticated. */
export interface Principal {
  userId: string;
  userName: string;
  domainId: string;
  domainName: string;
  /** The project the credential is scoped to; undefined for a domain-scoped token. */
  projectId?: string;
  method: 'token' | 'aksk';
}

export interface TokenClaims {
  userId: string;
  userName: string;
  domainId: string;
  domainName: string;
  projectId?: string;
  projectName?: string;
  methods: string[];
  issuedAt: number;
  expiresAt: number;
}

export class IamError extends Error {}

/** More password checks are waiting than PASSWORD_CHECKS_WAITING: the login is refused, not queued. */
export class LoginsBusy extends Error {}

export class Iam {
  private tokenSecret?: Buffer;
  /** Tokens whose signature checked out: a client's every request need not recompute the HMAC (expiry is checked each time). */
  private readonly verifiedTokens = new Map<string, TokenClaims>();
  private readonly passwordChecks = new Slots(PASSWORD_CHECKS_AT_ONCE, PASSWORD_CHECKS_WAITING);

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: Ids,
  ) {}

  /** Loads (or creates, on first start) the key that signs tokens; shared by every process on the store. */
  async init(): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key: 'token_secret', value: randomBytes(32).toString('hex') })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', 'token_secret').executeTakeFirstOrThrow();
    this.tokenSecret = Buffer.from(row.value, 'hex');
  }

  async createDomain(name: string): Promise<{ id: string; name: string }> {
    assertName('account name', name);
    const id = this.ids.hex32();
    await this.unique(() => this.db.insertInto('domains').values({ id, name, created_at: this.clock.now() }).execute(), `account "${name}" exists`);
    return { id, name };
  }

  async createUser(domainName: string, name: string, password?: string): Promise<{ id: string; name: string; password: string }> {
    assertName('user name', name);
    const domain = await this.domainByName(domainName);
    const secret = password ?? generatePassword();
    if (secret.length < 8) throw new IamError('password must have at least 8 characters');
    const id = this.ids.hex32();
    await this.unique(
      async () => this.db.insertInto('users').values({ id, domain_id: domain.id, name, password_hash: await hashPassword(secret), created_at: this.clock.now() }).execute(),
      `user "${name}" exists in account "${domainName}"`,
    );
    return { id, name, password: secret };
  }

  async createProject(domainName: string, name: string, id = this.ids.hex32()): Promise<{ id: string; name: string }> {
    assertName('project name', name);
    const domain = await this.domainByName(domainName);
    await this.unique(
      () => this.db.insertInto('projects').values({ id, domain_id: domain.id, name, created_at: this.clock.now() }).execute(),
      `project "${name}" exists in account "${domainName}"`,
    );
    return { id, name };
  }

  async createAccessKey(domainName: string, userName: string, projectName: string, fixed?: { ak: string; sk: string }): Promise<{ ak: string; sk: string }> {
    const user = await this.userByName(domainName, userName);
    const project = await this.db.selectFrom('projects').select('id').where('domain_id', '=', user.domain_id).where('name', '=', projectName).executeTakeFirst();
    if (!project) throw new IamError(`no project "${projectName}" in account "${domainName}"`);
    const ak = fixed?.ak ?? randomBytes(15).toString('base64').replace(/[^A-Z0-9]/gi, '').toUpperCase().padEnd(20, 'X').slice(0, 20);
    const sk = fixed?.sk ?? randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 40);
    await this.unique(
      () => this.db.insertInto('access_keys').values({ ak, sk, user_id: user.id, project_id: project.id, created_at: this.clock.now() }).execute(),
      `access key ${ak} exists`,
    );
    return { ak, sk };
  }

  async listAccounts() {
    return this.db
      .selectFrom('domains')
      .leftJoin('users', 'users.domain_id', 'domains.id')
      .leftJoin('projects', 'projects.domain_id', 'domains.id')
      .select(['domains.name as domain', 'users.name as user', 'projects.name as project', 'projects.id as project_id'])
      .orderBy('domains.created_at')
      .execute();
  }

  /**
   * Password login; undefined when the account, user or password is wrong (the caller must not say which).
   * Throws LoginsBusy when too many checks are waiting already.
   */
  async checkPassword(domainName: string, userName: string, password: string) {
    const user = await this.db
      .selectFrom('users')
      .innerJoin('domains', 'domains.id', 'users.domain_id')
      .select(['users.id', 'users.name', 'users.password_hash', 'domains.id as domain_id', 'domains.name as domain_name'])
      .where('domains.name', '=', domainName)
      .where('users.name', '=', userName)
      .executeTakeFirst();
    // Hash even for an unknown user, so the answer time does not tell which part was wrong.
    const matches = await this.passwordChecks.run(() => verifyPassword(password, user?.password_hash ?? UNKNOWN_USER_HASH));
    if (!user || !matches) return undefined;
    return { userId: user.id, userName: user.name, domainId: user.domain_id, domainName: user.domain_name };
  }

  async project(domainId: string, scope: { id?: string; name?: string }) {
    let query = this.db.selectFrom('projects').select(['id', 'name', 'domain_id']).where('domain_id', '=', domainId);
    if (scope.id) query = query.where('id', '=', scope.id);
    if (scope.name) query = query.where('name', '=', scope.name);
    return query.executeTakeFirst();
  }

  async projectsOfDomain(domainId: string, name?: string) {
    let query = this.db.selectFrom('projects').select(['id', 'name', 'domain_id']).where('domain_id', '=', domainId);
    if (name !== undefined) query = query.where('name', '=', name);
    return query.orderBy('created_at').execute();
  }

  async domainById(domainId: string) {
    return this.db.selectFrom('domains').select(['id', 'name']).where('id', '=', domainId).executeTakeFirst();
  }

  /** The SK and identity of an access key, for signature checks. */
  async accessKey(ak: string) {
    return this.db
      .selectFrom('access_keys')
      .innerJoin('users', 'users.id', 'access_keys.user_id')
      .innerJoin('domains', 'domains.id', 'users.domain_id')
      .select(['access_keys.sk', 'access_keys.project_id', 'users.id as user_id', 'users.name as user_name', 'domains.id as domain_id', 'domains.name as domain_name'])
      .where('access_keys.ak', '=', ak)
      .executeTakeFirst();
  }

  /** Tokens are self-contained and signed, so checking one on every request costs no query. */
  issueToken(claims: Omit<TokenClaims, 'issuedAt' | 'expiresAt'>): { token: string; claims: TokenClaims } {
    const issuedAt = this.clock.now().getTime();
    const full: TokenClaims = { ...claims, issuedAt, expiresAt: issuedAt + TOKEN_LIFETIME_MS };
    const payload = Buffer.from(JSON.stringify(full)).toString('base64url');
    return { token: `MII${payload}.${this.mac(payload)}`, claims: full };
  }

  /** The token's claims, or a reason why it is refused. */
  verifyToken(token: string): TokenClaims | { refused: string } {
    let claims = this.verifiedTokens.get(token);
    if (!claims) {
      const match = /^MII([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
      if (!match) return { refused: 'the token is malformed' };
      const expected = Buffer.from(this.mac(match[1]));
      const given = Buffer.from(match[2]);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { refused: 'the token is invalid' };
      claims = JSON.parse(Buffer.from(match[1], 'base64url').toString()) as TokenClaims;
      if (this.verifiedTokens.size >= VERIFIED_TOKENS_KEPT) this.verifiedTokens.clear();
      this.verifiedTokens.set(token, claims);
    }
    if (claims.expiresAt <= this.clock.now().getTime()) return { refused: 'the token has expired' };
    return claims;
  }

  private mac(payload: string): string {
    if (!this.tokenSecret) throw new Error('Iam.init() was not called');
    return createHmac('sha256', this.tokenSecret).update(payload).digest('base64url');
  }

  private async domainByName(name: string) {
    const domain = await this.db.selectFrom('domains').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
    if (!domain) throw new IamError(`no account "${name}"`);
    return domain;
  }

  private async userByName(domainName: string, userName: string) {
    const user = await this.db
      .selectFrom('users')
      .innerJoin('domains', 'domains.id', 'users.domain_id')
      .select(['users.id', 'users.domain_id'])
      .where('domains.name', '=', domainName)
      .where('users.name', '=', userName)
      .executeTakeFirst();
    if (!user) throw new IamError(`no user "${userName}" in account "${domainName}"`);
    return user;
  }

  private async unique(insert: () => Promise<unknown>, message: string): Promise<void> {
    try {
      await insert();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new IamError(message);
      throw error;
    }
  }
}

function assertName(what: string, name: string): void {
  // "." and ".." are refused: an account name is a folder of the object store (objects/local.ts).
  if (!/^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new IamError(`${what} must be 1-64 letters, digits, "_", "-" or ".", and not "." or ".."`);
}

const VERIFIED_TOKENS_KEPT = 10_000;

// A random salt and hash: verifying against it costs what a real check costs, and no password matches it.
const UNKNOWN_USER_HASH = `scrypt:${randomBytes(16).toString('hex')}:${randomBytes(32).toString('hex')}`;

function generatePassword(): string {
  return randomBytes(12).toString('base64url');
}

const derive = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

/**
 * Password checks computed at once. scrypt runs on libuv's thread pool (4 threads, shared with file I/O
 * and DNS) for ~50 ms each: two leave the pool to everyone else however many logins arrive.
 */
const PASSWORD_CHECKS_AT_ONCE = 2;
/** Checks that may wait for one of those: about 1.6 s of waiting at most; past it a login is refused at once. */
const PASSWORD_CHECKS_WAITING = 64;

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt:${salt.toString('hex')}:${(await derive(password, salt, 32)).toString('hex')}`;
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [, salt, hash] = stored.split(':');
  const actual = await derive(password, Buffer.from(salt, 'hex'), 32);
  return timingSafeEqual(actual, Buffer.from(hash, 'hex'));
}

/** At most `size` tasks at once and `waiting` more queued; past that `run` throws LoginsBusy. */
class Slots {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly size: number,
    private readonly waiting: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) {
      if (this.queue.length >= this.waiting) throw new LoginsBusy();
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      // A waiting task inherits this slot; otherwise it is freed.
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}
