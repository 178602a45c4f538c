import { Type } from '@sinclair/typebox';
import { coded, paging } from '../../schema.ts';

/** A bandwidth as ShowBandwidthDetail (§3.14) and the server detail (§3.2) show it. */
export const BandwidthWire = Type.Object({
  band_width_id: Type.String(),
  band_width_name: Type.String(),
  band_width_size: Type.Integer(),
  band_width_share_type: Type.Integer(),
  band_width_charge_mode: Type.Integer(),
  create_time: Type.String(),
  update_time: Type.String(),
});

export const ListBandwidthsQuery = Type.Object(paging(100));

export const ListBandwidthsResponse = Type.Object({ request_id: Type.String(), band_widths: Type.Array(BandwidthWire) });

export const BandwidthParams = Type.Object({ project_id: Type.String(), band_width_id: Type.String() });

export const UpdateBandwidthBody = coded(Type.Object({ band_width_size: coded(Type.Integer(), 'CPS.0036') }), 'CPS.0036');

export const UpdateBandwidthResponse = Type.Object({ request_id: Type.String() });
