import type { PhoneImage, PhoneModel } from '../core/catalogue.ts';

/** What a driver needs to know to run one phone. */
export interface PhoneSpec {
  id: string;
  serverId: string;
  phoneModel: PhoneModel;
  image: PhoneImage;
  /** CPH attribute list values (`property`), already parsed. */
  property: Record<string, string>;
}

/**
 * The only code that touches a phone. Core and the job engine call these; a driver may take as long as
 * the real operation does, and throws PhoneOperationError when the phone cannot do it.
 */
export interface PhoneDriver {
  readonly name: string;
  /** First boot of a newly provisioned phone. */
  create(phone: PhoneSpec): Promise<void>;
  start(phone: PhoneSpec): Promise<void>;
  stop(phone: PhoneSpec): Promise<void>;
  restart(phone: PhoneSpec): Promise<void>;
  /** The phone is gone for good (its server was deleted): free whatever it holds. */
  destroy(phoneId: string): Promise<void>;
}

export class PhoneOperationError extends Error {}
