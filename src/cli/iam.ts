import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { Iam, IamError } from '../core/iam.ts';
import { randomIds, systemClock } from '../core/runtime.ts';
import { openStore } from '../store/db.ts';

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
}

async function withIam(action: (iam: Iam) => Promise<unknown>): Promise<void> {
  let store;
  try {
    const config = loadConfig(process.env, { dataDir: process.env.OPENCPH_DATA_DIR });
    store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    const iam = new Iam(store.db, systemClock, randomIds);
    await iam.init();
    process.stdout.write(JSON.stringify(await action(iam), null, 2) + '\n');
  } catch (error) {
    if (error instanceof IamError || error instanceof ConfigError) {
      process.stderr.write(`opencph: ${error.message}\n`);
      process.exitCode = 1;
    } else throw error;
  } finally {
    await store?.close();
  }
}
