import { sql } from 'kysely';
import type { Db } from '../store/db.ts';
import type { ObjectStore, ObjectStoreRoot } from '../objects/store.ts';
import { BACKUP_BUCKET } from './koophone/usage.ts';

/** Projects whose account is remembered; past this the memory starts again (one query per project then). */
const ACCOUNTS_KEPT = 10_000;

export interface Account {
  id: string;
  name: string;
}

/**
 * The object store as tenants reach it: `obs://bucket/key` in a project's request or job names a bucket
 * of the account (IAM domain) that owns the project, so another account's objects answer like missing ones.
 * A project never changes account, so the account of each is looked up once.
 */
export class AccountObjects {
  private readonly accounts = new Map<string, Account>();

  constructor(
    private readonly db: Db,
    /** Every namespace: for the operator's tools and the platform's own objects only. */
    readonly root: ObjectStoreRoot,
  ) {}

  /** The platform's own objects (KooPhone backups), which no tenant can name. */
  get internal(): ObjectStore {
    return this.root.internal;
  }

  async account(projectId: string): Promise<Account> {
    let account = this.accounts.get(projectId);
    if (!account) {
      const row = await this.db
        .selectFrom('projects')
        .innerJoin('domains', 'domains.id', 'projects.domain_id')
        .select(['domains.id', 'domains.name'])
        .where('projects.id', '=', projectId)
        .executeTakeFirst();
      if (!row) throw new Error(`project ${projectId} does not exist`);
      if (this.accounts.size >= ACCOUNTS_KEPT) this.accounts.clear();
      account = { id: row.id, name: row.name };
      this.accounts.set(projectId, account);
    }
    return account;
  }

  /** The buckets of the project's account. */
  async forProject(projectId: string): Promise<ObjectStore> {
    return this.root.forAccount((await this.account(projectId)).name);
  }

  /**
   * On the first start after objects became per account: the local store's former single namespace goes to
   * `account` (the bootstrap account, else the oldest), KooPhone's backups to the internal namespace.
   * Processes sharing the data dir share the database, whose lock lets one of them do it. Returns the
   * buckets left for the operator to merge by hand.
   */
  async adoptFormerLayout(account?: string): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext('opencph:object-layout'))`.execute(trx);
      const name = account ?? (await trx.selectFrom('domains').select('name').orderBy('created_at').limit(1).executeTakeFirst())?.name;
      return name === undefined ? [] : this.root.adoptFormerLayout(name, [BACKUP_BUCKET]);
    });
  }
}
