// Golden outputs of the simulated commands, in the formats Android's toybox, mksh and framework tools print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataDir, onePhone, phone, savedFiles } from '../../fixtures/sim/phone.ts';

test('ls: -l -a -d -R, links, devices and errors', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('ls -l /data/local/tmp'), 'total 0\n');
  assert.equal(
    await sh('cd /data/local/tmp; echo hello world > a.txt; mkdir d; ln -s a.txt l; ls -la'),
    [
      'total 16',
      'drwxrwx--x 3 shell shell 4096 2020-03-30 12:00 .',
      'drwxr-x--x 3 root  root  4096 2020-03-30 12:00 ..',
      '-rw-rw-rw- 1 shell shell   12 2026-01-01 10:00 a.txt',
      'drwxrwxrwx 2 shell shell 4096 2026-01-01 10:00 d',
      'lrwxrwxrwx 1 shell shell    5 2026-01-01 10:00 l -> a.txt',
      '',
    ].join('\n'),
  );
  assert.equal(await sh('cd /data/local/tmp; ls; ls -d d; ls -R .'), 'a.txt\nd\nl\nd\n.:\na.txt\nd\nl\n\n./d:\n');
  assert.equal(
    await sh('ls -l /dev/null /sdcard'),
    'crw-rw-rw- 1 root root 1,   3 2020-03-30 12:00 /dev/null\nlrwxrwxrwx 1 root root     19 2020-03-30 12:00 /sdcard -> /storage/emulated/0\n',
  );
  assert.equal(await sh('ls /sdcard | head -3'), 'Alarms\nDCIM\nDownload\n');
  assert.equal(await sh('ls /nope /data; echo $?'), 'ls: /nope: No such file or directory\nls: /data: Permission denied\n1\n');
  assert.equal(await sh('ls -l /system/bin/ls /system/bin/getprop'),
    'lrwxrwxrwx 1 root shell 7 2020-03-30 12:00 /system/bin/getprop -> toolbox\nlrwxrwxrwx 1 root shell 6 2020-03-30 12:00 /system/bin/ls -> toybox\n');
});

test('cat, head, tail, wc, md5sum, echo', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('cat /system/etc/hosts'), '127.0.0.1       localhost\n::1             ip6-localhost\n');
  assert.equal(await sh('cat /nope /system/etc/hosts | wc -l'), 'cat: /nope: No such file or directory\n2\n');
  assert.equal(await sh('cat /system'), 'cat: /system: Is a directory\n');
  assert.equal(await sh('head -n 1 /system/build.prop; tail -n 2 /system/build.prop; head -1 /system/etc/hosts'),
    'dalvik.vm.heapsize=512m\nro.zygote=zygote64_32\nwifi.interface=wlan0\n127.0.0.1       localhost\n');
  assert.equal(await sh('wc /system/etc/hosts; wc -l -c /system/etc/hosts /system/etc/hosts; echo a b | wc -w'),
    '2 4 56 /system/etc/hosts\n2 56 /system/etc/hosts\n2 56 /system/etc/hosts\n4 112 total\n2\n');
  assert.equal(await sh('md5sum /system/etc/hosts; echo -n abc | md5sum'),
    '3203a42d7a6b024067f70c5f515b98ea  /system/etc/hosts\n900150983cd24fb0d6963f7d28e17f72  -\n');
  assert.equal(await sh('echo -n x; echo -e "a\\tb"; echo a   b'), 'xa\tb\na b\n');
});

test('grep, sort, uniq on files and stdin', async () => {
  const { sh } = await onePhone();
  await sh('echo "b\na\nc\na" > /data/local/tmp/f');
  const f = '/data/local/tmp/f';
  assert.equal(await sh(`sort ${f}; sort -r ${f}; sort -u ${f}`), 'a\na\nb\nc\nc\nb\na\na\na\nb\nc\n');
  assert.equal(await sh(`sort ${f} | uniq -c; sort ${f} | uniq -d`), '      2 a\n      1 b\n      1 c\na\n');
  assert.equal(await sh('echo "10\n9\n100" | sort -n; echo "10\n9\n100" | sort'), '9\n10\n100\n10\n100\n9\n');
  assert.equal(await sh(`grep -n a ${f}; grep -c a ${f}; grep -v a ${f}; grep -i A ${f} /nope; echo $?`),
    '2:a\n4:a\n2\nb\nc\n/data/local/tmp/f:a\n/data/local/tmp/f:a\ngrep: /nope: No such file or directory\n2\n');
  assert.equal(await sh('getprop | grep -E "ro.build.version.(sdk|release)"; grep nothing /system/etc/hosts; echo $?'),
    '[ro.build.version.release]: [7.1.1]\n[ro.build.version.sdk]: [25]\n1\n');
});

test('file changes: mkdir -p, touch, cp -r, mv, rm -r -f, and their errors', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('cd /data/local/tmp; mkdir -p x/y; touch x/y/z x/w; find x; find x -type f; find x -name "z*"; find x -type d'),
    'x\nx/w\nx/y\nx/y/z\nx/w\nx/y/z\nx/y/z\nx\nx/y\n');
  assert.equal(await sh('cd /data/local/tmp; echo 1 > a; cp a b; cp a x; mv b c; ls; ls x; cp x y; cp -r x y; ls y/y'),
    "a\nc\nx\na\nw\ny\ncp: Skipped dir 'x'\nz\n");
  assert.equal(await sh('cd /data/local/tmp; rm x; rm -r x2; rm -f nope; rm -rf /data/local/tmp/*; ls; rm /'),
    'rm: x: Is a directory\nrm: x2: No such file or directory\nrm: rm /. if you mean it\n');
  assert.equal(await sh('mkdir /data/local/tmp; mkdir /system/q; rmdir /data/local/tmp; mkdir -p /data/local/tmp/p/q && echo ok'),
    "mkdir: '/data/local/tmp': File exists\nmkdir: '/system/q': Read-only file system\nrmdir: '/data/local/tmp': Permission denied\nok\n");
  assert.equal(await sh('mv /data/local/tmp/p /data/local/tmp/p2; ls /data/local/tmp /data/local/tmp/p2'), '/data/local/tmp:\np2\n\n/data/local/tmp/p2:\nq\n');
  assert.equal(await sh('rm /system/build.prop; touch /system/x; cp /system/etc/hosts /system/h'),
    "rm: /system/build.prop: Read-only file system\ntouch: '/system/x': Read-only file system\ncp: '/system/etc/hosts': Read-only file system\n");
});

test('stat, du, df', async () => {
  const { sh } = await onePhone();
  assert.match(await sh('stat /system/build.prop'), /^ {2}File: `\/system\/build\.prop'\n {2}Size: \d+\t Blocks: 8\t IO Blocks: 4096\tregular file\nDevice: fd00h\/64768d\t Inode: \d+\t Links: 1\nAccess: \(644\/-rw-r--r--\)\tUid: \(0\/    root\)\tGid: \(0\/    root\)\nAccess: 2020-03-30 12:00:00\.000000000\nModify: 2020-03-30 12:00:00\.000000000\nChange: 2020-03-30 12:00:00\.000000000\n$/);
  assert.equal(await sh('echo 12345 > /data/local/tmp/s; stat -c "%n %s %a %U:%G %F" /data/local/tmp/s /data/local/tmp'),
    // toybox pads %U and %G to 8 columns
    '/data/local/tmp/s 6 666    shell:   shell regular file\n/data/local/tmp 4096 771    shell:   shell directory\n');
  assert.equal(await sh('du -s /system/etc; du -h /system/etc; du -s /sdcard/'), '8\t/system/etc\n8.0K\t/system/etc\n40\t/sdcard/\n');
  assert.equal(
    await sh('df'),
    [
      'Filesystem      1K-blocks    Used Available Use% Mounted on',
      'tmpfs             1835008     512   1834496   1% /dev',
      'tmpfs             1835008       0   1835008   0% /mnt',
      '/dev/block/dm-0   2621440 1992294    629145  76% /system',
      '/dev/block/dm-1  10485760 1153433   9332326  12% /data',
      '/dev/block/dm-2    524288    8192    516096   2% /cache',
      '/dev/fuse        10485760 1153433   9332326  12% /storage/emulated',
      '',
    ].join('\n'),
  );
  assert.equal(
    await sh('df -h /data /sdcard/Download'),
    'Filesystem      Size  Used Avail Use% Mounted on\n/dev/block/dm-1  10G  1.1G  8.9G  12% /data\n/dev/fuse        10G  1.1G  8.9G  12% /storage/emulated\n',
  );
});

test('identity and system: id, whoami, uname, date, uptime, ps, su', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('id'), 'uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc) context=u:r:shell:s0\n');
  assert.equal(await sh('whoami; id -u; id -un'), 'shell\n2000\nshell\n');
  assert.equal(await sh('uname -a; uname'), 'Linux localhost 4.4.171 #1 SMP PREEMPT Mon Mar 30 12:00:00 UTC 2020 aarch64\nLinux\n');
  assert.equal(await sh('date; date +%Y-%m-%dT%H:%M:%S'), 'Thu Jan  1 10:00:00 UTC 2026\n2026-01-01T10:00:00\n');
  assert.equal(await sh('uptime'), ' 10:00:00 up 0 min,  0 users,  load average: 0.00, 0.00, 0.00\n');
  const ps = (await sh('ps')).split('\n');
  assert.equal(ps[0], 'USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME                       ');
  assert.match(ps[1], /^shell {8}\s+\d+ +400 +9084 +1796 sigsuspend {10}0 S sh$/);
  assert.match(ps[2], /^shell {8}\s+\d+ +\d+ +10700 +2312 0 {19}0 R ps$/);
  const all = await sh('ps -A');
  assert.match(all, /\nroot {13}1 {5}0 {3}21104 {3}1832 SyS_epoll_wait {6}0 S init\n/);
  assert.match(all, /\nroot {13}3 {5}2 {7}0 {6}0 smpboot_thread_f {4}0 S \[ksoftirqd\/0\]\n/);
  assert.match(all, /\nsystem {9}700 {3}340 2514436 153920 SyS_epoll_wait {6}0 S system_server\n/);
  assert.equal(await sh('su 0 whoami; su root ls -d /data/app; su -c "id -u"'), 'root\n/data/app\n0\n');
  assert.equal(await sh('cat /proc/version; head -3 /proc/meminfo; grep -c processor /proc/cpuinfo'),
    'Linux version 4.4.171 (cph@cph-build) (gcc version 4.9.x 20150123 (prerelease) (GCC) ) #1 SMP PREEMPT Mon Mar 30 12:00:00 UTC 2020\n' +
    'MemTotal:        3670016 kB\nMemFree:         1541407 kB\nMemAvailable:    2238710 kB\n2\n');
});

test('getprop and setprop', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('getprop ro.build.version.release; getprop ro.build.version.sdk; getprop ro.build.id; getprop ro.build.fingerprint'),
    '7.1.1\n25\nNMF26X\nHuawei/monbox/HWSTF:7.1.1/NMF26X/20200330:user/release-keys\n');
  assert.equal(await sh('getprop ro.serialno; getprop ro.sf.lcd_density; getprop sys.boot_completed; getprop ro.product.manufacturer; getprop gsm.sim.operator.alpha'),
    'A1B2C3D4E5F60718\n320\n1\nHuawei\nCMCC\n');
  assert.equal(await sh('getprop nope; getprop nope default'), '\ndefault\n');
  assert.match(await sh('getprop'), /^\[com\.cph\.disable_fb_permission\]: \[0\]\n\[com\.cph\.mainkeys\]: \[0\]\n/);
  assert.equal(await sh('setprop debug.x 1; getprop debug.x; setprop ro.build.id X; echo $?; setprop persist.sys.x y; getprop persist.sys.x; setprop a'),
    "1\nsetprop: failed to set property 'ro.build.id' to 'X'\n1\ny\nusage: setprop NAME VALUE\n");
});

test('pm, am, dumpsys', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('pm list packages | head -2; pm list packages -s | wc -l; pm list packages -3; pm list packages settings'),
    'package:android\npackage:com.android.backupconfirm\n37\npackage:com.android.providers.settings\npackage:com.android.settings\n');
  assert.equal(await sh('pm list packages -f launcher; pm list packages -U launcher; pm path com.android.settings; pm path nope; echo $?'),
    'package:/system/priv-app/Launcher3/Launcher3.apk=com.android.launcher3\npackage:com.android.launcher3 uid:10015\npackage:/system/priv-app/Settings/Settings.apk\n1\n');
  assert.equal(await sh('pm clear com.android.settings; pm clear nope; pm uninstall com.android.settings; echo $?'),
    'Success\nFailed\nFailure [DELETE_FAILED_INTERNAL_ERROR]\n1\n');
  assert.equal(await sh('am start -n com.android.settings/.Settings; ps -A | grep -c com.android.settings; am force-stop com.android.settings; ps -A | grep -c com.android.settings'),
    'Starting: Intent { cmp=com.android.settings/.Settings }\n1\n0\n');
  assert.deepEqual(await sh('am start -n com.x/.Main; echo $?'),
    'Starting: Intent { cmp=com.x/.Main }\nError type 3\nError: Activity class {com.x/com.x.Main} does not exist.\n0\n');
  assert.equal(await sh('am start -W -a android.intent.action.MAIN -n com.android.settings/com.android.settings.Settings'),
    'Starting: Intent { act=android.intent.action.MAIN cmp=com.android.settings/.Settings }\nStatus: ok\nActivity: com.android.settings/.Settings\nThisTime: 312\nTotalTime: 312\nWaitTime: 341\nComplete\n');
  assert.equal(await sh('dumpsys package com.android.settings | grep -E "versionCode|versionName|InstallTime|lastUpdateTime"'),
    '    versionCode=25 minSdk=25 targetSdk=25\n    versionName=7.1.1\n    firstInstallTime=2020-03-30 12:00:00\n    lastUpdateTime=2020-03-30 12:00:00\n');
  assert.equal(await sh('dumpsys nope; dumpsys package com.nope'), "Can't find service: nope\n");
});

test('settings, wm, input', async () => {
  const { sim, spec, sh } = await onePhone();
  assert.equal(await sh('settings list global | head -3; settings get secure android_id; settings get system nope'),
    'adb_enabled=1\nairplane_mode_on=0\nanimator_duration_scale=1.0\nff25d2389ab7917a\nnull\n');
  assert.equal(await sh('settings put global x 1; settings get global x; settings delete global x; settings get global x; settings put system screen_brightness 200; settings get system screen_brightness'),
    '1\nDeleted 1 rows\nnull\n200\n');
  assert.match(await sh('settings get bad x; echo $?'), /^usage: {2}settings .*\n1\n$/s);
  assert.equal(await sh('wm size; wm density'), 'Physical size: 720x1280\nPhysical density: 320\n');
  assert.equal(await sh('wm size 1080x1920; wm density 240; wm size; wm density; wm size reset; wm density reset; wm size'),
    'Physical size: 720x1280\nOverride size: 1080x1920\nPhysical density: 320\nOverride density: 240\nPhysical size: 720x1280\n');
  assert.equal(await sh('input tap 10 20; input keyevent 3; input text hello; echo $?; input fly'),
    '0\nError: Unknown command: fly\nUsage: input [<source>] <command> [<arg>...]\n');
  const landscape = { ...spec, property: { 'ro.horizontal.screen': '1' } };
  await sim.restart(landscape);
  assert.equal((await sim.shell(landscape, 'wm size')).output, 'Physical size: 1280x720\n');
});

test('screencap writes a PNG of the screen at the display size', async () => {
  const dir = await dataDir();
  const { sh, spec } = await onePhone(phone(), dir);
  assert.equal(await sh('screencap -p /sdcard/s.png; screencap /system/x.png; echo $?'), 'Error opening file: /system/x.png (Read-only file system)\n1\n');
  // The file's bytes are a blob of the phone's store, named in its state.
  const phoneDir = join(dir, 'phones', spec.id);
  const saved = (await savedFiles(dir, spec.id)).get('/storage/emulated/0/s.png');
  const png = PNG.sync.read(await readFile(join(phoneDir, 'blobs', saved?.type === 'file' ? saved.blob! : '')));
  assert.deepEqual([png.width, png.height], [720, 1280]);
  const pixel = (x: number, y: number) => [...png.data.subarray((y * 720 + x) * 4, (y * 720 + x) * 4 + 3)];
  assert.deepEqual(pixel(10, 10), [38, 50, 56], 'status bar');
  assert.deepEqual(pixel(10, 640), [0, 121, 107], 'wallpaper');
  assert.deepEqual(pixel(10, 1270), [0, 0, 0], 'navigation bar');
});

test('sleep, reboot and unknown commands', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('sleep 1; echo slept; sleep x'), "slept\nsleep: Bad number 'x'\n");
  assert.equal(await sh('am start -n com.android.settings/.Settings >/dev/null; setprop debug.y 1; setprop persist.y 1; reboot; getprop debug.y; getprop persist.y; ps -A | grep -c settings'),
    '\n1\n0\n');
  assert.equal(await sh('frobnicate; echo $?'), '/system/bin/sh: frobnicate: inaccessible or not found\n127\n');
});
