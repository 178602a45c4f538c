import type { Static } from '@sinclair/typebox';
import type { CommandBody } from '../api/schemas/cph/commands.ts';
import { transaction, type Db } from '../store/db.ts';
import type { Phone } from '../store/schema.ts';
import { parseObsUrl } from '../objects/store.ts';
import { HEX32 } from './runtime.ts';
import { PHONE_STATUS } from './model.ts';
import type { BatchEntry } from './phones.ts';
import { onPhone, type CommandPlan, type JobQueue, type JobRow } from './job-types.ts';
import { cpsError, itemError, type CpsCode } from './errors.ts';

/** The ADB commands of `POST …/phones/commands` (spec §3.34–3.37); sync-commands takes `shell` only. */
export const COMMANDS = ['push', 'install', 'install-multiple', 'uninstall', 'shell'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type CommandRequest = Static<typeof CommandBody>;

export const CONTENT_LIMIT = 1024;
export const INSTALL_MULTIPLE_LIMIT = 8100;
export const MAX_SPLIT_APKS = 50;
/** Flags `adb install` passes on to the package manager. */
const INSTALL_FLAGS = new Set(['-r', '-t', '-d', '-g', '-l', '-s', '-f']);
const PACKAGE_NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/;
/** Printable text: shell content may hold spaces and shell syntax (spec §8 row 28), never control characters. */
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;
const MAX_SERVERS = 10;

/** How many phones one request may reach: by `phone_ids`, and through `server_ids`. */
export interface TargetLimits {
  phones: number;
  fanOut: number;
}

/**
 * Checks `command` and `content` as the spec documents them and returns what the job will run.
 * Errors: CPS.0117 unknown command, CPS.0118 bad content, CPS.0119 an install path that is not an .apk.
 */
export function planCommand(command: string, content: string): CommandPlan {
  if (!(COMMANDS as readonly string[]).includes(command)) throw cpsError('CPS.0117');
  const limit = command === 'install-multiple' ? INSTALL_MULTIPLE_LIMIT : CONTENT_LIMIT;
  if (content.trim() === '' || Buffer.byteLength(content) > limit || !PRINTABLE.test(content)) throw cpsError('CPS.0118');
  switch (command) {
    case 'shell':
      return { command, script: content };
    case 'uninstall':
      if (!PACKAGE_NAME.test(content.trim())) throw cpsError('CPS.0118');
      return { command, packageName: content.trim() };
    case 'push': {
      const object = parseObsUrl(content.trim());
      if (!object || !object.key.toLowerCase().endsWith('.tar')) throw cpsError('CPS.0118');
      return { command, ...object };
    }
    default: {
      const words = content.trim().split(/\s+/);
      const flags = words.filter((word) => word.startsWith('-'));
      const paths = words.filter((word) => !word.startsWith('-'));
      if (flags.some((flag) => !INSTALL_FLAGS.has(flag))) throw cpsError('CPS.0118');
      if (paths.some((path) => !path.toLowerCase().endsWith('.apk'))) throw cpsError('CPS.0119');
      const apks = paths.map(parseObsUrl);
      if (apks.length === 0 || apks.some((apk) => !apk)) throw cpsError('CPS.0118');
      if (command === 'install' ? apks.length !== 1 : apks.length > MAX_SPLIT_APKS) throw cpsError('CPS.0118');
      return { command: command as 'install' | 'install-multiple', flags, apks: apks as Array<{ bucket: string; key: string }> };
    }
  }
}

export class CommandService {
  constructor(
    private readonly db: Db,
    private readonly queue: JobQueue,
  ) {}

  /**
   * Resolves the target phones (`phone_ids` wins over `server_ids`, which means every phone of those
   * servers) and makes one job per phone that can run it, to be queued (`enqueue`) or run at once.
   */
  async jobs(projectId: string, requestId: string, request: CommandRequest, plan: CommandPlan, limits: TargetLimits) {
    const targets = await this.targets(projectId, request, limits);
    const jobs: JobRow[] = [];
    const entries: BatchEntry[] = targets.map(({ phoneId, phone }) => {
      const refusal = refuse(phoneId, phone);
      if (refusal) return { phone_id: phoneId, ...itemError(refusal) };
      const job = this.queue.job('phone.command', plan, onPhone(projectId, requestId, phone!));
      jobs.push(job);
      return { phone_id: phoneId, job_id: job.id };
    });
    const phones = new Map(targets.flatMap(({ phoneId, phone }) => (phone ? [[phoneId, phone] as const] : [])));
    return { entries, jobs, phones };
  }

  /** Queues the jobs, in order with each phone's other jobs. */
  async enqueue(jobs: JobRow[]): Promise<void> {
    await transaction(this.db, (trx) => this.queue.enqueue(trx, jobs));
  }

  private async targets(projectId: string, request: CommandRequest, limits: TargetLimits) {
    if (request.phone_ids !== undefined && request.phone_ids.length > 0) {
      if (request.phone_ids.length > limits.phones) throw cpsError('CPS.0190');
      const wellFormed = request.phone_ids.filter((id) => HEX32.test(id));
      const found = wellFormed.length
        ? await this.db.selectFrom('phones').selectAll().where('project_id', '=', projectId).where('id', 'in', wellFormed).execute()
        : [];
      const byId = new Map(found.map((phone) => [phone.id, phone]));
      return request.phone_ids.map((phoneId) => ({ phoneId, phone: byId.get(phoneId) }));
    }
    if (request.server_ids === undefined || request.server_ids.length === 0) throw cpsError('CPS.0009');
    const serverIds = [...new Set(request.server_ids)];
    if (serverIds.length > MAX_SERVERS) throw cpsError('CPS.0096');
    if (serverIds.some((id) => !HEX32.test(id))) throw cpsError('CPS.0094');
    const servers = await this.db.selectFrom('servers').select('id').where('project_id', '=', projectId).where('id', 'in', serverIds).execute();
    if (servers.length !== serverIds.length) throw cpsError('CPS.0094');
    const phones = await this.db.selectFrom('phones').selectAll().where('server_id', 'in', serverIds).orderBy('server_id').orderBy('slot').execute();
    if (phones.length > limits.fanOut) throw cpsError('CPS.0190');
    return phones.map((phone) => ({ phoneId: phone.id, phone }));
  }
}

function refuse(phoneId: string, phone: Phone | undefined): CpsCode | undefined {
  if (!HEX32.test(phoneId)) return 'CPS.0004';
  if (!phone) return 'CPS.0005';
  if (phone.status === PHONE_STATUS.frozen) return 'CPS.0053';
  if (phone.status !== PHONE_STATUS.running) return 'CPS.0141';
  return undefined;
}

