import { Type } from '@sinclair/typebox';
import { coded } from '../../schema.ts';
import { Envelope, InstanceIds } from '../../koophone/common.ts';
import { SkuWire } from '../../../core/koophone/skus.ts';

// Only "0" (general cloud terminal SKUs); the document's example omits it (spec §7 A14).
export const SkuQuery = Type.Object({ type: Type.Optional(Type.String({ pattern: '^0$' })) });

export const Skus = Envelope(
  Type.Object({
    bandInfo: Type.Object({ id: Type.String(), cbcSkuId: Type.String() }),
    skuSpecResponseList: Type.Array(Type.Object({ regionId: Type.String(), skuResponses: Type.Array(SkuWire) })),
  }),
);

/** How CreateInstance's instances are billed (monthly or yearly, spec §2.13). */
const ChargeParam = Type.Object({
  chargingMode: Type.Literal(1),
  periodType: Type.Union([Type.Literal(2), Type.Literal(3)]),
  periodNum: Type.Integer(),
  isAutoPay: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
  isAutoRenew: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
});

/** CreateInstance (spec §2.13). */
export const CreateBody = Type.Object({
  // Missing or empty: 3003; another value: 1000 (spec §2.13 validation order).
  os: coded(Type.String({ minLength: 1, pattern: '^(AOSP9|AOSP11)$' }), 'KOOPHONE.API.1000', 'KOOPHONE.API.3003'),
  instanceSkuId: Type.String({ minLength: 1, maxLength: 64 }),
  bandSkuId: Type.String({ minLength: 1, maxLength: 64 }),
  regionId: Type.String({ minLength: 1, maxLength: 64 }),
  instanceNamePrefix: Type.String({ minLength: 1, maxLength: 14, pattern: '^[^\\u0000-\\u001f\\u007f/]+$' }),
  bandSize: Type.Number({ exclusiveMinimum: 0 }),
  count: Type.Integer({ minimum: 1, maximum: 1500 }),
  chargeParam: ChargeParam,
  network: Type.Optional(Type.Union([Type.Literal('EIP'), Type.Literal('ADN')])),
});

export const Order = Envelope(Type.Object({ orderId: Type.String(), instanceInfos: Type.Array(Type.Object({ instanceId: Type.String(), instanceName: Type.String() })) }));

/** DeleteInstance (spec §2.14). */
export const DeleteBody = Type.Object({ instanceIdList: InstanceIds });

export const Deleted = Type.Object({ data: Type.Null(), error_code: Type.String(), error_msg: Type.String() });
