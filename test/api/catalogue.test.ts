// ListCloudPhoneServerModels, ListCloudPhoneModels and ListCloudPhoneImages over HTTP (spec §3.3, §3.18, §3.19).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startTestServer, type TestServer } from '../helpers/server.ts';
import { assertCpsError } from '../helpers/cps.ts';

const SERVER_MODELS = '/v1/{project_id}/cloud-phone/server-models';
const PHONE_MODELS = '/v1/{project_id}/cloud-phone/phone-models';
const PHONE_IMAGES = '/v1/{project_id}/cloud-phone/phone-images';

const HEX32 = /^[0-9a-f]{32}$/;

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

async function list(path: string, query = '', key: string) {
  const response = await call(t, 'GET', `${path}${query}`);
  assert.equal(response.status, 200, `${path}${query}: ${JSON.stringify(response.body)}`);
  assert.deepEqual(Object.keys(response.body).sort(), ['request_id', key].sort());
  assert.match(response.body.request_id, HEX32);
  assert.equal(response.headers.get('x-request-id'), response.body.request_id);
  return response.body[key] as any[];
}

const serverModels = (query = '') => list(SERVER_MODELS, query, 'server_models');
const phoneModels = (query = '') => list(PHONE_MODELS, query, 'phone_models');
const phoneImages = (query = '') => list(PHONE_IMAGES, query, 'phone_images');

function assertKeys(item: Record<string, unknown>, keys: string[], context: string) {
  assert.deepEqual(Object.keys(item).sort(), [...keys].sort(), context);
}

const names = (items: any[], key: string) => items.map((item) => item[key]);

test('server models: every documented field with its documented type, extend_spec an object', async () => {
  const models = await serverModels();
  assert.ok(models.length >= 6);
  for (const m of models) {
    const context = m.server_model_name;
    assertKeys(m, ['server_model_name', 'server_type', 'cpu', 'memory', 'extend_spec', 'product_type'], context);
    assert.equal(typeof m.server_model_name, 'string', context);
    assert.ok(Buffer.byteLength(m.server_model_name) <= 64, context);
    assert.equal(typeof m.server_type, 'string', context);
    assert.ok(Number.isInteger(m.cpu) && m.cpu > 0, context);
    assert.ok(Number.isInteger(m.memory) && m.memory > 0, context);
    assert.ok([0, 1].includes(m.product_type), context);
    assert.equal(typeof m.extend_spec, 'object', context);
    assert.ok(Buffer.byteLength(JSON.stringify(m.extend_spec)) <= 512, context);
    assertKeys(m.extend_spec, ['cpu', 'memory', 'disk', 'network_interface', 'gpu', 'bms_flavor', 'gpu_count', 'numa_count'], context);
    for (const key of ['cpu', 'memory', 'disk', 'network_interface', 'gpu', 'bms_flavor']) assert.equal(typeof m.extend_spec[key], 'string', `${context} ${key}`);
    for (const key of ['gpu_count', 'numa_count']) assert.ok(Number.isInteger(m.extend_spec[key]), `${context} ${key}`);
  }
  for (const name of ['physical.rx1.xlarge', 'physical.rx1.xlarge.cg', 'physical.kg1.4xlarge.cp', 'physical.kg1.4xlarge.cg']) {
    assert.ok(names(models, 'server_model_name').includes(name), `${name} is listed`);
  }
});

test('server models: the documented physical.rx1.xlarge, value for value', async () => {
  const models = await serverModels('?product_type=0');
  assert.deepEqual(
    models.find((m) => m.server_model_name === 'physical.rx1.xlarge'),
    {
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
    },
  );
});

test('server models: product_type filters cloud phones from cloud gaming', async () => {
  const all = await serverModels();
  const phones = await serverModels('?product_type=0');
  const games = await serverModels('?product_type=1');
  assert.ok(phones.every((m) => m.product_type === 0));
  assert.ok(games.every((m) => m.product_type === 1));
  assert.ok(names(phones, 'server_model_name').includes('physical.kg1.4xlarge.cp'));
  assert.ok(names(games, 'server_model_name').includes('physical.kg1.4xlarge.cg'));
  assert.deepEqual([...phones, ...games].map((m) => m.server_model_name).sort(), names(all, 'server_model_name').sort());
});

test('server models: an invalid product_type is CPS.0144', async () => {
  for (const value of ['2', '-1', 'abc', '0.5']) {
    assertCpsError(await call(t, 'GET', `${SERVER_MODELS}?product_type=${value}`), 400, 'CPS.0144', `product_type=${value}`);
  }
});

test('phone models: every documented field, cpu an integer, extend_spec a JSON string', async () => {
  const models = await phoneModels();
  assert.ok(models.length >= 4);
  const serverModelNames = names(await serverModels(), 'server_model_name');
  for (const m of models) {
    const context = m.phone_model_name;
    assertKeys(
      m,
      ['server_model_name', 'phone_model_name', 'spec_code', 'cpu', 'memory', 'disk', 'resolution', 'extend_spec', 'phone_capacity', 'status', 'product_type', 'image_label'],
      context,
    );
    assert.ok(serverModelNames.includes(m.server_model_name), `${context}: its server model is listed`);
    assert.equal(m.spec_code, m.phone_model_name, context);
    for (const key of ['cpu', 'memory', 'disk', 'phone_capacity']) assert.ok(Number.isInteger(m[key]) && m[key] > 0, `${context} ${key}`);
    assert.match(m.resolution, /^\d+x\d+$/, context);
    assert.ok([0, 1].includes(m.status), context);
    assert.ok([0, 1].includes(m.product_type), context);
    assert.ok(['qemu_phone', 'cloud_phone', 'cloud_game'].includes(m.image_label), context);
    assert.equal(typeof m.extend_spec, 'string', context);
    assert.ok(Buffer.byteLength(m.extend_spec) <= 512, context);
    const spec = JSON.parse(m.extend_spec);
    assert.ok(Number.isInteger(spec.eip_count) && Number.isInteger(spec.vip_count), context);
  }
  for (const name of ['rx1.cp.c60.d10.e1v1', 'rx1.cg.c15.d30.e1v1', 'kg1.cp.c100.d10SSD.e1v1', 'kg1.cg.c40.d30SSD.e1v1']) {
    assert.ok(names(models, 'phone_model_name').includes(name), `${name} is listed`);
  }
});

test('phone models: the two documented flavors, value for value', async () => {
  const models = await phoneModels();
  const byName = (name: string) => models.find((m) => m.phone_model_name === name);
  assert.deepEqual(byName('rx1.cp.c60.d32.e1v1.qemu'), {
    server_model_name: 'physical.rx1.xlarge',
    phone_model_name: 'rx1.cp.c60.d32.e1v1.qemu',
    status: 1,
    cpu: 2,
    memory: 3072,
    disk: 32,
    resolution: '540x960',
    extend_spec:
      '{"eip_count": 1, "vip_count":1, "emulator_type":0, "bms_image_id": "72460777-7fcb-4cae-8bb5-62d93be86bd7", "core_bind_strategy": "lxc_qemu_common_hosted_c60", "sd_disk": 1}',
    spec_code: 'rx1.cp.c60.d32.e1v1.qemu',
    phone_capacity: 60,
    image_label: 'qemu_phone',
    product_type: 0,
  });
  assert.deepEqual(byName('rx1.cp.c60.d10.e1v1'), {
    server_model_name: 'physical.rx1.xlarge',
    phone_model_name: 'rx1.cp.c60.d10.e1v1',
    status: 1,
    cpu: 2,
    memory: 3584,
    disk: 10,
    resolution: '720x1280',
    extend_spec:
      '{"eip_count": 1, "vip_count":1, "emulator_type":1, "thinpool_size_g":70, "sharepool_size_g":650, "max_share_disk_size_g":50, "encode_server_spec": {"cpu": 2, "memory": 14448, "disk": 10, "image_id": "coderserver_v2.5", "port_num":0}, "core_bind_strategy": "common_hosted_c60"}',
    spec_code: 'rx1.cp.c60.d10.e1v1',
    phone_capacity: 60,
    image_label: 'cloud_phone',
    product_type: 0,
  });
});

test('phone models: status filters normal from offline flavors', async () => {
  const all = await phoneModels();
  const normal = await phoneModels('?status=1');
  const offline = await phoneModels('?status=0');
  assert.ok(normal.length > 0 && normal.every((m) => m.status === 1));
  assert.ok(offline.length > 0 && offline.every((m) => m.status === 0));
  assert.ok(!names(normal, 'phone_model_name').includes('rx1.cp.c60.d10.e1v1.offline'));
  assert.ok(names(offline, 'phone_model_name').includes('rx1.cp.c60.d10.e1v1.offline'));
  assert.deepEqual([...normal, ...offline].map((m) => m.phone_model_name).sort(), names(all, 'phone_model_name').sort());
});

test('phone models: offset and limit page through the list, also with a filter', async () => {
  const all = await phoneModels();
  assert.ok(all.length > 5 && all.length < 100, 'the whole catalogue fits in one default page');
  assert.deepEqual(await phoneModels('?offset=0&limit=100'), all);
  assert.deepEqual(await phoneModels('?offset=2&limit=3'), all.slice(2, 5));
  assert.deepEqual(await phoneModels('?limit=1'), all.slice(0, 1));
  assert.deepEqual(await phoneModels(`?offset=${all.length - 1}`), all.slice(-1));
  assert.deepEqual(await phoneModels(`?offset=${all.length}`), []);
  const normal = await phoneModels('?status=1');
  assert.deepEqual(await phoneModels('?status=1&offset=1&limit=2'), normal.slice(1, 3));
});

test('phone models: invalid status is CPS.0010, invalid offset or limit CPS.0002', async () => {
  const cases: Array<[string, string]> = [
    ['status=2', 'CPS.0010'],
    ['status=-1', 'CPS.0010'],
    ['status=abc', 'CPS.0010'],
    ['limit=0', 'CPS.0002'],
    ['limit=101', 'CPS.0002'],
    ['limit=abc', 'CPS.0002'],
    ['limit=1.5', 'CPS.0002'],
    ['offset=-1', 'CPS.0002'],
    ['offset=abc', 'CPS.0002'],
  ];
  for (const [query, code] of cases) assertCpsError(await call(t, 'GET', `${PHONE_MODELS}?${query}`), 400, code, query);
});

test('images: every documented field, and the documented images value for value', async () => {
  const images = await phoneImages();
  for (const image of images) {
    const context = image.image_id;
    assertKeys(image, ['image_name', 'os_type', 'os_name', 'image_id', 'is_public', 'image_label'], context);
    assert.match(image.image_id, HEX32);
    assert.ok(Buffer.byteLength(image.image_name) <= 128, context);
    assert.ok(Buffer.byteLength(image.os_type) <= 16, context);
    assert.ok(Buffer.byteLength(image.os_name) <= 36, context);
    assert.ok([1, 2].includes(image.is_public), context);
    assert.ok(['cloud_phone', 'cloud_phone_1620', 'cloud_game', 'cloud_game_1620', 'qemu_phone'].includes(image.image_label), context);
  }
  const documented = [
    { image_name: 'AOSP', os_type: 'aosp', is_public: 1, os_name: 'AOSP7.1.1', image_label: 'cloud_game', image_id: '20032420200401a60b0003a99684b8ea' },
    { image_name: 'AOSP', os_type: 'aosp', is_public: 1, os_name: 'AOSP7.1.1', image_label: 'cloud_phone', image_id: '20032120200330a20b000eae5b8c01e6' },
    { image_name: 'AOSP', os_type: 'aosp', is_public: 1, os_name: 'AOSP7.0.0', image_label: 'qemu_phone', image_id: 'be4d231e44d2a4ccf612660a473fe1e3' },
  ];
  for (const expected of documented) {
    assert.deepEqual(images.find((image) => image.image_id === expected.image_id), expected);
  }
  // Used by the documented purchase examples (§3.4, §3.5).
  for (const id of ['88b8449b896f3a4f0ad57222dd919899', '20060220200717f201120a2300000e91']) {
    assert.ok(names(images, 'image_id').includes(id), `${id} is listed`);
  }
});

test('images: image_label and is_public filter, alone and together', async () => {
  const all = await phoneImages();
  const labels = ['cloud_phone', 'cloud_phone_1620', 'cloud_game', 'cloud_game_1620', 'qemu_phone'];
  const byLabel: any[] = [];
  for (const label of labels) {
    const images = await phoneImages(`?image_label=${label}`);
    assert.ok(images.length > 0 && images.every((image) => image.image_label === label), label);
    byLabel.push(...images);
  }
  assert.deepEqual(names(byLabel, 'image_id').sort(), names(all, 'image_id').sort());

  const publicImages = await phoneImages('?is_public=1');
  const privateImages = await phoneImages('?is_public=2');
  assert.ok(publicImages.every((image) => image.is_public === 1));
  assert.ok(privateImages.every((image) => image.is_public === 2));
  assert.deepEqual([...publicImages, ...privateImages].map((image) => image.image_id).sort(), names(all, 'image_id').sort());

  const both = await phoneImages('?image_label=qemu_phone&is_public=1');
  assert.deepEqual(names(both, 'image_id'), ['be4d231e44d2a4ccf612660a473fe1e3']);
  assert.deepEqual(await phoneImages('?image_label=qemu_phone&is_public=2'), []);
});

test('images: an invalid image_label is CPS.0142, an invalid is_public CPS.0143', async () => {
  const cases: Array<[string, string]> = [
    ['image_label=android', 'CPS.0142'],
    ['image_label=', 'CPS.0142'],
    ['is_public=0', 'CPS.0143'],
    ['is_public=3', 'CPS.0143'],
    ['is_public=abc', 'CPS.0143'],
  ];
  for (const [query, code] of cases) assertCpsError(await call(t, 'GET', `${PHONE_IMAGES}?${query}`), 400, code, query);
});
