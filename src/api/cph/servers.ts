import type { Static } from '@sinclair/typebox';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import type { Server } from '../../store/schema.ts';
import { wireTime } from '../../core/runtime.ts';
import { ProjectParams, RequestId } from '../schema.ts';
import { bandwidthWire } from './bandwidth.ts';
import {
  ChangeBody,
  ChangeModelBody,
  ChangeModelResponse,
  ChangeResponse,
  CreateBareBody,
  CreateV1Body,
  CreateV2Body,
  DeleteBody,
  DeleteResponse,
  ListServersQuery,
  ListServersResponse,
  PurchaseResponse,
  RenameBody,
  RestartBody,
  ServerDetail,
  ServerIdParams,
  ServerJobs,
  UpdateKeypairBody,
} from '../schemas/cph/servers.ts';

const v1 = '/v1/:project_id/cloud-phone';
const v2 = '/v2/:project_id/cloud-phone';
const v21 = '/v2.1/:project_id/cloud-phone';

/** Servers: the purchase APIs (v1, v2, and v2.1 without phones), list, detail, rename, restart, flavor and server changes, key pairs, delete. */
export function serverRoutes(app: App, { servers }: Services) {
  const purchase = (network: 'v1' | 'v2') => async (request: { id: string; params: { project_id: string }; body: Static<typeof CreateV2Body> | Static<typeof CreateV1Body> }) => {
    const result = await servers.purchase(request.params.project_id, request.id, request.body, network);
    return { request_id: request.id, ...result };
  };

  app.post(`${v1}/phones`, {
    schema: { tags: ['Servers'], summary: 'CreateCloudPhoneServer', params: ProjectParams, body: CreateV1Body, response: { 200: PurchaseResponse } },
  }, purchase('v1'));

  app.post(`${v2}/servers`, {
    schema: { tags: ['Servers'], summary: 'CreateNet2CloudPhoneServer', params: ProjectParams, body: CreateV2Body, response: { 200: PurchaseResponse } },
  }, purchase('v2'));

  app.post(`${v21}/servers`, {
    schema: { tags: ['Servers'], summary: 'CreateCloudPhoneSingleServer', params: ProjectParams, body: CreateBareBody, response: { 200: PurchaseResponse } },
  }, async (request) => {
    const result = await servers.purchaseBare(request.params.project_id, request.id, request.body);
    return { request_id: request.id, ...result };
  });

  app.get(`${v1}/servers`, {
    schema: {
      tags: ['Servers'],
      summary: 'ListCloudPhoneServers',
      params: ProjectParams,
      querystring: ListServersQuery,
      response: { 200: ListServersResponse },
    },
  }, async (request) => {
    const { offset = 0, limit = 100, ...filters } = request.query;
    const rows = await servers.list(request.params.project_id, { offset, limit, ...filters });
    return { request_id: request.id, servers: rows.map(serverWire) };
  });

  app.get(`${v1}/servers/:server_id`, {
    schema: { tags: ['Servers'], summary: 'ShowCloudPhoneServerDetail', params: ServerIdParams, response: { 200: ServerDetail } },
  }, async (request) => {
    const server = await servers.get(request.params.project_id, request.params.server_id);
    const bandwidths = await servers.bandwidthsOf(server.id);
    return {
      request_id: request.id,
      ...serverWire(server),
      band_widths: bandwidths.map(bandwidthWire),
      volumes: server.volumes.map((v) => ({ ...v, create_time: wireTime(server.created_at), update_time: wireTime(server.updated_at) })),
      security_groups: server.security_groups,
    };
  });

  app.put(`${v1}/servers/:server_id`, {
    schema: {
      tags: ['Servers'],
      summary: 'UpdateServerName',
      params: ServerIdParams,
      body: RenameBody,
      response: { 200: RequestId },
    },
  }, async (request) => {
    await servers.rename(request.params.project_id, request.params.server_id, request.body.server_name);
    return { request_id: request.id };
  });

  app.post(`${v1}/servers/batch-restart`, {
    schema: {
      tags: ['Servers'],
      summary: 'RestartCloudPhoneServer',
      params: ProjectParams,
      body: RestartBody,
      response: { 200: ServerJobs },
    },
  }, async (request) => {
    const jobs = await servers.restart(request.params.project_id, request.id, request.body.server_ids);
    return { request_id: request.id, jobs };
  });

  app.post(`${v1}/servers/change-server-model`, {
    schema: {
      tags: ['Servers'],
      summary: 'ChangeCloudPhoneServerModel',
      params: ProjectParams,
      body: ChangeModelBody,
      response: { 200: ChangeModelResponse },
    },
  }, async (request) => {
    const order = await servers.changeModel(request.params.project_id, request.id, request.body);
    return { request_id: request.id, ...order };
  });

  app.post(`${v2}/servers/:server_id/change`, {
    schema: {
      tags: ['Servers'],
      summary: 'ChangeCloudPhoneServer',
      params: ServerIdParams,
      body: ChangeBody,
      response: { 200: ChangeResponse },
    },
  }, async (request) => {
    const jobId = await servers.change(request.params.project_id, request.id, request.params.server_id, request.body);
    return { request_id: request.id, server_id: request.params.server_id, job_id: jobId };
  });

  app.put(`${v1}/servers/open-access`, {
    schema: {
      tags: ['Servers'],
      summary: 'UpdateKeypair',
      params: ProjectParams,
      body: UpdateKeypairBody,
      response: { 200: ServerJobs },
    },
  }, async (request) => {
    const jobs = await servers.updateKeypairs(request.params.project_id, request.id, request.body.servers);
    return { request_id: request.id, jobs };
  });

  app.delete(`${v2}/servers`, {
    schema: {
      tags: ['Servers'],
      summary: 'DeleteCloudPhoneServer',
      params: ProjectParams,
      body: DeleteBody,
      response: { 200: DeleteResponse },
    },
  }, async (request) => {
    const jobId = await servers.delete(request.params.project_id, request.id, request.body.server_ids);
    return { request_id: request.id, job_id: jobId };
  });
}

function serverWire(server: Server) {
  return {
    server_name: server.name,
    availability_zone: server.availability_zone,
    server_id: server.id,
    server_model_name: server.server_model_name,
    phone_model_name: server.phone_model_name,
    keypair_name: server.keypair_name ?? '',
    status: server.status,
    vpc_id: server.vpc_id,
    resource_project_id: server.project_id,
    cidr: server.vpc_cidr,
    vpc_cidr: server.vpc_cidr,
    subnet_id: server.subnet_id,
    subnet_cidr: server.subnet_cidr,
    metadata: { order_id: server.order_id, product_id: server.product_id },
    addresses: server.addresses.map((a) => ({ intranet_ip: a.server_ip, access_ip: a.public_ip, server_ip: a.server_ip, public_ip: a.public_ip })),
    network_version: server.network_version,
    enterprise_project_id: server.enterprise_project_id,
    create_time: wireTime(server.created_at),
    update_time: wireTime(server.updated_at),
  };
}
