import { Type } from '@sinclair/typebox';
import type { App } from '../app.ts';
import type { Services } from '../services.ts';
import { Catalogue, ImageLabel, PhoneImageWire, PhoneModelWire, ServerModelWire } from '../../core/catalogue.ts';
import { ProjectParams, coded, paging } from '../schema.ts';

const base = '/v1/:project_id/cloud-phone';

/** Flavors and images: ListCloudPhoneServerModels, ListCloudPhoneModels, ListCloudPhoneImages (public and custom images). */
export function catalogueRoutes(app: App, { catalogue, images }: Services) {
  app.get(`${base}/server-models`, {
    schema: {
      tags: ['Catalogue'],
      summary: 'ListCloudPhoneServerModels',
      params: ProjectParams,
      querystring: Type.Object({ product_type: Type.Optional(coded(Type.Integer({ minimum: 0, maximum: 1 }), 'CPS.0144')) }),
      response: { 200: Type.Object({ request_id: Type.String(), server_models: Type.Array(ServerModelWire) }) },
    },
  }, async (request) => {
    const { product_type } = request.query;
    const models = catalogue.serverModels.filter((m) => product_type === undefined || m.product_type === product_type);
    return { request_id: request.id, server_models: models.map(Catalogue.wire) };
  });

  app.get(`${base}/phone-models`, {
    schema: {
      tags: ['Catalogue'],
      summary: 'ListCloudPhoneModels',
      params: ProjectParams,
      querystring: Type.Object({ status: Type.Optional(coded(Type.Integer({ minimum: 0, maximum: 1 }), 'CPS.0010')), ...paging(100) }),
      response: { 200: Type.Object({ request_id: Type.String(), phone_models: Type.Array(PhoneModelWire) }) },
    },
  }, async (request) => {
    const { status, offset = 0, limit = 100 } = request.query;
    const models = catalogue.phoneModels.filter((m) => status === undefined || m.status === status);
    return { request_id: request.id, phone_models: models.slice(offset, offset + limit).map(Catalogue.wire) };
  });

  app.get(`${base}/phone-images`, {
    schema: {
      tags: ['Catalogue'],
      summary: 'ListCloudPhoneImages',
      params: ProjectParams,
      querystring: Type.Object({
        // One node with `enum` (not a union of literals), so that a refused value fails on the node carrying the code.
        image_label: Type.Optional(coded(Type.Unsafe<ImageLabel>({ type: 'string', enum: ImageLabel.anyOf.map((label) => label.const) }), 'CPS.0142')),
        is_public: Type.Optional(coded(Type.Integer({ minimum: 1, maximum: 2 }), 'CPS.0143')),
        // Huawei's current SDK sends this one.
        image_type: Type.Optional(coded(Type.Unsafe<'public' | 'private' | 'share' | 'all'>({ type: 'string', enum: ['public', 'private', 'share', 'all'] }), 'CPS.0116')),
      }),
      response: { 200: Type.Object({ request_id: Type.String(), phone_images: Type.Array(PhoneImageWire) }) },
    },
  }, async (request) => {
    const { image_label, is_public, image_type = 'all' } = request.query;
    // The catalogue's images are the public ones; after them come the project's own custom images and those shared with it.
    const listed = [...catalogue.images.map((image) => ({ image, type: 'public' })), ...(await images.phoneImages(request.params.project_id))].filter(
      ({ image, type }) =>
        (image_type === 'all' || type === image_type) &&
        (image_label === undefined || image.image_label === image_label) &&
        (is_public === undefined || image.is_public === is_public),
    );
    return { request_id: request.id, phone_images: listed.map(({ image }) => Catalogue.wire(image)) };
  });
}
