import { Type } from '@sinclair/typebox';
import { Nullable } from '../../schema.ts';
import { DEFINITIONS, ENCODING_TYPES, NETWORK_TYPES } from '../../../core/koophone/streaming.ts';
import { InstanceId, InstanceIds } from '../../koophone/common.ts';

const OneOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((value) => Type.Literal(value)));

export const VideoSpec = Type.Object({
  code_rate: Type.Integer({ minimum: 100, maximum: 10000, multipleOf: 100 }),
  fps: Type.Union([Type.Literal(30), Type.Literal(60)]),
});

/** One network and encoding type's video specs (SetVideoConfig `instance_settings`). */
export const InstanceSetting = Type.Object({
  network_type: OneOf(NETWORK_TYPES),
  encoding_type: OneOf(ENCODING_TYPES),
  video_spec_groups: Type.Array(Type.Object({ definition_540P: VideoSpec, definition_720P: VideoSpec, definition_1080P: VideoSpec }), { minItems: 1 }),
});

export const VideoBody = Type.Object({
  instance_ids: InstanceIds,
  // Six combinations at most: a seventh repeats one (1000); fewer than six distinct ones is 1005.
  instance_settings: Type.Array(InstanceSetting, { maxItems: NETWORK_TYPES.length * ENCODING_TYPES.length }),
});

export const InstanceIdBody = Type.Object({ instance_id: InstanceId });

export const DeviceToken = Type.Object({
  streamingId: Type.String(),
  resource: Type.Object({
    sdk: Type.Object({
      // The printed types: String ports and types inside, Integer ones outside (spec §7 A18).
      internal: Type.Object({ address: Nullable(Type.String()), aport: Nullable(Type.String()), atype: Nullable(Type.String()), address_ipv6: Nullable(Type.String()) }),
      external: Type.Object({ address: Nullable(Type.String()), aport: Nullable(Type.Integer()), atype: Nullable(Type.Integer()), address_ipv6: Nullable(Type.String()) }),
    }),
    rtc: Type.Object({ ice_signaling: Type.Object({ signaling_url: Type.String(), expired_time: Nullable(Type.String()), ice_servers: Type.Array(Type.String()) }) }),
    device_id: Nullable(Type.String()),
    kp_id: Type.String(),
  }),
  device_token: Type.String(),
});

export const InstanceParams = Type.Object({ instance_id: InstanceId });

/** The signalling WebSocket's query (docs/streaming.md). */
export const SignalingQuery = Type.Object({
  device_id: Type.String({ minLength: 1, maxLength: 64 }),
  device_token: Type.String({ minLength: 1, maxLength: 64 }),
  network_type: Type.Optional(OneOf(NETWORK_TYPES)),
  encoding_type: Type.Optional(OneOf(ENCODING_TYPES)),
  definition: Type.Optional(OneOf(DEFINITIONS)),
});
