import { Type } from '@sinclair/typebox';
import { coded, jobEntry } from '../../schema.ts';

/** PushFile, InstallApk, UninstallApk, RunShellCommand and RunSyncCommand (spec §3.34–3.38). */
export const CommandBody = coded(
  Type.Object({
    command: coded(Type.String(), 'CPS.0117', 'CPS.0117'),
    content: coded(Type.String(), 'CPS.0118', 'CPS.0118'),
    phone_ids: Type.Optional(coded(Type.Array(coded(Type.String(), 'CPS.0080')), 'CPS.0080')),
    server_ids: Type.Optional(coded(Type.Array(coded(Type.String(), 'CPS.0094')), 'CPS.0094')),
  }),
  'CPS.0117',
);

export const CommandJobs = Type.Object({ request_id: Type.String(), jobs: Type.Array(jobEntry('phone_id')) });

export const SyncCommandResults = Type.Object({
  request_id: Type.String(),
  jobs: Type.Array(
    Type.Object({
      phone_id: Type.String(),
      job_id: Type.Optional(Type.String()),
      status: Type.Integer(),
      error_code: Type.String(),
      error_msg: Type.String(),
      execute_msg: Type.String(),
    }),
  ),
});
