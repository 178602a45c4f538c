import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript, ShellSyntaxError } from '../../../src/devices/sim/shell/parser.ts';
import { onePhone } from '../../fixtures/sim/phone.ts';

const { sim, spec, sh } = await onePhone();
const run = (command: string) => sim.shell(spec, command);

test('words: quotes and escapes are removed, their content kept literally', async () => {
  assert.equal(await sh(`echo 'a  b' "c  d" e\\ f g\\'h`), "a  b c  d e f g'h\n");
  assert.equal(await sh(`echo "\\$HOME is $HOME" '$HOME'`), '$HOME is / $HOME\n');
  assert.equal(await sh(`echo "" x ''`), ' x \n');
  assert.equal(await sh('echo a\\\nb'), 'ab\n');
  assert.equal(await sh('echo "tab\there" # a comment'), 'tab\there\n');
});

test('lists: ; && || and the status they see', async () => {
  assert.equal(await sh('true && echo yes || echo no'), 'yes\n');
  assert.equal(await sh('false && echo yes || echo no'), 'no\n');
  assert.equal(await sh('false; echo $?; true; echo $?'), '1\n0\n');
  assert.equal(await sh('ls /nope 2>/dev/null || echo failed with $?'), 'failed with 1\n');
  assert.equal(await sh('! false && echo negated'), 'negated\n');
  assert.deepEqual(await run('echo a; false'), { output: 'a\n', exitCode: 1 });
  assert.deepEqual(await run('exit 3; echo unreachable'), { output: '', exitCode: 3 });
});

test('pipes feed each stage the previous one\'s output; stderr bypasses them', async () => {
  assert.equal(await sh('echo b; echo a | sort'), 'b\na\n');
  assert.equal(await sh('missing 2>&1 | wc -l; missing | wc -l'), '1\n/system/bin/sh: missing: inaccessible or not found\n0\n');
  assert.equal(await sh('echo "x y z" | wc -w | grep 3'), '3\n');
  assert.equal(await sh('cat /nope | wc -c'), 'cat: /nope: No such file or directory\n0\n');
});

test('redirections: > >> < 2>&1 2>/dev/null and their failures', async () => {
  assert.equal(await sh('echo one > /data/local/tmp/r.txt; echo two >> /data/local/tmp/r.txt; cat < /data/local/tmp/r.txt'), 'one\ntwo\n');
  assert.equal(await sh('ls /nope > /data/local/tmp/out.txt 2>&1; cat /data/local/tmp/out.txt'), 'ls: /nope: No such file or directory\n');
  assert.equal(await sh('ls /nope 2>/dev/null; echo $?'), '1\n');
  assert.equal(await sh('echo x 2>&1 >/dev/null'), '');
  assert.deepEqual(await run('echo x > /system/x'), { output: "/system/bin/sh: can't create /system/x: Read-only file system\n", exitCode: 1 });
  assert.deepEqual(await run('echo x > /data/x'), { output: "/system/bin/sh: can't create /data/x: Permission denied\n", exitCode: 1 });
  assert.equal(await sh('cat < /nope'), "/system/bin/sh: can't open /nope: No such file or directory\n");
  assert.equal(await sh('echo >/data/local/tmp/e.txt -n hi; cat /data/local/tmp/e.txt'), 'hi');
});

test('variables, command substitution and globs', async () => {
  assert.equal(await sh('A=1; B="two words"; echo $A ${A}x "$B" $B'), '1 1x two words two words\n');
  assert.equal(await sh('echo $UNSET. "$UNSET".'), '. .\n');
  assert.match(await sh('export X=5; echo $X $USER $HOME $$'), /^5 shell \/ \d+\n$/);
  assert.equal(await sh('echo "v=$(getprop ro.build.version.sdk)" `echo back`'), 'v=25 back\n');
  assert.equal(await sh('cd /data/local/tmp && touch g1.txt g2.txt g3.log && echo g*.txt && echo "g*.txt" && echo nomatch*'), 'g1.txt g2.txt\ng*.txt\nnomatch*\n');
  assert.equal(await sh('echo /system/bin/ls /sys*'), '/system/bin/ls /sys /system\n');
  assert.equal(await sh('cd /sdcard; pwd; cd /nope; pwd'), '/sdcard\n/system/bin/sh: cd: /nope: No such file or directory\n/sdcard\n');
});

test('syntax errors run nothing and say what mksh says', async () => {
  assert.deepEqual(await run('echo a; echo "b'), { output: '/system/bin/sh: no closing quote\n', exitCode: 1 });
  assert.equal(await sh('echo a &&'), '/system/bin/sh: syntax error: unexpected EOF\n');
  assert.equal(await sh('; echo a'), "/system/bin/sh: syntax error: ';' unexpected\n");
  assert.equal(await sh('echo a | | b'), "/system/bin/sh: syntax error: '|' unexpected\n");
  assert.equal(await sh('echo >'), '/system/bin/sh: syntax error: unexpected EOF\n');
});

test('unknown commands exit 127; scripts run with sh or by path', async () => {
  assert.deepEqual(await run('nosuch -x'), { output: '/system/bin/sh: nosuch: inaccessible or not found\n', exitCode: 127 });
  assert.deepEqual(await run('/system/bin/ls -d /data'), { output: '/data\n', exitCode: 0 });
  assert.equal(await sh('echo "echo in script \\$1" > /data/local/tmp/s.sh; sh /data/local/tmp/s.sh arg; /data/local/tmp/s.sh'),
    'in script arg\n/system/bin/sh: /data/local/tmp/s.sh: can\'t execute: Permission denied\n');
  assert.equal(await sh('chmod 755 /data/local/tmp/s.sh && /data/local/tmp/s.sh; sh -c "echo inner; exit 4"; echo $?'), 'in script\ninner\n4\n');
});

test('the parser builds lists, pipelines, redirections and assignments', () => {
  const [first, second] = parseScript('A=1 ls -l /x 2>&1 | grep y && echo ok; echo $? >> f');
  assert.equal(first.first.commands.length, 2);
  assert.deepEqual(first.first.commands[0].assignments.map((a) => a.name), ['A']);
  assert.deepEqual(first.first.commands[0].redirects, [{ fd: 2, op: '>&', target: [{ kind: 'text', value: '1', quoted: false }] }]);
  assert.equal(first.rest[0].op, '&&');
  assert.deepEqual(second.first.commands[0].words[1], [{ kind: 'var', name: '?', quoted: false }]);
  assert.deepEqual(second.first.commands[0].redirects[0].op, '>>');
  assert.throws(() => parseScript("echo 'x"), ShellSyntaxError);
});
