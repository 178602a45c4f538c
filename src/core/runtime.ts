import { randomBytes, randomUUID } from 'node:crypto';

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
}

export const systemClock: Clock = { now: () => new Date() };

export const randomIds: Ids = {
  hex32: () => randomBytes(16).toString('hex'),
  uuid: () => randomUUID(),
};

/** The wire format of every CPH time: `YYYY-MM-DDTHH:MM:SSZ`, UTC. */
export function wireTime(date: Date): string;
export function wireTime(date: Date | null): string | null;
export function wireTime(date: Date | null): string | null {
  return date ? date.toISOString().slice(0, 19) + 'Z' : null;
}

export const HEX32 = /^[0-9a-f]{32}$/;
