import { EXPAND_VOLUME_JOB, dataVolumeSize } from '../core/phone-extras.ts';
import type { JobPayloads } from '../core/job-types.ts';
import type { JobHandler } from './engine.ts';
import type { HandlerDeps, JobHandlers } from './handlers.ts';

/** Jobs of the phone data volumes. */
export function volumeJobHandlers(deps: HandlerDeps): Pick<JobHandlers, typeof EXPAND_VOLUME_JOB> {
  return { [EXPAND_VOLUME_JOB]: expandVolume(deps) };
}

/**
 * Grows a phone's data volume to the requested size. Sizes were checked when the job was accepted; a
 * volume that another expansion made larger in the meantime is not shrunk.
 */
function expandVolume({ db, catalogue, clock, phones }: HandlerDeps): JobHandler<JobPayloads[typeof EXPAND_VOLUME_JOB]> {
  return {
    async run(job, { new_size: newSize }) {
      const phone = await phones.load(job.phone_id!);
      if (!phone) return { ok: false, errorCode: 'CPS.0005' };
      if (newSize < dataVolumeSize(phone, catalogue)) return { ok: false, errorCode: 'CPS.0077' };
      await db.updateTable('phones').set({ data_volume_size: newSize, updated_at: clock.now() }).where('id', '=', job.phone_id!).execute();
      return { ok: true };
    },
    retryable: true,
    abandoned: () => ({ ok: false, errorCode: 'CPS.0054' }),
  };
}
