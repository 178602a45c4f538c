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
  /** Objects written by data exports, by the project that wrote them (migrations/002-phone-data.ts). */
  phone_data_objects: { domain_id: string; bucket: string; object_key: string; project_id: string; created_at: Timestamp };
  server_tags: ServerTagTable;
  custom_images: CustomImageTable;
  image_members: ImageMemberTable;
  encode_servers: EncodeServerTable;
  instances: InstanceTable;
  koophone_tasks: { id: string; project_id: string; kind: string; created_at: Timestamp };
  /** KooPhone device tokens and open streams (migrations/006-koophone-usage.ts). */
  instance_sessions: InstanceSessionTable;
  /** Instances waiting for a free phone to restore their data onto, in `seq` order. */
  instance_prepares: { instance_id: string; seq: Generated<string>; project_id: string; created_at: Timestamp };
  /** Each account's quotas and what it holds (migrations/012-quotas.ts, src/core/quotas.ts). */
  account_quotas: AccountQuotaTable;
  /** KPS key pairs of users and accounts (migrations/016-keypairs.ts, src/core/keypairs.ts). */
  keypairs: KeypairTable;
}

export interface KeypairTable {
  /** bigserial: node-postgres reads it as a string. */
  id: Generated<string>;
  domain_id: string;
  user_id: string;
  name: string;
  scope: 'user' | 'domain';
  type: 'ssh' | 'x509';
  public_key: string;
  adb_public_key: string | null;
  fingerprint: string;
  algorithm: string;
  description: string;
  /** Kept only when the key is hosted (`key_protection`). */
  private_key: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
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
  /** GiB after ExpandPhoneDataVolumeSize (migration 003); null: the flavor's disk. */
  data_volume_size: number | null;
  /** The device driver that runs the phone, by its registry name (migration 015, src/devices/registry.ts). */
  driver: string;
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

/** An encoding server (migration 003); `slot` is the position of its server address. */
export interface EncodeServerTable {
  id: string;
  seq: Generated<string>;
  project_id: string;
  server_id: string;
  slot: number;
  name: string;
  type: number;
  ip: string;
  status: number;
}

export type NewEncodeServer = Insertable<EncodeServerTable>;

/** A KooPhone instance (migration 005): a cloud phone as a KooPhone tenant sees it. */
export interface InstanceTable {
  id: string;
  seq: Generated<string>;
  project_id: string;
  domain_id: string;
  /** The phone the instance runs on; null while its data is only in the object store. */
  phone_id: string | null;
  name: string;
  sku_id: string;
  region_id: string;
  os: string;
  network: string;
  band_size: number;
  /** ListInstances `billing_mode`: "1" yearly/monthly, "0" pay-per-use. */
  billing_mode: string;
  order_id: string;
  frozen: boolean;
  /** AssignInstance's `user_id` (≤ 32 characters); null when unassigned. */
  assigned_user: string | null;
  /** BatchQueryStatus data/streaming status (spec §3.2): 0 idle … 6 restore exception. */
  data_state: number;
  prepare_status: number | null;
  backup_status: number | null;
  backup_time: Timestamp | null;
  restore_status: number | null;
  restore_time: Timestamp | null;
  /** Object key of the instance's last backup. */
  backup_key: string | null;
  video_config: Json<unknown> | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type Instance = Selectable<InstanceTable>;
export type NewInstance = Insertable<InstanceTable>;
export type InstanceUpdate = Updateable<InstanceTable>;

/** A KooPhone streaming session (migration 006): the instance's device token and its open stream, if any. */
export interface InstanceSessionTable {
  instance_id: string;
  project_id: string;
  /**
   * The assigned user and the phone the token was issued for (none yet: migration 013): it is void once
   * either changes.
   */
  user_id: string | null;
  phone_id: string | null;
  device_token: string;
  streaming_id: string;
  expires_at: Timestamp;
  /** StopInstancesStreaming ended the stream at this time; the session lingers for a while after it. */
  stopped_at: Timestamp | null;
  /** The open stream holding the instance in "streaming", alive while it renews its lease. */
  connection_id: string | null;
  connection_lease: Timestamp | null;
  created_at: Timestamp;
}

export type InstanceSession = Selectable<InstanceSessionTable>;

/** A tag of a server (migration 004); unique per server and key. */
export interface ServerTagTable {
  server_id: string;
  project_id: string;
  key: string;
  value: string;
  created_at: Timestamp;
}

/** A custom phone image (migration 004): a project's own image, based on a catalogue image. */
export interface CustomImageTable {
  id: string;
  seq: Generated<string>;
  project_id: string;
  name: string;
  /** The catalogue image whose system it carries. */
  base_image_id: string;
  /** The phone it was made from. */
  source_phone_id: string;
  /** ListImages `status`: 0 creating, 1 usable, 2 failed. */
  status: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
}

/** A project a custom image is shared with. */
export interface ImageMemberTable {
  image_id: string;
  member_id: string;
  /** The member's answer (UpdateImageMember, migrations/014-image-member-status.ts): only `accepted` may be used. */
  status: 'pending' | 'accepted' | 'rejected';
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type CustomImage = Selectable<CustomImageTable>;

/** bigint columns: node-postgres reads them as strings. */
type Int8 = ColumnType<string, number | string, number | string>;

/** An account's limits (null: the OPENCPH_QUOTA_* default) and usage; jobs in flight are counted, not kept. */
export interface AccountQuotaTable {
  domain_id: string;
  max_servers: number | null;
  max_phones: number | null;
  max_instances: number | null;
  max_jobs: number | null;
  max_object_bytes: ColumnType<string | null, number | string | null, number | string | null>;
  servers: Generated<number>;
  phones: Generated<number>;
  instances: Generated<number>;
  object_bytes: Generated<Int8>;
}
