/**
 * KooPhone subscription (spec §2.13–2.14): CreateInstance and DeleteInstance. An instance runs on a CPH
 * phone of its SKU's flavor in the tenant's project: spare phones there are used first, and CPH servers are
 * bought for the rest, so the new phones show in CPH as well. OpenCPH bills nothing: an order is complete
 * at once, whatever `isAutoPay` says (as CPH purchases are).
 */
import type { Static } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { CreateBody } from '../../api/schemas/koophone/orders.ts';
import { transaction, type Db } from '../../store/db.ts';
import type { NewInstance } from '../../store/schema.ts';
import type { Catalogue } from '../catalogue.ts';
import { PHONE_STATUS } from '../model.ts';
import { PHONE_TRANSITIONS, phoneRefusal } from '../lifecycle.ts';
import type { Clock, Ids } from '../runtime.ts';
import type { ServerService } from '../servers.ts';
import { escapeLike } from '../../store/like.ts';
import { assertRoom, chargeAccount } from '../quotas.ts';
import { DATA_STATE, type InstanceService } from './instances.ts';
import type { OsVersion, SkuCatalogue } from './skus.ts';
import { kpError } from '../errors.ts';

/** CreateInstance's body; its schema admits only the documented OS versions. */
export type CreateInput = Omit<Static<typeof CreateBody>, 'os'> & { os: OsVersion };

/** Who orders: the instances belong to the credential's project and account. */
export interface Buyer {
  projectId: string;
  domainId: string;
}

/** Phones that can take a new instance: up, or still being created on a server being provisioned. */
const USABLE_PHONES = [PHONE_STATUS.running, PHONE_STATUS.creating];
const ORDER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export class InstanceOrders {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly instances: InstanceService,
    private readonly skus: SkuCatalogue,
    private readonly catalogue: Catalogue,
    private readonly servers: ServerService,
  ) {}

  /** CreateInstance: validated in the documented order, then phones found or bought, then the instances recorded. */
  async create(buyer: Buyer, requestId: string, input: CreateInput) {
    const { chargeParam } = input;
    if (chargeParam.periodType === 2 && (chargeParam.periodNum < 1 || chargeParam.periodNum > 9)) throw kpError('KOOPHONE.API.3006');
    if (chargeParam.periodType === 3 && (chargeParam.periodNum < 1 || chargeParam.periodNum > 3)) throw kpError('KOOPHONE.API.3007');
    const sku = this.skus.sku(input.regionId, input.instanceSkuId);
    const pool = sku?.poolInfo.aosp.find((entry) => entry.version === input.os && entry.enable);
    if (!sku || !pool) throw kpError('KOOPHONE.API.3002');
    if (input.bandSkuId !== this.skus.bandSkuId) throw kpError('KOOPHONE.API.3001');
    if (!sku.bandSize.split(',').map(Number).includes(input.bandSize)) throw kpError('KOOPHONE.API.1000');
    const sold = await this.db
      .selectFrom('instances')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('region_id', '=', input.regionId)
      .where('sku_id', '=', sku.cbcSkuId)
      .executeTakeFirstOrThrow();
    if (Number(sold.count) + input.count > sku.opencph.stock) throw kpError('KOOPHONE.API.40010');
    // Before any server is bought for instances the account could not have; the order's transaction decides.
    await assertRoom(this.db, buyer.projectId, { instances: input.count }, 'koophone');

    const phoneModel = this.catalogue.phoneModel(sku.opencph.phone_model_name)!;
    const imageId = this.skus.imageFor(input.os);
    const spare = await this.sparePhones(this.db, buyer.projectId, phoneModel.phone_model_name, imageId, input.count);
    let orderId: string | undefined;
    if (spare.length < input.count) {
      const bought = await this.servers.purchase(
        buyer.projectId,
        requestId,
        {
          server_name: input.instanceNamePrefix,
          server_model_name: phoneModel.server_model_name,
          phone_model_name: phoneModel.phone_model_name,
          image_id: imageId,
          count: Math.ceil((input.count - spare.length) / phoneModel.phone_capacity),
          band_width: { band_width_share_type: 0, band_width_size: input.bandSize },
          extend_param: { charging_mode: 0, period_type: chargeParam.periodType, period_num: chargeParam.periodNum, is_auto_pay: 1 },
        },
        'v1',
        'koophone',
      );
      orderId = bought.order_id;
    }
    orderId ??= this.newOrderId();
    const now = this.clock.now();
    return this.db.transaction().execute(async (trx) => {
      // One order at a time per project picks phones and names, so two orders never take the same ones.
      await sql`SELECT pg_advisory_xact_lock(hashtext(${buyer.projectId}))`.execute(trx);
      const phones = await this.sparePhones(trx, buyer.projectId, phoneModel.phone_model_name, imageId, input.count);
      if (phones.length < input.count) throw kpError('KOOPHONE.API.40010');
      const first = await this.nextSequence(trx, buyer.projectId, input.instanceNamePrefix);
      const rows: NewInstance[] = phones.map((phoneId, index) => ({
        id: this.instances.newInstanceId(),
        project_id: buyer.projectId,
        domain_id: buyer.domainId,
        phone_id: phoneId,
        name: `${input.instanceNamePrefix}-${String(first + index).padStart(5, '0')}`,
        sku_id: sku.cbcSkuId,
        region_id: input.regionId,
        os: input.os,
        network: input.network ?? 'EIP',
        band_size: input.bandSize,
        billing_mode: '1',
        order_id: orderId,
        frozen: false,
        assigned_user: null,
        data_state: DATA_STATE.idle,
        created_at: now,
        updated_at: now,
      }));
      await trx.insertInto('instances').values(rows).execute();
      await chargeAccount(trx, buyer.projectId, { instances: rows.length }, 'koophone');
      return { orderId, instanceInfos: rows.map((row) => ({ instanceId: row.id, instanceName: row.name })) };
    });
  }

  /**
   * DeleteInstance: all or nothing. Ids none of which are the caller's: 1001; the caller's mixed with others
   * (unknown or another tenant's, alike): 1012; a pay-per-use instance: 5001. The phones stay in the project
   * as spare capacity, reset so that nothing of the instance's user remains.
   */
  async delete(projectId: string, requestId: string, instanceIds: string[]): Promise<void> {
    const { via } = PHONE_TRANSITIONS.reset;
    const now = this.clock.now();
    await transaction(this.db, async (trx) => {
      const wanted = [...new Set(instanceIds)];
      const found = await this.instances.find(projectId, wanted, { db: trx, lock: true });
      if (found.size === 0) throw kpError('KOOPHONE.API.1001');
      if (found.size < wanted.length) throw kpError('KOOPHONE.API.1012');
      const instances = [...found.values()];
      if (instances.some((instance) => instance.billing_mode !== '1')) throw kpError('KOOPHONE.API.5001');
      const resets = instances
        .filter((instance) => instance.phone_id !== null && !phoneRefusal('reset', instance.phone_status!))
        .map((instance) => this.instances.job(instance, requestId, 'phone.reset', {}));
      await trx.deleteFrom('instances').where('id', 'in', wanted).execute();
      await chargeAccount(trx, projectId, { instances: -instances.length });
      // The resets only clean up after what is gone: never refused for the jobs in flight.
      await this.instances.enqueue(trx, resets, { unchecked: true });
      if (resets.length > 0) {
        await trx.updateTable('phones').set({ status: via!, updated_at: now }).where('id', 'in', resets.map((job) => job.phone_id!)).execute();
      }
    });
  }

  /** Up to `count` phones of the project on the flavor and image that no instance uses, oldest first. */
  private async sparePhones(db: Db, projectId: string, phoneModel: string, imageId: string, count: number): Promise<string[]> {
    const rows = await db
      .selectFrom('phones')
      .select('phones.id')
      .where('phones.project_id', '=', projectId)
      .where('phones.phone_model_name', '=', phoneModel)
      .where('phones.image_id', '=', imageId)
      .where('phones.status', 'in', USABLE_PHONES)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('instances').select('instances.id').whereRef('instances.phone_id', '=', 'phones.id'))))
      .orderBy('phones.seq')
      .limit(count)
      .execute();
    return rows.map((row) => row.id);
  }

  /** The next number of the project's `<prefix>-NNNNN` names. */
  private async nextSequence(db: Db, projectId: string, prefix: string): Promise<number> {
    const names = await db
      .selectFrom('instances')
      .select('name')
      .where('project_id', '=', projectId)
      .where('name', 'like', `${escapeLike(prefix)}-%`)
      .execute();
    const numbers = names.map(({ name }) => name.slice(prefix.length + 1)).filter((suffix) => /^\d{5,}$/.test(suffix)).map(Number);
    return Math.max(0, ...numbers) + 1;
  }

  /** `CS` + yyMMddHHmm + 5 uppercase alphanumerics (spec §1.8), like CPH's orders. */
  private newOrderId(): string {
    const time = this.clock.now().toISOString().replace(/[-T:]/g, '').slice(2, 12);
    const bytes = Buffer.from(this.ids.hex32(), 'hex');
    return `CS${time}${Array.from(bytes.subarray(0, 5), (byte) => ORDER_ALPHABET[byte % ORDER_ALPHABET.length]).join('')}`;
  }
}
