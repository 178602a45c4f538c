import { Type, type TSchema } from '@sinclair/typebox';
import { FINITE_KEYWORD } from '../schema.ts';

/** IAM actions are `koophone:cloudphoneResource:<name>` (spec §4.2). */
export const action = (name: string) => `koophone:cloudphoneResource:${name}`;

/** The success envelope's schema: `{error_code: "0", error_msg, data}`. */
export function Envelope<T extends TSchema>(data: T) {
  return Type.Object({ error_code: Type.String(), error_msg: Type.String(), data });
}

/** The success envelope of an API without `data`. */
export const EmptyEnvelope = Type.Object({ error_code: Type.String(), error_msg: Type.String() });

/** A success body. `error_msg` is "ok" or "OK" as each API's example has it (spec §1.5.2). */
export function ok<T>(data: T, message = 'ok'): { error_code: '0'; error_msg: string; data: T } {
  return { error_code: '0', error_msg: message, data };
}

export function okEmpty(message = 'ok'): { error_code: '0'; error_msg: string } {
  return { error_code: '0', error_msg: message };
}

/** Instance ids per request, and characters per id (spec §1.4). */
const MAX_INSTANCE_IDS = 100;
const MAX_ID_LENGTH = 32;

export const InstanceId = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH });
/** An instance id list: 1–100 ids of ≤ 32 characters each (spec §1.4). */
export const InstanceIds = Type.Array(InstanceId, { minItems: 1, maxItems: MAX_INSTANCE_IDS });
/** `user_id`: a string of 1–32 characters; a JSON number is read as its decimal text (spec §2.9 example). */
export const UserId = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH });

export const CmdJob = Type.Object({ instance_id: Type.String(), job_id: Type.String() });
export const TaskData = Type.Object({ task_id: Type.String(), cmd_jobs: Type.Array(CmdJob) });

// page_no is bounded so that the row offset it makes stays an SQL integer.
export const Paging = {
  page_no: Type.Integer({ minimum: 1, maximum: 10_000_000, [FINITE_KEYWORD]: true }),
  page_size: Type.Integer({ minimum: 1, maximum: 200, [FINITE_KEYWORD]: true }),
};
