import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/** Time source; tests substitute a controllable one. */
export interface Clock {
  now(): Date;
}

/** Id source; tests may substitute a predictable one. */
export interface Ids {
  /** 32 lowercase hex characters: request, job, phone, server, project ids. */
  hex32(): string;
  /** UUID with hyphens: VPC, subnet, bandwidth, volume ids. */
  uuid(): string;
  /** An integer from 0 to `max` - 1: the digits and letters of order and product ids, addresses, IMEIs. */
  int(max: number): number;
}

export const systemClock: Clock = { now: () => new Date() };

// Random bytes are drawn 4 KiB at a time: one call to the system's generator per 256 ids (every request has one).
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

export const randomIds: Ids = {
  hex32() {
    if (randomOffset + 16 > randomPool.length) {
      randomPool = randomBytes(4096);
      randomOffset = 0;
    }
    randomOffset += 16;
    return randomPool.toString('hex', randomOffset - 16, randomOffset);
  },
  uuid: () => randomUUID(),
  int: (max) => randomInt(max),
};

/** The wire format of every CPH time: `YYYY-MM-DDTHH:MM:SSZ`, UTC. */
export function wireTime(date: Date): string;
export function wireTime(date: Date | null): string | null;
export function wireTime(date: Date | null): string | null {
  return date ? date.toISOString().slice(0, 19) + 'Z' : null;
}

export const HEX32 = /^[0-9a-f]{32}$/;
