import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../store/db.ts';
import type { Iam } from './iam.ts';

/** The first account's names and secrets as the configuration gives them (OPENCPH_BOOTSTRAP_*); missing ones are generated. */
export interface BootstrapCredentials {
  domainName?: string;
  userName?: string;
  password?: string;
  projectId?: string;
  projectName?: string;
  ak?: string;
  sk?: string;
}

/** What `<data dir>/credentials.json` holds: everything a first API call needs. */
export interface Credentials {
  endpoint: string;
  domain_name: string;
  user_name: string;
  password: string;
  project_id: string;
  project_name: string;
  ak: string;
  sk: string;
}

/**
 * On an empty store, creates the default account, user, project and access key (from the fixed
 * values given, else generated) and records them in credentials.json. Later starts reuse them.
 */
export async function ensureDefaultCredentials(
  db: Db,
  iam: Iam,
  options: { dataDir: string; endpoint: string; region: string; fixed: BootstrapCredentials },
): Promise<{ credentials?: Credentials; created: boolean }> {
  const file = join(options.dataDir, 'credentials.json');
  const hasAccounts = (await db.selectFrom('domains').select('id').limit(1).execute()).length > 0;
  if (hasAccounts) {
    // A store shared with other processes, or a data dir whose file was removed: passwords cannot be recovered.
    if (!existsSync(file)) return { created: false };
    const credentials = { ...(JSON.parse(readFileSync(file, 'utf8')) as Credentials), endpoint: options.endpoint };
    writeCredentials(file, credentials);
    return { credentials, created: false };
  }
  const { fixed } = options;
  const domainName = fixed.domainName ?? 'opencph';
  const userName = fixed.userName ?? 'admin';
  const projectName = fixed.projectName ?? options.region;
  await iam.createDomain(domainName);
  const user = await iam.createUser(domainName, userName, fixed.password);
  const project = await iam.createProject(domainName, projectName, fixed.projectId);
  const key = await iam.createAccessKey(domainName, userName, projectName, fixed.ak && fixed.sk ? { ak: fixed.ak, sk: fixed.sk } : undefined);
  const credentials: Credentials = {
    endpoint: options.endpoint,
    domain_name: domainName,
    user_name: userName,
    password: user.password,
    project_id: project.id,
    project_name: project.name,
    ak: key.ak,
    sk: key.sk,
  };
  writeCredentials(file, credentials);
  return { credentials, created: true };
}

function writeCredentials(file: string, credentials: Credentials): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
}
