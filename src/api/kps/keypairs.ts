import { Type } from '@sinclair/typebox';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import {
  CreateKeypairAnswer,
  CreateKeypairBody,
  KeypairDetailAnswer,
  KeypairParams,
  ListKeypairsAnswer,
  ListKeypairsQuery,
  UpdateKeypairDescriptionBody,
} from '../schemas/kps/keypairs.ts';
import { ProjectParams } from '../schema.ts';

const base = '/v3/:project_id/keypairs';
/** The newest pages' default page size (docs/kps-notes.md, ListKeypairs). */
const DEFAULT_LIMIT = 1000;

/**
 * Huawei KPS key pairs (DEW): CreateKeypair, ListKeypairs, ListKeypairDetail, UpdateKeypairDescription,
 * DeleteKeypair. The path's project is checked against the credential as everywhere; the key pairs
 * themselves belong to the user or the account (src/core/keypairs.ts). IAM actions: the identity-policy
 * names of `api-dew/Permission_1`.
 */
export function keypairRoutes(app: App, { keypairs }: Services) {
  app.post(base, {
    schema: { tags: ['Key pairs'], summary: 'CreateKeypair', params: ProjectParams, body: CreateKeypairBody, response: { 200: CreateKeypairAnswer } },
    config: { iamAction: 'kps:SSHKeyPair:create' },
  }, async (request) => ({ keypair: await keypairs.create(request.principal!, request.body.keypair) }));

  app.get(base, {
    schema: { tags: ['Key pairs'], summary: 'ListKeypairs', params: ProjectParams, querystring: ListKeypairsQuery, response: { 200: ListKeypairsAnswer } },
    config: { iamAction: 'kps:SSHKeyPair:list' },
  }, async (request) => keypairs.list(request.principal!, request.query.limit ?? DEFAULT_LIMIT, request.query.marker || undefined));

  app.get(`${base}/:keypair_name`, {
    schema: { tags: ['Key pairs'], summary: 'ListKeypairDetail', params: KeypairParams, response: { 200: KeypairDetailAnswer } },
    config: { iamAction: 'kps:SSHKeyPair:get' },
  }, async (request) => ({ keypair: await keypairs.show(request.principal!, request.params.keypair_name) }));

  app.put(`${base}/:keypair_name`, {
    schema: { tags: ['Key pairs'], summary: 'UpdateKeypairDescription', params: KeypairParams, body: UpdateKeypairDescriptionBody },
    config: { iamAction: 'kps:SSHKeyPair:update' },
  }, async (request, reply) => {
    await keypairs.describe(request.principal!, request.params.keypair_name, request.body.keypair.description);
    // 200 with an empty body (the SDK's UpdateKeypairDescriptionResponse has no fields), so no response schema.
    return reply.status(200).send();
  });

  app.delete(`${base}/:keypair_name`, {
    schema: { tags: ['Key pairs'], summary: 'DeleteKeypair', params: KeypairParams, response: { 204: Type.Null() } },
    config: { iamAction: 'kps:SSHKeyPair:delete' },
  }, async (request, reply) => {
    await keypairs.delete(request.principal!, request.params.keypair_name);
    return reply.status(204).send(null);
  });
}
