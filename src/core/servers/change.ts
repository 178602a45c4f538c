// The changes of a bought server: ChangeCloudPhoneServerModel (spec §3.12) and ChangeCloudPhoneServer (§3.39).
import { transaction } from '../../store/db.ts';
import type { ChangeInput, ChangeModelInput } from '../../api/schemas/cph/servers.ts';
import { PHONE_STATUS, SERVER_STATUS } from '../model.ts';
import { phoneImage } from '../images.ts';
import { onServer } from '../job-types.ts';
import { cpsError, notFound } from '../errors.ts';
import { assertSharedBandwidth, dedicatedBandwidths, insertBandwidths, planBandwidths } from './bandwidths.ts';
import { newOrder } from './generated.ts';
import { insertable, isIdle, lockServer, replaceServer } from './rows.ts';
import { insertPhones, newPhones, phoneModelOn, serverVolumes, setupColumns, validateSetup, type ServerContext } from './setup.ts';
import { validateChangeFields } from './validation.ts';

/**
 * ChangeCloudPhoneServerModel: a normal server on a special flavor moves to another flavor of its generation
 * whose phone flavor gives as many phones. Its phones keep their ids, names, image and attributes but are
 * created anew on the new flavor (1 → 2, or -8), so their data is not kept; the server is 0 until its job
 * (under this request id) has rebuilt them, then 5, or 2 when a phone failed. OpenCPH bills nothing: the
 * order is complete at once, whatever `is_auto_pay` says.
 */
export async function changeModel(context: ServerContext, projectId: string, requestId: string, input: ChangeModelInput) {
  const { catalogue, ids, queue } = context;
  const target = catalogue.serverModel(input.server_model_name);
  if (!target) throw cpsError('CPS.0246');
  const now = context.clock.now();
  const order = newOrder(ids, now);
  await transaction(context.db, async (trx) => {
    const server = await lockServer(trx, projectId, input.server_id);
    if (!server) throw cpsError('CPS.0159');
    const current = catalogue.serverModel(server.server_model_name);
    // A bare server (CreateCloudPhoneSingleServer) has no phones whose flavor the change could carry over.
    if (!current?.opencph.special || !server.phone_model_name || !(await isIdle(trx, server))) throw cpsError('CPS.0245');
    if (target.server_model_name === current.server_model_name) throw cpsError('CPS.0250');
    if (target.opencph.generation !== current.opencph.generation) throw cpsError('CPS.0247');
    const phoneModel = phoneModelOn(catalogue, target, input.phone_model_name);
    const image = await phoneImage(trx, catalogue, server.image_id);
    if (phoneModel.phone_capacity !== catalogue.phoneModel(server.phone_model_name)?.phone_capacity || !image || !catalogue.imageFitsPhoneModel(image, phoneModel)) {
      throw cpsError('CPS.0157');
    }
    await replaceServer(trx, {
      ...insertable(server),
      server_model_name: target.server_model_name,
      phone_model_name: phoneModel.phone_model_name,
      volumes: JSON.stringify(serverVolumes(ids, phoneModel)),
      status: SERVER_STATUS.ordered,
      updated_at: now,
    }, phoneModel, ids);
    await trx.updateTable('phones').set({ phone_model_name: phoneModel.phone_model_name, status: PHONE_STATUS.creating, updated_at: now }).where('server_id', '=', server.id).execute();
    await queue.enqueue(trx, [queue.job('server.change', { replaced_phone_ids: [] }, onServer(projectId, requestId, server.id))]);
  });
  return order;
}

/**
 * ChangeCloudPhoneServer (spec §3.39): a normal server keeps its id, name and billing and is set up anew
 * from the request, on the server flavor of the new phone flavor; its phones are replaced by new ones
 * (new ids, 1 → 2 or -8) and their data is gone. Dedicated bandwidths of the old set-up go, shared ones
 * stay. The job ends when the new phones run (server 5), or failed with the server abnormal (2).
 */
export async function change(context: ServerContext, projectId: string, requestId: string, serverId: string, input: ChangeInput): Promise<string> {
  const { db, ids, queue } = context;
  const plan = await validateChange(context, projectId, input);
  if (input.band_width.band_width_id) await assertSharedBandwidth(db, projectId, input.band_width.band_width_id);
  const now = context.clock.now();
  const jobId = await transaction(db, async (trx) => {
    const server = await lockServer(trx, projectId, serverId);
    if (!server) throw notFound('CPS.0015');
    if (!(await isIdle(trx, server))) throw cpsError('CPS.0099');
    const replaced = await trx.selectFrom('phones').select('id').where('server_id', '=', serverId).execute();
    const dedicated = await dedicatedBandwidths(trx, [serverId]);
    await trx.deleteFrom('server_bandwidths').where('server_id', '=', serverId).execute();
    if (dedicated.length) await trx.deleteFrom('bandwidths').where('id', 'in', dedicated).execute();
    await trx.deleteFrom('phones').where('server_id', '=', serverId).execute();
    await replaceServer(trx, {
      ...insertable(server),
      ...setupColumns(ids, plan, input, 'v2', input.tenant_vpc_id, serverVolumes(ids, plan.phoneModel, input.phone_data_volume, input.server_share_data_volume)),
      // A blank zone keeps the server where it is.
      availability_zone: input.availability_zone ? plan.availabilityZone : server.availability_zone,
      keypair_name: input.keypair_name ?? server.keypair_name,
      enterprise_project_id: input.extend_param?.enterprise_project_id ?? server.enterprise_project_id,
      status: SERVER_STATUS.ordered,
      updated_at: now,
    }, plan.phoneModel, ids);
    await insertBandwidths(trx, planBandwidths(ids, projectId, input.band_width, plan.bandwidthSize, plan.serverModel.opencph.address_count, [serverId], now));
    const phones = newPhones(context, projectId, serverId, plan.phoneModel, input.image_id, input.property ?? '{}', now);
    await insertPhones(trx, phones);
    const job = queue.job('server.change', { replaced_phone_ids: replaced.map((phone) => phone.id) }, onServer(projectId, requestId, serverId));
    // The new flavor may hold more phones than the old one.
    await queue.enqueue(trx, [job], { charge: { phones: phones.length - replaced.length } });
    return job.id;
  });
  context.noteBulkWrite();
  return jobId;
}

/** ChangeCloudPhoneServer's body: a v2 set-up on the server flavor of the phone flavor, and its own fields. */
async function validateChange(context: ServerContext, projectId: string, input: ChangeInput) {
  const { catalogue } = context;
  const phoneModel = catalogue.phoneModel(input.phone_model_name);
  if (!phoneModel) throw cpsError('CPS.0028');
  const plan = await validateSetup(context, projectId, input, catalogue.serverModel(phoneModel.server_model_name)!, 'v2', 1);
  validateChangeFields(input, phoneModel);
  return plan;
}
