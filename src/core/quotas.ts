import { sql, type Transaction } from 'kysely';
import type { Db } from '../store/db.ts';
import type { Database, NewJob } from '../store/schema.ts';
import { IamError } from './iam.ts';
import { cpsError, gatewayError, kpError, type DomainError } from './errors.ts';

/**
 * Per-account (IAM domain) quotas: what an account may hold (servers, phones, KooPhone instances, object
 * bytes) and have in flight (queued and running jobs), whichever of its projects asks. An operator sets an
 * account's own limits with `opencph iam set-quota`; the others are the OPENCPH_QUOTA_* settings, which each
 * server publishes to the store when it starts, so that every process and the CLI apply the same.
 *
 * Usage is kept in the account's row by the transactions that add or remove what it counts; jobs in flight
 * are counted (an index holds the unfinished ones only). A check locks the account's row until its
 * transaction ends: concurrent requests of one account, in any process, are admitted one after another and
 * never pass a limit together. A refusal is an error that rolls the caller's transaction back, so a refused
 * request writes nothing.
 *
 * Lock order: a transaction takes its account's lock after the existing rows it changes are locked (or,
 * for a purchase, before writing anything but new rows), and locks no existing row after it. No transaction
 * can then wait for rows while holding an account that the holder of those rows waits for.
 */

/** Per-account quotas: the defaults of every account without limits of its own (OPENCPH_QUOTA_*). */
export interface QuotaLimits {
  servers: number;
  phones: number;
  instances: number;
  /** Queued and running jobs. */
  jobs: number;
  /** Bytes of the account's objects. */
  objectBytes: number;
}

/**
 * A tenant on a fresh server gets room for a real fleet (2,000 phones, the servers even the smallest
 * flavor needs for them, every phone restarted twice at once and 100 GiB of objects) but not for taking the
 * node: one account once bought 3,030 phones in 12 s. Operators raise them per account (`opencph iam
 * set-quota`) or for all (OPENCPH_QUOTA_*); the benchmarks, which fill one account with 100,000 phones, set
 * their own.
 */
export const DEFAULT_QUOTAS: QuotaLimits = { servers: 200, phones: 2_000, instances: 2_000, jobs: 5_000, objectBytes: 100 * 1024 ** 3 };

export type QuotaResource = keyof QuotaLimits;
export const QUOTA_RESOURCES: QuotaResource[] = ['servers', 'phones', 'instances', 'jobs', 'objectBytes'];

/** The API a request came through: its refusal is that family's documented code. */
export type QuotaFamily = 'cph' | 'koophone';

/** What a request adds to its account (negative: removes); `jobs`: how many it is about to queue. */
export type QuotaChange = Partial<Record<QuotaResource, number>>;

/** Resources whose usage is kept in the account's row (jobs in flight are counted instead). */
const KEPT = ['servers', 'phones', 'instances', 'objectBytes'] as const;
const USAGE_COLUMNS = { servers: 'servers', phones: 'phones', instances: 'instances', objectBytes: 'object_bytes' } as const;
const LIMIT_COLUMNS = {
  servers: 'max_servers',
  phones: 'max_phones',
  instances: 'max_instances',
  jobs: 'max_jobs',
  objectBytes: 'max_object_bytes',
} as const;

/** The `settings` row holding the defaults the last server to start was configured with. */
const DEFAULTS_KEY = 'quota_defaults';

/**
 * The documented refusals. CPH: "Quota exceeded for server." (CPS.0065) and "Quota is insufficient."
 * (CPS.0196), the quota codes of its purchases (spec §3.4). KooPhone documents no quota code: what
 * CreateInstance cannot get is "out of stock" (40010), stored bytes past the tenant's limit are 62016, and
 * work it cannot take now gets the gateway's throttling answer (429), as its rate-limited commands do.
 */
const REFUSALS: Record<QuotaFamily, Record<QuotaResource, () => DomainError>> = {
  cph: {
    servers: () => cpsError('CPS.0065'),
    phones: () => cpsError('CPS.0196'),
    instances: () => cpsError('CPS.0196'),
    jobs: () => cpsError('CPS.0196'),
    objectBytes: () => cpsError('CPS.0196'),
  },
  koophone: {
    servers: () => kpError('KOOPHONE.API.40010'),
    phones: () => kpError('KOOPHONE.API.40010'),
    instances: () => kpError('KOOPHONE.API.40010'),
    jobs: () => gatewayError('APIGW.0308'),
    objectBytes: () => kpError('KOOPHONE.API.62016'),
  },
};

/** Every server writes its OPENCPH_QUOTA_* settings at start: the last one started sets the defaults for all. */
export async function publishQuotaDefaults(db: Db, limits: QuotaLimits): Promise<void> {
  const value = JSON.stringify(limits);
  await db.insertInto('settings').values({ key: DEFAULTS_KEY, value }).onConflict((conflict) => conflict.column('key').doUpdateSet({ value })).execute();
}

/**
 * Records in the caller's transaction what a request adds to its project's account or removes from it, or
 * refuses the request (an error in its family's code) when an addition would pass a limit. `jobs` are those
 * the request is about to queue: call it before writing them.
 */
export function chargeAccount(trx: Db, projectId: string, change: QuotaChange, family: QuotaFamily = 'cph'): Promise<void> {
  return charge(trx, { projectId }, change, family);
}

/** chargeAccount for the jobs a request is about to queue; jobs written closed (refusals) do not count. */
export async function admitJobs(trx: Db, projectId: string, jobs: NewJob[], family: QuotaFamily = 'cph'): Promise<void> {
  const queued = jobs.filter((job) => job.state !== 'done').length;
  if (queued > 0) await chargeAccount(trx, projectId, { jobs: queued }, family);
}

/** The refusal chargeAccount would give now, without holding the account: to refuse before costly work. */
export async function assertRoom(db: Db, projectId: string, change: QuotaChange, family: QuotaFamily = 'cph'): Promise<void> {
  const account = await accounts(db)
    .where('d.id', '=', (eb) => eb.selectFrom('projects').select('domain_id').where('id', '=', projectId))
    .executeTakeFirstOrThrow();
  await admit(db, account, change, family);
}

/**
 * Object bytes, for whoever writes an account's objects: the size of an object about to be stored is added
 * (refused past the limit, nothing recorded then), the size of one deleted or overwritten is removed. Each
 * runs in the caller's transaction, or in one of its own.
 */
export function addObjectBytes(db: Db, domainId: string, bytes: number, family: QuotaFamily = 'cph'): Promise<void> {
  return inTransaction(db, (trx) => charge(trx, { domainId }, { objectBytes: bytes }, family));
}

export function removeObjectBytes(db: Db, domainId: string, bytes: number): Promise<void> {
  return inTransaction(db, (trx) => charge(trx, { domainId }, { objectBytes: -bytes }, 'cph'));
}

export interface QuotaUse {
  limit: number;
  used: number;
  /** The limit is the OPENCPH_QUOTA_* default, not the account's own. */
  default: boolean;
}

export type AccountQuotas = { account: string } & Record<QuotaResource, QuotaUse>;

/** `opencph iam quotas`: the limits and usage of every account, or of one. */
export async function accountQuotas(db: Db, accountName?: string): Promise<AccountQuotas[]> {
  let query = accounts(db).orderBy('d.created_at');
  if (accountName !== undefined) query = query.where('d.name', '=', accountName);
  const rows = await query.execute();
  if (accountName !== undefined && rows.length === 0) throw new IamError(`no account "${accountName}"`);
  return Promise.all(
    rows.map(async (row) => {
      const limits = limitsOf(row);
      const jobs = await unfinishedJobs(db, row.domain_id);
      const used = (resource: QuotaResource) => (resource === 'jobs' ? jobs : Number(row[USAGE_COLUMNS[resource]] ?? 0));
      const uses = QUOTA_RESOURCES.map((resource) => [resource, { limit: limits[resource], used: used(resource), default: row[LIMIT_COLUMNS[resource]] == null }]);
      return { account: row.name, ...Object.fromEntries(uses) } as AccountQuotas;
    }),
  );
}

/**
 * `opencph iam set-quota`: the account's own limits (null: back to the default). A limit below what the
 * account holds takes nothing away; the account can add again once it is back under it.
 */
export async function setAccountQuotas(db: Db, accountName: string, limits: Partial<Record<QuotaResource, number | null>>): Promise<AccountQuotas> {
  const domain = await db.selectFrom('domains').select('id').where('name', '=', accountName).executeTakeFirst();
  if (!domain) throw new IamError(`no account "${accountName}"`);
  const values = Object.fromEntries(Object.entries(limits).map(([resource, limit]) => [LIMIT_COLUMNS[resource as QuotaResource], limit]));
  await db
    .insertInto('account_quotas')
    .values({ domain_id: domain.id, ...values })
    .onConflict((conflict) => conflict.column('domain_id').doUpdateSet(values))
    .execute();
  return (await accountQuotas(db, accountName))[0];
}

/**
 * Every account with its limits and usage (an account that never added anything has no row yet: nothing
 * used, default limits) and the published defaults.
 */
function accounts(db: Db) {
  return db
    .selectFrom('domains as d')
    .leftJoin('account_quotas as q', 'q.domain_id', 'd.id')
    .leftJoin('settings as s', (join) => join.on('s.key', '=', DEFAULTS_KEY))
    .select(['d.id as domain_id', 'd.name', 's.value as defaults'])
    .select(['q.max_servers', 'q.max_phones', 'q.max_instances', 'q.max_jobs', 'q.max_object_bytes', 'q.servers', 'q.phones', 'q.instances', 'q.object_bytes']);
}

/** What a check reads of an account. */
type AccountRow = Omit<Awaited<ReturnType<ReturnType<typeof accounts>['executeTakeFirstOrThrow']>>, 'name'>;

/**
 * The account's row (by one of its projects or by its id), locked until the transaction ends, and the
 * published defaults. An account's row is made by its first check.
 */
async function lockAccount(db: Db, key: AccountKey): Promise<AccountRow> {
  const select = () => {
    const query = db
      .selectFrom('account_quotas as q')
      .leftJoin('settings as s', (join) => join.on('s.key', '=', DEFAULTS_KEY))
      .selectAll('q')
      .select('s.value as defaults');
    return ('projectId' in key
      ? query.where('q.domain_id', '=', (eb) => eb.selectFrom('projects').select('domain_id').where('id', '=', key.projectId))
      : query.where('q.domain_id', '=', key.domainId)
    ).forUpdate('q').executeTakeFirst();
  };
  const row = await select();
  if (row) return row;
  const domain = 'projectId' in key ? db.selectFrom('projects').select('domain_id').where('id', '=', key.projectId) : db.selectNoFrom(sql<string>`${key.domainId}`.as('domain_id'));
  await db
    .insertInto('account_quotas')
    .columns(['domain_id'])
    .expression(domain)
    .onConflict((conflict) => conflict.column('domain_id').doNothing())
    .execute();
  const created = await select();
  if (!created) throw new Error(`no account for ${JSON.stringify(key)}`);
  return created;
}

type AccountKey = { projectId: string } | { domainId: string };

async function charge(trx: Db, key: AccountKey, change: QuotaChange, family: QuotaFamily): Promise<void> {
  const account = await lockAccount(trx, key);
  await admit(trx, account, change, family);
  await record(trx, account.domain_id, change);
}

/** Refuses the additions of `change` that would take the account past a limit. */
async function admit(db: Db, account: AccountRow, change: QuotaChange, family: QuotaFamily): Promise<void> {
  const limits = limitsOf(account);
  for (const resource of KEPT) {
    const added = change[resource] ?? 0;
    if (added > 0 && Number(account[USAGE_COLUMNS[resource]] ?? 0) + added > limits[resource]) throw REFUSALS[family][resource]();
  }
  const jobs = change.jobs ?? 0;
  if (jobs > 0 && (await unfinishedJobs(db, account.domain_id, limits.jobs)) + jobs > limits.jobs) throw REFUSALS[family].jobs();
}

/** Adds the changes of kept usage to the account's row (never below zero). */
async function record(trx: Db, domainId: string, change: QuotaChange): Promise<void> {
  const set = Object.fromEntries(
    KEPT.filter((resource) => change[resource]).map((resource) => {
      const column = USAGE_COLUMNS[resource];
      return [column, sql`GREATEST(0, ${sql.ref(column)} + ${change[resource]})`];
    }),
  );
  if (Object.keys(set).length > 0) await trx.updateTable('account_quotas').set(set).where('domain_id', '=', domainId).execute();
}

/**
 * The account's queued and running jobs, along jobs_unfinished_by_project; with `cap`, counted no further
 * than one past it (past a limit, how far does not matter).
 */
async function unfinishedJobs(db: Db, domainId: string, cap?: number): Promise<number> {
  const row = await db
    .selectFrom((eb) => {
      const unfinished = eb
        .selectFrom('jobs')
        .select('id')
        .where('state', '<>', 'done')
        .where('project_id', 'in', eb.selectFrom('projects').select('id').where('domain_id', '=', domainId));
      return (cap === undefined ? unfinished : unfinished.limit(cap + 1)).as('j');
    })
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The account's own limits, else the published defaults, else the built-in ones. */
function limitsOf(row: AccountRow): QuotaLimits {
  const defaults: QuotaLimits = row.defaults ? { ...DEFAULT_QUOTAS, ...(JSON.parse(row.defaults) as Partial<QuotaLimits>) } : DEFAULT_QUOTAS;
  const own = (resource: QuotaResource) => row[LIMIT_COLUMNS[resource]];
  return Object.fromEntries(QUOTA_RESOURCES.map((resource) => [resource, own(resource) == null ? defaults[resource] : Number(own(resource))])) as unknown as QuotaLimits;
}

function inTransaction(db: Db, work: (trx: Transaction<Database>) => Promise<void>): Promise<void> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}
