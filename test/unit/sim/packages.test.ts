// Installing and uninstalling real APKs (test/fixtures/apk), with Android's failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogue, APK_FIXTURES as apk, clock, onePhone, phone } from '../../fixtures/sim/phone.ts';

const hello1 = `${apk}hello-v1.apk`;
const hello2 = `${apk}hello-v2.apk`;

test('install, replace, downgrade and the data directory', async () => {
  const { sim, spec, sh } = await onePhone();
  assert.deepEqual(await sim.install(spec, [hello2], []), { output: 'Success\n', exitCode: 0 });
  assert.deepEqual(await sim.install(spec, [hello2], []), {
    output: 'Failure [INSTALL_FAILED_ALREADY_EXISTS: Attempt to re-install com.opencph.hello without first uninstalling.]\n',
    exitCode: 1,
  });
  assert.deepEqual(await sim.install(spec, [hello1], ['-r']), {
    output: 'Failure [INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code 1 is older than current 2]\n',
    exitCode: 1,
  });
  clock.time += 60_000;
  assert.equal((await sim.install(spec, [hello1], ['-r', '-d', '-t', '-g'])).output, 'Success\n');
  assert.equal(await sh('pm list packages -3; pm list packages -3 -f; pm path com.opencph.hello'),
    'package:com.opencph.hello\npackage:/data/app/com.opencph.hello-2/base.apk=com.opencph.hello\npackage:/data/app/com.opencph.hello-2/base.apk\n');
  assert.equal(await sh('dumpsys package com.opencph.hello | grep -E "userId|versionCode|versionName|splits|InstallTime|lastUpdateTime|dataDir"'),
    '    userId=10060\n    versionCode=1 minSdk=21 targetSdk=30\n    versionName=1.0\n    splits=[base]\n    dataDir=/data/user/0/com.opencph.hello\n' +
    '    firstInstallTime=2026-01-01 10:00:00\n    lastUpdateTime=2026-01-01 10:01:00\n');
  assert.equal(await sh('su -c "ls -l /data/data/com.opencph.hello; ls -l /data/app/com.opencph.hello-2"'),
    'total 8\ndrwxrwx--x 2 u0_a60 u0_a60 4096 2026-01-01 10:00 cache\ndrwxrwx--x 2 u0_a60 u0_a60 4096 2026-01-01 10:00 code_cache\n' +
    'total 4\n-rw-r--r-- 1 system system 1302 2026-01-01 10:01 base.apk\n');
});

test('invalid APKs and split sets', async () => {
  const { sim, spec } = await onePhone();
  const failure = async (files: string[]) => (await sim.install(spec, files.map((f) => `${apk}${f}`), [])).output;
  assert.match(await failure(['not-an-apk.apk']), /^Failure \[INSTALL_PARSE_FAILED_NOT_APK: Failed to parse \/data\/app\/vmdl\d+\.tmp\/base\.apk\]\n$/);
  assert.match(await failure(['splitapp-base.apk', 'foreign-split.apk']),
    /^Failure \[INSTALL_FAILED_INVALID_APK: \/data\/app\/vmdl\d+\.tmp\/1_foreign-split\.apk package com\.opencph\.foreign inconsistent with com\.opencph\.splitapp\]\n$/);
  assert.equal(await failure(['splitapp-config.xhdpi.apk']), 'Failure [INSTALL_FAILED_INVALID_APK: Full install must include a base package]\n');
  assert.equal(await failure(['hello-v1.apk', 'hello-v2.apk']), 'Failure [INSTALL_FAILED_INVALID_APK: Split null was defined multiple times]\n');
  assert.equal((await sim.shell(spec, 'pm list packages -3')).output, '');
});

test('split APKs are stored beside base.apk and listed by pm path and dumpsys', async () => {
  const { sim, spec, sh } = await onePhone();
  assert.equal((await sim.install(spec, [`${apk}splitapp-base.apk`, `${apk}splitapp-config.xhdpi.apk`], [])).output, 'Success\n');
  assert.equal(await sh('pm path com.opencph.splitapp; dumpsys package com.opencph.splitapp | grep splits'),
    'package:/data/app/com.opencph.splitapp-1/base.apk\npackage:/data/app/com.opencph.splitapp-1/split_config.xhdpi.apk\n    splits=[base, config.xhdpi]\n');
});

test('uninstall, uninstall -k keeping data, and a reinstall over kept data', async () => {
  const { sim, spec, sh } = await onePhone();
  await sim.install(spec, [hello2], []);
  await sh('su -c "echo saved > /data/data/com.opencph.hello/prefs"');
  assert.deepEqual(await sim.uninstall(spec, 'com.opencph.nope', []), { output: 'Failure [DELETE_FAILED_INTERNAL_ERROR]\n', exitCode: 1 });
  assert.deepEqual(await sim.uninstall(spec, 'com.android.settings', []), { output: 'Failure [DELETE_FAILED_INTERNAL_ERROR]\n', exitCode: 1 });
  assert.deepEqual(await sim.uninstall(spec, 'com.opencph.hello', ['-k']), { output: 'Success\n', exitCode: 0 });
  assert.equal(await sh('pm list packages -3; su -c "cat /data/data/com.opencph.hello/prefs"'), 'saved\n');
  assert.match((await sim.install(spec, [hello1], [])).output, /^Failure \[INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected on app uninstalled with DELETE_KEEP_DATA: /);
  assert.equal((await sim.install(spec, [hello2], [])).output, 'Success\n');
  assert.equal(await sh('su -c "cat /data/data/com.opencph.hello/prefs"; pm uninstall com.opencph.hello; su -c "ls /data/data/com.opencph.hello"'),
    'saved\nSuccess\nls: /data/data/com.opencph.hello: No such file or directory\n');
});

test('pm install from a file on the phone', async () => {
  const { sim, spec, sh } = await onePhone();
  await sim.install(spec, [hello1], []);
  // An installed APK is readable by the shell, as on Android: copy it out and install it again from there.
  assert.equal(await sh('cp $(pm path com.opencph.hello | grep -o "/.*") /data/local/tmp/h.apk; pm uninstall com.opencph.hello; pm install -r /data/local/tmp/h.apk; pm list packages -3'),
    'Success\nSuccess\npackage:com.opencph.hello\n');
  assert.equal(await sh('pm install /data/local/tmp/nope.apk; echo $?; echo text > /data/local/tmp/t.apk; pm install /data/local/tmp/t.apk | grep -o "INSTALL_[A-Z_]*"'),
    'Error: failed to write; /data/local/tmp/nope.apk (No such file or directory)\n1\nINSTALL_PARSE_FAILED_NOT_APK\n');
});

test('newer images name install directories as their Android version does', async () => {
  const android11 = phone({ image: catalogue.image('23051820230601c84d0007e19b3f5a27')! });
  const { sim, sh } = await onePhone(android11);
  await sim.install(android11, [hello1], []);
  assert.match(await sh('pm path com.opencph.hello'), /^package:\/data\/app\/~~[\w-]{22}==\/com\.opencph\.hello-[\w-]{22}==\/base\.apk\n$/);
});

test('am start of an installed app; ro.permission.changed grants permissions at install', async () => {
  const spec = phone({ property: { 'ro.permission.changed': '1' } });
  const { sim, sh } = await onePhone(spec);
  await sim.install(spec, [hello1], []);
  assert.equal(await sh('am start -n com.opencph.hello/.Main; ps -A | grep -c com.opencph.hello'), 'Starting: Intent { cmp=com.opencph.hello/.Main }\n1\n');
  await sim.uninstall(spec, 'com.opencph.hello', []);
  assert.equal(await sh('ps -A | grep -c com.opencph.hello'), '0\n');
});
