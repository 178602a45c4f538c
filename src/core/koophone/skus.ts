// KooPhone's saleable instance SKUs (BatchShowSku, spec §2.12), read from catalogue/koophone-skus.json.
// Entries hold the wire fields plus an `opencph` object (never on the wire): the CPH phone flavor an
// instance of the SKU runs on and how many instances the SKU may have at once (its stock).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CATALOGUE_DIR } from '../../catalogue-dir.ts';
import type { Catalogue } from '../catalogue.ts';

const DEFAULT_FILE = join(CATALOGUE_DIR, 'koophone-skus.json');

export const OS_VERSIONS = ['AOSP9', 'AOSP11'] as const;
export type OsVersion = (typeof OS_VERSIONS)[number];

const Aosp = Type.Object({
  version: Type.String(),
  resPoolId: Type.String({ pattern: '^[0-9]{19}$' }),
  id: Type.Integer(),
  network: Type.Union([Type.Literal('EIP'), Type.Literal('ADN')]),
  enable: Type.Boolean(),
});

const NestInfo = Type.Object({
  bandSize: Type.Number(),
  sceneType: Type.String(),
  network: Type.String(),
  storageDesc: Type.String(),
  sceneDesc: Type.String(),
  sceneDescEn: Type.String(),
  tags: Type.Optional(Type.String()),
  tagsEn: Type.Optional(Type.String()),
});

/** One `skuResponses` element as BatchShowSku answers it. */
export const SkuWire = Type.Object({
  type: Type.Union([Type.Literal('ENTERPRISE'), Type.Literal('PROFESSIONAL')]),
  cbcSkuId: Type.String({ minLength: 1, maxLength: 64 }),
  name: Type.String(),
  calcSpec: Type.String(),
  storageSpec: Type.String(),
  specDesc: Type.String(),
  specDescEn: Type.String(),
  bandSize: Type.String({ pattern: '^[0-9]+(,[0-9]+)*$' }),
  chargeMode: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)]),
  maxResolution: Type.String(),
  poolInfo: Type.Object({ aosp: Type.Array(Aosp) }),
  nestInfo: Type.Array(NestInfo),
});

const SkuEntry = Type.Composite([
  SkuWire,
  Type.Object({ opencph: Type.Object({ phone_model_name: Type.String(), stock: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }) }),
]);

const RegionEntry = Type.Object({
  regionId: Type.String({ minLength: 1, maxLength: 64 }),
  opencph: Type.Object({ region_name: Type.String(), region_name_en: Type.String() }, { additionalProperties: false }),
  skuResponses: Type.Array(SkuEntry),
});

const SkuFile = Type.Object({
  bandInfo: Type.Object({ id: Type.String(), cbcSkuId: Type.String() }),
  regions: Type.Array(RegionEntry, { minItems: 1 }),
  opencph: Type.Object({ images: Type.Object({ AOSP9: Type.String(), AOSP11: Type.String() }) }),
});

export type Sku = Static<typeof SkuEntry>;
export type SkuRegion = Static<typeof RegionEntry>;

export class SkuCatalogue {
  private constructor(private readonly file: Static<typeof SkuFile>) {}

  /** Loads and checks the file against the CPH catalogue: every SKU's flavor and images must exist and fit. */
  static load(catalogue: Catalogue, file = DEFAULT_FILE): SkuCatalogue {
    const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const errors = [...Value.Errors(SkuFile, data)];
    if (errors.length > 0) throw new Error(`${file}: ${errors[0].path} ${errors[0].message}`);
    const skus = new SkuCatalogue(data as Static<typeof SkuFile>);
    for (const region of skus.file.regions) {
      for (const sku of region.skuResponses) {
        const model = catalogue.phoneModel(sku.opencph.phone_model_name);
        if (!model) throw new Error(`${file}: ${sku.cbcSkuId} names an unknown phone flavor ${sku.opencph.phone_model_name}`);
        for (const os of OS_VERSIONS) {
          const image = catalogue.image(skus.file.opencph.images[os]);
          if (!image || !catalogue.imageFitsPhoneModel(image, model)) throw new Error(`${file}: the ${os} image does not run on ${model.phone_model_name}`);
        }
      }
    }
    return skus;
  }

  get bandSkuId(): string {
    return this.file.bandInfo.cbcSkuId;
  }

  /** BatchShowSku's `data`. */
  wire() {
    return {
      bandInfo: this.file.bandInfo,
      skuSpecResponseList: this.file.regions.map((region) => ({
        regionId: region.regionId,
        skuResponses: region.skuResponses.map(({ opencph: _internal, ...wire }) => wire),
      })),
    };
  }

  region(regionId: string): SkuRegion | undefined {
    return this.file.regions.find((region) => region.regionId === regionId);
  }

  sku(regionId: string, skuId: string): Sku | undefined {
    return this.region(regionId)?.skuResponses.find((sku) => sku.cbcSkuId === skuId);
  }

  /** The CPH image instances of `os` run (OpenCPH's catalogue has no Android 9 image: AOSP9 runs its newest Android 7 one). */
  imageFor(os: OsVersion): string {
    return this.file.opencph.images[os];
  }
}
