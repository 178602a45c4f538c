// Hostile shell commands for the simulated phones, for the tests that attack the shell (test/reliability/
// shell-bombs.test.ts, test/unit/sim/shell-limits.test.ts) and for the fuzzing suite: patterns that make a
// backtracking engine run for ever, scripts that recurse or fan out without end, and output, memory and file
// floods. Every command fits the 1,024 bytes of a command's `content`.
import fc from 'fast-check';

/** Where the bombs keep their scripts and files: writable by the shell user, as on a real phone. */
export const TMP = '/data/local/tmp';

/** A pattern that backtracks exponentially (or with a high power) on `input` in a backtracking engine. */
export interface RegexBomb {
  pattern: string;
  /** `grep -E` syntax; otherwise basic. */
  extended: boolean;
  /** A line that does not match, so that a backtracking engine tries every way. */
  input: string;
}

const a = (n: number) => 'a'.repeat(n);

export const REGEX_BOMBS: RegexBomb[] = [
  { pattern: '^(a+)+$', extended: true, input: `${a(34)}b` },
  { pattern: '^(a|aa)+$', extended: true, input: `${a(40)}b` },
  { pattern: '^(a|a?)+$', extended: true, input: `${a(30)}b` },
  { pattern: '^(a*)*$', extended: true, input: `${a(32)}b` },
  { pattern: '^([a-z]+)*[0-9]$', extended: true, input: `${a(34)}!` },
  { pattern: '^(\\w+\\s?)*$', extended: true, input: `${'a '.repeat(20)}!` },
  { pattern: '(.*a){12}b', extended: true, input: a(400) },
  { pattern: '^\\(a*\\)*$', extended: false, input: `${a(32)}b` },
  { pattern: '\\(a\\|aa\\)*c', extended: false, input: a(60) },
];

/** Single-quotes a word for the shell. */
export function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `echo INPUT | grep [-E] PATTERN; echo $?`: prints 1 once the line is found not to match. */
export function regexBombCommand(bomb: RegexBomb): string {
  return `echo ${quote(bomb.input)} | grep ${bomb.extended ? '-E ' : ''}${quote(bomb.pattern)}; echo $?`;
}

/** A script that runs itself: nesting grows until something stops it (finding 13.3's reproduction). */
export function recursionBomb(name = 'r.sh'): string {
  return `echo 'sh ${TMP}/${name}' > ${TMP}/${name}; sh ${TMP}/${name}`;
}

/** A script that runs itself twice: 2^depth shells, a fork bomb without `&`. */
export function fanOutBomb(name = 'f.sh'): string {
  return `echo 'sh ${TMP}/${name}; sh ${TMP}/${name}' > ${TMP}/${name}; sh ${TMP}/${name}`;
}

/** `$( $( $( … ) ) )` nested `depth` deep. */
export function substitutionNest(depth: number): string {
  return `echo ${'$(echo '.repeat(depth)}x${')'.repeat(depth)}`;
}

/** Makes `${TMP}/${name}` a file of 4^levels × 16 bytes with no newline, by concatenating copies of itself. */
export function doubledFile(name: string, levels: number): string {
  const steps = [`cd ${TMP}`, `echo -n aaaaaaaaaaaaaaaa > ${name}`];
  for (let i = 0; i < levels; i++) steps.push(`cat ${name} ${name} ${name} ${name} > t`, `mv t ${name}`);
  return steps.join('; ');
}

/** A 1 MiB line in `${TMP}/b`: the material of the floods below. */
export const BIG_FILE = doubledFile('b', 8);

const bigFiles = (n: number) => `cd ${TMP}; cat ${Array(n).fill('b').join(' ')}`;

/** Output far beyond what a command may return: the big file 60 times. */
export const OUTPUT_FLOOD = bigFiles(60);

/** A pipe that carries far more than a command may hold. */
export const PIPE_FLOOD = `${bigFiles(60)} | wc -c`;

/** A variable that doubles until it fills memory. */
export const EXPANSION_BOMB = `cd ${TMP}; A=$(cat b); ${Array(12).fill('A=$A$A').join('; ')}; echo done`;

/** Appends to one file until it is larger than any a command may hold or write. */
export const FILE_FLOOD = `${bigFiles(20)} >> flood; echo $?`;

/** A wildcard with many stars over every name of the phone. */
export const GLOB_BOMB = `find / -name '${'*a'.repeat(30)}*b' 2>/dev/null | wc -l; ls /*a*a*a*a*a*a*a*a*a*a*a*a*b 2>/dev/null`;

/** Any of the above, for the fuzzing suite. */
export const hostileShellCommand: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...REGEX_BOMBS).map(regexBombCommand),
  fc.constantFrom(recursionBomb(), fanOutBomb(), OUTPUT_FLOOD, PIPE_FLOOD, EXPANSION_BOMB, FILE_FLOOD, GLOB_BOMB),
  // Up to 127 deep: past the 64 nested shells allowed, and within the 1,024 bytes of a command.
  fc.integer({ min: 1, max: 127 }).map(substitutionNest),
  // Random regular expressions built from the operators that make engines backtrack.
  fc
    .array(fc.constantFrom('a', 'a+', 'a*', '(a|aa)', '(a+)+', '(a?)', '.*', '[a-z]+', '(.*a)', '{2,9}', '\\1', '[[:alpha:]]', '('), { minLength: 1, maxLength: 30 })
    .map((parts) => regexBombCommand({ pattern: parts.join(''), extended: true, input: `${a(40)}b` })),
);
