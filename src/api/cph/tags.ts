import { Type } from '@sinclair/typebox';
import type { App } from '../app.ts';
import type { Services } from '../services.ts';
import { coded, paging } from '../schema.ts';
import { cpsError } from '../../core/errors.ts';

const base = '/v1/:project_id/:resource_type';

const ResourceParams = Type.Object({ project_id: Type.String(), resource_type: Type.String(), resource_id: Type.String() });
const TypeParams = Type.Object({ project_id: Type.String(), resource_type: Type.String() });

const TagWire = Type.Object({ key: Type.String(), value: Type.String() });
const TagsWire = Type.Object({ key: Type.String(), values: Type.Array(Type.String()) });

/** BatchCreateTags and BatchDeleteTags share the path; `action` tells them apart. Delete may omit values. */
const TagActionBody = coded(
  Type.Object({
    action: coded(Type.Union([Type.Literal('create'), Type.Literal('delete')]), 'CPS.0303'),
    tags: coded(
      Type.Array(coded(Type.Object({ key: coded(Type.String(), 'CPS.0304'), value: Type.Optional(coded(Type.String(), 'CPS.0305')) }), 'CPS.0303')),
      'CPS.0303',
    ),
  }),
  'CPS.0303',
);

// The SDK sends `offset` and `limit` as strings; numbers are taken too.
const Count = coded(Type.String({ pattern: '^[0-9]{1,10}$' }), 'CPS.0002');

const FilterBody = coded(
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

/** Tags of cloud phone servers: BatchCreateTags, BatchDeleteTags, ListResourceTags, ListProjectTags, ListResourceInstances. */
export function tagRoutes(app: App, { tags }: Services) {
  app.post(`${base}/:resource_id/tags/action`, {
    schema: {
      tags: ['Tags'],
      summary: 'BatchCreateTags / BatchDeleteTags',
      params: ResourceParams,
      body: TagActionBody,
      response: { 204: Type.Null() },
    },
  }, async (request, reply) => {
    const { project_id, resource_type, resource_id } = request.params;
    const { action, tags: list } = request.body;
    if (action === 'create') await tags.create(project_id, resource_type, resource_id, list);
    else await tags.delete(project_id, resource_type, resource_id, list);
    return reply.status(204).send(null);
  });

  app.get(`${base}/:resource_id/tags`, {
    schema: {
      tags: ['Tags'],
      summary: 'ListResourceTags',
      params: ResourceParams,
      response: { 200: Type.Object({ request_id: Type.String(), tags: Type.Array(TagWire) }) },
    },
  }, async (request) => {
    const { project_id, resource_type, resource_id } = request.params;
    return { request_id: request.id, tags: await tags.ofServer(project_id, resource_type, resource_id) };
  });

  app.get(`${base}/tags`, {
    schema: {
      tags: ['Tags'],
      summary: 'ListProjectTags',
      params: TypeParams,
      querystring: Type.Object(paging(100)),
      response: { 200: Type.Object({ request_id: Type.String(), tags: Type.Array(TagsWire), total_count: Type.Integer() }) },
    },
  }, async (request) => {
    const { offset = 0, limit = 100 } = request.query;
    return { request_id: request.id, ...(await tags.ofProject(request.params.project_id, request.params.resource_type, offset, limit)) };
  });

  app.post(`${base}/resource_instances/action`, {
    schema: {
      tags: ['Tags'],
      summary: 'ListResourceInstances',
      params: TypeParams,
      body: FilterBody,
      response: {
        200: Type.Object({
          request_id: Type.String(),
          resources: Type.Optional(
            Type.Array(Type.Object({ resource_id: Type.String(), resource_detail: Type.String(), resource_name: Type.String(), tags: Type.Array(TagWire) })),
          ),
          total_count: Type.Integer(),
        }),
      },
    },
  }, async (request) => {
    const { action, offset = '0', limit = '1000', without_any_tag, tags: tagFilter, matches } = request.body;
    const page = { offset: Number(offset), limit: Number(limit) };
    if (page.limit < 1 || page.limit > 1000) throw cpsError('CPS.0002');
    const result = await tags.filter(request.params.project_id, request.params.resource_type, {
      action,
      ...page,
      without_any_tag,
      tags: tagFilter,
      resource_names: matches?.map((match) => match.value),
    });
    return { request_id: request.id, ...result };
  });
}
