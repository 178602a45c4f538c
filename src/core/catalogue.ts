// The product catalogue: server flavors, phone flavors and public images, read from the JSON files in
// catalogue/. Each entry holds the exact wire fields of its list API plus an `opencph` object with what
// OpenCPH needs internally; `Catalogue.wire()` strips the latter before anything goes on the wire.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CATALOGUE_DIR } from '../catalogue-dir.ts';

// Both `extend_spec` fields are limited to 512 bytes (spec §3.3, §3.18).
const EXTEND_SPEC_MAX_BYTES = 512;

const ProductType = Type.Union([Type.Literal(0), Type.Literal(1)], {
  description: '0 cloud phone, 1 cloud mobile gaming',
});

/** Image labels of ListCloudPhoneImages (spec §3.19); also the values of its `image_label` filter. */
export const ImageLabel = Type.Union([
  Type.Literal('cloud_phone'),
  Type.Literal('cloud_phone_1620'),
  Type.Literal('cloud_game'),
  Type.Literal('cloud_game_1620'),
  Type.Literal('qemu_phone'),
]);
export type ImageLabel = Static<typeof ImageLabel>;

/** One element of `server_models` in ListCloudPhoneServerModels (spec §3.3). */
export const ServerModelWire = Type.Object(
  {
    server_model_name: Type.String({ minLength: 1, maxLength: 64 }),
    server_type: Type.String({ maxLength: 32 }),
    cpu: Type.Integer({ minimum: 1 }),
    memory: Type.Integer({ minimum: 1, description: 'GB' }),
    // An object here, unlike the phone-model extend_spec (§8 row 17).
    extend_spec: Type.Object(
      {
        cpu: Type.String(),
        memory: Type.String(),
        disk: Type.String(),
        network_interface: Type.String(),
        gpu: Type.String(),
        bms_flavor: Type.String(),
        gpu_count: Type.Integer({ minimum: 0 }),
        numa_count: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    product_type: ProductType,
  },
  { additionalProperties: false },
);

/** One element of `phone_models` in ListCloudPhoneModels (spec §3.18). */
export const PhoneModelWire = Type.Object(
  {
    server_model_name: Type.String({ minLength: 1, maxLength: 64 }),
    phone_model_name: Type.String({ minLength: 1, maxLength: 64 }),
    spec_code: Type.String({ minLength: 1, maxLength: 64 }),
    // An integer on the wire although the document's example prints 2.0 (§8 row 17).
    cpu: Type.Integer({ minimum: 1 }),
    memory: Type.Integer({ minimum: 1, description: 'MB' }),
    disk: Type.Integer({ minimum: 1, description: 'GB' }),
    resolution: Type.String({ maxLength: 16, pattern: '^[0-9]+x[0-9]+$' }),
    extend_spec: Type.String({ description: 'JSON text, at most 512 bytes' }),
    phone_capacity: Type.Integer({ minimum: 1, description: 'phones per server' }),
    status: Type.Union([Type.Literal(0), Type.Literal(1)], { description: '1 normal, 0 offline' }),
    product_type: ProductType,
    image_label: Type.Union([Type.Literal('qemu_phone'), Type.Literal('cloud_phone'), Type.Literal('cloud_game')]),
  },
  { additionalProperties: false },
);

/** One element of `phone_images` in ListCloudPhoneImages (spec §3.19). */
export const PhoneImageWire = Type.Object(
  {
    image_name: Type.String({ minLength: 1, maxLength: 128 }),
    os_type: Type.String({ maxLength: 16 }),
    os_name: Type.String({ maxLength: 36 }),
    image_id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    is_public: Type.Union([Type.Literal(1), Type.Literal(2)], { description: '1 public, 2 private' }),
    image_label: ImageLabel,
  },
  { additionalProperties: false },
);

/**
 * The keys of a phone model's `extend_spec` JSON text that OpenCPH reads (spec §3.18). The document gives
 * no schema, so other keys are allowed and passed through untouched.
 */
export const PhoneExtendSpec = Type.Object({
  eip_count: Type.Integer({ minimum: 0 }),
  vip_count: Type.Integer({ minimum: 0 }),
  emulator_type: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
  // Present only on flavors that support shared storage (PushShareFiles and friends).
  max_share_disk_size_g: Type.Optional(Type.Integer({ minimum: 1 })),
  encode_server_spec: Type.Optional(
    Type.Object({
      cpu: Type.Integer(),
      memory: Type.Integer(),
      disk: Type.Integer(),
      image_id: Type.String(),
      port_num: Type.Integer(),
    }),
  ),
});
export type PhoneExtendSpec = Static<typeof PhoneExtendSpec>;

const NetworkVersion = Type.Union([Type.Literal('v1'), Type.Literal('v2')]);

const ServerModelEntry = Type.Composite(
  [
    ServerModelWire,
    Type.Object({
      opencph: Type.Object(
        {
          // Purchase URIs that may buy this flavor: v1 = POST /v1/.../phones, v2 = POST /v2/.../servers (CPS.0256).
          network_versions: Type.Array(NetworkVersion, { minItems: 1, uniqueItems: true }),
          // The first zone is where a purchase lands when it names none.
          availability_zones: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
          // Entries in the server's `addresses` (server_ip/public_ip pairs).
          address_count: Type.Integer({ minimum: 1 }),
          // ChangeCloudPhoneServerModel switches only between flavors of one generation, and only from a special flavor.
          generation: Type.String({ minLength: 1 }),
          special: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
    }),
  ],
  { additionalProperties: false },
);

const PhoneModelEntry = Type.Composite(
  [
    PhoneModelWire,
    Type.Object({
      opencph: Type.Object(
        {
          // Screen density in dpi, what `wm density` reports.
          density: Type.Integer({ minimum: 1 }),
          // Image labels whose images run on this flavor (CPS.0255 / CPS.0261 otherwise).
          image_labels: Type.Array(ImageLabel, { minItems: 1, uniqueItems: true }),
        },
        { additionalProperties: false },
      ),
    }),
  ],
  { additionalProperties: false },
);

const PhoneImageEntry = Type.Composite(
  [
    PhoneImageWire,
    Type.Object({
      opencph: Type.Object(
        {
          android_version: Type.String({ minLength: 1, description: 'ro.build.version.release' }),
          sdk_level: Type.Integer({ minimum: 1, description: 'ro.build.version.sdk' }),
          build_id: Type.String({ minLength: 1, description: 'ro.build.id' }),
          fingerprint: Type.String({ minLength: 1, description: 'ro.build.fingerprint' }),
          image_version: Type.String({ minLength: 1, description: 'image_version of ListCloudPhones (2025)' }),
        },
        { additionalProperties: false },
      ),
    }),
  ],
  { additionalProperties: false },
);

export interface ServerModel extends Static<typeof ServerModelEntry> {}
export interface PhoneModel extends Static<typeof PhoneModelEntry> {}
export interface PhoneImage extends Static<typeof PhoneImageEntry> {}

export class Catalogue {
  private readonly serverModelsByName: Map<string, ServerModel>;
  private readonly phoneModelsByName: Map<string, PhoneModel>;
  private readonly imagesById: Map<string, PhoneImage>;

  private constructor(
    readonly serverModels: ServerModel[],
    readonly phoneModels: PhoneModel[],
    readonly images: PhoneImage[],
  ) {
    this.serverModelsByName = new Map(serverModels.map((m) => [m.server_model_name, m]));
    this.phoneModelsByName = new Map(phoneModels.map((m) => [m.phone_model_name, m]));
    this.imagesById = new Map(images.map((i) => [i.image_id, i]));
  }

  /** Reads and validates server-models.json, phone-models.json and images.json from `dir`. */
  static load(dir: string = CATALOGUE_DIR): Catalogue {
    const serverFile = join(dir, 'server-models.json');
    const phoneFile = join(dir, 'phone-models.json');
    const imageFile = join(dir, 'images.json');
    const serverModels = readEntries(serverFile, ServerModelEntry, 'server_model_name');
    const phoneModels = readEntries(phoneFile, PhoneModelEntry, 'phone_model_name');
    const images = readEntries(imageFile, PhoneImageEntry, 'image_id');

    const servers = new Map(serverModels.map((m) => [m.server_model_name, m]));
    for (const m of serverModels) {
      const bytes = Buffer.byteLength(JSON.stringify(m.extend_spec));
      if (bytes > EXTEND_SPEC_MAX_BYTES) {
        fail(serverFile, m.server_model_name, `extend_spec is ${bytes} bytes, at most ${EXTEND_SPEC_MAX_BYTES} allowed`);
      }
    }
    for (const m of phoneModels) {
      const server = servers.get(m.server_model_name);
      if (!server) fail(phoneFile, m.phone_model_name, `unknown server_model_name "${m.server_model_name}"`);
      if (server.product_type !== m.product_type) {
        fail(phoneFile, m.phone_model_name, `product_type ${m.product_type} differs from its server model's ${server.product_type}`);
      }
      checkPhoneExtendSpec(phoneFile, m);
    }
    return new Catalogue(serverModels, phoneModels, images);
  }

  serverModel(name: string): ServerModel | undefined {
    return this.serverModelsByName.get(name);
  }

  phoneModel(name: string): PhoneModel | undefined {
    return this.phoneModelsByName.get(name);
  }

  image(id: string): PhoneImage | undefined {
    return this.imagesById.get(id);
  }

  /** Whether phones of this flavor can run the image; the rule is each flavor's `opencph.image_labels`. */
  imageFitsPhoneModel(image: PhoneImage, phoneModel: PhoneModel): boolean {
    return phoneModel.opencph.image_labels.includes(image.image_label);
  }

  /** The parsed `extend_spec` of a phone model (validated when the catalogue was loaded). */
  static extendSpec(phoneModel: PhoneModel): PhoneExtendSpec {
    return JSON.parse(phoneModel.extend_spec) as PhoneExtendSpec;
  }

  /** The entry without its internal `opencph` object, as the list APIs return it. */
  static wire<T extends { opencph: unknown }>(item: T): Omit<T, 'opencph'> {
    const { opencph: _internal, ...wire } = item;
    return wire;
  }
}

function fail(file: string, item: string, problem: string): never {
  throw new Error(`Invalid catalogue file ${file}: ${item}: ${problem}`);
}

/** Parses a JSON array file and checks every element against `schema` and that `key` is unique. */
function readEntries<T extends TSchema>(file: string, schema: T, key: string): Static<T>[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`Invalid catalogue file ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new Error(`Invalid catalogue file ${file}: expected a JSON array`);

  const seen = new Set<unknown>();
  data.forEach((item: unknown, index) => {
    const label = itemLabel(item, key, index);
    const error = Value.Errors(schema, item).First();
    if (error) {
      fail(file, label, `${error.path || '/'}: ${error.message} (got ${JSON.stringify(error.value)})`);
    }
    const id = (item as Record<string, unknown>)[key];
    if (seen.has(id)) fail(file, label, `duplicate ${key}`);
    seen.add(id);
  });
  return data as Static<T>[];
}

function itemLabel(item: unknown, key: string, index: number): string {
  const id = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[key] : undefined;
  return typeof id === 'string' ? `entry ${index} (${id})` : `entry ${index}`;
}

function checkPhoneExtendSpec(file: string, model: PhoneModel): void {
  const bytes = Buffer.byteLength(model.extend_spec);
  if (bytes > EXTEND_SPEC_MAX_BYTES) {
    fail(file, model.phone_model_name, `extend_spec is ${bytes} bytes, at most ${EXTEND_SPEC_MAX_BYTES} allowed`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(model.extend_spec);
  } catch (err) {
    fail(file, model.phone_model_name, `extend_spec is not JSON: ${(err as Error).message}`);
  }
  const error = Value.Errors(PhoneExtendSpec, spec).First();
  if (error) fail(file, model.phone_model_name, `extend_spec${error.path}: ${error.message}`);
}
