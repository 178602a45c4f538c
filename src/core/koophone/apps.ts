/**
 * Apps on instances: InstallApp (spec §2.20), a `ZGCA…` task whose jobs download the APK and install it
 * through the phone's driver (src/jobs/koophone/apps.ts), and the SDK's ListInstanceApp (app-list).
 */
import type { Static } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { AppQuery as AppQuerySchema, InstallBody } from '../../api/schemas/koophone/apps.ts';
import { transaction, type Db } from '../../store/db.ts';
import type { JobRow } from '../job-types.ts';
import { parseObsUrl } from '../../objects/store.ts';
import { phoneSpec, type PhoneDevices } from '../phone-spec.ts';
import { PHONE_STATUS } from '../model.ts';
import type { InstanceService } from './instances.ts';
import type { TaskData } from './operations.ts';
import { kpError } from '../errors.ts';

export type InstallInput = Static<typeof InstallBody>;

export const INSTALL_JOB = 'koophone.install';
/** One package at most 2 GB (62015); all of a tenant's packages at most 1 TB (62016). Sizes in MB. */
const MAX_PACKAGE_MB = 2048;
const MAX_TENANT_MB = 1024 * 1024;

export type AppQuery = Static<typeof AppQuerySchema>;

export class InstanceApps {
  constructor(
    private readonly db: Db,
    private readonly instances: InstanceService,
    private readonly deps: PhoneDevices,
  ) {}

  /** InstallApp: checks the request, then one install job per instance (3009 failed at once for one without a phone). */
  async install(projectId: string, input: InstallInput): Promise<TaskData> {
    const sizeMb = Number(input.object_size);
    if (sizeMb > MAX_PACKAGE_MB) throw kpError('KOOPHONE.API.62015');
    if (input.biz_type.toLowerCase() !== 'apk') throw kpError('KOOPHONE.API.1000');
    if (!/^https?:\/\/[^/\s]+/i.test(input.install_package_url) && !parseObsUrl(input.install_package_url)) throw kpError('KOOPHONE.API.1000');
    const instances = await this.instances.requireAll(projectId, input.instance_id_list);
    const taskId = this.instances.newTaskId('install');
    return transaction(this.db, async (trx) => {
      // Installs are serialised per project, so two requests cannot both pass the tenant's total.
      await sql`SELECT pg_advisory_xact_lock(hashtext(${`install:${projectId}`}))`.execute(trx);
      if ((await this.uploadedMb(trx, projectId)) + sizeMb > MAX_TENANT_MB) throw kpError('KOOPHONE.API.62016');
      const phoneIds = instances.flatMap((instance) => (instance.phone_id ? [instance.phone_id] : []));
      const pending = phoneIds.length
        ? await trx
            .selectFrom('jobs')
            .select('id')
            .where('type', '=', INSTALL_JOB)
            .where('state', '!=', 'done')
            .where('phone_id', 'in', phoneIds)
            .where(sql<boolean>`params->>'object_name' = ${input.object_name} AND params->>'object_version' = ${input.object_version}`)
            .limit(1)
            .execute()
        : [];
      if (pending.length > 0) throw kpError('KOOPHONE.API.62005');
      const jobs: JobRow[] = instances.map((instance) => {
        if (instance.phone_id === null) return this.instances.refusedJob(instance, taskId, INSTALL_JOB, 'KOOPHONE.API.3009');
        return this.instances.job(instance, taskId, INSTALL_JOB, {
          instance_id: instance.id,
          url: input.install_package_url,
          file_name: input.file_name,
          object_name: input.object_name,
          object_version: input.object_version,
          object_size: sizeMb,
          content_md5: input.content_md5 ?? '',
        });
      });
      await this.instances.createTask(trx, projectId, taskId, 'install', jobs);
      return { task_id: taskId, cmd_jobs: instances.map((instance, index) => ({ instance_id: instance.id, job_id: jobs[index].id })) };
    });
  }

  /** ListInstanceApp: the packages on the instance's phone, by package name, one page. */
  async list(projectId: string, instanceId: string, query: AppQuery) {
    const instance = await this.instances.requireOne(projectId, instanceId);
    if (instance.phone_id === null) throw kpError('KOOPHONE.API.3009');
    const phone = await this.db.selectFrom('phones').selectAll().where('id', '=', instance.phone_id).executeTakeFirst();
    if (!phone || phone.status !== PHONE_STATUS.running) throw kpError('KOOPHONE.API.62010');
    const spec = await phoneSpec(phone, this.deps);
    const filter = query.app_type === 1 ? ' -s' : query.app_type === 2 ? ' -3' : '';
    const [listed, dump] = await Promise.all([this.deps.driver.shell(spec, `pm list packages${filter}`), this.deps.driver.shell(spec, 'dumpsys package')]);
    const versions = packageVersions(dump.output);
    const names = listed.output
      .split('\n')
      .flatMap((line) => (line.startsWith('package:') ? [line.slice('package:'.length).trim()] : []))
      .sort();
    const start = (query.page_no - 1) * query.page_size;
    return {
      total: names.length,
      // The shell shows no app labels or icons: the package name stands for the label.
      result: names.slice(start, start + query.page_size).map((name) => ({ app_name: name, app_version: versions.get(name) ?? '', app_pkg: name, icon_url: '' })),
    };
  }

  /** MB of packages the project has asked to install so far (each task's package once). */
  private async uploadedMb(db: Db, projectId: string): Promise<number> {
    const { rows } = await sql<{ total: number | null }>`
      SELECT SUM(size) AS total FROM (
        SELECT DISTINCT request_id, (params->>'object_size')::float8 AS size FROM jobs
        WHERE project_id = ${projectId} AND type = ${INSTALL_JOB} AND params ? 'object_size') AS uploads`.execute(db);
    return Number(rows[0]?.total ?? 0);
  }
}

/** `versionName` of each package in `dumpsys package` output. */
function packageVersions(dump: string): Map<string, string> {
  const versions = new Map<string, string>();
  let current: string | undefined;
  for (const line of dump.split('\n')) {
    const header = /^\s*Package \[([^\]]+)\]/.exec(line);
    if (header) current = header[1];
    const version = /^\s*versionName=(.*)$/.exec(line);
    if (version && current && !versions.has(current)) versions.set(current, version[1].trim());
  }
  return versions;
}
