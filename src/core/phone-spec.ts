import type { Db } from '../store/db.ts';
import type { Phone } from '../store/schema.ts';
import type { PhoneDriver, PhoneSpec } from '../devices/driver.ts';
import type { Catalogue } from './catalogue.ts';
import { phoneImage } from './images.ts';
import { dataVolumeSize } from './phone-extras.ts';

/** What core needs to act on a phone's device itself (KooPhone's app list and screen). */
export interface PhoneDevices {
  db: Db;
  catalogue: Catalogue;
  driver: PhoneDriver;
}

/** What a driver is told about a phone: its row with its flavor, image, attributes and data volume resolved. */
export async function phoneSpec(phone: Phone, { db, catalogue }: Pick<PhoneDevices, 'db' | 'catalogue'>): Promise<PhoneSpec> {
  const phoneModel = catalogue.phoneModel(phone.phone_model_name);
  const image = await phoneImage(db, catalogue, phone.image_id);
  if (!phoneModel || !image) throw new Error(`phone ${phone.id} refers to a flavor or image missing from the catalogue`);
  return {
    id: phone.id, driver: phone.driver, serverId: phone.server_id, name: phone.name, imei: phone.imei, phoneModel, image,
    property: JSON.parse(phone.property) as Record<string, string>, dataVolumeGiB: dataVolumeSize(phone, catalogue),
  };
}
