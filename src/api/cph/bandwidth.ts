import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import type { Bandwidth } from '../../store/schema.ts';
import { wireTime } from '../../core/runtime.ts';
import { ProjectParams } from '../schema.ts';
import { BandwidthParams, ListBandwidthsQuery, ListBandwidthsResponse, UpdateBandwidthBody, UpdateBandwidthResponse } from '../schemas/cph/bandwidths.ts';

const BANDWIDTHS = '/v1/:project_id/cloud-phone/bandwidths';

export function bandwidthWire(bandwidth: Bandwidth) {
  return {
    band_width_id: bandwidth.id,
    band_width_name: bandwidth.name,
    band_width_size: bandwidth.size,
    band_width_share_type: bandwidth.share_type,
    band_width_charge_mode: bandwidth.charge_mode,
    create_time: wireTime(bandwidth.created_at),
    update_time: wireTime(bandwidth.updated_at),
  };
}

/** Bandwidths: ShowBandwidthDetail and UpdateBandwidth. Bandwidths themselves come from server purchases. */
export function bandwidthRoutes(app: App, { servers }: Services) {
  app.get(BANDWIDTHS, {
    schema: { tags: ['Bandwidths'], summary: 'ShowBandwidthDetail', params: ProjectParams, querystring: ListBandwidthsQuery, response: { 200: ListBandwidthsResponse } },
  }, async (request) => {
    // No default limit is documented: 100, the maximum (spec §8 row 14).
    const { offset = 0, limit = 100 } = request.query;
    const rows = await servers.listBandwidths(request.params.project_id, offset, limit);
    return { request_id: request.id, band_widths: rows.map(bandwidthWire) };
  });

  app.put(`${BANDWIDTHS}/:band_width_id`, {
    schema: { tags: ['Bandwidths'], summary: 'UpdateBandwidth', params: BandwidthParams, body: UpdateBandwidthBody, response: { 200: UpdateBandwidthResponse } },
  }, async (request) => {
    await servers.resizeBandwidth(request.params.project_id, request.params.band_width_id, request.body.band_width_size);
    return { request_id: request.id };
  });
}
