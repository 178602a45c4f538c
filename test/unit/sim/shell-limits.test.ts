// The simulated shell against hostile commands (issue 13, findings 2 and 3): POSIX regular expressions on a
// linear-time engine, and the limits that keep one command from holding the event loop, the CPU or memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandTimeoutError } from '../../../src/devices/driver.ts';
import { Budget, CommandAborted } from '../../../src/devices/sim/shell/limits.ts';
import { onePhone } from '../../fixtures/sim/phone.ts';
import { BIG_FILE, fanOutBomb, PIPE_FLOOD, recursionBomb, REGEX_BOMBS, regexBombCommand, substitutionNest, TMP } from '../../helpers/hostile-shell.ts';

test('grep: POSIX basic and extended syntax, classes, leftmost-longest matches', async () => {
  const { sh } = await onePhone();
  assert.equal(await sh("echo aa | grep 'a\\{2\\}'; echo 'a{2}' | grep 'a{2}'; echo aa | grep -E 'a{2}'"), 'aa\na{2}\naa\n');
  assert.equal(await sh("echo 'x12y' | grep -o '[[:digit:]]\\+'; echo ']a' | grep '[]]a'; echo 'a\\b' | grep -c '[\\]'"), '12\n]a\n1\n');
  assert.equal(await sh("echo '*a' | grep '*a'; echo 'a+b' | grep 'a+b'; echo ab | grep 'a\\|x'; echo 'x^y$z' | grep 'x^y$z'"), '*a\na+b\nab\nx^y$z\n');
  // POSIX picks the longest of the leftmost matches; JavaScript's engine picks the first alternative.
  assert.equal(await sh("echo abcd | grep -oE 'a|ab|abc'; echo 'foo bar' | grep -ow 'ba.'"), 'abc\nbar\n');
  assert.equal(await sh("echo AbC | grep -i abc; printf 2>/dev/null; echo x | grep -F '.'; echo $?"), 'AbC\n1\n');
});

test('grep: a bad pattern is refused in regerror\'s words, and backreferences are not supported', async () => {
  const { sh } = await onePhone();
  assert.equal(
    await sh("grep -E '(a' /dev/null; grep 'a\\{1' /dev/null; grep -E 'a{256}' /dev/null; grep -E '*a' /dev/null; grep '[[:nope:]]' /dev/null; grep '[a' /dev/null; grep 'x\\' /dev/null; echo $?"),
    [
      "grep: bad regex '(a': parentheses not balanced",
      "grep: bad regex 'a\\{1': braces not balanced",
      "grep: bad regex 'a{256}': invalid repetition count(s)",
      "grep: bad regex '*a': repetition-operator operand invalid",
      "grep: bad regex '[[:nope:]]': invalid character class",
      "grep: bad regex '[a': brackets ([ ]) not balanced",
      "grep: bad regex 'x\\': trailing backslash (\\)",
      '2',
      '',
    ].join('\n'),
  );
  assert.equal(await sh("echo aa | grep '\\(a\\)\\1'; echo $?"), "grep: bad regex '\\(a\\)\\1': invalid backreference number\n2\n");
});

test('patterns that backtrack for ever in JavaScript answer at once', async () => {
  const { sim, spec } = await onePhone();
  // Each answers within its 2 s limit (or the call would be refused as timed out); a backtracking engine
  // would hold the event loop for minutes, the limit's timer with it.
  for (const bomb of REGEX_BOMBS) {
    const result = await sim.shell(spec, regexBombCommand(bomb), { timeoutMs: 2000 });
    assert.equal(result.output, '1\n', bomb.pattern);
  }
  assert.equal((await sim.shell(spec, `find / -name '${'*a'.repeat(40)}*b' 2>/dev/null | wc -l`)).output, '0\n');
});

test('a long line is matched in a worker, which the time limit ends', async () => {
  const { sim, spec } = await onePhone();
  await sim.shell(spec, `${BIG_FILE}; echo > n; cat ${'b n '.repeat(12)}> lines`);
  // Linear, but twelve lines of 1 MiB × 1,800 instructions: a second or more of matching, well past the
  // 100 ms limit, which ends it (a match that could not be stopped would answer "0"). That other tenants are
  // served meanwhile is measured by test/reliability/shell-bombs.test.ts.
  await assert.rejects(sim.shell(spec, `grep -cE '(a|aa?){255}[^a]' ${TMP}/lines`, { timeoutMs: 100 }), CommandTimeoutError);
  assert.equal((await sim.shell(spec, `grep -c 'a$' ${TMP}/lines`)).output, '12\n');
});

test('nesting stops at 64 shells with mksh\'s fork failure; the shells above go on', async () => {
  const { sim, spec } = await onePhone();
  const nested = await sim.shell(spec, `${recursionBomb()}; echo status $?`);
  assert.equal(nested.output, "/system/bin/sh: can't fork - try again\nstatus 1\n");
  assert.equal((await sim.shell(spec, substitutionNest(64))).output, 'x\n');
  assert.match((await sim.shell(spec, substitutionNest(65))).output, /^\/system\/bin\/sh: can't fork - try again\n/);
  // A script file nesting 1,000 `$(` is refused before anything runs, instead of overflowing the parser's stack.
  const deep = `cd ${TMP}; echo -n 'echo ${'$('.repeat(100)}' > o; echo -n '${')'.repeat(100)}' > c; cat o o o o o o o o o o > d; cat c c c c c c c c c c >> d; sh d; echo $?`;
  assert.equal((await sim.shell(spec, deep)).output, '/system/bin/sh: syntax error: nested too deeply\n1\n');
});

test('a fan-out without end is stopped by the caller\'s time limit', async () => {
  const { sim, spec } = await onePhone();
  await assert.rejects(sim.shell(spec, fanOutBomb(), { timeoutMs: 300 }), new CommandTimeoutError('Command did not finish within 300 ms.'));
  assert.equal((await sim.shell(spec, 'echo alive')).output, 'alive\n');
});

test('the CPU budget stops work that yields but never ends', async () => {
  const budget = new Budget(new AbortController().signal, 50);
  const spin = async () => {
    for (;;) {
      const until = performance.now() + 1;
      while (performance.now() < until);
      await budget.tick();
    }
  };
  await assert.rejects(spin(), new CommandAborted('Command used more than 0.05 s of CPU time.'));
});

test('output past 1 MiB is dropped; pipes and expansions past 16 MiB end the command as out of memory; files stop at 16 MiB', async () => {
  const { sim, spec } = await onePhone();
  await sim.shell(spec, BIG_FILE);
  const output = await sim.shell(spec, `cd ${TMP}; cat b b b; echo; echo end`);
  assert.equal(output.output.length, 1024 * 1024);
  assert.equal(output.exitCode, 0);
  assert.deepEqual(await sim.shell(spec, PIPE_FLOOD), { output: '/system/bin/sh: out of memory\n', exitCode: 137 });
  assert.equal((await sim.shell(spec, `cd ${TMP}; A=$(cat b); A=$A$A; A=$A$A; A=$A$A; A=$A$A; echo never`)).output, '/system/bin/sh: out of memory\n');
  const twelve = `cd ${TMP}; cat b b b b b b b b b b b b >> f; echo $?`;
  assert.equal((await sim.shell(spec, twelve)).output, '0\n');
  assert.equal((await sim.shell(spec, twelve)).output, '/system/bin/sh: /data/local/tmp/f: File too large\n1\n');
  assert.equal((await sim.shell(spec, `ls -l ${TMP}/f | grep -c 12582912`)).output, '1\n');
});
