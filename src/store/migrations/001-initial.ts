import { sql, type Kysely } from 'kysely';

// One schema for both engines (PGlite and PostgreSQL speak the same SQL).
const statements = `
    CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);

    CREATE TABLE domains (
      id text PRIMARY KEY, name text NOT NULL UNIQUE, created_at timestamptz NOT NULL);
    CREATE TABLE users (
      id text PRIMARY KEY, domain_id text NOT NULL REFERENCES domains(id), name text NOT NULL,
      password_hash text NOT NULL, created_at timestamptz NOT NULL, UNIQUE (domain_id, name));
    CREATE TABLE projects (
      id text PRIMARY KEY, domain_id text NOT NULL REFERENCES domains(id), name text NOT NULL,
      created_at timestamptz NOT NULL, UNIQUE (domain_id, name));
    CREATE TABLE access_keys (
      ak text PRIMARY KEY, sk text NOT NULL, user_id text NOT NULL REFERENCES users(id),
      project_id text NOT NULL REFERENCES projects(id), created_at timestamptz NOT NULL);

    CREATE TABLE servers (
      id text PRIMARY KEY, seq bigserial NOT NULL, project_id text NOT NULL REFERENCES projects(id),
      request_id text NOT NULL, name text NOT NULL, server_model_name text NOT NULL, phone_model_name text NOT NULL,
      image_id text NOT NULL, keypair_name text, status integer NOT NULL, network_version text NOT NULL,
      availability_zone text NOT NULL, vpc_id text NOT NULL, vpc_cidr text NOT NULL,
      subnet_id text NOT NULL, subnet_cidr text NOT NULL, order_id text NOT NULL, product_id text NOT NULL,
      enterprise_project_id text NOT NULL, addresses jsonb NOT NULL, security_groups jsonb NOT NULL,
      ports jsonb NOT NULL, volumes jsonb NOT NULL, extend_param jsonb NOT NULL,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
    CREATE INDEX servers_by_project ON servers (project_id, seq DESC);

    CREATE TABLE bandwidths (
      id text PRIMARY KEY, project_id text NOT NULL REFERENCES projects(id), name text NOT NULL,
      size integer NOT NULL, charge_mode integer NOT NULL, share_type integer NOT NULL,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
    CREATE TABLE server_bandwidths (
      server_id text NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
      bandwidth_id text NOT NULL REFERENCES bandwidths(id), PRIMARY KEY (server_id, bandwidth_id));

    CREATE TABLE phones (
      id text PRIMARY KEY, seq bigserial NOT NULL, project_id text NOT NULL REFERENCES projects(id),
      server_id text NOT NULL REFERENCES servers(id) ON DELETE CASCADE, slot integer NOT NULL,
      name text NOT NULL, phone_model_name text NOT NULL, image_id text NOT NULL, status integer NOT NULL,
      type integer NOT NULL, imei text NOT NULL, traffic_type text NOT NULL, volume_mode integer NOT NULL,
      has_encrypt boolean NOT NULL, property text NOT NULL, phone_ip text NOT NULL,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
    CREATE INDEX phones_by_project ON phones (project_id, seq DESC);
    CREATE INDEX phones_by_server ON phones (server_id, slot);

    -- state is the engine's view (queued/running/done); status is the API's (1 running, 2 ok, -1 failed).
    CREATE TABLE jobs (
      id text PRIMARY KEY, seq bigserial NOT NULL, project_id text NOT NULL, request_id text NOT NULL,
      type text NOT NULL, phone_id text, server_id text, lock_key text NOT NULL, params jsonb NOT NULL,
      state text NOT NULL, status integer NOT NULL, attempts integer NOT NULL DEFAULT 0,
      lease_owner text, lease_until timestamptz, begin_time timestamptz NOT NULL, end_time timestamptz,
      error_code text, error_msg text, execute_msg text);
    CREATE INDEX jobs_by_request ON jobs (project_id, request_id, seq);
    CREATE INDEX jobs_queued ON jobs (lock_key, seq) WHERE state = 'queued';
    CREATE INDEX jobs_running ON jobs (lock_key) WHERE state = 'running';
    CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement at a time: PGlite's extended protocol takes a single command per query.
  for (const statement of statements.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }
}
