import { Type } from '@sinclair/typebox';
import { coded, paging } from '../../schema.ts';

export const ResourceParams = Type.Object({ project_id: Type.String(), resource_type: Type.String(), resource_id: Type.String() });
export const TypeParams = Type.Object({ project_id: Type.String(), resource_type: Type.String() });

const TagWire = Type.Object({ key: Type.String(), value: Type.String() });
const TagsWire = Type.Object({ key: Type.String(), values: Type.Array(Type.String()) });

/** A tag as BatchCreateTags and BatchDeleteTags take it: creating needs the value, deleting may leave it out. */
export const TagItem = coded(Type.Object({ key: coded(Type.String(), 'CPS.0304'), value: Type.Optional(coded(Type.String(), 'CPS.0305')) }), 'CPS.0303');

/** BatchCreateTags and BatchDeleteTags share the path; `action` tells them apart. Delete may omit values. */
export const TagActionBody = coded(
  Type.Object({
    action: coded(Type.Union([Type.Literal('create'), Type.Literal('delete')]), 'CPS.0303'),
    tags: coded(
      Type.Array(TagItem),
      'CPS.0303',
    ),
  }),
  'CPS.0303',
);

// The SDK sends `offset` and `limit` as strings; numbers are taken too.
const Count = coded(Type.String({ pattern: '^[0-9]{1,10}$' }), 'CPS.0002');

export const FilterBody = coded(
  Type.Object({
    action: coded(Type.Union([Type.Literal('filter'), Type.Literal('count')]), 'CPS.0303'),
    offset: Type.Optional(Count),
    limit: Type.Optional(Count),
    without_any_tag: Type.Optional(coded(Type.Boolean(), 'CPS.0303')),
    tags: Type.Optional(
      coded(
        Type.Array(coded(Type.Object({ key: coded(Type.String(), 'CPS.0304'), values: coded(Type.Array(coded(Type.String(), 'CPS.0315')), 'CPS.0315') }), 'CPS.0303')),
        'CPS.0303',
      ),
    ),
    matches: Type.Optional(
      coded(
        Type.Array(coded(Type.Object({ key: coded(Type.Literal('resource_name'), 'CPS.0313'), value: coded(Type.String({ maxLength: 255 }), 'CPS.0314') }), 'CPS.0312')),
        'CPS.0311',
      ),
    ),
  }),
  'CPS.0303',
);

export const ServerTags = Type.Object({ request_id: Type.String(), tags: Type.Array(TagWire) });

export const ProjectTagsQuery = Type.Object(paging(100));

export const ProjectTags = Type.Object({ request_id: Type.String(), tags: Type.Array(TagsWire), total_count: Type.Integer() });

export const ResourceInstances = Type.Object({
  request_id: Type.String(),
  resources: Type.Optional(
    Type.Array(Type.Object({ resource_id: Type.String(), resource_detail: Type.String(), resource_name: Type.String(), tags: Type.Array(TagWire) })),
  ),
  total_count: Type.Integer(),
});
