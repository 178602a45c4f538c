import { Type } from '@sinclair/typebox';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { FilterBody, ProjectTags, ProjectTagsQuery, ResourceInstances, ResourceParams, ServerTags, TagActionBody, TypeParams } from '../schemas/cph/tags.ts';
import { cpsError } from '../../core/errors.ts';

const base = '/v1/:project_id/:resource_type';

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
      response: { 200: ServerTags },
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
      querystring: ProjectTagsQuery,
      response: { 200: ProjectTags },
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
      response: { 200: ResourceInstances },
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
