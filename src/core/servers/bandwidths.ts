// Bandwidths: those a purchase or a change creates or links (shared or dedicated, spec §3.1–3.2, §3.39),
// ShowBandwidthDetail and UpdateBandwidth.
import type { Insertable } from 'kysely';
import type { Db } from '../../store/db.ts';
import type { BandwidthTable } from '../../store/schema.ts';
import type { ServerSetupInput } from '../../api/schemas/cph/servers.ts';
import type { Clock, Ids } from '../runtime.ts';
import { cpsError, notFound } from '../errors.ts';
import { isValidBandwidthSize } from './validation.ts';

/** The bandwidths to create and the server links to write. */
export type BandwidthPlan = { rows: Array<Insertable<BandwidthTable>>; links: Array<{ server_id: string; bandwidth_id: string }> };
export const NO_BANDWIDTHS: BandwidthPlan = { rows: [], links: [] };

/**
 * The bandwidths servers being set up use: the existing shared one they name, or one new shared one for
 * all of them, or a dedicated one per server address (each public IP has its own, as in the §3.2 v2 example).
 */
export function planBandwidths(
  ids: Ids,
  projectId: string,
  input: ServerSetupInput['band_width'],
  size: number,
  addressesPerServer: number,
  serverIds: string[],
  now: Date,
): BandwidthPlan {
  const existing = input.band_width_id;
  if (existing) return { rows: [], links: serverIds.map((server_id) => ({ server_id, bandwidth_id: existing })) };
  const newBandwidth = (shareType: number) => ({
    id: ids.uuid(),
    project_id: projectId,
    name: `BANDWIDTH_${ids.hex32()}`,
    size,
    charge_mode: input.band_width_charge_mode ?? 1,
    share_type: shareType,
    created_at: now,
    updated_at: now,
  });
  if (input.band_width_share_type === 1) {
    const shared = newBandwidth(1);
    return { rows: [shared], links: serverIds.map((server_id) => ({ server_id, bandwidth_id: shared.id })) };
  }
  const perAddress = serverIds.flatMap((server_id) =>
    Array.from({ length: addressesPerServer }, () => ({ server_id, bandwidth: newBandwidth(0) })),
  );
  return { rows: perAddress.map((entry) => entry.bandwidth), links: perAddress.map((entry) => ({ server_id: entry.server_id, bandwidth_id: entry.bandwidth.id })) };
}

export async function insertBandwidths(trx: Db, bandwidths: BandwidthPlan) {
  if (bandwidths.rows.length) await trx.insertInto('bandwidths').values(bandwidths.rows).execute();
  if (bandwidths.links.length) await trx.insertInto('server_bandwidths').values(bandwidths.links).execute();
}

/** A bandwidth a set-up names must be one of the project's shared bandwidths. */
export async function assertSharedBandwidth(db: Db, projectId: string, bandwidthId: string) {
  const bandwidth = await db.selectFrom('bandwidths').select('share_type').where('project_id', '=', projectId).where('id', '=', bandwidthId).executeTakeFirst();
  if (!bandwidth || bandwidth.share_type !== 1) throw cpsError('CPS.0033');
}

/** Ids of the dedicated bandwidths of the servers (shared ones outlive their servers). */
export async function dedicatedBandwidths(trx: Db, serverIds: string[]): Promise<string[]> {
  const rows = await trx
    .selectFrom('server_bandwidths')
    .innerJoin('bandwidths', 'bandwidths.id', 'server_bandwidths.bandwidth_id')
    .select('bandwidths.id')
    .where('server_bandwidths.server_id', 'in', serverIds)
    .where('bandwidths.share_type', '=', 0)
    .execute();
  return rows.map((row) => row.id);
}

/** The bandwidths a server uses (its detail, §3.2). */
export function bandwidthsOf(db: Db, serverId: string) {
  return db
    .selectFrom('server_bandwidths')
    .innerJoin('bandwidths', 'bandwidths.id', 'server_bandwidths.bandwidth_id')
    .selectAll('bandwidths')
    .where('server_bandwidths.server_id', '=', serverId)
    .execute();
}

/** ShowBandwidthDetail: the project's bandwidths, newest first. */
export function listBandwidths(db: Db, projectId: string, offset: number, limit: number) {
  return db
    .selectFrom('bandwidths')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .offset(offset)
    .limit(limit)
    .execute();
}

/** UpdateBandwidth: only a shared bandwidth changes size, to a size on the documented steps (spec §8 row 21). */
export async function resizeBandwidth(db: Db, clock: Clock, projectId: string, bandwidthId: string, size: number): Promise<void> {
  const bandwidth = await db.selectFrom('bandwidths').select('share_type').where('project_id', '=', projectId).where('id', '=', bandwidthId).executeTakeFirst();
  if (!bandwidth) throw notFound('CPS.0115');
  if (bandwidth.share_type !== 1) throw cpsError('CPS.0160');
  if (!isValidBandwidthSize(size)) throw cpsError('CPS.0036');
  await db.updateTable('bandwidths').set({ size, updated_at: clock.now() }).where('id', '=', bandwidthId).execute();
}
