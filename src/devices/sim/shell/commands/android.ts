// Android's own tools: pm, am, dumpsys, settings, wm, input, screencap.
import { createHash } from 'node:crypto';
import { isoSeconds } from '../../format.ts';
import { FsError } from '../../fs-nodes.ts';
import type { PackageView } from '../../packages.ts';
import { screenshotPng, screenshotRaw } from '../../screen.ts';
import type { SettingsNamespace } from '../../device.ts';
import type { Command, CommandContext } from '../command.ts';

function out(ctx: CommandContext, lines: string[]): void {
  if (lines.length) ctx.stdout.write(`${lines.join('\n')}\n`);
}

/** Splits `-x` flags (anywhere) from operands. */
function flagsAndArgs(args: string[]): { flags: Set<string>; args: string[] } {
  const flags = new Set<string>();
  const rest: string[] = [];
  for (const a of args) {
    if (/^-[A-Za-z0-9]+$/.test(a)) for (const f of a.slice(1)) flags.add(f);
    else rest.push(a);
  }
  return { flags, args: rest };
}

const pm: Command = async (ctx) => {
  const [sub, ...args] = ctx.argv.slice(1);
  const device = ctx.shell.device;
  switch (sub) {
    case 'list': {
      if (args[0] !== 'packages') break;
      const { flags, args: filter } = flagsAndArgs(args.slice(1));
      const lines = device.packages
        .list()
        .filter((p) => !(flags.has('3') && p.system) && !(flags.has('s') && !p.system))
        .filter((p) => !filter[0] || p.name.includes(filter[0]))
        .map((p) => `package:${flags.has('f') ? `${p.apkPaths[0]}=` : ''}${p.name}${flags.has('U') ? ` uid:${p.uid}` : ''}`);
      out(ctx, lines);
      return 0;
    }
    case 'path': {
      const pkg = device.packages.get(args[0] ?? '');
      if (!pkg) return 1;
      out(ctx, pkg.apkPaths.map((p) => `package:${p}`));
      return 0;
    }
    case 'install': {
      const { args: paths } = flagsAndArgs(args);
      const flags = args.filter((a) => a.startsWith('-'));
      const path = paths[paths.length - 1];
      if (!path) {
        ctx.stderr.write('Error: must either specify a package size or an APK file\n');
        return 1;
      }
      const fs = device.fs;
      let hostPath: string | undefined;
      try {
        hostPath = fs.hostPath(ctx.shell.path(path), ctx.shell.cred);
      } catch (err) {
        if (!(err instanceof FsError)) throw err;
        ctx.stderr.write(`Error: failed to write; ${path} (${err.message})\n`);
        return 1;
      }
      const result = hostPath
        ? await device.install([{ hostPath, name: 'base.apk', blob: blobOf(fs.stat(ctx.shell.path(path), ctx.shell.cred).node) }], flags)
        : { output: `Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse ${path}]\n`, exitCode: 1 };
      ctx.stdout.write(result.output);
      return result.exitCode;
    }
    case 'uninstall': {
      const { flags, args: names } = flagsAndArgs(args);
      const result = device.uninstall(names[0] ?? '', flags.has('k') ? ['-k'] : []);
      ctx.stdout.write(result.output);
      return result.exitCode;
    }
    case 'clear': {
      const ok = device.packages.clear(args[0] ?? '');
      ctx.stdout.write(ok ? 'Success\n' : 'Failed\n');
      return ok ? 0 : 1;
    }
  }
  ctx.stderr.write(
    'usage: pm path PACKAGE\n       pm list packages [-f] [-3] [-s] [-U] [FILTER]\n       pm install [-r] [-t] [-d] [-g] PATH\n' +
      '       pm uninstall [-k] PACKAGE\n       pm clear PACKAGE\n',
  );
  return 1;
};

function blobOf(node: { type: string; blob?: string; size?: number }): { hash: string; size: number } | undefined {
  return node.type === 'file' && node.blob ? { hash: node.blob, size: node.size ?? 0 } : undefined;
}

/** `pkg/.Main` for a class inside the package, as Intent.toShortString prints components. */
function shortComponent(pkg: string, cls: string): string {
  return cls.startsWith(`${pkg}.`) ? `${pkg}/${cls.slice(pkg.length)}` : `${pkg}/${cls}`;
}

const am: Command = (ctx) => {
  const [sub, ...args] = ctx.argv.slice(1);
  const device = ctx.shell.device;
  if (sub === 'force-stop' || sub === 'kill') {
    device.stopApp(args.filter((a) => !a.startsWith('-'))[0] ?? '');
    return 0;
  }
  if (sub !== 'start' && sub !== 'broadcast' && sub !== 'startservice') {
    ctx.stderr.write('usage: am start [-W] [-S] [-n COMPONENT] [-a ACTION] [-c CATEGORY] [-d DATA]\n       am force-stop PACKAGE\n       am broadcast -a ACTION\n');
    return 1;
  }
  const intent: { act?: string; cat: string[]; dat?: string; cmp?: [string, string] } = { cat: [] };
  let wait = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-W') wait = true;
    else if (a === '-a') intent.act = args[++i];
    else if (a === '-c') intent.cat.push(args[++i]);
    else if (a === '-d') intent.dat = args[++i];
    else if (a === '-n') {
      const [pkg, cls = ''] = (args[++i] ?? '').split('/');
      intent.cmp = [pkg, cls.startsWith('.') ? pkg + cls : cls];
    } else if (['--user', '-f', '-e', '--es', '--ei', '--ez'].includes(a)) i += a === '--user' || a === '-f' ? 1 : 2;
  }
  const parts = [
    intent.act && `act=${intent.act}`,
    intent.cat.length && `cat=[${intent.cat.join(',')}]`,
    intent.dat && `dat=${intent.dat}`,
    sub === 'broadcast' && 'flg=0x400000',
    intent.cmp && `cmp=${shortComponent(...intent.cmp)}`,
  ].filter(Boolean);
  const text = `Intent { ${parts.join(' ')} }`;
  if (sub === 'broadcast') {
    out(ctx, [`Broadcasting: ${text}`, 'Broadcast completed: result=0']);
    return 0;
  }
  ctx.stdout.write(`${sub === 'start' ? 'Starting' : 'Starting service'}: ${text}\n`);
  if (intent.cmp) {
    const [pkg, cls] = intent.cmp;
    if (!device.packages.get(pkg)) {
      // Am reports the failure in its output; its exit status stays 0.
      out(ctx, ['Error type 3', `Error: Activity class {${pkg}/${cls}} does not exist.`]);
      return 0;
    }
    if (sub === 'start') device.startApp(pkg, shortComponent(pkg, cls));
  }
  if (wait && sub === 'start') out(ctx, ['Status: ok', `Activity: ${intent.cmp ? shortComponent(...intent.cmp) : 'unknown'}`, 'ThisTime: 312', 'TotalTime: 312', 'WaitTime: 341', 'Complete']);
  return 0;
};

function packageDump(p: PackageView): string[] {
  const id = createHash('sha256').update(p.name).digest('hex').slice(0, 7);
  const flags = `[ ${p.system ? 'SYSTEM ' : ''}HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]`;
  return [
    `  Package [${p.name}] (${id}):`,
    `    userId=${p.uid}`,
    `    pkg=Package{${id} ${p.name}}`,
    `    codePath=${p.codePath}`,
    `    resourcePath=${p.codePath}`,
    `    legacyNativeLibraryDir=${p.codePath}/lib`,
    '    primaryCpuAbi=null',
    '    secondaryCpuAbi=null',
    `    versionCode=${p.versionCode} minSdk=${p.minSdk} targetSdk=${p.targetSdk}`,
    `    versionName=${p.versionName}`,
    `    splits=[base${p.splits.map((s) => `, ${s}`).join('')}]`,
    '    apkSigningVersion=2',
    `    applicationInfo=ApplicationInfo{${id} ${p.name}}`,
    `    flags=${flags}`,
    `    dataDir=/data/user/0/${p.name}`,
    '    supportsScreens=[small, medium, large, xlarge, resizeable, anyDensity]',
    `    timeStamp=${isoSeconds(p.lastUpdateTime)}`,
    `    firstInstallTime=${isoSeconds(p.firstInstallTime)}`,
    `    lastUpdateTime=${isoSeconds(p.lastUpdateTime)}`,
    '    installPermissionsFixed=true installStatus=1',
    `    pkgFlags=${flags}`,
    '    User 0: ceDataInode=0 installed=true hidden=false suspended=false stopped=false notLaunched=false enabled=0',
  ];
}

// Services whose dump is not simulated print nothing; other names are unknown to servicemanager.
const SERVICES = new Set(['activity', 'battery', 'cpuinfo', 'display', 'input', 'meminfo', 'package', 'power', 'window', 'wifi']);

const dumpsys: Command = (ctx) => {
  const [service, ...args] = ctx.argv.slice(1);
  if (service === undefined) return 0;
  if (!SERVICES.has(service)) {
    ctx.stdout.write(`Can't find service: ${service}\n`);
    return 0;
  }
  if (service === 'package') {
    const name = args.find((a) => !a.startsWith('-'));
    const pkgs = name ? [ctx.shell.device.packages.get(name)].filter((p) => p !== undefined) : ctx.shell.device.packages.list();
    if (pkgs.length) out(ctx, ['Packages:', ...pkgs.flatMap(packageDump)]);
  }
  return 0;
};

const NAMESPACES = new Set(['system', 'secure', 'global']);

const settings: Command = (ctx) => {
  const args = ctx.argv.slice(1).filter((a, i, all) => a !== '--user' && all[i - 1] !== '--user');
  const [verb, ns, key, ...value] = args;
  const device = ctx.shell.device;
  if (!NAMESPACES.has(ns) || !['get', 'put', 'delete', 'list'].includes(verb) || (verb !== 'list' && !key) || (verb === 'put' && !value.length)) {
    ctx.stderr.write('usage:  settings [--user <USER_ID> | current] get namespace key\n        settings [--user <USER_ID> | current] put namespace key value\n        settings [--user <USER_ID> | current] delete namespace key\n        settings [--user <USER_ID> | current] list namespace\n\n\'namespace\' is one of {system, secure, global}, case-insensitive\n');
    return 1;
  }
  const namespace = ns as SettingsNamespace;
  const values = device.settings(namespace);
  if (verb === 'get') ctx.stdout.write(`${values[key] ?? 'null'}\n`);
  else if (verb === 'put') device.putSetting(namespace, key, value.join(' '));
  else if (verb === 'delete') {
    const existed = key in values;
    device.putSetting(namespace, key, null);
    ctx.stdout.write(`Deleted ${existed ? 1 : 0} rows\n`);
  } else out(ctx, Object.keys(values).sort().map((k) => `${k}=${values[k]}`));
  return 0;
};

const wm: Command = (ctx) => {
  const [sub, arg] = ctx.argv.slice(1);
  const device = ctx.shell.device;
  const display = device.display;
  if (sub === 'size') {
    if (arg === undefined) {
      const [w, h] = device.physicalSize();
      out(ctx, [`Physical size: ${w}x${h}`, ...(display.size ? [`Override size: ${display.size}`] : [])]);
    } else if (arg === 'reset') delete display.size;
    else if (/^\d+x\d+$/.test(arg)) display.size = arg;
    else {
      ctx.stderr.write(`Error: bad size ${arg}\n`);
      return 1;
    }
    return 0;
  }
  if (sub === 'density') {
    if (arg === undefined) {
      out(ctx, [`Physical density: ${device.spec.phoneModel.opencph.density}`, ...(display.density ? [`Override density: ${display.density}`] : [])]);
    } else if (arg === 'reset') delete display.density;
    else if (/^\d+$/.test(arg)) display.density = Number(arg);
    else {
      ctx.stderr.write(`Error: bad number ${arg}\n`);
      return 1;
    }
    return 0;
  }
  ctx.stderr.write('usage: wm [subcommand] [options]\n       wm size [reset|WxH]\n       wm density [reset|DENSITY]\n');
  return 1;
};

const INPUT_COMMANDS = new Set(['text', 'keyevent', 'tap', 'swipe', 'draganddrop', 'press', 'roll', 'motionevent']);
const INPUT_SOURCES = new Set(['keyboard', 'mouse', 'joystick', 'touchnavigation', 'touchpad', 'trackball', 'stylus', 'dpad', 'gesture', 'touchscreen', 'gamepad']);

const input: Command = (ctx) => {
  const args = ctx.argv.slice(1);
  const command = INPUT_SOURCES.has(args[0]) ? args[1] : args[0];
  if (!command || !INPUT_COMMANDS.has(command)) {
    if (command) ctx.stderr.write(`Error: Unknown command: ${command}\n`);
    ctx.stderr.write('Usage: input [<source>] <command> [<arg>...]\n');
    return 1;
  }
  ctx.shell.device.recordInput(args);
  return 0;
};

const screencap: Command = async (ctx) => {
  const args = ctx.argv.slice(1);
  const png = args.includes('-p');
  const file = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '-d')[0];
  const device = ctx.shell.device;
  if (!file) {
    ctx.stdout.write(png ? screenshotPng(device) : screenshotRaw(device));
    return 0;
  }
  const data = png || file.endsWith('.png') ? screenshotPng(device) : screenshotRaw(device);
  try {
    await device.fs.writeFile(ctx.shell.path(file), data, ctx.shell.cred);
  } catch (err) {
    if (!(err instanceof FsError)) throw err;
    ctx.stderr.write(`Error opening file: ${file} (${err.message})\n`);
    return 1;
  }
  return 0;
};


export const ANDROID_COMMANDS: Record<string, Command> = { pm, am, dumpsys, settings, wm, input, screencap };
