// The simulated file system: Android's layout, read-only /system, permissions of the shell user,
// symlinks, sdcardfs ownership and free space.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onePhone, phone, catalogue } from '../../fixtures/sim/phone.ts';

test('the Android layout, with /sdcard and /vendor as links', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('ls /'), 'acct\ncache\nconfig\ndata\ndefault.prop\ndev\netc\ninit\ninit.rc\nmnt\noem\nproc\nres\nroot\nsbin\nsdcard\nstorage\nsys\nsystem\nvendor\n');
  assert.equal(await sh('cd /sdcard && pwd && cd .. && pwd; ls -l /vendor; ls /system/vendor'), '/sdcard\n/\nlrwxrwxrwx 1 root root 14 2020-03-30 12:00 /vendor -> /system/vendor\n');
  assert.equal(await sh('ls /storage/self/primary/DCIM /sdcard/DCIM; echo $?'), '/sdcard/DCIM:\n\n/storage/self/primary/DCIM:\n0\n');
  assert.equal(await sh('ls -ld /data /data/local/tmp /data/data /cache /storage/emulated/0 | grep -o "^[^ ]* *[0-9]* [a-z_]* *[a-z_]*"'),
    'drwxrwx---  2 system cache\ndrwxrwx--x  9 system system\ndrwxrwx--x 39 system system\ndrwxrwx--x  2 shell  shell\ndrwxrwx--x 11 root   sdcard_rw\n');
});

test('/system is read-only for everyone, root included', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('echo x > /system/build.prop; su -c "touch /system/new; rm /system/build.prop; mkdir /vendor/x"'),
    "/system/bin/sh: can't create /system/build.prop: Read-only file system\ntouch: '/system/new': Read-only file system\n" +
    "rm: /system/build.prop: Read-only file system\nmkdir: '/vendor/x': Read-only file system\n");
  assert.equal(await sh('getprop ro.build.id; head -c 22 /system/build.prop; echo'), 'NMF26X\ndalvik.vm.heapsize=512\n');
});

test('the shell user meets Linux permissions; su gets past them', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('ls /data/data; ls /data/local; cat /data/system/x; touch /data/x; echo $?'),
    'ls: /data/data: Permission denied\nls: /data/local: Permission denied\ncat: /data/system/x: No such file or directory\n' +
    "touch: '/data/x': Permission denied\n1\n");
  assert.equal(await sh('su -c "touch /data/x && ls -l /data/x && chmod 600 /data/x"; cat /data/x; su -c "cat /data/x" && echo root can'),
    '-rw-rw-rw- 1 root root 0 2026-01-01 10:00 /data/x\ncat: /data/x: Permission denied\nroot can\n');
  assert.equal(await sh('cd /data/local/tmp && mkdir d && chmod 500 d && touch d/f; chmod 755 d && touch d/f && ls d'),
    "touch: 'd/f': Permission denied\nf\n");
});

test('files on /sdcard belong to root:sdcard_rw whoever writes them', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh('echo hi > /sdcard/a.txt; mkdir /sdcard/d; ls -l /sdcard/a.txt; ls -ld /sdcard/d'),
    '-rw-rw---- 1 root sdcard_rw 3 2026-01-01 10:00 /sdcard/a.txt\ndrwxrwx--x 2 root sdcard_rw 4096 2026-01-01 10:00 /sdcard/d\n');
});

test('free space comes from the flavor and shrinks with what is written', async () => {
  const small = phone({ phoneModel: catalogue.phoneModel('rx1.cp.c105.d6.e5v5')! });
  const { sh } = await onePhone(small);
  assert.equal(await sh('df /data | tail -1'), '/dev/block/dm-1   6291456 1153433   5138022  19% /data\n');
  await sh('screencap -p /sdcard/shot.png; cp /sdcard/shot.png /data/local/tmp/');
  assert.equal(await sh('stat -c %s /sdcard/shot.png; df /data /sdcard | tail -2'),
    '8428\n/dev/block/dm-1   6291456 1153450   5138005  19% /data\n/dev/fuse         6291456 1153450   5138005  19% /storage/emulated\n');
});
