import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import type { Config } from './config.ts';
import { buildApp } from './api/app.ts';
import type { App } from './api/fastify.ts';
import { limitConnections } from './api/connections.ts';
import { ensureDefaultCredentials, type Credentials } from './core/bootstrap.ts';
import type { Clock, Ids } from './core/runtime.ts';
import type { Services } from './api/services.ts';
import { createServices } from './wiring.ts';
import { openStore, type Store } from './store/db.ts';
import type { Resolver } from './objects/http-download.ts';
import type { DriverRegistry } from './devices/registry.ts';

export interface RunningServer {
  config: Config;
  app: App;
  url: string;
  services: Services;
  store: Store;
  /** The default credentials, unless the store has accounts but this data dir has no credentials.json. */
  credentials?: Credentials;
  credentialsCreated: boolean;
  close(): Promise<void>;
}

export interface StartOptions {
  /** A migrated PGlite snapshot to start from (tests), instead of the data dir. */
  pgliteSnapshot?: Blob;
  clock?: Clock;
  ids?: Ids;
  /** Host names → addresses for downloads (tests stand in for DNS). */
  resolver?: Resolver;
  /** The device drivers phones may name (tests add their own to src/devices/registry.ts's). */
  drivers?: DriverRegistry;
}

/** Opens the store, wires the services, serves HTTP and starts the job workers. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pgliteSnapshot: options.pgliteSnapshot });
  const log: FastifyBaseLogger = pino({ level: config.logLevel });
  const services = await createServices(config, store, log, options).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  // Working folders a crash left behind go before any request or job can make new ones.
  await services.commandDeps.scratch.clear();
  let url = '';
  let ready = false;
  const app = await buildApp({ services, logLevel: config.logLevel, publicUrl: () => config.publicUrl ?? url, ready: () => ready, login: config.frontDoor.login, trustedProxies: config.frontDoor.trustedProxies });
  const closeWaitingConnections = limitConnections(app.server, config.frontDoor);
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await store.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const { credentials, created } = await ensureDefaultCredentials(store.db, services.iam, {
    dataDir: config.dataDir,
    endpoint: config.publicUrl ?? url,
    region: config.region,
    fixed: config.bootstrap,
  });
  // Before any job reads or writes objects: a data dir of the former single namespace moves under its first account.
  const left = await services.commandDeps.objects.adoptFormerLayout(credentials?.domain_name);
  if (left.length > 0) log.warn({ buckets: left }, 'buckets of the former object layout left in <data dir>/objects/@former: the account has buckets of those names');
  await services.engine.start();
  services.jobHistory.start();
  ready = true;
  return {
    config,
    app,
    url,
    services,
    store,
    credentials,
    credentialsCreated: created,
    async close() {
      closeWaitingConnections();
      await app.close();
      await services.engine.stop();
      await services.jobHistory.stop();
      await store.close();
    },
  };
}
