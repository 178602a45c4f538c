import type { Command } from 'commander';
import { ConfigError, loadConfig, MAX_COUNT_QUOTA } from '../config.ts';
import { Iam, IamError } from '../core/iam.ts';
import { accountQuotas, QUOTA_RESOURCES, setAccountQuotas, type QuotaResource } from '../core/quotas.ts';
import { randomIds, systemClock } from '../core/runtime.ts';
import { openStore, type Db } from '../store/db.ts';

/** `opencph iam …`: manage accounts, users, projects and access keys of the store in the data dir / DATABASE_URL. */
export function iamCommands(program: Command): void {
  const iam = program.command('iam').description('manage accounts (tenants), users, projects and access keys');
  iam
    .command('create-account <name>')
    .description('create an account (domain): a tenant')
    .action((name: string) => withIam((store) => store.createDomain(name)));
  iam
    .command('create-user <account> <user>')
    .option('--password <password>', 'password (generated when absent)')
    .description('create an IAM user in an account')
    .action((account: string, user: string, options: { password?: string }) => withIam((store) => store.createUser(account, user, options.password)));
  iam
    .command('create-project <account> <project>')
    .description('create a project (e.g. a region name such as cn-north-4) in an account')
    .action((account: string, project: string) => withIam((store) => store.createProject(account, project)));
  iam
    .command('create-key <account> <user> <project>')
    .description('create an AK/SK pair for a user, scoped to one project')
    .action((account: string, user: string, project: string) => withIam((store) => store.createAccessKey(account, user, project)));
  iam
    .command('list')
    .description('list accounts with their users and projects')
    .action(() => withIam((store) => store.listAccounts()));
  iam
    .command('quotas [account]')
    .description('show the quotas of every account (or of one): each limit, whether it is the default, and what is used')
    .action((account?: string) => withIam((_, db) => accountQuotas(db, account)));
  const setQuota = iam
    .command('set-quota <account>')
    .description('set an account\'s own limits ("default": back to the OPENCPH_QUOTA_* setting); a lower limit takes nothing away');
  for (const resource of QUOTA_RESOURCES) setQuota.option(`--${QUOTA_OPTIONS[resource]} <limit>`, `${QUOTA_OPTIONS[resource]} at most (or "default")`);
  setQuota.action((account: string, options: Record<string, string>) =>
    withIam((_, db) => {
      const limits = Object.fromEntries(Object.entries(options).map(([resource, text]) => [resource, quotaLimit(resource as QuotaResource, text)]));
      if (Object.keys(limits).length === 0) throw new IamError(`give at least one of ${QUOTA_RESOURCES.map((resource) => `--${QUOTA_OPTIONS[resource]}`).join(', ')}`);
      return setAccountQuotas(db, account, limits);
    }),
  );
}

const QUOTA_OPTIONS: Record<QuotaResource, string> = { servers: 'servers', phones: 'phones', instances: 'instances', jobs: 'jobs', objectBytes: 'object-bytes' };

/** A limit as given on the command line: a whole number, or "default" (null). */
function quotaLimit(resource: QuotaResource, text: string): number | null {
  if (text === 'default') return null;
  const max = resource === 'objectBytes' ? Number.MAX_SAFE_INTEGER : MAX_COUNT_QUOTA;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit > max) throw new IamError(`--${QUOTA_OPTIONS[resource]} must be a whole number from 0 to ${max}, or "default"; got "${text}"`);
  return limit;
}

async function withIam(action: (iam: Iam, db: Db) => Promise<unknown>): Promise<void> {
  let store;
  try {
    const config = loadConfig(process.env, { dataDir: process.env.OPENCPH_DATA_DIR });
    store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    const iam = new Iam(store.db, systemClock, randomIds);
    await iam.init();
    process.stdout.write(JSON.stringify(await action(iam, store.db), null, 2) + '\n');
  } catch (error) {
    if (error instanceof IamError || error instanceof ConfigError) {
      process.stderr.write(`opencph: ${error.message}\n`);
      process.exitCode = 1;
    } else throw error;
  } finally {
    await store?.close();
  }
}
