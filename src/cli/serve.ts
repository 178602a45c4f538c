import { ConfigError, loadConfig, type ConfigFlags } from '../config.ts';
import type { DriverChoice } from '../devices/registry.ts';
import { startServer } from '../server.ts';

/** `opencph serve`: runs the server until SIGINT/SIGTERM, printing how to reach it. */
export async function serve(flags: ConfigFlags): Promise<void> {
  let config;
  let server;
  try {
    config = loadConfig(process.env, flags);
    // Settings checked against what only the server knows (the catalogue's flavors, the registry's drivers) fail here.
    server = await startServer(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`opencph: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const store = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}/pglite`;
  process.stdout.write(`\nOpenCPH is listening on ${server.url}  (store: ${store}, phones: ${drivers(config.drivers)}, time scale ${config.simTimeScale})\n`);
  const c = server.credentials;
  if (!c) {
    process.stdout.write(`The store already has accounts and ${config.dataDir}/credentials.json is missing: use "opencph iam" to create a user and key.\n`);
  } else {
    const tokenBody = JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: c.user_name, password: c.password, domain: { name: c.domain_name } } } },
        scope: { project: { name: c.project_name } },
      },
    });
    process.stdout.write(
      [
        ``,
        `Credentials ${server.credentialsCreated ? 'created' : 'reused'}; also in ${config.dataDir}/credentials.json:`,
        `  account (domain) ${c.domain_name}`,
        `  user             ${c.user_name}`,
        `  password         ${c.password}`,
        `  project          ${c.project_name} (${c.project_id})`,
        `  AK / SK          ${c.ak} / ${c.sk}`,
        ``,
        `Try it:`,
        `  TOKEN=$(curl -si -X POST ${c.endpoint}/v3/auth/tokens -H 'Content-Type: application/json' \\`,
        `    -d '${tokenBody}' | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}' | tr -d '\\r')`,
        `  curl -s ${c.endpoint}/v1/${c.project_id}/cloud-phone/phone-models -H "X-Auth-Token: $TOKEN"`,
        `API docs: ${c.endpoint}/docs`,
        ``,
      ].join('\n'),
    );
  }
  const shutdown = async () => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** The drivers of new phones as the banner shows them: `sim`, or `sim; recorder for rx1.cp.c15.d46.e1v1`. */
function drivers(choice: DriverChoice): string {
  const byFlavor = Object.entries(choice.byFlavor).map(([flavor, driver]) => `${driver} for ${flavor}`);
  return [choice.default, ...byFlavor].join('; ');
}
