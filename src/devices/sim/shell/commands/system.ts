// System commands: id, whoami, uname, date, uptime, ps, getprop, setprop, sleep, reboot, su, sh, test,
// true, false.
import { clockTime, dateTime } from '../../format.ts';
import { FsError, allowed } from '../../fs-nodes.ts';
import { kernelRelease, kernelVersion } from '../../props.ts';
import { AID, idName, ROOT } from '../../users.ts';
import type { Command, CommandContext } from '../command.ts';
import { fail, options } from '../options.ts';

const id: Command = (ctx) => {
  const opts = options(ctx, 'unGgr');
  if (!opts) return 1;
  const cred = ctx.shell.cred;
  const name = (n: number) => (opts.flags.has('n') ? idName(n) : String(n));
  if (opts.flags.has('u')) ctx.stdout.write(`${name(cred.uid)}\n`);
  else if (opts.flags.has('g')) ctx.stdout.write(`${name(cred.gid)}\n`);
  else if (opts.flags.has('G')) ctx.stdout.write(`${cred.groups.map(name).join(' ')}\n`);
  else {
    const show = (n: number) => `${n}(${idName(n)})`;
    const groups = cred.groups.map(show).join(',');
    ctx.stdout.write(`uid=${show(cred.uid)} gid=${show(cred.gid)} groups=${groups} context=${cred.context}\n`);
  }
  return 0;
};

const whoami: Command = (ctx) => {
  ctx.stdout.write(`${idName(ctx.shell.cred.uid)}\n`);
  return 0;
};

const uname: Command = (ctx) => {
  const opts = options(ctx, 'asnrvmo');
  if (!opts) return 1;
  const image = ctx.shell.device.spec.image;
  const fields: [string, string][] = [
    ['s', 'Linux'], ['n', 'localhost'], ['r', kernelRelease(image)], ['v', kernelVersion(image)], ['m', 'aarch64'],
  ];
  const all = opts.flags.has('a');
  const picked = fields.filter(([f]) => all || opts.flags.has(f)).map(([, v]) => v);
  ctx.stdout.write(`${(picked.length ? picked : ['Linux']).join(' ')}\n`);
  return 0;
};

/** strftime for the conversions `date +FORMAT` is used with. */
function strftime(format: string, ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const full = dateTime(ms).split(' ').filter(Boolean);
  const conv: Record<string, () => string> = {
    Y: () => String(d.getUTCFullYear()), y: () => p(d.getUTCFullYear() % 100), m: () => p(d.getUTCMonth() + 1),
    d: () => p(d.getUTCDate()), e: () => String(d.getUTCDate()).padStart(2, ' '), H: () => p(d.getUTCHours()),
    M: () => p(d.getUTCMinutes()), S: () => p(d.getUTCSeconds()), s: () => String(Math.floor(ms / 1000)),
    a: () => full[0], b: () => full[1], Z: () => 'UTC', z: () => '+0000', F: () => `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`,
    T: () => clockTime(ms), N: () => p((ms % 1000) * 1_000_000, 9), n: () => '\n', t: () => '\t', '%': () => '%',
  };
  return format.replace(/%(.)/g, (m, c: string) => conv[c]?.() ?? m);
}

const date: Command = (ctx) => {
  const now = ctx.shell.device.now();
  const format = ctx.argv.slice(1).find((a) => a.startsWith('+'));
  ctx.stdout.write(`${format ? strftime(format.slice(1), now) : dateTime(now)}\n`);
  return 0;
};

const uptime: Command = (ctx) => {
  const device = ctx.shell.device;
  const up = Math.floor(device.uptimeSeconds());
  const days = Math.floor(up / 86400);
  const hours = Math.floor((up % 86400) / 3600);
  const minutes = Math.floor((up % 3600) / 60);
  let text = ` ${clockTime(device.now())} up `;
  if (days) text += `${days} day${days === 1 ? '' : 's'}, `;
  text += hours ? `${String(hours).padStart(2)}:${String(minutes).padStart(2, '0')}, ` : `${minutes} min, `;
  ctx.stdout.write(`${text} 0 users,  load average: 0.00, 0.00, 0.00\n`);
  return 0;
};

interface Process {
  uid: number;
  pid: number;
  ppid: number;
  vsz: number;
  rss: number;
  wchan: string;
  state: string;
  name: string;
}

const ZYGOTE = 340;
const ADBD = 400;

// The daemons and system apps of a booted AOSP phone: [uid, pid, ppid, VSZ KiB, RSS KiB, wchan, name].
const SYSTEM_PROCESSES: [number, number, number, number, number, string, string][] = [
  [AID.root, 1, 0, 21104, 1832, 'SyS_epoll_wait', 'init'],
  [AID.root, 2, 0, 0, 0, 'kthreadd', '[kthreadd]'],
  [AID.root, 3, 2, 0, 0, 'smpboot_thread_fn', '[ksoftirqd/0]'],
  [AID.root, 7, 2, 0, 0, 'rcu_gp_kthread', '[rcu_preempt]'],
  [AID.root, 220, 1, 9824, 1460, 'SyS_epoll_wait', 'ueventd'],
  [AID.logd, 280, 1, 26352, 3964, 'SyS_rt_sigsuspend', 'logd'],
  [AID.system, 300, 1, 10148, 1632, 'binder_thread_read', 'servicemanager'],
  [AID.root, 310, 1, 20960, 3200, 'hrtimer_nanosleep', 'vold'],
  [AID.system, 330, 1, 159024, 21248, 'SyS_epoll_wait', 'surfaceflinger'],
  [AID.root, ZYGOTE, 1, 2194772, 82224, 'poll_schedule_timeout', 'zygote64'],
  [AID.root, 341, 1, 1634512, 69416, 'poll_schedule_timeout', 'zygote'],
  [AID.media, 350, 1, 44512, 9876, 'binder_thread_read', 'mediaserver'],
  [AID.install, 360, 1, 12196, 1736, 'unix_stream_read_generic', 'installd'],
  [AID.keystore, 370, 1, 14496, 2912, 'binder_thread_read', 'keystore'],
  [AID.shell, ADBD, 1, 19632, 2112, 'SyS_epoll_wait', 'adbd'],
  [AID.system, 700, ZYGOTE, 2514436, 153920, 'SyS_epoll_wait', 'system_server'],
];

function processTable(ctx: CommandContext): Process[] {
  const device = ctx.shell.device;
  const procs: Process[] = SYSTEM_PROCESSES.map(([uid, pid, ppid, vsz, rss, wchan, name]) => ({ uid, pid, ppid, vsz, rss, wchan, state: 'S', name }));
  for (const name of ['com.android.systemui', 'com.android.phone', 'com.android.launcher3', 'com.android.inputmethod.latin']) {
    const pkg = device.packages.get(name);
    if (pkg) procs.push({ uid: pkg.uid, pid: 900 + procs.length, ppid: ZYGOTE, vsz: 1684512, rss: 91432, wchan: 'SyS_epoll_wait', state: 'S', name });
  }
  for (const p of device.processes) procs.push({ uid: p.uid, pid: p.pid, ppid: ZYGOTE, vsz: 1712340, rss: 64220, wchan: 'SyS_epoll_wait', state: 'S', name: p.name });
  const sh = device.shellPid;
  procs.push({ uid: ctx.shell.cred.uid, pid: sh, ppid: ADBD, vsz: 9084, rss: 1796, wchan: 'sigsuspend', state: 'S', name: 'sh' });
  procs.push({ uid: ctx.shell.cred.uid, pid: sh + 1, ppid: sh, vsz: 10700, rss: 2312, wchan: '0', state: 'R', name: 'ps' });
  return procs;
}

/** A text column of ps: padded, or cut, to its width. */
const cell = (text: string, width: number) => text.slice(0, width).padEnd(width);

const ps: Command = (ctx) => {
  const opts = options(ctx, 'Aetp:');
  if (!opts) return 1;
  let procs = processTable(ctx);
  const sh = ctx.shell.device.shellPid;
  if (opts.values.has('p')) {
    const pids = opts.values.get('p')!.split(',').map(Number);
    procs = procs.filter((p) => pids.includes(p.pid));
  } else if (!opts.flags.has('A') && !opts.flags.has('e')) {
    // Without -A toybox shows the processes of the caller's session: the shell and ps.
    procs = procs.filter((p) => p.pid === sh || p.ppid === sh);
  }
  if (opts.args.length) procs = procs.filter((p) => opts.args.includes(p.name));
  const row = (user: string, pid: string, ppid: string, vsz: string, rss: string, wchan: string, addr: string, s: string, name: string) =>
    `${cell(user, 12)} ${pid.padStart(5)} ${ppid.padStart(5)} ${vsz.padStart(7)} ${rss.padStart(6)} ${cell(wchan, 16)} ${addr.padStart(4)} ${s} ${name}`;
  const lines = [row('USER', 'PID', 'PPID', 'VSZ', 'RSS', 'WCHAN', 'ADDR', 'S', 'NAME'.padEnd(27))];
  for (const p of procs) lines.push(row(idName(p.uid), String(p.pid), String(p.ppid), String(p.vsz), String(p.rss), p.wchan, '0', p.state, p.name));
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return 0;
};

const getprop: Command = (ctx) => {
  const [key, fallback] = ctx.argv.slice(1);
  const props = ctx.shell.device.props();
  if (key === undefined) {
    const keys = Object.keys(props).sort();
    ctx.stdout.write(keys.map((k) => `[${k}]: [${props[k]}]\n`).join(''));
  } else {
    ctx.stdout.write(`${props[key] ?? fallback ?? ''}\n`);
  }
  return 0;
};

const setprop: Command = (ctx) => {
  const args = ctx.argv.slice(1);
  if (args.length !== 2) {
    ctx.stderr.write('usage: setprop NAME VALUE\n');
    return 1;
  }
  const [key, value] = args;
  if (!ctx.shell.device.setprop(key, value)) return fail(ctx, `failed to set property '${key}' to '${value}'`);
  return 0;
};

const sleep: Command = async (ctx) => {
  const [arg] = ctx.argv.slice(1);
  const seconds = Number(arg);
  if (arg === undefined || !Number.isFinite(seconds) || seconds < 0) return fail(ctx, `Bad number '${arg ?? ''}'`);
  await ctx.shell.sleep(seconds);
  return 0;
};

const reboot: Command = (ctx) => {
  ctx.shell.device.reboot();
  return 0;
};

/** `su [-c COMMAND | [USER] COMMAND...]`, present while the CPH attribute ro.com.cph.non_root is not 1. */
const su: Command = async (ctx) => {
  if (ctx.shell.device.getprop('ro.com.cph.non_root') === '1') {
    ctx.stderr.write('/system/bin/sh: su: inaccessible or not found\n');
    return 127;
  }
  const args = ctx.argv.slice(1);
  if (args[0] === '0' || args[0] === 'root') args.shift();
  const root = ctx.shell.child(ROOT);
  if (args[0] === '-c') return root.execute(args.slice(1).join(' '), ctx);
  if (args.length) return root.execute(args.map(quote).join(' '), ctx);
  return root.execute(ctx.stdin.toString('utf8'), { ...ctx, stdin: Buffer.alloc(0) });
};

const sh: Command = async (ctx) => {
  const args = ctx.argv.slice(1);
  if (args[0] === '-c') return ctx.shell.child().execute(args[1] ?? '', ctx);
  if (args.length) {
    try {
      return await ctx.shell.runFile(ctx.shell.path(args[0]), args.slice(1), ctx);
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      ctx.stderr.write(`/system/bin/sh: ${args[0]}: ${err.message}\n`);
      return 127;
    }
  }
  return ctx.shell.child().execute(ctx.stdin.toString('utf8'), { ...ctx, stdin: Buffer.alloc(0) });
};

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `test` / `[`: file tests, string and integer comparisons, `!`. */
const test: Command = (ctx) => {
  let args = ctx.argv.slice(1);
  if (ctx.argv[0] === '[') {
    if (args[args.length - 1] !== ']') {
      fail(ctx, "missing ']'");
      return 2;
    }
    args = args.slice(0, -1);
  }
  const fs = ctx.shell.device.fs;
  const cred = ctx.shell.cred;
  const fileTest = (op: string, path: string): boolean => {
    try {
      const stat = op === '-L' || op === '-h' ? fs.lstat(ctx.shell.path(path), cred) : fs.stat(ctx.shell.path(path), cred);
      const node = stat.node;
      switch (op) {
        case '-e': return true;
        case '-f': return node.type === 'file';
        case '-d': return node.type === 'dir';
        case '-L': case '-h': return node.type === 'link';
        case '-c': return node.type === 'chr';
        case '-s': return node.type === 'file' && node.size > 0;
        case '-r': return allowed(node, cred, 4);
        case '-w': return allowed(node, cred, 2) && !fs.mountOf(stat.path).readOnly;
        case '-x': return allowed(node, cred, 1);
      }
    } catch {
      // a missing file fails every test
    }
    return false;
  };
  const evaluate = (a: string[]): boolean => {
    if (a[0] === '!') return !evaluate(a.slice(1));
    if (a.length === 0) return false;
    if (a.length === 1) return a[0] !== '';
    if (a.length === 2) {
      if (a[0] === '-z') return a[1] === '';
      if (a[0] === '-n') return a[1] !== '';
      return fileTest(a[0], a[1]);
    }
    const [l, op, r] = a;
    const n = (s: string) => parseInt(s, 10) || 0;
    switch (op) {
      case '=': case '==': return l === r;
      case '!=': return l !== r;
      case '-eq': return n(l) === n(r);
      case '-ne': return n(l) !== n(r);
      case '-lt': return n(l) < n(r);
      case '-le': return n(l) <= n(r);
      case '-gt': return n(l) > n(r);
      case '-ge': return n(l) >= n(r);
    }
    return false;
  };
  return evaluate(args) ? 0 : 1;
};

export const SYSTEM_COMMANDS: Record<string, Command> = {
  id, whoami, uname, date, uptime, ps, getprop, setprop, sleep, reboot, su, sh, test, '[': test,
  true: () => 0,
  false: () => 1,
};
