import { Type } from '@sinclair/typebox';
import type { App } from '../app.ts';
import type { Services } from '../services.ts';
import { epochTime } from '../../core/images.ts';
import { FINITE_KEYWORD, ProjectParams, coded, paging } from '../schema.ts';

const base = '/v1/:project_id/cloud-phone/images';

const ImageParams = Type.Object({ project_id: Type.String(), image_id: Type.String() });

/** One element of ListImages `image_infos` (SDK ListImagesView). */
const ImageInfo = Type.Object({
  domain_id: Type.String(),
  image_name: Type.String(),
  update_time: Type.String(),
  create_time: Type.String(),
  image_size: Type.Integer({ description: 'bytes' }),
  project_id: Type.Optional(Type.String({ description: 'own images only' })),
  image_id: Type.String(),
  image_version: Type.String(),
  image_type: Type.Union([Type.Literal('private'), Type.Literal('share')]),
  status: Type.Integer({ description: '0 creating, 1 usable, 2 creation failed' }),
  src_project_id: Type.Optional(Type.String({ description: 'shared images only: the owner project' })),
  member_status: Type.Optional(
    Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('rejected')], {
      description: 'OpenCPH, shared images only: the caller\'s answer to the share (UpdateImageMember); only an accepted image may be used',
    }),
  ),
});

/** One element of ListImageMembers `members` (SDK ListImageMembersView); times are epoch milliseconds. */
const Member = Type.Object({ create_time: Type.Integer(), update_time: Type.Integer(), image_id: Type.String(), member_id: Type.String() });

const RequestId = Type.Object({ request_id: Type.String() });

// Unix seconds, or milliseconds above 1e11 (epochTime); at most the last millisecond of year 9999, the last
// instant both a Date and the store's timestamp text can hold.
const Time = coded(Type.Integer({ minimum: 0, maximum: 253_402_300_799_999, [FINITE_KEYWORD]: true }), 'CPS.0174');

/** UpdateImageMember `status` (SDK UpdateImageMemberRequestBody): one node with `enum`, carrying the code. */
const MemberAnswer = coded(Type.Unsafe<'accepted' | 'rejected'>({ type: 'string', enum: ['accepted', 'rejected'] }), 'CPS.0010');

/** Custom images: ListImages, DeleteImage, image members, and (OpenCPH's own) making an image of a phone. */
export function imageRoutes(app: App, { images }: Services) {
  app.get(base, {
    schema: {
      tags: ['Images'],
      summary: 'ListImages',
      params: ProjectParams,
      querystring: Type.Object({
        ...paging(100),
        // One node with `enum`, so that a refused value fails on the node carrying the code.
        image_type: Type.Optional(coded(Type.Unsafe<'private' | 'share' | 'public'>({ type: 'string', enum: ['private', 'share', 'public'] }), 'CPS.0116')),
        status: Type.Optional(coded(Type.Integer({ enum: [0, 1, 2] }), 'CPS.0010')),
        image_id: Type.Optional(coded(Type.String({ maxLength: 32 }), 'CPS.0030')),
        image_name: Type.Optional(coded(Type.String({ maxLength: 128 }), 'CPS.0162')),
        create_since: Type.Optional(Time),
        create_until: Type.Optional(Time),
        src_project_id: Type.Optional(coded(Type.String({ maxLength: 32 }), 'CPS.0046')),
      }),
      response: { 200: Type.Object({ request_id: Type.String(), image_infos: Type.Array(ImageInfo), total: Type.Integer() }) },
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
      body: Type.Object({
        phone_id: coded(Type.String(), 'CPS.0004'),
        image_name: coded(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }), 'CPS.0162'),
      }),
      response: { 200: Type.Object({ request_id: Type.String(), image_id: Type.String() }) },
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
      body: coded(Type.Object({ member: coded(Type.String(), 'CPS.0046') }), 'CPS.0046'),
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
      body: coded(Type.Object({ status: MemberAnswer }), 'CPS.0010'),
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
      response: { 200: Type.Object({ request_id: Type.String(), members: Type.Array(Member) }) },
    },
  }, async (request) => {
    return { request_id: request.id, members: await images.members(request.params.project_id, request.params.image_id) };
  });

  app.delete(`${base}/:image_id/members/:member_id`, {
    schema: {
      tags: ['Images'],
      summary: 'DeleteImageMember',
      params: Type.Object({ project_id: Type.String(), image_id: Type.String(), member_id: Type.String() }),
      response: { 200: RequestId },
    },
  }, async (request) => {
    await images.deleteMember(request.params.project_id, request.params.image_id, request.params.member_id);
    return { request_id: request.id };
  });
}
