import { PHONE_STATUS } from '../core/model.ts';
import { phoneImage } from '../core/images.ts';
import { serverDriver, shareCapacityBytes, shareFilesMessage, unsupportedCode, type ShareJobType } from '../core/share.ts';
import type { ShareJobs } from '../core/job-types.ts';
import { PhoneOperationError, type PhoneSpec } from '../devices/driver.ts';
import type { ShareServer } from '../devices/shared-storage.ts';
import { SharedStorageDeclined } from '../devices/dispatch.ts';
import type { Job } from '../store/schema.ts';
import type { JobHandler, JobResult } from './engine.ts';
import { CommandRefused, withDownloads, type CommandDeps } from './commands.ts';
import { phoneSpec } from '../core/phone-spec.ts';
import { eachLimited, type JobHandlers } from './handlers.ts';

/** A tar that could not be unpacked fails its job as PushFile's does, its output in execute_msg (spec §8 row 31). */
const TAR_FAILED = { errorCode: 'CPS.0191', errorMsg: 'Run command failed.' } as const;
/** Phones of one server that install or uninstall a shared app at the same time. */
const PHONE_PARALLELISM = 16;

/** `projectId`: the job's, whose account's buckets its objects are in. */
type ShareWork<T extends ShareJobType> = (server: ShareServer, params: ShareJobs[T], deps: CommandDeps, projectId: string) => Promise<JobResult>;

/** Jobs of PushShareFiles, ListShareFiles, DeleteShareFiles, PushShareApps and DeleteShareApps: one per server. */
export function shareJobHandlers(deps: CommandDeps): Pick<JobHandlers, ShareJobType> {
  return {
    'share.files.push': shareJob(deps, 'share.files.push', pushFiles),
    'share.files.list': shareJob(deps, 'share.files.list', listFiles),
    'share.files.delete': shareJob(deps, 'share.files.delete', deleteFiles),
    'share.apps.push': shareJob(deps, 'share.apps.push', pushApp),
    'share.apps.delete': shareJob(deps, 'share.apps.delete', deleteApp),
  };
}

/**
 * Runs `work` on the job's server as it is now: a server deleted meanwhile fails the job with CPS.0015, one
 * whose flavor no longer has shared storage with CPS.0137 (files) or CPS.0147 (apps). Every share job gives
 * the same result when run again, so one a dead worker left behind simply runs again.
 */
function shareJob<T extends ShareJobType>(deps: CommandDeps, type: T, work: ShareWork<T>): JobHandler<ShareJobs[T]> {
  return {
    async run(job: Job, params) {
      const row = await deps.db.selectFrom('servers').select(['id', 'phone_model_name', 'image_id']).select(serverDriver).where('id', '=', job.server_id!).executeTakeFirst();
      if (!row) return { ok: false, errorCode: 'CPS.0015' };
      const phoneModel = deps.catalogue.phoneModel(row.phone_model_name);
      const capacityBytes = phoneModel && shareCapacityBytes(phoneModel);
      if (!phoneModel || !capacityBytes || !row.driver) return { ok: false, errorCode: unsupportedCode(type) };
      const image = await phoneImage(deps.db, deps.catalogue, row.image_id);
      if (!image) throw new Error(`server ${row.id} refers to an image missing from the catalogue`);
      try {
        return await work({ id: row.id, driver: row.driver, phoneModel, image, capacityBytes }, params, deps, job.project_id);
      } catch (error) {
        // The request was refused if the driver had no shared storage then; it may have been replaced since.
        if (error instanceof SharedStorageDeclined) return { ok: false, errorCode: unsupportedCode(type) };
        throw error;
      }
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}

const pushFiles: ShareWork<'share.files.push'> = (server, object, deps, projectId) =>
  withTar(object, projectId, server, deps, async (tar) => {
    const result = await deps.shared.pushFiles(server, tar);
    return result.exitCode === 0 ? { ok: true } : { ok: false, ...TAR_FAILED, executeMsg: result.output };
  });

/** A path that is no directory of the shared storage fails the job with CPS.0199. */
const listFiles: ShareWork<'share.files.list'> = async (server, { path, offset, limit }, deps) => {
  const entries = await deps.shared.listFiles(server, path);
  if (!entries) return { ok: false, errorCode: 'CPS.0199' };
  return { ok: true, executeMsg: shareFilesMessage(entries, offset, limit, await deps.shared.usage(server)) };
};

const deleteFiles: ShareWork<'share.files.delete'> = async (server, { paths }, deps) => {
  await deps.shared.deleteFiles(server, paths);
  return { ok: true };
};

/**
 * The app's tar goes to the shared-app area (no APK of the package in it: CPS.0173); pre-installed, its
 * APKs are then installed on every running phone of the server (`-r -d`: a new push replaces the version).
 * Phones the server creates or resets later get it from the driver (sim/driver.ts `fresh`).
 */
const pushApp: ShareWork<'share.apps.push'> = async (server, plan, deps, projectId) => {
  let apks: string[] = [];
  const pushed = await withTar(plan, projectId, server, deps, async (tar): Promise<JobResult> => {
    const result = await deps.shared.pushApp(server, plan.package_name, tar, plan.preinstall);
    if (!result.ok) return result.reason === 'tar' ? { ok: false, ...TAR_FAILED, executeMsg: result.output } : { ok: false, errorCode: 'CPS.0173', executeMsg: result.output };
    apks = result.apks;
    return { ok: true };
  });
  if (!pushed.ok || !plan.preinstall) return pushed;
  return onRunningPhones(server, deps, async (phone) => {
    const result = await deps.driver.install(phone, apks, ['-r', '-d']);
    return result.exitCode === 0 ? undefined : result.output.trim();
  });
};

/**
 * A package the server does not share fails the job with CPS.0173. A pre-installed one is uninstalled from
 * the running phones first; it stays shared while a phone could not be rid of it (CPS.0260).
 */
const deleteApp: ShareWork<'share.apps.delete'> = async (server, { package_name: packageName }, deps) => {
  const app = await deps.shared.app(server, packageName);
  if (!app) return { ok: false, errorCode: 'CPS.0173', executeMsg: `The server shares no application ${packageName}.` };
  if (app.preinstall) {
    // A phone whose user removed it already is fine as it is.
    const uninstalled = await onRunningPhones(server, deps, async (phone) => void (await deps.driver.uninstall(phone, packageName, [])));
    if (!uninstalled.ok) return uninstalled;
  }
  await deps.shared.deleteApp(server, packageName);
  return { ok: true };
};

/**
 * Downloads the `.tar` object of the project's account and runs `use` on it: a missing object (or another
 * account's) fails the job with CPS.0104, one larger than the whole shared storage cannot fit.
 */
async function withTar(
  object: { bucket: string; key: string },
  projectId: string,
  server: ShareServer,
  deps: CommandDeps,
  use: (tar: string) => Promise<JobResult>,
): Promise<JobResult> {
  try {
    return await withDownloads([object], { maxBytes: server.capacityBytes, store: await deps.objects.forProject(projectId), scratch: deps.scratch }, ([tar]) => use(tar));
  } catch (error) {
    if (!(error instanceof CommandRefused)) throw error;
    return error.code === 'CPS.0104' ? { ok: false, errorCode: 'CPS.0104' } : { ok: false, ...TAR_FAILED, executeMsg: 'tar: No space left on device\n' };
  }
}

/**
 * Runs `act` on each running phone of the server (phones that are not running are left as they are). Phones
 * where it failed, with why, fail the job with CPS.0260 "Sub job execute failed.".
 */
async function onRunningPhones(server: ShareServer, deps: CommandDeps, act: (phone: PhoneSpec) => Promise<string | undefined>): Promise<JobResult> {
  const phones = await deps.db.selectFrom('phones').selectAll().where('server_id', '=', server.id).where('status', '=', PHONE_STATUS.running).orderBy('slot').execute();
  const failures = new Map<string, string>();
  await eachLimited(phones, PHONE_PARALLELISM, async (phone) => {
    try {
      const problem = await act(await phoneSpec(phone, deps));
      if (problem) failures.set(phone.id, problem);
    } catch (error) {
      if (!(error instanceof PhoneOperationError)) throw error;
      failures.set(phone.id, error.message);
    }
  });
  if (failures.size === 0) return { ok: true };
  const lines = phones.filter((phone) => failures.has(phone.id)).map((phone) => `${phone.id}: ${failures.get(phone.id)}`);
  return { ok: false, errorCode: 'CPS.0260', executeMsg: lines.join('\n') };
}
