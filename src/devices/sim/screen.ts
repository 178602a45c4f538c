// What `screencap` sees: the simulated screen at the display's size, drawn from the phone's state —
// status bar, navigation bar (unless the CPH attributes hide them), the launcher's wallpaper, or the
// app brought to the front by `am start`. The phone driver's screenshot is the same PNG.
import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import type { SimDevice } from './device.ts';

type Rgb = [number, number, number];

/** Width and height of the display: the `wm size` override, else the physical size. */
function displaySize(device: SimDevice): [number, number] {
  const override = device.display.size?.split('x').map(Number);
  return override && override.length === 2 ? [override[0], override[1]] : device.physicalSize();
}

function displayDensity(device: SimDevice): number {
  return device.display.density ?? device.spec.phoneModel.opencph.density;
}

/** What the screen shows: full-width bands of colour, later ones drawn over earlier ones. */
interface Scene {
  width: number;
  height: number;
  bands: Array<[top: number, bottom: number, colour: Rgb]>;
}

function scene(device: SimDevice): Scene {
  const [width, height] = displaySize(device);
  const dp = (n: number) => Math.round((n * displayDensity(device)) / 160);
  const props = device.props();
  const statusBar = props['disable.status.bar'] === '1' ? 0 : dp(24);
  const hideKeys = props['com.cph.mainkeys'] === '1' || props['qemu.hw.mainkeys'] === '1';
  const navBar = hideKeys ? 0 : dp(48);
  const app = device.foreground?.split('/')[0];
  const background: Scene['bands'] = app ? [[0, height, [250, 250, 250]], [statusBar, statusBar + dp(56), accent(app)]] : [[0, height, [0, 121, 107]]];
  return { width, height, bands: [...background, [0, statusBar, [38, 50, 56]], [height - navBar, height, [0, 0, 0]]] };
}

/** The scene as RGBA pixels. */
function paint({ width, height, bands }: Scene): PNG {
  const png = new PNG({ width, height });
  for (const [top, bottom, [r, g, b]] of bands) {
    const from = Math.max(0, top) * width * 4;
    const to = Math.min(height, bottom) * width * 4;
    if (to <= from) continue;
    // One pixel, then copies of what is done, doubling: Buffer.fill with a 4-byte pattern is 100x slower.
    png.data.set([r, g, b, 255], from);
    for (let done = 4; done < to - from; done *= 2) png.data.copyWithin(from + done, from, from + Math.min(done, to - from - done));
  }
  return png;
}

/** Encoded screenshots by scene: the same screen, on any phone, is encoded once. */
const encoded = new Map<string, Buffer>();
const MAX_ENCODED = 64;

/**
 * PNG file bytes of the screen. Encoding is what costs (about 700 ms for 1080x1920 with pngjs's defaults),
 * so it is cheap (filter Sub, which turns a band of one colour into zeros, and the fastest deflate) and done
 * once per distinct screen; an unchanged screen costs a lookup. The bytes are shared: callers must not change them.
 */
export function screenshotPng(device: SimDevice): Buffer {
  const shown = scene(device);
  const key = JSON.stringify(shown);
  let png = encoded.get(key);
  if (png) {
    encoded.delete(key);
  } else {
    png = PNG.sync.write(paint(shown), { filterType: 1, deflateLevel: 1 });
    if (encoded.size >= MAX_ENCODED) encoded.delete(encoded.keys().next().value!);
  }
  encoded.set(key, png);
  return png;
}

/** screencap's raw format: width, height, pixel format (1 = RGBA_8888), then the pixels. */
export function screenshotRaw(device: SimDevice): Buffer {
  const png = paint(scene(device));
  const header = Buffer.alloc(12);
  header.writeUInt32LE(png.width, 0);
  header.writeUInt32LE(png.height, 4);
  header.writeUInt32LE(1, 8);
  return Buffer.concat([header, png.data]);
}

/** A colour of the app's own, for its action bar. */
function accent(pkg: string): Rgb {
  const [r, g, b] = createHash('sha256').update(pkg).digest();
  return [64 + (r % 160), 64 + (g % 160), 64 + (b % 160)];
}
