import type { Command } from '../command.ts';
import { ANDROID_COMMANDS } from './android.ts';
import { FILE_CHANGE_COMMANDS } from './file-changes.ts';
import { FILE_COMMANDS } from './files.ts';
import { SYSTEM_COMMANDS } from './system.ts';
import { TEXT_COMMANDS } from './text.ts';

/** Every command the simulated /system/bin has, by name. */
export const COMMANDS = new Map<string, Command>(
  Object.entries({ ...FILE_COMMANDS, ...FILE_CHANGE_COMMANDS, ...TEXT_COMMANDS, ...SYSTEM_COMMANDS, ...ANDROID_COMMANDS }),
);
