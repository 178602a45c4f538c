// Every job type's handler: the engine runs each job with the handler of its type. A job type is declared in
// src/core/job-types.ts (its payload) and handled by the file of src/jobs/ named after its core counterpart.
import type { CommandDeps } from './commands.ts';
import { commandHandler } from './commands.ts';
import type { JobHandlers } from './handlers.ts';
import { serverJobHandlers } from './servers.ts';
import { phoneJobHandlers } from './phones.ts';
import { encodeJobHandlers } from './encode-servers.ts';
import { volumeJobHandlers } from './phone-extras.ts';
import { phoneDataHandlers } from './phone-data.ts';
import { shareJobHandlers } from './share.ts';
import { koophoneJobHandlers } from './koophone/apps.ts';
import { koophoneUsageHandlers } from './koophone/usage.ts';

export function jobHandlers(deps: CommandDeps): JobHandlers {
  return {
    'phone.command': commandHandler(deps),
    ...serverJobHandlers(deps),
    ...phoneJobHandlers(deps),
    ...encodeJobHandlers(deps),
    ...volumeJobHandlers(deps),
    ...koophoneJobHandlers(deps),
    ...koophoneUsageHandlers(deps),
    ...phoneDataHandlers(deps),
    ...shareJobHandlers(deps),
  };
}
