import websocket from '@fastify/websocket';
import type { FastifyError, FastifyRequest } from 'fastify';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import {
  RENEW_INTERVAL_MS,
  STREAM_CLOSE,
  frameRate,
  videoSpec,
  type CloseReason,
  type InstanceSetting,
  type Stream,
  type VideoChoice,
} from '../../core/koophone/streaming.ts';
import { EmptyEnvelope, Envelope, action, okEmpty, ok } from './common.ts';
import { DeviceToken, InstanceIdBody, InstanceParams, SignalingQuery, VideoBody } from '../schemas/koophone/streaming.ts';
import { DomainError, isKooPhoneCode, kpError } from '../../core/errors.ts';
import { httpStatus } from '../errors.ts';

const tags = ['KooPhone'];

/** Where OpenCPH's signalling endpoint listens (docs/streaming.md); GetDeviceToken's `signaling_url`. */
export const SIGNALING_PATH = '/koophone/signaling';
/** Frames are skipped while this much is still waiting to go out to a slow client. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** One screenshot's time in this many: the rest of the time a stream takes none. */
const CAPTURE_SHARE = 5;
/** How often every process runs KooPhone's upkeep (ended streams, queued preparations, abandoned jobs). */
const UPKEEP_INTERVAL_MS = 2000;

/** Video settings (spec §2.4), device tokens (§2.7), stopping streams (§2.18) and releasing sessions (§2.19). */
export function streamingRoutes(app: App, services: Services) {
  const streaming = services.koophoneStreaming;
  const projectOf = (request: FastifyRequest) => request.principal!.projectId!;

  app.put('/instances/video-setting', {
    config: { iamAction: action('setVideo') },
    schema: { tags, summary: 'SetVideoConfig (SetVideo)', body: VideoBody, response: { 200: EmptyEnvelope } },
  }, async (request) => {
    await streaming.setVideo(projectOf(request), request.body.instance_ids, request.body.instance_settings);
    return okEmpty('ok');
  });

  app.post('/instances/streaming/stop', {
    config: { iamAction: action('stopInstancesStreaming'), requestId: 'required' },
    schema: { tags, summary: 'StopInstancesStreaming', body: InstanceIdBody, response: { 200: EmptyEnvelope } },
  }, async (request) => {
    await streaming.stop(projectOf(request), request.body.instance_id);
    return okEmpty('OK');
  });

  app.post('/instances/session/release', {
    config: { iamAction: action('releaseInstancesSession'), requestId: 'required' },
    schema: { tags, summary: 'ReleaseInstancesSession (StopInstancesSession)', body: InstanceIdBody, response: { 200: EmptyEnvelope } },
  }, async (request) => {
    await streaming.release(projectOf(request), request.body.instance_id);
    return okEmpty('OK');
  });

  // Parametric: registered after the literal routes it must not shadow.
  app.post('/instances/:instance_id/auth', {
    config: { iamAction: action('executeInstanceAuthToken') },
    schema: { tags, summary: 'GetDeviceToken (ExecuteInstanceAuthToken)', params: InstanceParams, response: { 200: Envelope(DeviceToken) } },
  }, async (request) => {
    const issued = await streaming.issue(projectOf(request), request.params.instance_id);
    const base = new URL(streaming.publicUrl ?? `${request.protocol}://${request.host}`);
    const signalingUrl = `${base.protocol === 'https:' ? 'wss' : 'ws'}://${base.host}${SIGNALING_PATH}`;
    return ok({
      streamingId: issued.streaming_id,
      resource: {
        sdk: {
          internal: { address: null, aport: null, atype: null, address_ipv6: null },
          // Frames carry no audio: no audio port or type.
          external: { address: base.hostname, aport: null, atype: null, address_ipv6: null },
        },
        rtc: { ice_signaling: { signaling_url: signalingUrl, expired_time: String(issued.expires_in), ice_servers: [] } },
        device_id: issued.device_id,
        kp_id: issued.instance_id,
      },
      device_token: issued.device_token,
    });
  });
}

/** What the signalling endpoint needs of a `ws` WebSocket. */
interface Socket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Buffer | string): void;
  close(code?: number, reason?: string): void;
  on(event: 'close', listener: () => void): void;
}

const OPEN = 1;

/**
 * The signalling endpoint (docs/streaming.md): a WebSocket opened with a device token and device id from
 * GetDeviceToken, on which the instance's screen streams. Refused connections get an HTTP error instead of
 * the upgrade. Registered once per process, outside the KooPhone API scope (the device token is the
 * credential, not an IAM token); it also runs KooPhone's periodic upkeep.
 */
export async function signalingRoutes(app: App, services: Services) {
  const streaming = services.koophoneStreaming;
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  const open = new Set<StreamConnection>();
  let upkeep: NodeJS.Timeout | undefined;
  let upkeepRun: Promise<unknown> = Promise.resolve();
  app.addHook('onReady', async () => {
    upkeep = setInterval(() => {
      upkeepRun = Promise.all([streaming.maintain(), services.koophoneUsage.maintain()])
        .catch((error) => app.log.error(error, 'KooPhone upkeep failed'));
    }, UPKEEP_INTERVAL_MS);
    upkeep.unref();
  });
  app.addHook('preClose', async () => {
    clearInterval(upkeep);
    await Promise.all([...open].map((connection) => connection.end({ code: 1001, reason: 'server shutting down' })));
    await upkeepRun;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error instanceof DomainError && isKooPhoneCode(error.code) ? error : error.validation ? kpError('KOOPHONE.API.1000') : undefined;
    if (!known) request.log.error(error);
    const failure = known ?? kpError('KOOPHONE.API.9999');
    return reply.status(httpStatus(failure)).send({ error_code: failure.code, error_msg: failure.message });
  });

  app.route({
    method: 'GET',
    url: SIGNALING_PATH,
    schema: { hide: true, querystring: SignalingQuery },
    // Checked before the upgrade, so that a refused client gets an HTTP status (401) it can act on.
    preHandler: async (request) => {
      if (!request.ws) return;
      const { device_id, device_token } = request.query as { device_id: string; device_token: string };
      const refusal = await streaming.refusal(device_id, device_token);
      if (refusal) throw kpError('KOOPHONE.API.6001', refusal);
    },
    handler: async (_request, reply) => reply.status(426).header('Upgrade', 'websocket').send({ error_code: 'KOOPHONE.API.1000', error_msg: 'Connect with a WebSocket.' }),
    wsHandler: async (socket, request) => {
      const query = request.query as { device_id: string; device_token: string } & Partial<VideoChoice>;
      const choice: VideoChoice = { network_type: query.network_type ?? 'WIFI', encoding_type: query.encoding_type ?? 'H264', definition: query.definition ?? '720P' };
      const connection = new StreamConnection(socket as unknown as Socket, services, choice, (error) => request.log.warn({ err: error }, 'stream ended'));
      open.add(connection);
      await connection.start(query.device_id, query.device_token);
      connection.ended.finally(() => open.delete(connection));
    },
  });
}

/** One open stream: a hello, then a PNG frame at the configured rate, until something ends it. */
class StreamConnection {
  private stream?: Stream;
  private connecting?: Promise<Stream>;
  private frames?: NodeJS.Timeout;
  private renewals?: NodeJS.Timeout;
  /** A screenshot is being taken (one at a time; the stream does not wait for it to end). */
  private busy = false;
  /** The streamed settings, and `fps/code_rate` of the chosen spec in them. */
  private settings: InstanceSetting[] = [];
  private spec?: string;
  /** The screen's size, known from the first frame (the hello is sent with it). */
  private size?: { width: number; height: number };
  /** The most recent screenshot, sent at each tick, and when (performance.now()) to take the next one. */
  private latest?: Buffer;
  private nextCapture = 0;
  private closing?: Promise<void>;
  private settle!: () => void;
  /** Resolves once the stream has ended and the instance has been let go. */
  readonly ended = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(
    private readonly socket: Socket,
    private readonly services: Services,
    private readonly choice: VideoChoice,
    private readonly warn: (error: unknown) => void,
  ) {
    socket.on('close', () => void this.end());
  }

  async start(deviceId: string, deviceToken: string): Promise<void> {
    const streaming = this.services.koophoneStreaming;
    this.connecting = streaming.connect(deviceId, deviceToken, (reason) => void this.end(reason));
    try {
      this.stream = await this.connecting;
    } catch (error) {
      // The session ended between the check before the upgrade and now.
      if (!(error instanceof DomainError)) this.warn(error);
      return this.end({ code: 1008, reason: error instanceof DomainError ? error.message.slice(0, 120) : 'refused' });
    }
    if (this.socket.readyState !== OPEN || this.closing) return this.end();
    this.schedule(this.stream.settings);
    this.renewals = setInterval(() => void this.renew(), RENEW_INTERVAL_MS);
  }

  /** Closes the socket (with `reason`, unless it is closed already) and lets the instance go. Safe to call again. */
  end(reason?: CloseReason | { code: number; reason: string }): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.frames);
      clearInterval(this.renewals);
      if (this.socket.readyState === OPEN) this.socket.close(reason?.code ?? 1000, reason?.reason);
      // A screenshot still being taken is not waited for (a stuck one would hold the stream open): what it
      // brings is dropped, as nothing is sent once the stream is closing.
      // A client gone while its connection was being accepted: the instance it took is let go all the same.
      await this.connecting?.catch(() => undefined);
      if (this.stream) await this.services.koophoneStreaming.disconnect(this.stream).catch((error) => this.warn(error));
      this.settle();
    })();
    return this.closing;
  }

  /** (Re)starts the frame timer at the rate the settings give for the client's choice; says so when they change. */
  private schedule(settings: InstanceSetting[]): void {
    const spec = videoSpec(settings, this.choice);
    const key = `${spec.fps}/${spec.code_rate}`;
    if (key === this.spec) return;
    const rateChanged = !this.spec?.startsWith(`${spec.fps}/`);
    this.spec = key;
    this.settings = settings;
    if (this.size) this.send(JSON.stringify({ type: 'config', ...this.metadata() }));
    if (!rateChanged) return;
    clearInterval(this.frames);
    this.frames = setInterval(() => this.tick(), 1000 / frameRate(spec.fps));
    this.tick();
  }

  /**
   * Sends the latest screenshot, and takes a new one when it is time: frames go out at the configured rate
   * even when the phone renders its screen more slowly (the same frame is then sent again).
   */
  private tick(): void {
    if (this.closing) return;
    if (this.latest && this.socket.bufferedAmount < MAX_BUFFERED_BYTES) this.send(this.latest);
    if (this.busy || performance.now() < this.nextCapture) return;
    this.busy = true;
    void this.capture().finally(() => (this.busy = false));
  }

  private async capture(): Promise<void> {
    const started = performance.now();
    let png: Buffer;
    try {
      png = await this.services.koophoneStreaming.captureFrame(this.stream!.phoneId);
    } catch (error) {
      if (this.closing) return;
      this.warn(error);
      void this.end(STREAM_CLOSE.captureFailed);
      return;
    }
    // A screenshot may be expensive (a real phone's capture; the simulator encoding a screen it has not
    // shown before, in this process): the stream spends at most a fifth of its time taking them.
    const finished = performance.now();
    this.nextCapture = finished + (CAPTURE_SHARE - 1) * (finished - started);
    const first = !this.latest;
    this.latest = png;
    if (first) {
      // A PNG's IHDR chunk: width and height, big-endian, at bytes 16 and 20.
      this.size = { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
      this.send(JSON.stringify({ type: 'hello', ...this.metadata() }));
      this.send(png);
    }
  }

  private async renew(): Promise<void> {
    if (this.closing) return;
    try {
      const renewed = await this.services.koophoneStreaming.renew(this.stream!);
      if ('close' in renewed) void this.end(renewed.close);
      else this.schedule(renewed.settings);
    } catch (error) {
      this.warn(error);
    }
  }

  private metadata() {
    const spec = videoSpec(this.settings, this.choice);
    const stream = this.stream!;
    return {
      instance_id: stream.instanceId,
      device_id: stream.phoneId,
      streamingId: stream.streamingId,
      ...this.choice,
      code_rate: spec.code_rate,
      fps: spec.fps,
      frame_rate: frameRate(spec.fps),
      format: 'image/png',
      ...this.size,
    };
  }

  private send(data: Buffer | string): void {
    if (this.socket.readyState === OPEN && !this.closing) this.socket.send(data);
  }
}
