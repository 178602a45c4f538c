// The driver's screenshot: PNG bytes of what the phone shows now, the same as `screencap -p` writes,
// changing nothing on the phone; a stopped phone has none; faults apply to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { PhoneOperationError } from '../../../src/devices/driver.ts';
import { FaultInjector, withFaults } from '../../../src/devices/faults.ts';
import { catalogue, dataDir, ids, onePhone, phone, savedFiles } from '../../fixtures/sim/phone.ts';

/** The RGB of a pixel of a decoded PNG. */
function pixel(png: PNG, x: number, y: number): number[] {
  const i = (y * png.width + x) * 4;
  return [...png.data.subarray(i, i + 3)];
}

test('a screenshot is a PNG of the screen as it is now, the bytes screencap -p writes', async () => {
  const dir = await dataDir();
  const { sim, spec, sh } = await onePhone(phone(), dir);
  const home = await sim.screenshot(spec);
  const png = PNG.sync.read(home);
  assert.deepEqual([png.width, png.height], [720, 1280]);
  assert.deepEqual([pixel(png, 10, 10), pixel(png, 10, 640), pixel(png, 10, 1270)], [[38, 50, 56], [0, 121, 107], [0, 0, 0]]);
  // Nothing changed on the phone: a phone never changed still has nothing stored.
  await assert.rejects(stat(join(dir, 'phones', spec.id)), { code: 'ENOENT' });

  await sh('screencap -p /data/local/tmp/s.png');
  const saved = join(dir, 'phones', spec.id);
  const file = (await savedFiles(dir, spec.id)).get('/data/local/tmp/s.png');
  assert.deepEqual(await readFile(join(saved, 'blobs', file?.type === 'file' ? file.blob! : '')), home);

  // What the phone shows next: an app in front (its action bar), another display size.
  await sh('am start -n com.android.settings/.Settings; wm size 540x960');
  const app = PNG.sync.read(await sim.screenshot(spec));
  assert.deepEqual([app.width, app.height], [540, 960]);
  assert.deepEqual(pixel(app, 10, 480), [250, 250, 250]);
  assert.notDeepEqual(pixel(app, 10, 60), [250, 250, 250], 'the action bar');
  const written = (await stat(join(saved, 'state.jsonl'))).mtimeMs;
  await sim.screenshot(spec);
  assert.equal((await stat(join(saved, 'state.jsonl'))).mtimeMs, written, 'a screenshot saves nothing');
});

test('a phone that is not running has no screen to capture', async () => {
  const { sim, spec } = await onePhone(phone({ phoneModel: catalogue.phoneModel('rx1.cg.c15.d30.e1v1')! }));
  assert.deepEqual([...(await sim.screenshot(spec)).subarray(16, 24)], [0, 0, 4, 56, 0, 0, 7, 128], '1080x1920 in the IHDR chunk');
  await sim.stop(spec);
  await assert.rejects(sim.screenshot(spec), PhoneOperationError);
});

test('fault rules make screenshots fail or hang until the rule is deleted', async () => {
  const { sim, spec } = await onePhone();
  const injector = new FaultInjector(ids);
  const faulty = withFaults(sim, injector);
  injector.add({ operation: 'screenshot', phone_id: spec.id, mode: 'fail' });
  await assert.rejects(faulty.screenshot(spec), PhoneOperationError);
  assert.ok((await faulty.screenshot(spec)).length > 0, 'the rule was used up');
  const rule = injector.add({ operation: 'screenshot', mode: 'hang' });
  const held = faulty.screenshot(spec);
  const outcome = await Promise.race([held.then(() => 'returned', () => 'failed'), new Promise((resolve) => setTimeout(resolve, 50, 'held'))]);
  assert.equal(outcome, 'held');
  injector.remove(rule.id);
  await assert.rejects(held, PhoneOperationError);
});
