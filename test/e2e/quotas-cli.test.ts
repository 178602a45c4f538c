import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, createDatabase, purchaseBody } from '../helpers/server.ts';
import { defaultTenant, runCli, spawnServer, stop } from '../helpers/process.ts';
import { DEFAULT_QUOTAS } from '../../src/core/quotas.ts';

/**
 * `opencph iam quotas` and `opencph iam set-quota` run as operators run them: their own processes on the
 * server's store (PGlite in the data dir, which one process opens at a time, or PostgreSQL with
 * OPENCPH_TEST_PG_URL), the server started with OPENCPH_QUOTA_* settings of its own.
 */
let dataDir: string;
let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
let env: Record<string, string>;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'opencph-quotas-cli-'));
  database = process.env.OPENCPH_TEST_PG_URL ? await createDatabase(process.env.OPENCPH_TEST_PG_URL) : undefined;
  env = {
    OPENCPH_DATA_DIR: dataDir,
    OPENCPH_SIM_TIME_SCALE: '0',
    OPENCPH_DOMAIN_NAME: 'acme',
    OPENCPH_QUOTA_SERVERS: '5',
    OPENCPH_QUOTA_OBJECT_BYTES: '1000000',
    ...(database && { DATABASE_URL: database.url }),
  };
});

after(async () => {
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const result = await runCli(['iam', ...args], env);
  assert.equal(result.code, 0, result.output);
  return JSON.parse(result.output);
}

describe('opencph iam quotas and set-quota', { concurrency: false }, () => {
  test('quotas shows each limit (the server\'s settings by default) and what the account uses', async () => {
    await stop(await spawnServer(env)); // creates the store and the account, and publishes its defaults
    const [acme] = await cli(['quotas']);
    assert.deepEqual(acme, {
      account: 'acme',
      servers: { limit: 5, used: 0, default: true },
      phones: { limit: DEFAULT_QUOTAS.phones, used: 0, default: true },
      instances: { limit: DEFAULT_QUOTAS.instances, used: 0, default: true },
      jobs: { limit: DEFAULT_QUOTAS.jobs, used: 0, default: true },
      objectBytes: { limit: 1_000_000, used: 0, default: true },
    });
  });

  test('set-quota sets an account\'s own limits, which the server applies; "default" goes back to the setting', async () => {
    const set = await cli(['set-quota', 'acme', '--servers', '1', '--object-bytes', '2000000', '--jobs', 'default']);
    assert.deepEqual([set.servers, set.objectBytes, set.jobs], [
      { limit: 1, used: 0, default: false },
      { limit: 2_000_000, used: 0, default: false },
      { limit: DEFAULT_QUOTAS.jobs, used: 0, default: true },
    ]);
    const server = await spawnServer(env);
    try {
      const target = await defaultTenant(server, dataDir);
      assert.equal((await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones', { body: purchaseBody() })).status, 200);
      const refused = await call(target, 'POST', '/v1/{project_id}/cloud-phone/phones', { body: purchaseBody() });
      assert.deepEqual([refused.status, refused.body.error_code], [400, 'CPS.0065']);
    } finally {
      await stop(server);
    }
    const [acme] = await cli(['quotas', 'acme']);
    assert.deepEqual([acme.servers, acme.phones.used], [{ limit: 1, used: 1, default: false }, 15]);
    const reset = await cli(['set-quota', 'acme', '--servers', 'default']);
    assert.deepEqual(reset.servers, { limit: 5, used: 1, default: true });
  });

  test('a wrong limit, an unknown account or no limit at all: a clear message, exit code 1, nothing changed', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['set-quota', 'acme', '--servers', '-1'], /^opencph: --servers must be a whole number from 0 to 2147483647, or "default"; got "-1"\n$/],
      [['set-quota', 'acme', '--phones', '1.5'], /^opencph: --phones must be a whole number/],
      [['set-quota', 'acme', '--object-bytes', '1e3'], /^opencph: --object-bytes must be a whole number from 0 to 9007199254740991/],
      [['set-quota', 'acme', '--instances', '2147483648'], /^opencph: --instances must be a whole number/],
      [['set-quota', 'nobody', '--servers', '1'], /^opencph: no account "nobody"\n$/],
      [['set-quota', 'acme'], /^opencph: give at least one of --servers, --phones, --instances, --jobs, --object-bytes\n$/],
      [['quotas', 'nobody'], /^opencph: no account "nobody"\n$/],
    ];
    for (const [args, message] of cases) {
      const { code, output } = await runCli(['iam', ...args], env);
      assert.equal(code, 1, output);
      assert.match(output, message);
    }
    const [acme] = await cli(['quotas', 'acme']);
    assert.deepEqual([acme.servers.limit, acme.phones.limit, acme.instances.limit, acme.objectBytes.limit], [5, DEFAULT_QUOTAS.phones, DEFAULT_QUOTAS.instances, 2_000_000]);
  });
});
