/**
 * A small tokenizer for POSIX-ish shell text, enough to find simple commands
 * (like `docker run … <image> …`) in recipe scripts without running them.
 *
 * It understands: single and double quotes, `$'…'`, backslash escapes,
 * backslash-newline continuations, comments, `$(…)`, `$((…))`, `${…}` and
 * backticks (kept literally as part of the word), here-documents (skipped),
 * control operators and redirections. It does not expand anything.
 */

export type Token =
  | { type: 'word'; value: string; raw: string; line: number }
  | { type: 'op'; value: string; line: number }
  | { type: 'redir'; value: string; line: number };

/** A simple command: its words (quotes removed, expansions kept as written), redirections dropped. */
export interface SimpleCommand {
  words: string[];
  /** The same words as written (quotes kept). */
  raws: string[];
  line: number;
}

const OPERATORS = ['&&', '||', ';;', '|&', ';', '|', '&', '(', ')', '\n'];

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r';
}

/** Index just after the `)` that closes a `$(` or `(` opened before `i` (depth 1 at `i`). */
function skipParen(s: string, i: number): number {
  let depth = 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      i = j < 0 ? s.length : j + 1;
      continue;
    }
    if (c === '"') {
      i = skipDouble(s, i + 1);
      continue;
    }
    if (c === '`') {
      i = skipBacktick(s, i + 1);
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return s.length;
}

/** Index just after the `"` closing a double-quoted string whose body starts at `i`. */
function skipDouble(s: string, i: number): number {
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '"') return i + 1;
    if (c === '$' && s[i + 1] === '(') {
      i = skipParen(s, i + 2);
      continue;
    }
    if (c === '`') {
      i = skipBacktick(s, i + 1);
      continue;
    }
    i++;
  }
  return s.length;
}

function skipBacktick(s: string, i: number): number {
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '`') return i + 1;
    i++;
  }
  return s.length;
}

function skipBrace(s: string, i: number): number {
  let depth = 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      i = j < 0 ? s.length : j + 1;
      continue;
    }
    if (c === '"') {
      i = skipDouble(s, i + 1);
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return s.length;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) if (s.charCodeAt(k) === 10) n++;
  return n;
}

/** Tokenize shell text. Never throws: unterminated quotes run to the end of the text. */
export function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const pendingHeredocs: { delim: string; stripTabs: boolean }[] = [];

  while (i < s.length) {
    const c = s[i]!;
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (c === '\\' && s[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    if (c === '#') {
      const j = s.indexOf('\n', i);
      i = j < 0 ? s.length : j;
      continue;
    }
    if (c === '\n') {
      tokens.push({ type: 'op', value: '\n', line });
      i++;
      line++;
      // Here-document bodies start after the newline that ends their command.
      while (pendingHeredocs.length > 0) {
        const { delim, stripTabs } = pendingHeredocs.shift()!;
        for (;;) {
          if (i >= s.length) break;
          const j = s.indexOf('\n', i);
          const end = j < 0 ? s.length : j;
          let text = s.slice(i, end);
          if (stripTabs) text = text.replace(/^\t+/, '');
          i = j < 0 ? s.length : j + 1;
          line++;
          if (text === delim) break;
        }
      }
      continue;
    }
    // Redirections: [n]>, >>, <, <<, <<-, <<<, >&, <&, &>, &>>, >|
    const redir = /^(?:&>>|&>|\d*(?:<<-|<<<|<<|>>|>&|<&|>\||<>|>|<))/.exec(s.slice(i, i + 6));
    if (redir) {
      const op = redir[0];
      i += op.length;
      tokens.push({ type: 'redir', value: op, line });
      if (op.endsWith('<<') || op.endsWith('<<-')) {
        // The delimiter word follows; read it now so the body can be skipped.
        while (i < s.length && isBlank(s[i]!)) i++;
        const start = i;
        const w = readWord(s, i);
        i = w.end;
        tokens.push({ type: 'word', value: w.value, raw: s.slice(start, i), line });
        pendingHeredocs.push({ delim: w.value, stripTabs: op.endsWith('<<-') });
      }
      continue;
    }
    const op = OPERATORS.find((o) => s.startsWith(o, i));
    if (op) {
      tokens.push({ type: 'op', value: op, line });
      i += op.length;
      continue;
    }
    const start = i;
    const startLine = line;
    const w = readWord(s, i);
    i = w.end;
    line += countNewlines(s, start, i);
    tokens.push({ type: 'word', value: w.value, raw: s.slice(start, i), line: startLine });
  }
  return tokens;
}

/** Read one word starting at `i`; returns its unquoted value and the end index. */
function readWord(s: string, i: number): { value: string; end: number } {
  let value = '';
  while (i < s.length) {
    const c = s[i]!;
    if (isBlank(c) || c === '\n') break;
    if (c === ';' || c === '&' || c === '|' || c === '(' || c === ')' || c === '<' || c === '>') break;
    if (c === '\\') {
      if (s[i + 1] === '\n') {
        i += 2;
        continue;
      }
      if (i + 1 < s.length) value += s[i + 1];
      i += 2;
      continue;
    }
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      const end = j < 0 ? s.length : j;
      value += s.slice(i + 1, end);
      i = j < 0 ? s.length : j + 1;
      continue;
    }
    if (c === '$' && s[i + 1] === "'") {
      // ANSI-C quoting: keep the body with its escapes as written.
      let j = i + 2;
      while (j < s.length && s[j] !== "'") j += s[j] === '\\' ? 2 : 1;
      value += s.slice(i + 2, Math.min(j, s.length));
      i = Math.min(j + 1, s.length);
      continue;
    }
    if (c === '"') {
      const end = skipDouble(s, i + 1);
      const body = s.slice(i + 1, s[end - 1] === '"' && end - 1 > i ? end - 1 : end);
      value += unescapeDouble(body);
      i = end;
      continue;
    }
    if (c === '$' && s[i + 1] === '(') {
      const end = skipParen(s, i + 2);
      value += s.slice(i, end);
      i = end;
      continue;
    }
    if (c === '$' && s[i + 1] === '{') {
      const end = skipBrace(s, i + 2);
      value += s.slice(i, end);
      i = end;
      continue;
    }
    if (c === '`') {
      const end = skipBacktick(s, i + 1);
      value += s.slice(i, end);
      i = end;
      continue;
    }
    value += c;
    i++;
  }
  return { value, end: i };
}

/** Inside double quotes only \" \\ \$ \` and \newline are escapes. */
function unescapeDouble(body: string): string {
  return body.replace(/\\([\\"$`\n])/g, (_m, ch: string) => (ch === '\n' ? '' : ch));
}

const KEYWORDS = new Set([
  'if',
  'then',
  'elif',
  'else',
  'fi',
  'do',
  'done',
  'while',
  'until',
  '!',
  '{',
  '}',
  'time',
]);

/** Split tokens into simple commands; redirections (and their targets) and leading keywords are dropped. */
export function simpleCommands(script: string): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  let words: string[] = [];
  let raws: string[] = [];
  let line = 0;
  let skipNext = false;
  const flush = () => {
    if (words.length > 0) out.push({ words, raws, line });
    words = [];
    raws = [];
  };
  for (const t of tokenize(script)) {
    if (t.type === 'op') {
      flush();
      continue;
    }
    if (t.type === 'redir') {
      // fd duplications like 2>&1 still take a word ("1"); here-doc delimiters too.
      skipNext = true;
      continue;
    }
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (words.length === 0 && KEYWORDS.has(t.value) && t.raw === t.value) continue;
    if (words.length === 0) line = t.line;
    words.push(t.value);
    raws.push(t.raw);
  }
  flush();
  return out;
}

/** The bodies of the `$(…)` and backtick substitutions in a word as written (outermost only; none inside single quotes). */
export function commandSubstitutions(word: string): string[] {
  const out: string[] = [];
  let i = 0;
  let inDouble = false;
  while (i < word.length) {
    const c = word[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '"') {
      inDouble = !inDouble;
      i++;
      continue;
    }
    if (c === "'" && !inDouble) {
      const j = word.indexOf("'", i + 1);
      i = j < 0 ? word.length : j + 1;
      continue;
    }
    if (c === '$' && word[i + 1] === '(' && word[i + 2] !== '(') {
      const end = skipParen(word, i + 2);
      out.push(word.slice(i + 2, word[end - 1] === ')' ? end - 1 : end));
      i = end;
      continue;
    }
    if (c === '`') {
      const end = skipBacktick(word, i + 1);
      out.push(word.slice(i + 1, word[end - 1] === '`' ? end - 1 : end));
      i = end;
      continue;
    }
    i++;
  }
  return out;
}
