import { Type } from '@sinclair/typebox';
import { FINITE_KEYWORD, coded, paging } from '../../schema.ts';

export const ImageParams = Type.Object({ project_id: Type.String(), image_id: Type.String() });

/** One element of ListImages `image_infos` (SDK ListImagesView). */
export const ImageInfo = Type.Object({
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
export const Member = Type.Object({ create_time: Type.Integer(), update_time: Type.Integer(), image_id: Type.String(), member_id: Type.String() });

// Unix seconds, or milliseconds above 1e11 (epochTime); at most the last millisecond of year 9999, the last
// instant both a Date and the store's timestamp text can hold.
const Time = coded(Type.Integer({ minimum: 0, maximum: 253_402_300_799_999, [FINITE_KEYWORD]: true }), 'CPS.0174');

/** UpdateImageMember `status` (SDK UpdateImageMemberRequestBody): one node with `enum`, carrying the code. */
const MemberAnswer = coded(Type.Unsafe<'accepted' | 'rejected'>({ type: 'string', enum: ['accepted', 'rejected'] }), 'CPS.0010');

export const ListImagesQuery = Type.Object({
  ...paging(100),
  // One node with `enum`, so that a refused value fails on the node carrying the code.
  image_type: Type.Optional(coded(Type.Unsafe<'private' | 'share' | 'public'>({ type: 'string', enum: ['private', 'share', 'public'] }), 'CPS.0116')),
  status: Type.Optional(coded(Type.Integer({ enum: [0, 1, 2] }), 'CPS.0010')),
  image_id: Type.Optional(coded(Type.String({ maxLength: 32 }), 'CPS.0030')),
  image_name: Type.Optional(coded(Type.String({ maxLength: 128 }), 'CPS.0162')),
  create_since: Type.Optional(Time),
  create_until: Type.Optional(Time),
  src_project_id: Type.Optional(coded(Type.String({ maxLength: 32 }), 'CPS.0046')),
});

export const ImageList = Type.Object({ request_id: Type.String(), image_infos: Type.Array(ImageInfo), total: Type.Integer() });

/** CreateImage (OpenCPH's own): an image of a phone. */
export const CreateImageBody = Type.Object({
  phone_id: coded(Type.String(), 'CPS.0004'),
  image_name: coded(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }), 'CPS.0162'),
});

export const CreatedImage = Type.Object({ request_id: Type.String(), image_id: Type.String() });

export const AddMemberBody = coded(Type.Object({ member: coded(Type.String(), 'CPS.0046') }), 'CPS.0046');

export const UpdateMemberBody = coded(Type.Object({ status: MemberAnswer }), 'CPS.0010');

export const MemberList = Type.Object({ request_id: Type.String(), members: Type.Array(Member) });

export const MemberParams = Type.Object({ project_id: Type.String(), image_id: Type.String(), member_id: Type.String() });
