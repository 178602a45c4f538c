import type { OutgoingHttpHeaders } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import type { BatchEntry } from '../../core/phones.ts';
import { wireTime } from '../../core/runtime.ts';
import type { ServerAddress, ServerPort } from '../../store/schema.ts';
import { ProjectParams, RequestId } from '../schema.ts';
import { BatchResponse, ListPhonesQuery, PhoneBatchBody, PhoneDetail, PhoneList, PhoneParams, PhoneWire, PropertyBody, RenamePhoneBody, StopBody } from '../schemas/cph/phones.ts';

const base = '/v1/:project_id/cloud-phone';

/** Phone queries and the phone lifecycle operations. */
export function phoneRoutes(app: App, { phones, phoneListCache }: Services) {
  app.get(`${base}/phones`, {
    schema: {
      tags: ['Phones'],
      summary: 'ListCloudPhones',
      params: ProjectParams,
      querystring: ListPhonesQuery,
      response: { 200: PhoneList },
    },
  }, async (request, reply) => {
    const { offset = 0, limit = 200, phone_name, server_id, status, type } = request.query;
    const { project_id } = request.params;
    // Everything after the request id, made once per store change (pollers ask for the same pages again and again).
    const rest = await phoneListCache.bytes(JSON.stringify([project_id, offset, limit, phone_name, server_id, status, type]), async () => {
      const page = await phones.list(project_id, { offset, limit, phone_name, server_id, status, type });
      const imageVersions = await phones.imageVersions([...new Set(page.phones.map((phone) => phone.image_id))]);
      const wire = page.phones.map((phone) => ({
        ...phoneWire(phone),
        image_version: imageVersions.get(phone.image_id) ?? '',
        type: phone.type,
        imei: phone.imei,
        traffic_type: phone.traffic_type,
        volume_mode: phone.volume_mode,
        has_encrypt: phone.has_encrypt,
      }));
      return `"count":${page.count},"phones":${JSON.stringify(wire satisfies Static<typeof PhoneWire>[])}}`;
    });
    // Bytes are sent as they are, past the response serializer, and behind the request id in one write
    // without being copied into a buffer of their own (a copy per request of a page of ~55 KB, and the
    // garbage it leaves, was a tenth of this route's time). Fastify still logs the response and runs its
    // onResponse hooks; the headers set so far are written here.
    const head = Buffer.from(`{"request_id":${JSON.stringify(request.id)},`);
    reply.hijack();
    reply.raw.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), 'content-type': 'application/json; charset=utf-8', 'content-length': head.length + rest.length });
    reply.raw.cork();
    reply.raw.write(head);
    reply.raw.end(rest);
    reply.raw.uncork();
  });

  app.get(`${base}/phones/:phone_id`, {
    schema: {
      tags: ['Phones'],
      summary: 'ShowCloudPhoneDetail',
      params: PhoneParams,
      response: { 200: PhoneDetail },
    },
  }, async (request) => {
    const phone = await phones.get(request.params.project_id, request.params.phone_id);
    return {
      request_id: request.id,
      ...phoneWire(phone),
      property: phone.property,
      access_infos: accessInfos(phone.phone_ip, phone.slot, phone.addresses, phone.ports),
      volumes: [phoneVolume(phone)],
    };
  });

  app.put(`${base}/phones/:phone_id`, {
    schema: {
      tags: ['Phones'],
      summary: 'UpdatePhoneName',
      params: PhoneParams,
      body: RenamePhoneBody,
      response: { 200: RequestId },
    },
  }, async (request) => {
    await phones.rename(request.params.project_id, request.params.phone_id, request.body.phone_name);
    return { request_id: request.id };
  });

  const batchRoute = <B extends TSchema>(path: string, summary: string, body: B, start: (projectId: string, requestId: string, body: Static<B>) => Promise<BatchEntry[]>) =>
    app.post(`${base}/phones/${path}`, {
      schema: { tags: ['Phones'], summary, params: ProjectParams, body, response: { 200: BatchResponse } },
    }, async (request) => {
      const jobs = await start(request.params.project_id, request.id, request.body as Static<B>);
      return { request_id: request.id, jobs };
    });

  batchRoute('batch-restart', 'RestartCloudPhone', PhoneBatchBody, (project, id, body) => phones.restart(project, id, body.phones, body.image_id));
  batchRoute('batch-reset', 'ResetCloudPhone', PhoneBatchBody, (project, id, body) => phones.reset(project, id, body.phones, body.image_id));
  batchRoute('batch-stop', 'PowerOffCloudPhone', StopBody, (project, id, body) => phones.stop(project, id, body.phone_ids));
  batchRoute('batch-update-property', 'UpdateCloudPhoneProperty', PropertyBody, (project, id, body) => phones.updateProperty(project, id, body.phones));
}

/**
 * The phone's data disk: its flavor's size, on its server's volume type. The id is the phone id in UUID
 * form, so it is stable without being stored.
 */
function phoneVolume(phone: Awaited<ReturnType<Services['phones']['get']>>) {
  const id = phone.id.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
  return {
    volume_id: id,
    volume_name: `VOLUME_${phone.id}`,
    volume_size: phone.disk,
    volume_type: phone.volumes[0]?.volume_type ?? 'SSD',
    create_time: wireTime(phone.created_at),
    update_time: wireTime(phone.updated_at),
  };
}

/** The fields the phone list and the phone detail share. */
function phoneWire(phone: Awaited<ReturnType<Services['phones']['list']>>['phones'][number]) {
  return {
    phone_name: phone.name,
    server_id: phone.server_id,
    phone_id: phone.id,
    phone_model_name: phone.phone_model_name,
    image_id: phone.image_id,
    vnc_enable: 'true',
    status: phone.status,
    availability_zone: phone.availability_zone,
    metadata: { order_id: phone.order_id, product_id: phone.product_id },
    create_time: wireTime(phone.created_at),
    update_time: wireTime(phone.updated_at),
  };
}

/**
 * One entry per application port bought with the server. Phones of a server share its addresses; each
 * phone gets its own public port per application port, so access ports never collide within a server.
 */
function accessInfos(phoneIp: string, slot: number, addresses: ServerAddress[], ports: ServerPort[]) {
  const address = addresses[(slot - 1) % Math.max(addresses.length, 1)] ?? { server_ip: '', public_ip: '' };
  return ports.map((port, index) => {
    const publicIp = port.internet_accessible ? address.public_ip : '';
    return {
      type: port.name,
      phone_ip: phoneIp,
      device_ip: phoneIp,
      server_ip: address.server_ip,
      intranet_ip: address.server_ip,
      public_ip: publicIp,
      access_ip: publicIp,
      listen_port: port.listen_port,
      access_port: 10000 + (slot - 1) * ports.length + index,
    };
  });
}
