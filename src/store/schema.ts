import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Row types of every table (see migrations/). Times are Date on both engines. */
type Timestamp = ColumnType<Date, Date, Date>;
type Json<T> = ColumnType<T, string, string>;

export interface Database {
  settings: { key: string; value: string };
  domains: { id: string; name: string; created_at: Timestamp };
  users: { id: string; domain_id: string; name: string; password_hash: string; created_at: Timestamp };
  projects: { id: string; domain_id: string; name: string; created_at: Timestamp };
  access_keys: { ak: string; sk: string; user_id: string; project_id: string; created_at: Timestamp };
  servers: ServerTable;
  bandwidths: BandwidthTable;
  server_bandwidths: { server_id: string; bandwidth_id: string };
  phones: PhoneTable;
  jobs: JobTable;
}

export interface ServerAddress { server_ip: string; public_ip: string }
export interface ServerPort { name: string; listen_port: number; internet_accessible: boolean }
export interface ServerVolume { volume_id: string; volume_name: string; volume_size: number; volume_type: string }

export interface ServerTable {
  id: string;
  seq: Generated<string>;
  project_id: string;
  request_id: string;
  name: string;
  server_model_name: string;
  phone_model_name: string;
  image_id: string;
  keypair_name: string | null;
  status: number;
  network_version: 'v1' | 'v2';
  availability_zone: string;
  vpc_id: string;
  vpc_cidr: string;
  subnet_id: string;
  subnet_cidr: string;
  order_id: string;
  product_id: string;
  enterprise_project_id: string;
  addresses: Json<ServerAddress[]>;
  security_groups: Json<string[]>;
  ports: Json<ServerPort[]>;
  volumes: Json<ServerVolume[]>;
  extend_param: Json<Record<string, unknown>>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface BandwidthTable {
  id: string;
  project_id: string;
  name: string;
  size: number;
  charge_mode: number;
  share_type: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PhoneTable {
  id: string;
  seq: Generated<string>;
  project_id: string;
  server_id: string;
  slot: number;
  name: string;
  phone_model_name: string;
  image_id: string;
  status: number;
  type: number;
  imei: string;
  traffic_type: string;
  volume_mode: number;
  has_encrypt: boolean;
  property: string;
  phone_ip: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type JobState = 'queued' | 'running' | 'done';

export interface JobTable {
  id: string;
  seq: Generated<string>;
  project_id: string;
  request_id: string;
  type: string;
  phone_id: string | null;
  server_id: string | null;
  lock_key: string;
  params: Json<Record<string, unknown>>;
  state: JobState;
  status: number;
  attempts: Generated<number>;
  lease_owner: string | null;
  lease_until: Timestamp | null;
  begin_time: Timestamp;
  end_time: Timestamp | null;
  error_code: string | null;
  error_msg: string | null;
  execute_msg: string | null;
}

export type Server = Selectable<ServerTable>;
export type NewServer = Insertable<ServerTable>;
export type Phone = Selectable<PhoneTable>;
export type NewPhone = Insertable<PhoneTable>;
export type PhoneUpdate = Updateable<PhoneTable>;
export type Job = Selectable<JobTable>;
export type NewJob = Insertable<JobTable>;
export type Bandwidth = Selectable<BandwidthTable>;
