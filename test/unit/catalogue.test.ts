import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import {
  Catalogue,
  PhoneImageWire,
  PhoneModelWire,
  ServerModelWire,
  type ImageLabel,
} from '../../src/core/catalogue.ts';

const catalogueDir = fileURLToPath(new URL('../../catalogue/', import.meta.url));
const catalogue = Catalogue.load();

function phoneModel(name: string) {
  const model = catalogue.phoneModel(name);
  assert.ok(model, `phone model ${name} is in the catalogue`);
  return model;
}

function serverModel(name: string) {
  const model = catalogue.serverModel(name);
  assert.ok(model, `server model ${name} is in the catalogue`);
  return model;
}

function image(id: string) {
  const found = catalogue.image(id);
  assert.ok(found, `image ${id} is in the catalogue`);
  return found;
}

test('every flavor and image named in the spec is present', () => {
  for (const name of [
    'physical.rx1.xlarge',
    'physical.rx1.xlarge.cg',
    'physical.kg1.4xlarge.cp',
    'physical.kg1.4xlarge.cg',
    'physical.kg1m.4xlarge.cg',
    'physical.rx1.xlarge.special',
  ]) {
    serverModel(name);
  }
  for (const name of [
    'rx1.cp.c60.d32.e1v1.qemu',
    'rx1.cp.c60.d10.e1v1',
    'rx1.cg.c15.d30.e1v1',
    'kg1.cp.c100.d10SSD.e1v1',
    'kg1.cg.c40.d30SSD.e1v1',
    'rx1.cp.c105.d6.e5v5',
    'rx1.cp.sp.c105.d8.e5v5',
    'kg1m.cg.c60.d20SSD.e1v1',
    'kg1.cg.c40.d30SSD.e1v1.old',
    'kg1.cp.c150.d10GPSSD.e2v2.br150',
    'kg1.cp.c20.d64SSD.e1v1',
    'aphs1.medium.4.aosp',
    'aphs1.large.2.aosp',
    'AOSP-1U4G15G-001',
  ]) {
    assert.equal(phoneModel(name).status, 1, `${name} can be bought`);
  }
});

test('the server flavor example of §3.3 is reproduced exactly', () => {
  assert.deepEqual(Catalogue.wire(serverModel('physical.rx1.xlarge')), {
    server_model_name: 'physical.rx1.xlarge',
    server_type: 'Hi1616',
    cpu: 64,
    memory: 256,
    extend_spec: {
      cpu: 'Hi1616(2*32Core*2.4GHz)',
      memory: 'DDR4 RAM',
      disk: '2*1.2T SAS + 800G SSD',
      network_interface: '2 x 2*10GE',
      gpu: '3*WX5100',
      bms_flavor: 'physical.rg1.xlarge.cph.ondemand',
      gpu_count: 3,
      numa_count: 4,
    },
    product_type: 0,
  });
});

test('server flavors match the A.3 table', () => {
  for (const [name, cpu, memory, productType] of [
    ['physical.rx1.xlarge', 64, 256, 0],
    ['physical.rx1.xlarge.cg', 64, 256, 1],
    ['physical.kg1.4xlarge.cp', 128, 512, 0],
    ['physical.kg1.4xlarge.cg', 128, 512, 1],
  ] as const) {
    const model = serverModel(name);
    assert.equal(model.cpu, cpu, `${name} cpu`);
    assert.equal(model.memory, memory, `${name} memory`);
    assert.equal(model.product_type, productType, `${name} product_type`);
  }
});

test('the phone flavor examples of §3.18 are reproduced exactly', () => {
  assert.deepEqual(Catalogue.wire(phoneModel('rx1.cp.c60.d32.e1v1.qemu')), {
    server_model_name: 'physical.rx1.xlarge',
    phone_model_name: 'rx1.cp.c60.d32.e1v1.qemu',
    spec_code: 'rx1.cp.c60.d32.e1v1.qemu',
    cpu: 2,
    memory: 3072,
    disk: 32,
    resolution: '540x960',
    extend_spec:
      '{"eip_count": 1, "vip_count":1, "emulator_type":0, "bms_image_id": "72460777-7fcb-4cae-8bb5-62d93be86bd7", "core_bind_strategy": "lxc_qemu_common_hosted_c60", "sd_disk": 1}',
    phone_capacity: 60,
    status: 1,
    product_type: 0,
    image_label: 'qemu_phone',
  });
  assert.deepEqual(Catalogue.wire(phoneModel('rx1.cp.c60.d10.e1v1')), {
    server_model_name: 'physical.rx1.xlarge',
    phone_model_name: 'rx1.cp.c60.d10.e1v1',
    spec_code: 'rx1.cp.c60.d10.e1v1',
    cpu: 2,
    memory: 3584,
    disk: 10,
    resolution: '720x1280',
    extend_spec:
      '{"eip_count": 1, "vip_count":1, "emulator_type":1, "thinpool_size_g":70, "sharepool_size_g":650, "max_share_disk_size_g":50, "encode_server_spec": {"cpu": 2, "memory": 14448, "disk": 10, "image_id": "coderserver_v2.5", "port_num":0}, "core_bind_strategy": "common_hosted_c60"}',
    phone_capacity: 60,
    status: 1,
    product_type: 0,
    image_label: 'cloud_phone',
  });
});

test('phone flavors match the A.2 table (memory in MB, disk in GB)', () => {
  for (const [name, cpu, memoryGb, disk] of [
    ['rx1.cp.c60.d10.e1v1', 2, 3.5, 10],
    ['rx1.cg.c15.d30.e1v1', 2, 8, 30],
    ['kg1.cp.c100.d10SSD.e1v1', 2, 4.2, 10],
    ['kg1.cg.c40.d30SSD.e1v1', 2, 10, 30],
  ] as const) {
    const model = phoneModel(name);
    assert.equal(model.cpu, cpu, `${name} cpu`);
    assert.ok(Math.abs(model.memory - memoryGb * 1024) < 1, `${name} memory ${model.memory} MB ≈ ${memoryGb} GB`);
    assert.equal(model.disk, disk, `${name} disk`);
  }
});

test('phone flavor names agree with their values (c<phones>.d<disk>.e<eip>v<vip>)', () => {
  const pattern = /\.c(\d+)\.d(\d+)(?:SSD|GPSSD)?\.e(\d+)v(\d+)(?:\.|$)/;
  let checked = 0;
  for (const model of catalogue.phoneModels) {
    assert.equal(model.spec_code, model.phone_model_name);
    const match = pattern.exec(model.phone_model_name);
    if (!match) continue;
    const [, capacity, disk, eips, vips] = match.map(Number);
    const spec = Catalogue.extendSpec(model);
    assert.equal(model.phone_capacity, capacity, `${model.phone_model_name} phone_capacity`);
    assert.equal(model.disk, disk, `${model.phone_model_name} disk`);
    assert.equal(spec.eip_count, eips, `${model.phone_model_name} eip_count`);
    assert.equal(spec.vip_count, vips, `${model.phone_model_name} vip_count`);
    checked++;
  }
  assert.ok(checked >= 12, 'most flavors follow the naming pattern');
});

test('every phone flavor belongs to a server flavor of the same product type that can hold all its phones', () => {
  for (const model of catalogue.phoneModels) {
    const server = serverModel(model.server_model_name);
    assert.equal(model.product_type, server.product_type, `${model.phone_model_name} product_type`);
    assert.ok(
      model.phone_capacity * model.memory <= server.memory * 1024,
      `${model.phone_capacity} phones of ${model.phone_model_name} fit in ${server.memory} GB`,
    );
  }
});

test('extend_spec: phone models carry JSON text, server models an object, both at most 512 bytes', () => {
  for (const model of catalogue.phoneModels) {
    assert.equal(typeof model.extend_spec, 'string');
    assert.ok(Buffer.byteLength(model.extend_spec) <= 512, `${model.phone_model_name} extend_spec size`);
    const spec: unknown = JSON.parse(model.extend_spec);
    assert.ok(spec !== null && typeof spec === 'object' && !Array.isArray(spec), `${model.phone_model_name} extend_spec is an object`);
  }
  for (const model of catalogue.serverModels) {
    assert.equal(typeof model.extend_spec, 'object');
    assert.ok(Buffer.byteLength(JSON.stringify(model.extend_spec)) <= 512, `${model.server_model_name} extend_spec size`);
  }
});

test('shared storage is offered by the documented rx1 flavor and by a kg1 flavor', () => {
  const shared = catalogue.phoneModels.filter((m) => Catalogue.extendSpec(m).max_share_disk_size_g !== undefined);
  assert.equal(Catalogue.extendSpec(phoneModel('rx1.cp.c60.d10.e1v1')).max_share_disk_size_g, 50);
  assert.ok(shared.some((m) => m.phone_model_name.startsWith('kg1.')));
  assert.equal(Catalogue.extendSpec(phoneModel('rx1.cp.c60.d10.e1v1')).encode_server_spec?.image_id, 'coderserver_v2.5');
});

test('exactly one flavor is offline, and it is an extra one, not a documented flavor', () => {
  const offline = catalogue.phoneModels.filter((m) => m.status === 0);
  assert.equal(offline.length, 1);
  assert.match(offline[0].phone_model_name, /offline/);
});

test('the three images of §3.19 are present with their exact ids', () => {
  for (const [id, osName, label] of [
    ['20032420200401a60b0003a99684b8ea', 'AOSP7.1.1', 'cloud_game'],
    ['20032120200330a20b000eae5b8c01e6', 'AOSP7.1.1', 'cloud_phone'],
    ['be4d231e44d2a4ccf612660a473fe1e3', 'AOSP7.0.0', 'qemu_phone'],
  ] as const) {
    assert.deepEqual(Catalogue.wire(image(id)), {
      image_name: 'AOSP',
      os_type: 'aosp',
      os_name: osName,
      image_id: id,
      is_public: 1,
      image_label: label,
    });
  }
});

test('every image label has a public image, and a newer Android exists for cloud_phone', () => {
  const labels: ImageLabel[] = ['cloud_phone', 'cloud_phone_1620', 'cloud_game', 'cloud_game_1620', 'qemu_phone'];
  for (const label of labels) {
    assert.ok(catalogue.images.some((i) => i.image_label === label && i.is_public === 1), label);
  }
  assert.ok(
    catalogue.images.some((i) => i.image_label === 'cloud_phone' && Number.parseInt(i.opencph.android_version) >= 11),
  );
});

test('image build data is self-consistent', () => {
  const sdkOf: Record<string, number> = { '7.0': 24, '7.1.1': 25, '7.1.2': 25, '10': 29, '11': 30, '12': 31 };
  for (const img of catalogue.images) {
    const { android_version, sdk_level, build_id, fingerprint, image_version } = img.opencph;
    assert.match(img.image_id, /^[0-9a-f]{32}$/);
    assert.equal(sdk_level, sdkOf[android_version], `${img.image_id} SDK level of Android ${android_version}`);
    assert.ok(fingerprint.includes(`:${android_version}/${build_id}/`), `${img.image_id} fingerprint`);
    assert.equal(image_version, `AOSP ${android_version}`);
  }
});

test('image compatibility follows the image_label table of §3.19', () => {
  // Server flavor → phone-flavor image_label → the image label that runs on it (§3.19, §8 row 38).
  const expected: Record<string, Record<string, ImageLabel>> = {
    'physical.rx1.xlarge': { cloud_phone: 'cloud_phone', qemu_phone: 'qemu_phone' },
    'physical.rx1.xlarge.special': { cloud_phone: 'cloud_phone' },
    'physical.rx1.xlarge.cg': { cloud_game: 'cloud_game' },
    'physical.kg1.4xlarge.cp': { cloud_phone: 'cloud_phone_1620' },
    'physical.kg1.4xlarge.cg': { cloud_game: 'cloud_game_1620' },
    'physical.kg1m.4xlarge.cg': { cloud_game: 'cloud_game_1620' },
  };
  for (const model of catalogue.phoneModels) {
    const label = expected[model.server_model_name]?.[model.image_label];
    assert.ok(label, `${model.phone_model_name} has a known family`);
    for (const img of catalogue.images) {
      assert.equal(
        catalogue.imageFitsPhoneModel(img, model),
        img.image_label === label,
        `${img.image_label} image on ${model.phone_model_name}`,
      );
    }
  }
});

test('every buyable phone flavor has at least one image', () => {
  for (const model of catalogue.phoneModels.filter((m) => m.status === 1)) {
    assert.ok(
      catalogue.images.some((img) => catalogue.imageFitsPhoneModel(img, model)),
      `an image fits ${model.phone_model_name}`,
    );
  }
});

test('the documented purchase examples are valid combinations', () => {
  // §3.4 (v1), §3.5 (v2), §3.39 (v2 change), and Terraform's acceptance test (v2, first cloud_phone image).
  const firstCloudPhoneImage = catalogue.images.find((i) => i.image_label === 'cloud_phone');
  assert.ok(firstCloudPhoneImage);
  for (const [server, phone, imageId, network] of [
    ['physical.rx1.xlarge', 'aphs1.medium.4.aosp', '88b8449b896f3a4f0ad57222dd919899', 'v1'],
    ['physical.kg1.4xlarge.cp', 'kg1.cp.c20.d64SSD.e1v1', '20060220200717f201120a2300000e91', 'v2'],
    ['physical.rx1.xlarge', 'rx1.cp.c15.d46.e1v1', firstCloudPhoneImage.image_id, 'v2'],
  ] as const) {
    const model = phoneModel(phone);
    assert.equal(model.server_model_name, server);
    assert.ok(serverModel(server).opencph.network_versions.includes(network), `${server} can be bought via ${network}`);
    assert.ok(catalogue.imageFitsPhoneModel(image(imageId), model), `${imageId} fits ${phone}`);
  }
  // §3.12: the special flavor can change to a same-generation flavor with the same phone count.
  const special = serverModel('physical.rx1.xlarge.special');
  assert.equal(special.opencph.special, true);
  assert.equal(phoneModel('rx1.cp.sp.c105.d8.e5v5').server_model_name, special.server_model_name);
  assert.equal(serverModel('physical.rx1.xlarge').opencph.generation, special.opencph.generation);
  assert.equal(phoneModel('rx1.cp.c105.d6.e5v5').phone_capacity, phoneModel('rx1.cp.sp.c105.d8.e5v5').phone_capacity);
});

test('kg1-family servers can only be bought through the v2 URI', () => {
  for (const model of catalogue.serverModels) {
    const expected = model.opencph.generation === 'kg1' ? ['v2'] : ['v1', 'v2'];
    assert.deepEqual(model.opencph.network_versions, expected, model.server_model_name);
  }
});

test('server address counts follow the ListCloudPhoneServers and detail examples', () => {
  assert.equal(serverModel('physical.rx1.xlarge').opencph.address_count, 2);
  assert.equal(serverModel('physical.kg1.4xlarge.cp').opencph.address_count, 2);
  assert.equal(serverModel('physical.kg1.4xlarge.cg').opencph.address_count, 1);
  assert.equal(serverModel('physical.kg1m.4xlarge.cg').opencph.address_count, 1);
});

test('wire() drops only the internal fields, and the result matches the wire schemas', () => {
  for (const model of catalogue.serverModels) {
    const wire = Catalogue.wire(model);
    assert.ok(!('opencph' in wire));
    assert.ok(Value.Check(ServerModelWire, wire), model.server_model_name);
    assert.ok('opencph' in model, 'the catalogue entry itself is untouched');
  }
  for (const model of catalogue.phoneModels) {
    assert.ok(Value.Check(PhoneModelWire, Catalogue.wire(model)), model.phone_model_name);
  }
  for (const img of catalogue.images) {
    assert.ok(Value.Check(PhoneImageWire, Catalogue.wire(img)), img.image_id);
  }
});

test('lookups return undefined for unknown names', () => {
  assert.equal(catalogue.serverModel('physical.nope'), undefined);
  assert.equal(catalogue.phoneModel('nope'), undefined);
  assert.equal(catalogue.image('00000000000000000000000000000000'), undefined);
});

/** Loads a copy of the catalogue in which `file` has been passed through `edit`. */
function loadEdited(file: string, edit: (data: Record<string, unknown>[]) => unknown): () => Catalogue {
  const dir = mkdtempSync(join(tmpdir(), 'opencph-catalogue-'));
  cpSync(catalogueDir, dir, { recursive: true });
  const path = join(dir, file);
  const data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>[];
  const edited = edit(data);
  writeFileSync(path, typeof edited === 'string' ? edited : JSON.stringify(edited));
  return () => {
    try {
      return Catalogue.load(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('a copied catalogue loads from another directory', () => {
  const copy = loadEdited('images.json', (data) => data)();
  assert.equal(copy.images.length, catalogue.images.length);
});

test('broken catalogue files fail to load with a message naming the file and the entry', () => {
  assert.throws(
    loadEdited('phone-models.json', () => '[{"phone_model_name": '),
    /phone-models\.json.*JSON/,
  );
  assert.throws(
    loadEdited('server-models.json', () => ({ server_models: [] })),
    /server-models\.json: expected a JSON array/,
  );
  assert.throws(
    loadEdited('phone-models.json', (data) => {
      data[1].cpu = 2.5;
      return data;
    }),
    /phone-models\.json: entry 1 \(rx1\.cp\.c60\.d10\.e1v1\): \/cpu: .*2\.5/,
  );
  assert.throws(
    loadEdited('images.json', (data) => {
      data[0].image_id = String(data[0].image_id).toUpperCase();
      return data;
    }),
    /images\.json: entry 0 .*\/image_id/,
  );
  assert.throws(
    loadEdited('images.json', (data) => {
      delete (data[0].opencph as Record<string, unknown>).sdk_level;
      return data;
    }),
    /images\.json: entry 0 .*\/opencph\/sdk_level/,
  );
  assert.throws(
    loadEdited('phone-models.json', (data) => [...data, data[0]]),
    /phone-models\.json: .*duplicate phone_model_name/,
  );
});

test('cross-file and extend_spec mistakes are caught on load', () => {
  assert.throws(
    loadEdited('phone-models.json', (data) => {
      data[0].server_model_name = 'physical.rx9.xlarge';
      return data;
    }),
    /phone-models\.json: rx1\.cp\.c60\.d32\.e1v1\.qemu: unknown server_model_name "physical\.rx9\.xlarge"/,
  );
  assert.throws(
    loadEdited('phone-models.json', (data) => {
      data[0].extend_spec = JSON.stringify({ eip_count: 1, vip_count: 1, note: 'x'.repeat(512) });
      return data;
    }),
    /phone-models\.json: rx1\.cp\.c60\.d32\.e1v1\.qemu: extend_spec is \d+ bytes/,
  );
  assert.throws(
    loadEdited('phone-models.json', (data) => {
      data[0].extend_spec = '{"eip_count": 1,';
      return data;
    }),
    /phone-models\.json: rx1\.cp\.c60\.d32\.e1v1\.qemu: extend_spec is not JSON/,
  );
  assert.throws(
    loadEdited('phone-models.json', (data) => {
      data[0].extend_spec = '{"vip_count": 1}';
      return data;
    }),
    /phone-models\.json: rx1\.cp\.c60\.d32\.e1v1\.qemu: extend_spec\/eip_count/,
  );
  assert.throws(
    loadEdited('phone-models.json', (data) => {
      data[0].product_type = 1;
      return data;
    }),
    /phone-models\.json: rx1\.cp\.c60\.d32\.e1v1\.qemu: product_type 1 differs/,
  );
});
