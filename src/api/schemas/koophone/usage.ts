import { Type } from '@sinclair/typebox';
import { InstanceId, InstanceIds, UserId } from '../../koophone/common.ts';

/** BatchPrepareInstances (spec §2.15). */
export const PrepareBody = Type.Object({ user_id: UserId, instance_ids: InstanceIds });

export const PrepareStatus = Type.Object({ status_list: Type.Array(Type.Object({ instance_id: Type.String(), status: Type.Integer() })) });

/** ShowProgress (spec §2.16). */
export const ProgressBody = Type.Object({ user_id: UserId, instance_id: InstanceId });

export const Progress = Type.Object({ status: Type.Integer(), waitingCount: Type.Integer() });

/** BatchBackupInstances (spec §2.17). */
export const BackupBody = Type.Object({ instance_ids: InstanceIds });
