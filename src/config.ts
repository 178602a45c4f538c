import { resolve } from 'node:path';
import { isAddressOrCidr, type ConnectionLimits } from './api/connections.ts';
import type { LoginPolicy } from './core/login-guard.ts';
import { isAllowEntry } from './objects/destination-policy.ts';
import type { DownloadSettings } from './objects/http-download.ts';
import type { DriverChoice } from './devices/registry.ts';
import { DEFAULT_QUOTAS, type QuotaLimits } from './core/quotas.ts';
import { DEFAULT_KEYPAIRS_PER_USER } from './core/keypairs.ts';
import type { BootstrapCredentials } from './core/bootstrap.ts';

/** Everything the server needs to know about its environment, validated once at start. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** PostgreSQL; absent → PGlite in `<dataDir>/pglite`. */
  databaseUrl?: string;
  /** Multiplies every simulated duration: 0 = instant, 1 = realistic. */
  simTimeScale: number;
  /** The device driver of phones bought from now on: OPENCPH_DRIVER, or OPENCPH_DRIVER_BY_FLAVOR for their flavor. */
  drivers: DriverChoice;
  logLevel: string;
  /** The URL clients use to reach this server (printed, put in the token catalog). */
  publicUrl?: string;
  /** Region name of the default project and of the endpoint catalog. */
  region: string;
  /** How long a worker owns a claimed job before another process may take it over. */
  jobLeaseSeconds: number;
  /** How long a finished job (and a KooPhone task whose jobs are all gone) stays queryable; 0 = forever. */
  jobRetentionHours: number;
  /** RunSyncCommand calls allowed per user per minute (0 = unlimited). */
  syncCommandsPerMinute: number;
  /**
   * Requests that change something (every method but GET and HEAD) one account may have in progress at
   * once in this process; the next ones wait their turn (ACCOUNT_WRITES_WAITING of them, then 429).
   */
  accountWritesAtOnce: number;
  /** Wall-clock limit of an asynchronous shell command (RunShellCommand, KooPhone async commands). */
  commandTimeoutSeconds: number;
  /** Fixed first-start credentials (CI); generated when absent. */
  bootstrap: BootstrapCredentials;
  objects: ObjectStoreConfig;
  /** Connections, timeouts and failed logins at the HTTP front door. */
  frontDoor: FrontDoorConfig;
  /** Downloads of tenant-supplied URLs (KooPhone InstallApp). */
  downloads: DownloadSettings;
  /** What an account may hold and have in flight, unless `opencph iam set-quota` set its own limits. */
  quotas: QuotaLimits;
  /** Most KPS key pairs one user may hold (OPENCPH_QUOTA_KEYPAIRS_PER_USER). */
  keypairsPerUser: number;
  /** Enables the admin API (fault injection) for requests carrying it as `X-Admin-Token`; absent → no admin API. */
  adminToken?: string;
}

/** Where `obs://` objects live: `<dataDir>/objects` unless an S3-compatible endpoint is set. */
export interface ObjectStoreConfig {
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
  region: string;
  /** Bucket in the path (`endpoint/bucket/key`) rather than in the host name. */
  pathStyle: boolean;
}

export interface FrontDoorConfig extends ConnectionLimits {
  login: LoginPolicy;
}

/**
 * Wall-clock limit of an asynchronous shell command: the documents give the synchronous API 2 s per phone
 * and speak of a "2-minute timeout interval" (spec §3.38); asynchronous commands get those 2 minutes.
 * Past it the job fails with CPS.0054 "Handle job timeout.".
 */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 120;

export class ConfigError extends Error {}

/** Command-line flags win over the environment. */
export interface ConfigFlags {
  port?: string;
  host?: string;
  dataDir?: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): Config {
  const port = integer('PORT / --port', flags.port ?? env.PORT ?? '8443', 0, 65535);
  const simTimeScale = number('OPENCPH_SIM_TIME_SCALE', env.OPENCPH_SIM_TIME_SCALE ?? '1', 0, 1000);
  const jobLeaseSeconds = number('OPENCPH_JOB_LEASE_SECONDS', env.OPENCPH_JOB_LEASE_SECONDS ?? '30', 1, 3600);
  const jobRetentionHours = number('OPENCPH_JOB_RETENTION_HOURS', env.OPENCPH_JOB_RETENTION_HOURS ?? '168', 0, 87_600);
  const logLevel = (env.LOG_LEVEL ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${env.LOG_LEVEL}"`);
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const projectId = env.OPENCPH_PROJECT_ID || undefined;
  if (projectId && !/^[0-9a-f]{32}$/.test(projectId)) {
    throw new ConfigError('OPENCPH_PROJECT_ID must be 32 lowercase hex characters');
  }
  const publicUrl = env.OPENCPH_PUBLIC_URL || undefined;
  if (publicUrl && !/^https?:\/\/[^/]+$/.test(publicUrl)) {
    throw new ConfigError('OPENCPH_PUBLIC_URL must look like http://host:port (no path)');
  }
  const adminToken = env.OPENCPH_ADMIN_TOKEN || undefined;
  if (adminToken && adminToken.length < 16) {
    throw new ConfigError('OPENCPH_ADMIN_TOKEN must be at least 16 characters (e.g. openssl rand -hex 16)');
  }
  return {
    host: flags.host ?? env.HOST ?? '127.0.0.1',
    port,
    dataDir: resolve(flags.dataDir ?? env.OPENCPH_DATA_DIR ?? './data'),
    databaseUrl,
    simTimeScale,
    drivers: driverChoice(env),
    logLevel,
    publicUrl,
    region: env.OPENCPH_REGION || 'cn-north-4',
    jobLeaseSeconds,
    jobRetentionHours,
    syncCommandsPerMinute: integer('OPENCPH_SYNC_COMMANDS_PER_MINUTE', env.OPENCPH_SYNC_COMMANDS_PER_MINUTE ?? '6', 0, 1_000_000),
    accountWritesAtOnce: integer('OPENCPH_ACCOUNT_WRITES_AT_ONCE', env.OPENCPH_ACCOUNT_WRITES_AT_ONCE ?? '4', 1, 10_000),
    commandTimeoutSeconds: number('OPENCPH_COMMAND_TIMEOUT_SECONDS', env.OPENCPH_COMMAND_TIMEOUT_SECONDS ?? String(DEFAULT_COMMAND_TIMEOUT_SECONDS), 1, 86_400),
    bootstrap: {
      domainName: env.OPENCPH_DOMAIN_NAME || undefined,
      userName: env.OPENCPH_USER_NAME || undefined,
      password: env.OPENCPH_PASSWORD || undefined,
      projectId,
      projectName: env.OPENCPH_PROJECT_NAME || undefined,
      ak: env.OPENCPH_AK || undefined,
      sk: env.OPENCPH_SK || undefined,
    },
    objects: objectStoreConfig(env),
    frontDoor: frontDoorConfig(env),
    downloads: downloadSettings(env),
    quotas: quotaLimits(env),
    keypairsPerUser: integer('OPENCPH_QUOTA_KEYPAIRS_PER_USER', env.OPENCPH_QUOTA_KEYPAIRS_PER_USER ?? String(DEFAULT_KEYPAIRS_PER_USER), 0, MAX_COUNT_QUOTA),
    adminToken,
  };
}

/** A driver's name in the registry (src/devices/registry.ts); whether it is registered is checked at start. */
const DRIVER_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** A flavor name as the catalogue spells them (whether it is one is checked at start). */
const FLAVOR_NAME = /^[\w.-]{1,64}$/;

/** OPENCPH_DRIVER (default `sim`) and OPENCPH_DRIVER_BY_FLAVOR (`flavor=driver,flavor=driver`). */
function driverChoice(env: NodeJS.ProcessEnv): DriverChoice {
  const name = (setting: string, value: string) => {
    if (!DRIVER_NAME.test(value)) throw new ConfigError(`${setting}: "${value}" is not a driver name (lowercase letters, digits and '-')`);
    return value;
  };
  const byFlavor: Record<string, string> = {};
  for (const entry of (env.OPENCPH_DRIVER_BY_FLAVOR ?? '').split(',').map((item) => item.trim()).filter(Boolean)) {
    const [flavor, driver, ...rest] = entry.split('=').map((part) => part.trim());
    if (driver === undefined || rest.length > 0 || !FLAVOR_NAME.test(flavor)) throw new ConfigError(`OPENCPH_DRIVER_BY_FLAVOR: "${entry}" is not flavor=driver`);
    if (Object.hasOwn(byFlavor, flavor)) throw new ConfigError(`OPENCPH_DRIVER_BY_FLAVOR names ${flavor} twice`);
    byFlavor[flavor] = name('OPENCPH_DRIVER_BY_FLAVOR', driver);
  }
  return { default: name('OPENCPH_DRIVER', env.OPENCPH_DRIVER || 'sim'), byFlavor };
}

function quotaLimits(env: NodeJS.ProcessEnv): QuotaLimits {
  const limit = (name: string, fallback: number, max: number) => integer(name, env[name] ?? String(fallback), 0, max);
  return {
    servers: limit('OPENCPH_QUOTA_SERVERS', DEFAULT_QUOTAS.servers, MAX_COUNT_QUOTA),
    phones: limit('OPENCPH_QUOTA_PHONES', DEFAULT_QUOTAS.phones, MAX_COUNT_QUOTA),
    instances: limit('OPENCPH_QUOTA_INSTANCES', DEFAULT_QUOTAS.instances, MAX_COUNT_QUOTA),
    jobs: limit('OPENCPH_QUOTA_JOBS', DEFAULT_QUOTAS.jobs, MAX_COUNT_QUOTA),
    objectBytes: limit('OPENCPH_QUOTA_OBJECT_BYTES', DEFAULT_QUOTAS.objectBytes, Number.MAX_SAFE_INTEGER),
  };
}

/** Count quotas are stored as PostgreSQL integers. */
export const MAX_COUNT_QUOTA = 2 ** 31 - 1;

function frontDoorConfig(env: NodeJS.ProcessEnv): FrontDoorConfig {
  const setting = (name: string, fallback: number, min: number, max: number) => integer(name, env[name] ?? String(fallback), min, max);
  const trustedProxies = (env.OPENCPH_TRUSTED_PROXIES ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const wrong = trustedProxies.find((entry) => !isAddressOrCidr(entry));
  if (wrong !== undefined) throw new ConfigError(`OPENCPH_TRUSTED_PROXIES must list IP addresses or CIDRs (10.0.0.0/8, fd00::/8), separated by commas; got "${wrong}"`);
  return {
    trustedProxies,
    // Absent: half the open-file limit, at most 10,000 (src/api/connections.ts).
    maxConnections: env.OPENCPH_MAX_CONNECTIONS ? integer('OPENCPH_MAX_CONNECTIONS', env.OPENCPH_MAX_CONNECTIONS, 1, 1_000_000) : undefined,
    maxConnectionsPerAddress: setting('OPENCPH_MAX_CONNECTIONS_PER_ADDRESS', 256, 0, 1_000_000),
    headersTimeoutMs: setting('OPENCPH_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
    keepAliveTimeoutMs: setting('OPENCPH_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
    // Huawei IAM's defaults: 5 failures within 15 minutes lock for 15 minutes.
    login: {
      maxFailures: setting('OPENCPH_LOGIN_MAX_FAILURES', 5, 0, 1_000),
      windowSeconds: setting('OPENCPH_LOGIN_FAILURE_WINDOW_SECONDS', 900, 1, 86_400),
      lockSeconds: setting('OPENCPH_LOGIN_LOCK_SECONDS', 900, 1, 86_400),
    },
  };
}

function objectStoreConfig(env: NodeJS.ProcessEnv): ObjectStoreConfig {
  const endpoint = env.OPENCPH_OBJECTS_ENDPOINT || undefined;
  const accessKey = env.OPENCPH_OBJECTS_ACCESS_KEY || undefined;
  const secretKey = env.OPENCPH_OBJECTS_SECRET_KEY || undefined;
  if (endpoint && !(URL.canParse(endpoint) && /^https?:$/.test(new URL(endpoint).protocol))) {
    throw new ConfigError(`OPENCPH_OBJECTS_ENDPOINT must be an http:// or https:// URL; got "${endpoint}"`);
  }
  if (endpoint && (!accessKey || !secretKey)) {
    throw new ConfigError('OPENCPH_OBJECTS_ENDPOINT needs OPENCPH_OBJECTS_ACCESS_KEY and OPENCPH_OBJECTS_SECRET_KEY');
  }
  if (!endpoint && (accessKey || secretKey)) {
    throw new ConfigError('OPENCPH_OBJECTS_ACCESS_KEY / OPENCPH_OBJECTS_SECRET_KEY are set but OPENCPH_OBJECTS_ENDPOINT is not');
  }
  const pathStyle = (env.OPENCPH_OBJECTS_PATH_STYLE || 'true').toLowerCase();
  if (pathStyle !== 'true' && pathStyle !== 'false') {
    throw new ConfigError(`OPENCPH_OBJECTS_PATH_STYLE must be true or false; got "${env.OPENCPH_OBJECTS_PATH_STYLE}"`);
  }
  return { endpoint, accessKey, secretKey, region: env.OPENCPH_OBJECTS_REGION || 'us-east-1', pathStyle: pathStyle === 'true' };
}

/** The documented package limit (KooPhone InstallApp, 62015). */
const MAX_PACKAGE_BYTES = 2 * 1024 ** 3;

function downloadSettings(env: NodeJS.ProcessEnv): DownloadSettings {
  const allow = (env.OPENCPH_DOWNLOAD_ALLOW ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const wrong = allow.find((entry) => !isAllowEntry(entry));
  if (wrong !== undefined) {
    throw new ConfigError(`OPENCPH_DOWNLOAD_ALLOW must list CIDRs (10.0.0.0/8, fd00::/8), IP addresses or host names, separated by commas; got "${wrong}"`);
  }
  return {
    allow,
    maxBytes: integer('OPENCPH_DOWNLOAD_MAX_BYTES', env.OPENCPH_DOWNLOAD_MAX_BYTES ?? String(MAX_PACKAGE_BYTES), 1, MAX_PACKAGE_BYTES),
    timeoutSeconds: number('OPENCPH_DOWNLOAD_TIMEOUT_SECONDS', env.OPENCPH_DOWNLOAD_TIMEOUT_SECONDS ?? '600', 1, 86_400),
    concurrency: integer('OPENCPH_DOWNLOAD_CONCURRENCY', env.OPENCPH_DOWNLOAD_CONCURRENCY ?? '16', 1, 1024),
  };
}

function number(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}; got "${raw}"`);
  }
  return value;
}

function integer(name: string, raw: string, min: number, max: number): number {
  const value = number(name, raw, min, max);
  if (!Number.isInteger(value)) throw new ConfigError(`${name} must be a whole number; got "${raw}"`);
  return value;
}
