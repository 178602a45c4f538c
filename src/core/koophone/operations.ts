/**
 * KooPhone instance management (spec §2.5–2.11): reset, assign, unassign, list, reboot. Work on phones goes
 * through CPH's own jobs (phone.reset, phone.restart) and state machine, so CPH shows every step.
 */
import type { Static } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { ListInstancesQuery, UserInstances } from '../../api/schemas/koophone/instances.ts';
import { transaction, type Db } from '../../store/db.ts';
import type { InstanceUpdate } from '../../store/schema.ts';
import type { JobRow } from '../job-types.ts';
import { PHONE_TRANSITIONS, phoneRefusal } from '../lifecycle.ts';
import { escapeLike } from '../../store/like.ts';
import type { Clock } from '../runtime.ts';
import { DATA_STATE, RUNNING_STATUS, runningStatus, type BoundInstance, type InstanceService, type TaskKind } from './instances.ts';
import type { SkuCatalogue } from './skus.ts';
import { cpsMessage, kpError } from '../errors.ts';

export type UserInstance = Static<typeof UserInstances>['user_instances'][number];

export interface TaskData {
  task_id: string;
  cmd_jobs: Array<{ instance_id: string; job_id: string }>;
}

/** ListInstances' query, with the pool scene under one name (the document's example spells it `poolSceneTag`). */
export type ListQuery = Omit<Static<typeof ListInstancesQuery>, 'poolSceneTag' | 'x-request-id'>;

/** `YYYY-MM-DD HH:mm:ss`, UTC: ListInstances' time filters and times (spec §1.8). */
const LIST_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
/** Every OpenCPH instance is a general cloud terminal (pool scene CLOUD_PHONE), none a cloud application. */
const OWN_SCENE = 'CLOUD_PHONE';

export class InstanceOperations {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly instances: InstanceService,
    private readonly skus: SkuCatalogue,
  ) {}

  /** BatchReset: a factory reset of each instance's data, as a task (`RM_…`). */
  async reset(projectId: string, instanceIds: string[]): Promise<TaskData> {
    return this.wipeTask(projectId, 'reset', instanceIds, () => ({}));
  }

  /** AssignInstance: all pairs or none; an instance held by another user (or frozen) is KPAPI.2209. */
  async assign(projectId: string, pairs: UserInstance[]): Promise<void> {
    const users = pairsByInstance(pairs);
    await this.db.transaction().execute(async (trx) => {
      const found = await this.instances.requireAll(projectId, [...users.keys()], { db: trx, lock: true });
      for (const instance of found) {
        const user = users.get(instance.id)!;
        if (instance.frozen || (instance.assigned_user !== null && instance.assigned_user !== user)) throw kpError('KPAPI.2209');
      }
      const now = this.clock.now();
      for (const instance of found) {
        if (instance.assigned_user === null) {
          await trx.updateTable('instances').set({ assigned_user: users.get(instance.id)!, updated_at: now }).where('id', '=', instance.id).execute();
        }
      }
    });
  }

  /** UnassignInstance: every pair must be bound (else 2210); the binding ends and the user's data is wiped. */
  async unassign(projectId: string, pairs: UserInstance[]): Promise<TaskData> {
    const users = pairsByInstance(pairs);
    return this.wipeTask(projectId, 'unassign', [...users.keys()], (instance) => {
      if (instance.assigned_user !== users.get(instance.id)) throw kpError('KOOPHONE.API.2210');
      return { assigned_user: null, data_state: DATA_STATE.idle, prepare_status: null, restore_status: null, restore_time: null };
    });
  }

  /**
   * A task wiping each instance's user data: a CPH reset of the bound phone, or, for data that is only in the
   * object store, forgetting the backup. `change` checks each instance (throwing refuses the whole request)
   * and returns the instance fields the task sets. One transaction; an instance that cannot be wiped now
   * gets a failed job.
   */
  private async wipeTask(projectId: string, kind: TaskKind, instanceIds: string[], change: (instance: BoundInstance) => InstanceUpdate): Promise<TaskData> {
    const taskId = this.instances.newTaskId(kind);
    const { via } = PHONE_TRANSITIONS.reset;
    const now = this.clock.now();
    return transaction(this.db, async (trx) => {
      const found = await this.instances.requireAll(projectId, instanceIds, { db: trx, lock: true });
      const changes = found.map(change);
      const jobs: JobRow[] = [];
      for (const [index, instance] of found.entries()) {
        const update: InstanceUpdate = { ...changes[index], updated_at: now };
        const refusal = wipeRefusal(kind, instance);
        if (refusal) {
          jobs.push(this.instances.refusedJob(instance, taskId, 'phone.reset', refusal));
        } else if (instance.phone_id === null) {
          jobs.push(this.instances.doneJob(instance, taskId, 'phone.reset'));
          Object.assign(update, { backup_key: null, backup_status: null, backup_time: null });
        } else {
          jobs.push(this.instances.job(instance, taskId, 'phone.reset', {}));
          // A phone busy with another job (an unassign's wipe) keeps its status: the reset runs after that job.
          if (!phoneRefusal('reset', instance.phone_status!)) {
            await trx.updateTable('phones').set({ status: via!, updated_at: now }).where('id', '=', instance.phone_id).execute();
          }
          // A reset ends any stream; the data then on the phone is a fresh one.
          if (instance.data_state === DATA_STATE.streaming && update.data_state === undefined) update.data_state = DATA_STATE.loaded;
        }
        await trx.updateTable('instances').set(update).where('id', '=', instance.id).execute();
      }
      await this.instances.createTask(trx, projectId, taskId, kind, jobs);
      return { task_id: taskId, cmd_jobs: found.map((instance, index) => ({ instance_id: instance.id, job_id: jobs[index].id })) };
    });
  }

  /**
   * BatchRebootInstance: every instance must be running (5005) and not frozen (2004); each phone gets a CPH
   * restart job. No task: the result shows in ListInstances' running_status.
   */
  async reboot(projectId: string, requestId: string, instanceIds: string[]): Promise<void> {
    const { via } = PHONE_TRANSITIONS.restart;
    const now = this.clock.now();
    await transaction(this.db, async (trx) => {
      const found = await this.instances.requireAll(projectId, instanceIds, { db: trx, lock: true });
      if (found.some((instance) => instance.frozen)) throw kpError('KOOPHONE.API.2004');
      if (found.some((instance) => runningStatus(instance.phone_status) !== RUNNING_STATUS.running)) throw kpError('KOOPHONE.API.5005');
      await this.instances.enqueue(trx, found.map((instance) => this.instances.job(instance, requestId, 'phone.restart', {})));
      await trx.updateTable('phones').set({ status: via!, updated_at: now }).where('id', 'in', found.map((instance) => instance.phone_id!)).execute();
      const streaming = found.filter((instance) => instance.data_state === DATA_STATE.streaming).map((instance) => instance.id);
      if (streaming.length) await trx.updateTable('instances').set({ data_state: DATA_STATE.loaded, updated_at: now }).where('id', 'in', streaming).execute();
    });
  }

  /** ListInstances: a page of the project's instances and how many match. */
  async list(projectId: string, query: ListQuery) {
    const start = query.query_start_time === undefined ? undefined : parseListTime(query.query_start_time);
    const end = query.query_end_time === undefined ? undefined : parseListTime(query.query_end_time);
    if (start && end && end < start) throw kpError('KOOPHONE.API.5004');
    let matching = this.db.selectFrom('instances').where('instances.project_id', '=', projectId);
    if (query.instance_id !== undefined) matching = matching.where('instances.id', '=', query.instance_id);
    if (query.instance_name) matching = matching.where('instances.name', 'like', `%${escapeLike(query.instance_name)}%`);
    if (start) matching = matching.where('instances.created_at', '>=', start);
    if (end) matching = matching.where('instances.created_at', '<=', end);
    if (query.pool_scene_tag !== undefined && query.pool_scene_tag !== OWN_SCENE) matching = matching.where(sql<boolean>`false`);
    const direction = query.order ?? 'desc';
    const column = { create_time: 'instances.seq', instance_name: 'instances.name', instance_id: 'instances.id' }[query.order_by ?? 'create_time'] as 'instances.seq';
    const [rows, total] = await Promise.all([
      matching
        .innerJoin('projects', 'projects.id', 'instances.project_id')
        .innerJoin('domains', 'domains.id', 'instances.domain_id')
        .leftJoin('phones', 'phones.id', 'instances.phone_id')
        .selectAll('instances')
        .select(['projects.name as project_name', 'domains.name as account_name', 'phones.status as phone_status'])
        .orderBy(column, direction)
        .orderBy('instances.id')
        .offset((query.page_no - 1) * query.page_size)
        .limit(query.page_size)
        .execute(),
      matching.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
    ]);
    return {
      total: Number(total.count),
      result: rows.map((row) => {
        const region = this.skus.region(row.region_id);
        return {
          instance_id: row.id,
          instance_name: row.name,
          region: row.region_id,
          instance_sku: this.skus.sku(row.region_id, row.sku_id)?.specDesc ?? row.sku_id,
          frozen_status: row.frozen ? 1 : 0,
          running_status: runningStatus(row.phone_status),
          login_status: row.data_state === DATA_STATE.streaming ? 1 : 0,
          assign_status: row.assigned_user === null ? 0 : 1,
          assign_user: row.assigned_user ?? '',
          billing_mode: row.billing_mode,
          project_id: row.project_id,
          project_name: row.project_name,
          // The document prints the text "null" for an instance without a phone (spec §7 A20).
          phone_id: row.phone_id ?? 'null',
          member_name: row.assigned_user ?? '',
          account_name: row.account_name,
          region_name: region?.opencph.region_name ?? row.region_id,
          region_name_en: region?.opencph.region_name_en ?? row.region_id,
          backup_status: row.backup_status,
          backup_time: listTime(row.backup_time),
          restore_status: row.restore_status,
          restore_time: listTime(row.restore_time),
        };
      }),
    };
  }
}

/** Why an instance's data cannot be wiped now (a failed job), or undefined. */
function wipeRefusal(kind: TaskKind, instance: BoundInstance) {
  if (kind === 'reset' && instance.frozen) return 'KOOPHONE.API.2004' as const;
  if (instance.data_state === DATA_STATE.restoring) return 'KOOPHONE.API.2005' as const;
  if (instance.data_state === DATA_STATE.backingUp) return 'KOOPHONE.API.2006' as const;
  if (instance.phone_id === null) return undefined;
  const code = phoneRefusal('reset', instance.phone_status!);
  // The user's data must go: an unassign waits for a busy phone rather than fail (a frozen one cannot be reset).
  if (!code || (kind === 'unassign' && code !== 'CPS.0053')) return undefined;
  return { code, message: cpsMessage(code) };
}

/** user per instance; the same instance twice with different users is a bad request (1000). */
function pairsByInstance(pairs: UserInstance[]): Map<string, string> {
  const users = new Map<string, string>();
  for (const { user_id, instance_id } of pairs) {
    if (users.has(instance_id) && users.get(instance_id) !== user_id) throw kpError('KOOPHONE.API.1000');
    users.set(instance_id, user_id);
  }
  return users;
}

function parseListTime(text: string): Date {
  const match = LIST_TIME.exec(text);
  const date = match ? new Date(`${text.replace(' ', 'T')}Z`) : undefined;
  // A calendar-impossible value (2023-02-30) is refused like a malformed one.
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 19) !== text.replace(' ', 'T')) throw kpError('KOOPHONE.API.5002');
  return date;
}

export function listTime(date: Date | null): string | null {
  return date ? date.toISOString().slice(0, 19).replace('T', ' ') : null;
}

