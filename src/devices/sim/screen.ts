// What `screencap` sees: the simulated screen at the display's size, drawn from the phone's state —
// status bar, navigation bar (unless the CPH attributes hide them), the launcher's wallpaper, or the
// app brought to the front by `am start`.
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

/** The screen as RGBA pixels. */
function renderScreen(device: SimDevice): PNG {
  const [width, height] = displaySize(device);
  const dp = (n: number) => Math.round((n * displayDensity(device)) / 160);
  const png = new PNG({ width, height });
  const fill = (top: number, bottom: number, [r, g, b]: Rgb) => {
    for (let y = Math.max(0, top); y < Math.min(height, bottom); y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        png.data[i] = r;
        png.data[i + 1] = g;
        png.data[i + 2] = b;
        png.data[i + 3] = 255;
      }
    }
  };
  const statusBar = device.getprop('disable.status.bar') === '1' ? 0 : dp(24);
  const hideKeys = device.getprop('com.cph.mainkeys') === '1' || device.getprop('qemu.hw.mainkeys') === '1';
  const navBar = hideKeys ? 0 : dp(48);
  const app = device.foreground?.split('/')[0];
  if (app) {
    fill(0, height, [250, 250, 250]);
    fill(statusBar, statusBar + dp(56), accent(app));
  } else {
    fill(0, height, [0, 121, 107]);
  }
  fill(0, statusBar, [38, 50, 56]);
  fill(height - navBar, height, [0, 0, 0]);
  return png;
}

/** PNG file bytes of the screen. */
export function screenshotPng(device: SimDevice): Buffer {
  return PNG.sync.write(renderScreen(device));
}

/** screencap's raw format: width, height, pixel format (1 = RGBA_8888), then the pixels. */
export function screenshotRaw(device: SimDevice): Buffer {
  const png = renderScreen(device);
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
