/**
 * KooPhone streaming (spec §2.4, §2.7, §2.18, §2.19): video settings, device tokens, and the sessions behind
 * OpenCPH's signalling endpoint (docs/streaming.md). A session is the instance's current device token,
 * bound to the instance's assigned user and phone; a client holding it connects to the signalling endpoint
 * and receives the phone's screen. While a stream is open the instance is "streaming" (data_state 3).
 *
 * Sessions live in the store, so they survive a restart and every `opencph serve` process sees them. An
 * open stream renews a lease on its session; when its process dies, the lease runs out and `maintain()`
 * (run by every process) puts the instance back to "data loaded". Streams in this process are also kept
 * in a local registry so that stopping or releasing one closes it at once rather than at its next renewal.
 */
import type { Db } from '../../store/db.ts';
import type { InstanceSession } from '../../store/schema.ts';
import { phoneSpec, type PhoneDevices } from '../phone-spec.ts';
import type { Clock, Ids } from '../runtime.ts';
import { DATA_STATE, type BoundInstance, type InstanceService } from './instances.ts';
import { kpError } from '../errors.ts';

export const NETWORK_TYPES = ['MOBILE_NETWORK', 'WIFI', 'WIRED'] as const;
export const ENCODING_TYPES = ['H264', 'H265'] as const;
export const DEFINITIONS = ['540P', '720P', '1080P'] as const;

export type NetworkType = (typeof NETWORK_TYPES)[number];
export type EncodingType = (typeof ENCODING_TYPES)[number];
export type Definition = (typeof DEFINITIONS)[number];

export interface VideoSpec {
  code_rate: number;
  fps: number;
}

export type VideoSpecGroup = Record<`definition_${Definition}`, VideoSpec>;

export interface InstanceSetting {
  network_type: NetworkType;
  encoding_type: EncodingType;
  video_spec_groups: VideoSpecGroup[];
}

/** Which of the instance's settings a stream uses (the client names it when it connects). */
export interface VideoChoice {
  network_type: NetworkType;
  encoding_type: EncodingType;
  definition: Definition;
}

/** How long a device token may be used, and the `expired_time` GetDeviceToken reports (spec §7 A18). */
export const TOKEN_TTL_SECONDS = 3600;
/** A stopped session can be resumed with its token this long; then it ends (spec §2.19 notes: 5 min). */
export const STOPPED_LINGER_SECONDS = 300;
/** An open stream renews its lease this often; a lease not renewed for LEASE_SECONDS ends the stream. */
export const RENEW_INTERVAL_MS = 1000;
const LEASE_SECONDS = 15;
/**
 * Frames are PNG screenshots of the phone, not encoded video: a stream sends one for every this many
 * frames of the configured rate (30 fps → 10 frames/s, 60 fps → 20 frames/s). Every frame is a whole
 * screen, sent again when nothing changed, so the full rate would cost 30–60 screenshots and PNGs a
 * second per stream (docs/streaming.md).
 */
export const FRAME_RATE_DIVISOR = 3;

/** The settings an instance streams with until SetVideoConfig is called: the documented example's values. */
const DEFAULT_GROUP: VideoSpecGroup = {
  definition_540P: { code_rate: 6000, fps: 30 },
  definition_720P: { code_rate: 6000, fps: 30 },
  definition_1080P: { code_rate: 8000, fps: 30 },
};

/** WebSocket close codes of the signalling endpoint (docs/streaming.md). */
export const STREAM_CLOSE = {
  stopped: { code: 4001, reason: 'streaming stopped' },
  released: { code: 4002, reason: 'session released' },
  replaced: { code: 4003, reason: 'replaced by a newer device token or connection' },
  expired: { code: 4004, reason: 'device token expired' },
  instanceChanged: { code: 4005, reason: 'instance no longer ready for streaming' },
  captureFailed: { code: 1011, reason: 'the phone screen cannot be captured' },
} as const;

export type CloseReason = (typeof STREAM_CLOSE)[keyof typeof STREAM_CLOSE];

export interface IssuedToken {
  device_token: string;
  device_id: string | null;
  streaming_id: string;
  instance_id: string;
  expires_in: number;
}

/** What an accepted connection streams. */
export interface Stream {
  instanceId: string;
  phoneId: string;
  deviceToken: string;
  streamingId: string;
  connectionId: string;
  settings: InstanceSetting[];
}

type Closer = (reason: CloseReason) => void;

/** The frame rate a configured `fps` streams at (at least one frame a second). */
export function frameRate(fps: number): number {
  return Math.max(1, Math.round(fps / FRAME_RATE_DIVISOR));
}

/** The spec the chosen combination and definition name in `settings` (the first group: spec §7 A31). */
export function videoSpec(settings: InstanceSetting[], choice: VideoChoice): VideoSpec {
  const setting = settings.find((entry) => entry.network_type === choice.network_type && entry.encoding_type === choice.encoding_type);
  return (setting?.video_spec_groups[0] ?? DEFAULT_GROUP)[`definition_${choice.definition}`];
}

/** An instance's stored settings, or the defaults for every combination. */
export function instanceSettings(stored: unknown): InstanceSetting[] {
  if (Array.isArray(stored)) return stored as InstanceSetting[];
  return NETWORK_TYPES.flatMap((network_type) => ENCODING_TYPES.map((encoding_type) => ({ network_type, encoding_type, video_spec_groups: [DEFAULT_GROUP] })));
}

export class StreamingService {
  /** Open streams of this process, by instance and connection. */
  private readonly local = new Map<string, Map<string, Closer>>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly instances: InstanceService,
    private readonly deps: PhoneDevices,
    /** OPENCPH_PUBLIC_URL: the base of `signaling_url` when set. */
    readonly publicUrl: string | undefined,
  ) {}

  /**
   * SetVideoConfig: every (network, encoding) combination exactly once (a repeated one is 1000, a missing
   * one 1005), then every instance the caller's (1001). Replaces the whole setting of each instance.
   */
  async setVideo(projectId: string, instanceIds: string[], settings: InstanceSetting[]): Promise<void> {
    const combinations = new Set(settings.map((setting) => `${setting.network_type}/${setting.encoding_type}`));
    if (combinations.size < settings.length) throw kpError('KOOPHONE.API.1000', 'A network_type and encoding_type combination is repeated.');
    if (combinations.size < NETWORK_TYPES.length * ENCODING_TYPES.length) throw kpError('KOOPHONE.API.1005');
    const stored = settings.map(({ network_type, encoding_type, video_spec_groups }) => ({
      network_type,
      encoding_type,
      video_spec_groups: video_spec_groups.map((group) =>
        Object.fromEntries(DEFINITIONS.map((definition) => {
          const { code_rate, fps } = group[`definition_${definition}`];
          return [`definition_${definition}`, { code_rate, fps }];
        })),
      ),
    }));
    await this.db.transaction().execute(async (trx) => {
      const found = await this.instances.requireAll(projectId, instanceIds, { db: trx, lock: true });
      await trx
        .updateTable('instances')
        .set({ video_config: JSON.stringify(stored), updated_at: this.clock.now() })
        .where('id', 'in', found.map((instance) => instance.id))
        .execute();
    });
  }

  /**
   * GetDeviceToken: a fresh token for any instance that is not frozen. The documents set no other
   * precondition (spec koophone-api.md §2.7, "do not invent an error"): a token issued before the instance
   * is prepared is refused by the signalling endpoint until it is, and ends if the instance's user or phone
   * changes meanwhile. It replaces the instance's previous token; a stream open with that one is closed.
   */
  async issue(projectId: string, instanceId: string): Promise<IssuedToken> {
    const now = this.clock.now();
    const token = this.ids.hex32();
    const streamingId = this.ids.hex32();
    const { replaced, phoneId } = await this.db.transaction().execute(async (trx) => {
      const instance = await this.instances.requireOne(projectId, instanceId, { db: trx, lock: true });
      if (instance.frozen) throw kpError('KOOPHONE.API.2004');
      const session = {
        project_id: projectId,
        user_id: instance.assigned_user,
        phone_id: instance.phone_id,
        device_token: token,
        streaming_id: streamingId,
        expires_at: new Date(now.getTime() + TOKEN_TTL_SECONDS * 1000),
        stopped_at: null,
        connection_id: null,
        connection_lease: null,
        created_at: now,
      };
      await trx
        .insertInto('instance_sessions')
        .values({ instance_id: instance.id, ...session })
        .onConflict((conflict) => conflict.column('instance_id').doUpdateSet(session))
        .execute();
      return { replaced: await this.leaveStreaming(trx, instance), phoneId: instance.phone_id };
    });
    if (replaced) this.closeLocal(instanceId, STREAM_CLOSE.replaced);
    // The device is the phone the instance runs on: its CPH phone id (32 hex), as ListInstances shows it;
    // null (the documents' value for what is not known) while it has none.
    return { device_token: token, device_id: phoneId, streaming_id: streamingId, instance_id: instanceId, expires_in: TOKEN_TTL_SECONDS };
  }

  /** StopInstancesStreaming: ends the instance's stream; the session stays, so its token can resume it for a while. */
  async stop(projectId: string, instanceId: string): Promise<void> {
    const now = this.clock.now();
    const stopped = await this.db.transaction().execute(async (trx) => {
      const instance = await this.instances.requireOne(projectId, instanceId, { db: trx, lock: true });
      if (instance.data_state !== DATA_STATE.streaming) return false;
      await trx.updateTable('instance_sessions').set({ connection_id: null, connection_lease: null, stopped_at: now }).where('instance_id', '=', instance.id).execute();
      return this.leaveStreaming(trx, instance);
    });
    if (stopped) this.closeLocal(instanceId, STREAM_CLOSE.stopped);
  }

  /** ReleaseInstancesSession: the token stops working and any stream ends. Idempotent. */
  async release(projectId: string, instanceId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const instance = await this.instances.requireOne(projectId, instanceId, { db: trx, lock: true });
      await this.endSession(trx, instance);
    });
    this.closeLocal(instanceId, STREAM_CLOSE.released);
  }

  /**
   * Deletes the instance's session inside the caller's transaction (the instance locked): backups use it
   * before the phone goes. Call `closeLocal(id, STREAM_CLOSE.…)` after the commit.
   */
  async endSession(trx: Db, instance: BoundInstance): Promise<void> {
    await trx.deleteFrom('instance_sessions').where('instance_id', '=', instance.id).execute();
    await this.leaveStreaming(trx, instance);
  }

  /** Why a connection with these credentials is refused, or undefined (read only: the upgrade is not made yet). */
  async refusal(deviceId: string, deviceToken: string): Promise<string | undefined> {
    const session = await this.db.selectFrom('instance_sessions').selectAll().where('device_token', '=', deviceToken).executeTakeFirst();
    const instance = session && (await this.db.selectFrom('instances').selectAll().where('id', '=', session.instance_id).executeTakeFirst());
    return sessionRefusal(session, instance, deviceId, this.clock.now());
  }

  /**
   * Opens a stream: the instance becomes "streaming". A stream already open on it is replaced (closed).
   * Throws a KooPhone 6001 error when the session no longer allows it (it may have ended since `refusal`).
   */
  async connect(deviceId: string, deviceToken: string, onClose: Closer): Promise<Stream> {
    const now = this.clock.now();
    const connectionId = this.ids.hex32();
    const stream = await this.db.transaction().execute(async (trx) => {
      const claimed = await trx.selectFrom('instance_sessions').select(['instance_id', 'project_id']).where('device_token', '=', deviceToken).executeTakeFirst();
      // The instance first, then its session: the order every other writer takes them in.
      const instance = claimed && (await this.instances.find(claimed.project_id, [claimed.instance_id], { db: trx, lock: true })).get(claimed.instance_id);
      const session = instance && (await trx.selectFrom('instance_sessions').selectAll().where('instance_id', '=', instance.id).forUpdate().executeTakeFirst());
      const refused = sessionRefusal(session?.device_token === deviceToken ? session : undefined, instance, deviceId, now);
      if (refused) throw kpError('KOOPHONE.API.6001', refused);
      await trx
        .updateTable('instance_sessions')
        .set({ connection_id: connectionId, connection_lease: this.leaseUntil(now), stopped_at: null })
        .where('instance_id', '=', instance!.id)
        .execute();
      await trx.updateTable('instances').set({ data_state: DATA_STATE.streaming, updated_at: now }).where('id', '=', instance!.id).execute();
      return {
        instanceId: instance!.id,
        phoneId: deviceId,
        deviceToken,
        streamingId: session!.streaming_id,
        connectionId,
        settings: instanceSettings(instance!.video_config),
      };
    });
    this.closeLocal(stream.instanceId, STREAM_CLOSE.replaced);
    const streams = this.local.get(stream.instanceId) ?? this.local.set(stream.instanceId, new Map()).get(stream.instanceId)!;
    streams.set(connectionId, onClose);
    return stream;
  }

  /**
   * Keeps an open stream alive: its current settings while the session still holds it, else why it must
   * close (the session was stopped, released, replaced or expired, or the instance changed under it).
   */
  async renew(stream: Stream): Promise<{ settings: InstanceSetting[] } | { close: CloseReason }> {
    const now = this.clock.now();
    const renewed = await this.db
      .updateTable('instance_sessions')
      .from('instances')
      .set({ connection_lease: this.leaseUntil(now) })
      .whereRef('instances.id', '=', 'instance_sessions.instance_id')
      .where('instance_sessions.instance_id', '=', stream.instanceId)
      .where('instance_sessions.connection_id', '=', stream.connectionId)
      .where('instance_sessions.expires_at', '>', now)
      .where('instances.data_state', '=', DATA_STATE.streaming)
      .whereRef('instances.assigned_user', '=', 'instance_sessions.user_id')
      .whereRef('instances.phone_id', '=', 'instance_sessions.phone_id')
      .returning('instances.video_config')
      .executeTakeFirst();
    if (renewed) return { settings: instanceSettings(renewed.video_config) };
    const session = await this.db.selectFrom('instance_sessions').selectAll().where('instance_id', '=', stream.instanceId).executeTakeFirst();
    if (!session) {
      // Released, unless the session went with the instance's data (a backup) or the instance itself.
      const instance = await this.db.selectFrom('instances').select('data_state').where('id', '=', stream.instanceId).executeTakeFirst();
      return { close: instance && isLoaded(instance) ? STREAM_CLOSE.released : STREAM_CLOSE.instanceChanged };
    }
    if (session.device_token !== stream.deviceToken || (session.connection_id !== null && session.connection_id !== stream.connectionId)) {
      return { close: STREAM_CLOSE.replaced };
    }
    if (session.connection_id === null && session.stopped_at) return { close: STREAM_CLOSE.stopped };
    if (session.expires_at <= now) return { close: STREAM_CLOSE.expired };
    return { close: STREAM_CLOSE.instanceChanged };
  }

  /** The stream has closed: if it still held the instance, the instance is back to "data loaded". */
  async disconnect(stream: Stream): Promise<void> {
    const streams = this.local.get(stream.instanceId);
    streams?.delete(stream.connectionId);
    if (streams?.size === 0) this.local.delete(stream.instanceId);
    await this.db.transaction().execute(async (trx) => {
      const freed = await trx
        .updateTable('instance_sessions')
        .set({ connection_id: null, connection_lease: null })
        .where('instance_id', '=', stream.instanceId)
        .where('connection_id', '=', stream.connectionId)
        .executeTakeFirst();
      if (freed.numUpdatedRows === 0n) return;
      await trx
        .updateTable('instances')
        .set({ data_state: DATA_STATE.loaded, updated_at: this.clock.now() })
        .where('id', '=', stream.instanceId)
        .where('data_state', '=', DATA_STATE.streaming)
        .execute();
    });
  }

  /** Closes this process's open streams of an instance (other processes notice at their next renewal). */
  closeLocal(instanceId: string, reason: CloseReason): void {
    const streams = this.local.get(instanceId);
    if (!streams) return;
    this.local.delete(instanceId);
    for (const close of streams.values()) close(reason);
  }

  /**
   * Run periodically by every process: streams whose process stopped renewing their lease end (their
   * instances go back to "data loaded"), and sessions past their time are forgotten.
   */
  async maintain(): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction().execute(async (trx) => {
      const dead = await trx
        .updateTable('instance_sessions')
        .set({ connection_id: null, connection_lease: null })
        .where('connection_id', 'is not', null)
        .where('connection_lease', '<', now)
        .returning('instance_id')
        .execute();
      if (dead.length === 0) return;
      await trx
        .updateTable('instances')
        .set({ data_state: DATA_STATE.loaded, updated_at: now })
        .where('id', 'in', dead.map((row) => row.instance_id))
        .where('data_state', '=', DATA_STATE.streaming)
        .execute();
    });
    await this.db
      .deleteFrom('instance_sessions')
      .where('connection_id', 'is', null)
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('stopped_at', '<=', new Date(now.getTime() - STOPPED_LINGER_SECONDS * 1000))]))
      .execute();
  }

  /** The phone's screen as PNG bytes: a screenshot of the phone as its record says it is now. */
  async captureFrame(phoneId: string): Promise<Buffer> {
    const phone = await this.db.selectFrom('phones').selectAll().where('id', '=', phoneId).executeTakeFirstOrThrow();
    return this.deps.driver.screenshot(await phoneSpec(phone, this.deps));
  }

  /** An instance streaming leaves that state (inside the caller's transaction); whether it was streaming. */
  private async leaveStreaming(trx: Db, instance: BoundInstance): Promise<boolean> {
    if (instance.data_state !== DATA_STATE.streaming) return false;
    await trx.updateTable('instances').set({ data_state: DATA_STATE.loaded, updated_at: this.clock.now() }).where('id', '=', instance.id).execute();
    return true;
  }

  private leaseUntil(now: Date): Date {
    return new Date(now.getTime() + LEASE_SECONDS * 1000);
  }
}

/** Data on the phone: "data loaded" or already streaming. */
function isLoaded(instance: { data_state: number }): boolean {
  return instance.data_state === DATA_STATE.loaded || instance.data_state === DATA_STATE.streaming;
}

/** Why a session does not (or no longer) let `deviceId` stream, or undefined. */
function sessionRefusal(session: InstanceSession | undefined, instance: { assigned_user: string | null; phone_id: string | null; data_state: number } | undefined, deviceId: string, now: Date): string | undefined {
  if (!session || session.phone_id !== deviceId) return 'Unknown device_token or device_id.';
  if (session.expires_at <= now) return 'The device_token has expired.';
  if (session.stopped_at && now.getTime() - session.stopped_at.getTime() >= STOPPED_LINGER_SECONDS * 1000) return 'The session has ended.';
  if (!instance || instance.assigned_user !== session.user_id || instance.phone_id !== session.phone_id) return 'The session has ended.';
  if (!isLoaded(instance)) return 'The instance is not ready for streaming.';
  return undefined;
}
