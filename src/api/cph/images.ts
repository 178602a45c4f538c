import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { epochTime } from '../../core/images.ts';
import { ProjectParams, RequestId } from '../schema.ts';
import { AddMemberBody, CreateImageBody, CreatedImage, ImageList, ImageParams, ListImagesQuery, MemberList, MemberParams, UpdateMemberBody } from '../schemas/cph/images.ts';

const base = '/v1/:project_id/cloud-phone/images';

/** Custom images: ListImages, DeleteImage, image members, and (OpenCPH's own) making an image of a phone. */
export function imageRoutes(app: App, { images }: Services) {
  app.get(base, {
    schema: {
      tags: ['Images'],
      summary: 'ListImages',
      params: ProjectParams,
      querystring: ListImagesQuery,
      response: { 200: ImageList },
    },
  }, async (request) => {
    const { offset = 0, limit = 100, create_since, create_until, ...filters } = request.query;
    const page = await images.list(request.params.project_id, {
      offset,
      limit,
      ...filters,
      create_since: create_since === undefined ? undefined : epochTime(create_since),
      create_until: create_until === undefined ? undefined : epochTime(create_until),
    });
    return { request_id: request.id, image_infos: page.images, total: page.total };
  });

  // Huawei makes custom images in its console; this is how OpenCPH makes one through the API.
  app.post(base, {
    schema: {
      tags: ['Images'],
      summary: 'CreateImage (OpenCPH)',
      params: ProjectParams,
      body: CreateImageBody,
      response: { 200: CreatedImage },
    },
  }, async (request) => {
    const imageId = await images.create(request.params.project_id, request.body.phone_id, request.body.image_name);
    return { request_id: request.id, image_id: imageId };
  });

  app.delete(`${base}/:image_id`, {
    schema: { tags: ['Images'], summary: 'DeleteImage', params: ImageParams, response: { 200: RequestId } },
  }, async (request) => {
    await images.delete(request.params.project_id, request.params.image_id);
    return { request_id: request.id };
  });

  app.post(`${base}/:image_id/members`, {
    schema: {
      tags: ['Images'],
      summary: 'AddImageMember',
      params: ImageParams,
      body: AddMemberBody,
      response: { 200: RequestId },
    },
  }, async (request) => {
    await images.addMember(request.params.project_id, request.params.image_id, request.body.member);
    return { request_id: request.id };
  });

  // Sent by the project the image is shared with, not by its owner.
  app.put(`${base}/:image_id/members`, {
    schema: {
      tags: ['Images'],
      summary: 'UpdateImageMember',
      description: 'The project an image is shared with accepts or rejects it; a shared image that is not accepted cannot be used.',
      params: ImageParams,
      body: UpdateMemberBody,
      response: { 200: RequestId },
    },
  }, async (request) => {
    await images.updateMember(request.params.project_id, request.params.image_id, request.body.status);
    return { request_id: request.id };
  });

  app.get(`${base}/:image_id/members`, {
    schema: {
      tags: ['Images'],
      summary: 'ListImageMembers',
      params: ImageParams,
      response: { 200: MemberList },
    },
  }, async (request) => {
    return { request_id: request.id, members: await images.members(request.params.project_id, request.params.image_id) };
  });

  app.delete(`${base}/:image_id/members/:member_id`, {
    schema: {
      tags: ['Images'],
      summary: 'DeleteImageMember',
      params: MemberParams,
      response: { 200: RequestId },
    },
  }, async (request) => {
    await images.deleteMember(request.params.project_id, request.params.image_id, request.params.member_id);
    return { request_id: request.id };
  });
}
