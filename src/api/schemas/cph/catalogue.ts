import { Type } from '@sinclair/typebox';
import { ImageLabel, PhoneImageWire, PhoneModelWire, ServerModelWire } from '../../../core/catalogue.ts';
import { coded, paging } from '../../schema.ts';

export const ServerModelsQuery = Type.Object({ product_type: Type.Optional(coded(Type.Integer({ minimum: 0, maximum: 1 }), 'CPS.0144')) });

export const ServerModels = Type.Object({ request_id: Type.String(), server_models: Type.Array(ServerModelWire) });

export const PhoneModelsQuery = Type.Object({ status: Type.Optional(coded(Type.Integer({ minimum: 0, maximum: 1 }), 'CPS.0010')), ...paging(100) });

export const PhoneModels = Type.Object({ request_id: Type.String(), phone_models: Type.Array(PhoneModelWire) });

export const PhoneImagesQuery = Type.Object({
  // One node with `enum` (not a union of literals), so that a refused value fails on the node carrying the code.
  image_label: Type.Optional(coded(Type.Unsafe<ImageLabel>({ type: 'string', enum: ImageLabel.anyOf.map((label) => label.const) }), 'CPS.0142')),
  is_public: Type.Optional(coded(Type.Integer({ minimum: 1, maximum: 2 }), 'CPS.0143')),
  // Huawei's current SDK sends this one.
  image_type: Type.Optional(coded(Type.Unsafe<'public' | 'private' | 'share' | 'all'>({ type: 'string', enum: ['public', 'private', 'share', 'all'] }), 'CPS.0116')),
});

export const PhoneImages = Type.Object({ request_id: Type.String(), phone_images: Type.Array(PhoneImageWire) });
