import { PHONE_TRANSITIONS, type PhoneOperation } from '../core/lifecycle.ts';
import type { PhoneOperationParams } from '../core/job-types.ts';
import { phoneSpec } from '../core/phone-spec.ts';
import { PhoneDeletedError, type PhoneSpec } from '../devices/driver.ts';
import type { JobHandler, JobResult } from './engine.ts';
import type { HandlerDeps, JobHandlers } from './handlers.ts';

/** Jobs of the phone lifecycle operations (core/phones.ts). */
export function phoneJobHandlers(deps: HandlerDeps): Pick<JobHandlers, 'phone.restart' | 'phone.reset' | 'phone.stop' | 'phone.update-property'> {
  return {
    'phone.restart': phoneOperation('restart', deps, (phone) => deps.driver.restart(phone)),
    'phone.reset': phoneOperation('reset', deps, (phone) => deps.driver.reset(phone)),
    'phone.stop': phoneOperation('stop', deps, (phone) => deps.driver.stop(phone)),
    'phone.update-property': phoneOperation('update-property', deps),
  };
}

/**
 * A phone lifecycle job: the attributes and image given with the request are merged into the phone, the
 * driver acts on it, and the phone ends in the operation's success or failure status (core/lifecycle.ts).
 * Without an action (UpdateCloudPhoneProperty) the attributes are only recorded: they apply at the next boot.
 */
function phoneOperation(operation: PhoneOperation, { db, catalogue, phones }: HandlerDeps, act?: (phone: PhoneSpec) => Promise<void>): JobHandler<PhoneOperationParams> {
  const { success, failure } = PHONE_TRANSITIONS[operation];
  return {
    async run(job, params): Promise<JobResult> {
      const phone = await phones.load(job.phone_id!);
      if (!phone) return { ok: false, errorCode: 'CPS.0005' };
      const property = params.property ? JSON.stringify({ ...JSON.parse(phone.property), ...JSON.parse(params.property) }) : undefined;
      const updated = { ...phone, property: property ?? phone.property, image_id: params.image_id ?? phone.image_id };
      try {
        await act?.(await phoneSpec(updated, { db, catalogue }));
      } catch (error) {
        // Deleted with its server meanwhile: there is no phone left to give a status.
        if (error instanceof PhoneDeletedError) return { ok: false, errorCode: 'CPS.0005' };
        return { ok: false, errorCode: 'CPS.0022', phoneStatus: failure };
      }
      return { ok: true, phoneStatus: success, phoneFields: { property, image_id: params.image_id } };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054', phoneStatus: failure }),
  };
}
