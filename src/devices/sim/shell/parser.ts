// A recursive-descent parser for the part of mksh (Android's /system/bin/sh) that `adb shell` commands
// use: lists (`;`, `&`, newlines), `&&`/`||`, pipes, `!`, redirections (`>`, `>>`, `<`, `N>&M`, `N>file`),
// variable assignments, quoting (`'…'`, `"…"`, `\`), `$NAME`, `${NAME}`, `$?`, `$(…)` and backquotes.
// Expansion happens later, at run time, so `$?` sees the status of the command before it.

export type WordPart =
  | { kind: 'text'; value: string; quoted: boolean }
  | { kind: 'var'; name: string; quoted: boolean }
  | { kind: 'subst'; script: Script; quoted: boolean };
export type Word = WordPart[];

export interface Redirect {
  fd: number;
  op: '>' | '>>' | '<' | '>&' | '<&';
  target: Word;
}

export interface SimpleCommand {
  assignments: { name: string; value: Word }[];
  words: Word[];
  redirects: Redirect[];
}

export interface Pipeline {
  negate: boolean;
  commands: SimpleCommand[];
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

export type Script = AndOr[];

/** A syntax error, worded as mksh words it. */
export class ShellSyntaxError extends Error {}

/** `$(…)` and backquotes nested deeper are refused: parsing them would take the whole stack. */
const MAX_NESTING = 256;

const OPERATOR_START = new Set([';', '&', '|', '<', '>', '(', ')', '\n']);
const BLANK = new Set([' ', '\t']);

export function parseScript(source: string, depth = 0): Script {
  if (depth > MAX_NESTING) throw new ShellSyntaxError('syntax error: nested too deeply');
  const parser = new Parser(source, depth);
  const script = parser.list(undefined);
  parser.expectEnd();
  return script;
}

class Parser {
  private pos = 0;

  constructor(
    private readonly src: string,
    private depth: number,
  ) {}

  expectEnd(): void {
    this.skipBlanks();
    if (this.pos < this.src.length) this.unexpected();
  }

  /** Commands separated by `;`, `&` or newlines, up to `end` (a closing `)` of `$(…)`) or the end. */
  list(end: ')' | undefined): Script {
    const script: Script = [];
    for (;;) {
      this.skipBlanks();
      if (this.peek() === '\n' || this.peek() === ';') {
        // An empty command before `;` is an error; blank lines are not.
        if (this.peek() === ';') this.unexpected();
        this.pos++;
        continue;
      }
      if (this.atEnd() || (end && this.peek() === end)) return script;
      script.push(this.andOr());
      this.skipBlanks();
      const c = this.peek();
      if (c === ';' || c === '\n' || (c === '&' && this.src[this.pos + 1] !== '&')) {
        this.pos++;
        continue;
      }
      if (this.atEnd() || (end && c === end)) return script;
      this.unexpected();
    }
  }

  private andOr(): AndOr {
    const first = this.pipeline();
    const rest: AndOr['rest'] = [];
    for (;;) {
      this.skipBlanks();
      const op = this.src.slice(this.pos, this.pos + 2);
      if (op !== '&&' && op !== '||') return { first, rest };
      this.pos += 2;
      this.skipNewlines();
      rest.push({ op, pipeline: this.pipeline() });
    }
  }

  private pipeline(): Pipeline {
    this.skipBlanks();
    let negate = false;
    if (this.peek() === '!' && (BLANK.has(this.src[this.pos + 1]) || this.pos + 1 >= this.src.length)) {
      negate = true;
      this.pos++;
    }
    const commands = [this.command()];
    for (;;) {
      this.skipBlanks();
      if (this.peek() !== '|' || this.src[this.pos + 1] === '|') return { negate, commands };
      this.pos++;
      this.skipNewlines();
      commands.push(this.command());
    }
  }

  private command(): SimpleCommand {
    const command: SimpleCommand = { assignments: [], words: [], redirects: [] };
    for (;;) {
      this.skipBlanks();
      if (this.atEnd()) break;
      const c = this.peek();
      const fd = /^\d+(?=[<>])/.exec(this.src.slice(this.pos));
      if (fd || c === '<' || c === '>') {
        command.redirects.push(this.redirect(fd ? Number(fd[0]) : undefined, fd ? fd[0].length : 0));
        continue;
      }
      if (OPERATOR_START.has(c)) break;
      const start = this.pos;
      const word = this.word();
      const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(this.src.slice(start, this.pos));
      if (assignment && command.words.length === 0 && word[0]?.kind === 'text' && !word[0].quoted) {
        const head = word[0].value.slice(assignment[0].length);
        const value: Word = [...(head ? [{ ...word[0], value: head }] : []), ...word.slice(1)];
        command.assignments.push({ name: assignment[1], value });
      } else {
        command.words.push(word);
      }
    }
    if (command.words.length === 0 && command.assignments.length === 0 && command.redirects.length === 0) this.unexpected();
    return command;
  }

  private redirect(fd: number | undefined, skip: number): Redirect {
    this.pos += skip;
    let op: Redirect['op'];
    const two = this.src.slice(this.pos, this.pos + 2);
    if (two === '>>' || two === '>&' || two === '<&') {
      op = two;
      this.pos += 2;
    } else {
      op = this.src[this.pos++] as '>' | '<';
      if (op === '>' && this.peek() === '|') this.pos++; // `>|`: no noclobber here
    }
    this.skipBlanks();
    if (this.atEnd() || OPERATOR_START.has(this.peek())) this.unexpected();
    return { fd: fd ?? (op.startsWith('<') ? 0 : 1), op, target: this.word() };
  }

  /** One word: everything up to an unquoted blank or operator. */
  private word(): Word {
    const parts: Word = [];
    let text = '';
    const flush = () => {
      if (text) parts.push({ kind: 'text', value: text, quoted: false });
      text = '';
    };
    while (!this.atEnd()) {
      const c = this.peek();
      if (BLANK.has(c) || OPERATOR_START.has(c)) break;
      if (c === '\\') {
        this.pos++;
        if (this.atEnd()) break;
        const next = this.src[this.pos++];
        if (next === '\n') continue;
        flush();
        parts.push({ kind: 'text', value: next, quoted: true });
      } else if (c === "'") {
        flush();
        const close = this.src.indexOf("'", this.pos + 1);
        if (close < 0) throw new ShellSyntaxError('no closing quote');
        parts.push({ kind: 'text', value: this.src.slice(this.pos + 1, close), quoted: true });
        this.pos = close + 1;
      } else if (c === '"') {
        flush();
        this.pos++;
        parts.push(...this.doubleQuoted());
      } else if (c === '$' || c === '`') {
        const expansion = this.expansion(false);
        if (expansion) {
          flush();
          parts.push(expansion);
        } else {
          text += c;
          this.pos++;
        }
      } else {
        text += c;
        this.pos++;
      }
    }
    flush();
    return parts;
  }

  private doubleQuoted(): Word {
    const parts: Word = [];
    let text = '';
    for (;;) {
      if (this.atEnd()) throw new ShellSyntaxError('no closing quote');
      const c = this.peek();
      if (c === '"') {
        this.pos++;
        break;
      }
      if (c === '\\' && '$`"\\\n'.includes(this.src[this.pos + 1] ?? '')) {
        if (this.src[this.pos + 1] !== '\n') text += this.src[this.pos + 1];
        this.pos += 2;
      } else if (c === '$' || c === '`') {
        const expansion = this.expansion(true);
        if (expansion) {
          if (text) parts.push({ kind: 'text', value: text, quoted: true });
          text = '';
          parts.push(expansion);
        } else {
          text += c;
          this.pos++;
        }
      } else {
        text += c;
        this.pos++;
      }
    }
    // "" is an empty word, not no word at all.
    if (text || parts.length === 0) parts.push({ kind: 'text', value: text, quoted: true });
    return parts;
  }

  /** `$NAME`, `${NAME}`, `$?` and other specials, `$(…)`, `` `…` ``; undefined for a lone `$`. */
  private expansion(quoted: boolean): WordPart | undefined {
    const rest = this.src.slice(this.pos);
    if (rest.startsWith('`')) {
      let inner = '';
      let i = this.pos + 1;
      for (; i < this.src.length && this.src[i] !== '`'; i++) {
        if (this.src[i] === '\\' && '$`\\'.includes(this.src[i + 1] ?? '')) i++;
        inner += this.src[i];
      }
      if (i >= this.src.length) throw new ShellSyntaxError('no closing quote');
      this.pos = i + 1;
      return { kind: 'subst', script: parseScript(inner, this.depth + 1), quoted };
    }
    if (rest.startsWith('$(')) {
      this.pos += 2;
      if (++this.depth > MAX_NESTING) throw new ShellSyntaxError('syntax error: nested too deeply');
      const script = this.list(')');
      this.depth--;
      if (this.peek() !== ')') this.unexpected();
      this.pos++;
      return { kind: 'subst', script, quoted };
    }
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*|[?$#0-9])\}/.exec(rest);
    const plain = /^\$([A-Za-z_][A-Za-z0-9_]*|[?$#0-9])/.exec(rest);
    const match = braced ?? plain;
    if (!match) {
      if (rest.startsWith('${')) throw new ShellSyntaxError(`${rest.slice(0, rest.indexOf('}') + 1 || undefined)}: bad substitution`);
      return undefined;
    }
    this.pos += match[0].length;
    return { kind: 'var', name: match[1], quoted };
  }

  private unexpected(): never {
    if (this.atEnd()) throw new ShellSyntaxError('syntax error: unexpected EOF');
    const two = this.src.slice(this.pos, this.pos + 2);
    const token = ['&&', '||', ';;', '>>', '<<', '>&', '<&'].includes(two) ? two : this.src[this.pos] === '\n' ? 'newline' : this.src[this.pos];
    throw new ShellSyntaxError(`syntax error: '${token}' unexpected`);
  }

  private peek(): string {
    return this.src[this.pos];
  }

  private atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  /** Skips blanks and a comment (`#` where a word would start runs to the end of the line). */
  private skipBlanks(): void {
    while (BLANK.has(this.peek())) this.pos++;
    if (this.peek() === '#') while (!this.atEnd() && this.peek() !== '\n') this.pos++;
  }

  private skipNewlines(): void {
    while (BLANK.has(this.peek()) || this.peek() === '\n') this.pos++;
  }
}
