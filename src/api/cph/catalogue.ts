import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { Catalogue } from '../../core/catalogue.ts';
import { ProjectParams } from '../schema.ts';
import { PhoneImages, PhoneImagesQuery, PhoneModels, PhoneModelsQuery, ServerModels, ServerModelsQuery } from '../schemas/cph/catalogue.ts';

const base = '/v1/:project_id/cloud-phone';

/** Flavors and images: ListCloudPhoneServerModels, ListCloudPhoneModels, ListCloudPhoneImages (public and custom images). */
export function catalogueRoutes(app: App, { catalogue, images }: Services) {
  app.get(`${base}/server-models`, {
    schema: {
      tags: ['Catalogue'],
      summary: 'ListCloudPhoneServerModels',
      params: ProjectParams,
      querystring: ServerModelsQuery,
      response: { 200: ServerModels },
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
      querystring: PhoneModelsQuery,
      response: { 200: PhoneModels },
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
      querystring: PhoneImagesQuery,
      response: { 200: PhoneImages },
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
