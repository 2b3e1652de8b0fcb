/**
 * Document → terminal text. Lines fit `width` columns: prose is wrapped at
 * spaces, code and hex lines are cut with `…`, and a token with no space in
 * it (a path, a digest, an artifact reference) is never split or cut but
 * overflows, so it pastes whole. ANSI colour is used only when
 * asked for. Strings from the data go through `clean`, so escape sequences in
 * a path or a section name cannot reach the terminal.
 */
import { createColors } from 'picocolors';
import { byteMapText } from './byte-map.js';
import { type Block, cutBlocks, type Doc, plain, type Rich, type Row, spans, type Tone } from './doc.js';
import { charWidth, clean, codeLine, padEnd, width as strWidth, truncEnd } from './format.js';
import { hexViewLines } from './hex-text.js';
import type { ReportOptions } from './options.js';

export interface TextOptions extends Pick<ReportOptions, 'maxReportSize'> {
  /** ANSI colour (default false). */
  color?: boolean;
  /** Terminal width in columns (default 100, clamped to 60…200). */
  width?: number;
}

interface Ch {
  ch: string;
  tone: Tone | undefined;
  /** Terminal columns (string-width: wide characters 2, combining marks 0). */
  w: number;
}

/** Columns a run of characters takes. */
function cols(chars: readonly Ch[]): number {
  let n = 0;
  for (const c of chars) n += c.w;
  return n;
}

type Colors = ReturnType<typeof createColors>;

const TONE_COLOR: Record<Tone, (c: Colors, s: string) => string> = {
  ok: (c, s) => c.green(s),
  warn: (c, s) => c.yellow(s),
  bad: (c, s) => c.red(s),
  hint: (c, s) => c.bold(c.magenta(s)),
  dim: (c, s) => c.dim(s),
  strong: (c, s) => c.bold(s),
};

class Painter {
  readonly c: Colors;
  constructor(readonly color: boolean) {
    this.c = createColors(color);
  }
  paint(text: string, t: Tone | undefined, bold = false): string {
    if (!this.color || text === '' || (!t && !bold)) return text;
    const toned = t ? TONE_COLOR[t](this.c, text) : text;
    return bold ? this.c.bold(toned) : toned;
  }
  /** A changed word or byte: inverse video in colour. */
  changed(text: string): string {
    return this.color ? this.c.inverse(this.c.bold(text)) : text;
  }
  line(chars: Ch[]): string {
    let out = '';
    let run = '';
    let cur: Tone | undefined;
    for (const c of chars) {
      if (c.tone !== cur) {
        out += this.paint(run, cur);
        run = '';
        cur = c.tone;
      }
      run += c.ch;
    }
    return out + this.paint(run, cur);
  }
}

function toChars(r: Rich, base?: Tone): Ch[] {
  const out: Ch[] = [];
  for (const s of spans(r)) {
    for (const ch of clean(s.text)) out.push({ ch, tone: s.tone ?? base, w: charWidth(ch) });
  }
  return out;
}

/**
 * Word-wraps styled characters to `w` columns. A word (a run without spaces:
 * an artifact reference, a digest, a path) is never split: one longer than
 * the width gets a line of its own and overflows it, so it can still be
 * copied and pasted whole (as diffoscope and git leave long lines).
 */
export function wrapChars(chars: Ch[], w: number): Ch[][] {
  const limit = Math.max(1, w);
  const words: Ch[][] = [];
  let cur: Ch[] = [];
  for (const c of chars) {
    if (c.ch === ' ') {
      if (cur.length) words.push(cur);
      cur = [];
    } else cur.push(c);
  }
  if (cur.length) words.push(cur);
  const lines: Ch[][] = [];
  let line: Ch[] = [];
  let used = 0;
  const space = (t: Tone | undefined): Ch => ({ ch: ' ', tone: t, w: 1 });
  for (const word of words) {
    const ww = cols(word);
    if (line.length && used + 1 + ww > limit) {
      lines.push(line);
      line = [];
      used = 0;
    }
    if (line.length) {
      line.push(space(line[line.length - 1]?.tone === word[0]?.tone ? word[0]?.tone : undefined));
      used++;
    }
    line.push(...word);
    used += ww;
  }
  if (line.length || lines.length === 0) lines.push(line);
  return lines;
}

/** The longest word of styled characters (what a column cannot be narrower than without splitting it). */
function longestWord(chars: Ch[]): number {
  let best = 0;
  let run = 0;
  for (const c of chars) {
    run = c.ch === ' ' ? 0 : run + c.w;
    best = Math.max(best, run);
  }
  return best;
}

export function renderDocText(doc: Doc, opts: TextOptions = {}): string {
  const W = Math.min(200, Math.max(60, Math.floor(opts.width ?? 100)));
  const p = new Painter(opts.color === true);
  const out: string[] = [];

  /** Wrapped rich text with a first-line prefix and a hanging indent. */
  const wrapped = (r: Rich, indent: number, first = '', firstTone?: Tone, base?: Tone) => {
    const lines = wrapChars(toChars(r, base), W - indent);
    lines.forEach((l, i) => {
      const lead = i === 0 ? p.paint(padEnd(first, indent), firstTone) : ' '.repeat(indent);
      out.push(lead + p.line(l));
    });
  };

  const codeLines = (
    lines: string[],
    indent: number,
    diff: boolean,
    words?: Extract<Block, { t: 'code' }>['words'],
  ) => {
    const avail = W - indent;
    lines.forEach((raw, li) => {
      const w = words?.[li];
      if (w && p.color && strWidth(codeLine(raw)) <= avail) {
        // Word-level highlight in colour (inverse); without colour the line stays as it is.
        const del = raw.startsWith('-');
        const t: Tone = del ? 'bad' : 'ok';
        const text = w
          .map((part) =>
            part.changed ? p.changed(p.paint(codeLine(part.text), t)) : p.paint(codeLine(part.text), t),
          )
          .join('');
        out.push(' '.repeat(indent) + text);
        return;
      }
      const l = truncEnd(codeLine(raw), avail);
      let t: Tone | undefined;
      if (diff) {
        if (l.startsWith('+++') || l.startsWith('---')) t = 'strong';
        else if (l.startsWith('+')) t = 'ok';
        else if (l.startsWith('-')) t = 'bad';
        else if (l.startsWith('@@')) t = 'dim';
      }
      out.push(' '.repeat(indent) + p.paint(l, t));
    });
  };

  const table = (headers: string[], rows: Row[], compare: boolean) => {
    const indent = 2;
    const n = headers.length;
    const cellChars = rows.map((r) => r.cells.map((c) => toChars(c)));
    const natural = headers.map((h, i) =>
      Math.max(strWidth(h), ...cellChars.map((cells) => cols(cells[i] ?? []))),
    );
    const avail = W - indent - 2 * (n - 1);
    const total = natural.reduce((a, b) => a + b, 0);
    if (compare && total > avail && n >= 3) {
      stacked(headers, rows, cellChars);
      return;
    }
    const widths = [...natural];
    // Narrowed widest first, but never below 6 nor below a column's longest word:
    // when that is still too wide, the row overflows rather than splitting a token.
    const floor = headers.map((_, i) =>
      Math.max(6, ...cellChars.map((cells) => longestWord(cells[i] ?? []))),
    );
    while (widths.reduce((a, b) => a + b, 0) > avail) {
      let wi = -1;
      widths.forEach((w, i) => {
        if (w > (floor[i] ?? 6) && (wi < 0 || w > (widths[wi] ?? 0))) wi = i;
      });
      if (wi < 0) break;
      widths[wi] = (widths[wi] ?? 0) - 1;
    }
    const sep = '  ';
    if (headers.some((h) => h !== '')) {
      out.push(
        ' '.repeat(indent) +
          p.paint(
            headers
              .map((h, i) => padEnd(truncEnd(h, widths[i] ?? 1), widths[i] ?? 1))
              .join(sep)
              .trimEnd(),
            'strong',
          ),
      );
      out.push(' '.repeat(indent) + p.paint(widths.map((w) => '─'.repeat(w)).join(sep), 'dim'));
    }
    for (const cells of cellChars) {
      const wrappedCells = cells.map((c, i) => wrapChars(c, widths[i] ?? 1));
      const height = Math.max(1, ...wrappedCells.map((w) => w.length));
      for (let li = 0; li < height; li++) {
        const parts = wrappedCells.map((wc, i) => {
          const l = wc[li] ?? [];
          return p.line(l) + ' '.repeat(Math.max(0, (widths[i] ?? 0) - cols(l)));
        });
        out.push((' '.repeat(indent) + parts.join(sep)).trimEnd());
      }
    }
  };

  /** Comparison rows as records: `label  a value` / `     ≠ b value`. */
  const stacked = (headers: string[], rows: Row[], cellChars: Ch[][][]) => {
    const labelW = Math.min(18, Math.max(...rows.map((r) => strWidth(clean(plain(r.cells[0] ?? ''))))));
    const valueIndent = labelW + 9;
    const sideName = (h: string | undefined, fallback: string) =>
      h ? (h.split(' ')[0] ?? fallback) : fallback;
    const na = sideName(headers[1], 'a');
    const nb = sideName(headers[2], 'b');
    rows.forEach((row, ri) => {
      const cells = cellChars[ri] ?? [];
      const fullLabel = clean(plain(row.cells[0] ?? ''));
      // A label wider than the label column (a member path) gets a line of its own, whole.
      if (strWidth(fullLabel) > labelW) out.push(`  ${fullLabel}`);
      const label = strWidth(fullLabel) > labelW ? '' : fullLabel;
      const a = cells[1] ?? [];
      const b = cells[2] ?? [];
      const markChars = cells[3] ?? [];
      const same = a.map((c) => c.ch).join('') === b.map((c) => c.ch).join('');
      const emit = (lead: string, value: Ch[]) => {
        const lines = wrapChars(value, W - valueIndent);
        lines.forEach((l, i) => {
          out.push((i === 0 ? lead : ' '.repeat(valueIndent)) + p.line(l));
        });
      };
      const mark = markChars.map((c) => c.ch).join('');
      const mt = markChars[0]?.tone;
      const markCh = p.paint(mark ? [...mark][0]! : ' ', mt);
      const note = mark.replace(/^[≠!]\s*/, '');
      if (Math.max(cols(a), cols(b)) > W - valueIndent) {
        // Long values (hashes, paths): the label on its own line, values below.
        if (label) out.push(`  ${label}`);
        const sub = (lead: string, value: Ch[]) => {
          wrapChars(value, W - 7).forEach((l, i) => {
            out.push((i === 0 ? lead : ' '.repeat(7)) + p.line(l));
          });
        };
        if (same) sub(`  ${padEnd(`${na},${nb}`, 5)}`, a);
        else {
          sub(`    ${padEnd(na, 3)}`, a);
          sub(`  ${markCh} ${padEnd(nb, 3)}`, b);
        }
      } else if (same) {
        emit(`  ${padEnd(label, labelW)}   ${padEnd(`${na},${nb}`, 4)}`, a);
      } else {
        emit(`  ${padEnd(label, labelW)}   ${padEnd(na, 4)}`, a);
        emit(`  ${' '.repeat(labelW)} ${markCh} ${padEnd(nb, 4)}`, b);
      }
      if (!same && note) out.push(`${' '.repeat(valueIndent)}${p.paint(`(${note})`, mt)}`);
    });
  };

  const sideBySide = (block: Extract<Block, { t: 'sideBySide' }>) => {
    const indent = 4;
    // objdump indents every line: drop the indentation both sides share, to save columns.
    const rawA = block.a.map(codeLine);
    const rawB = block.b.map(codeLine);
    const common = Math.min(
      ...[...rawA, ...rawB].filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0),
    );
    const dedent = (l: string) => (Number.isFinite(common) ? l.slice(common) : l);
    const a = rawA.map(dedent);
    const b = rawB.map(dedent);
    const gutter = 3;
    const colW = Math.floor((W - indent - gutter) / 2);
    // Side by side when (nearly) every line fits its column; the odd long line is cut with `…`.
    const all = [...a, ...b];
    const fitting = all.filter((l) => strWidth(l) <= colW).length;
    const sideBySideFits = all.length > 0 && fitting >= all.length * 0.75 && a.length > 0 && b.length > 0;
    if (block.title) wrapped(`${block.title}:`, 2, '', undefined, 'dim');
    const rows = Math.max(a.length, b.length);
    if (sideBySideFits) {
      const [ta, tb] = block.titles.map(clean) as [string, string];
      if (strWidth(ta) <= colW && strWidth(tb) <= colW) {
        out.push(
          `${' '.repeat(indent)}${p.paint(padEnd(ta, colW), 'strong')}   ${p.paint(tb, 'strong')}`.trimEnd(),
        );
      } else {
        // Titles too wide for their columns (paths): each on its own line, whole, above the columns.
        out.push(`${' '.repeat(indent)}${p.paint('left: ', 'dim')}${p.paint(ta, 'strong')}`);
        out.push(`${' '.repeat(indent)}${p.paint('right: ', 'dim')}${p.paint(tb, 'strong')}`);
      }
      for (let i = 0; i < rows; i++) {
        const differs = block.changed ? block.changed[i] === true : (a[i] ?? '') !== (b[i] ?? '');
        const la = truncEnd(a[i] ?? '', colW);
        const lb = truncEnd(b[i] ?? '', colW);
        out.push(
          (
            ' '.repeat(indent) +
            p.paint(padEnd(la, colW), differs ? 'bad' : undefined) +
            (differs ? p.paint(' ≠ ', 'warn') : p.paint(' │ ', 'dim')) +
            p.paint(lb, differs ? 'ok' : undefined)
          ).trimEnd(),
        );
      }
      return;
    }
    // Too wide for two columns: one after the other, differing lines marked.
    const side = (title: string, lines: string[], other: string[], t: Tone) => {
      out.push(' '.repeat(indent) + p.paint(clean(title), 'strong'));
      if (lines.length === 0) out.push(' '.repeat(indent) + p.paint('(nothing on this side)', 'dim'));
      lines.forEach((l, i) => {
        const differs = block.changed ? block.changed[i] === true : l !== (other[i] ?? '');
        out.push(
          ' '.repeat(indent - 2) +
            (differs ? p.paint('≠ ', 'warn') : '  ') +
            p.paint(truncEnd(l, W - indent), differs ? t : undefined),
        );
      });
    };
    side(block.titles[0], a, b, 'bad');
    side(block.titles[1], b, a, 'ok');
  };

  const drawn = cutBlocks(doc.blocks, (b) => JSON.stringify(b).length, opts.maxReportSize);
  drawn.forEach((block, bi) => {
    if (bi > 0) out.push('');
    switch (block.t) {
      case 'verdict': {
        const word = clean(block.word);
        const chars = toChars(block.text);
        const lines = wrapChars(chars, W - strWidth(word) - 3);
        lines.forEach((l, i) => {
          const lead = i === 0 ? `${p.paint(word, block.tone, true)} — ` : ' '.repeat(strWidth(word) + 3);
          out.push(lead + p.paint(l.map((c) => c.ch).join(''), undefined, true));
        });
        break;
      }
      case 'heading': {
        if (block.level === 2) {
          const lines = wrapChars(toChars(plain(block.text)), W).map((l) => l.map((c) => c.ch).join(''));
          for (const l of lines) out.push(p.paint(l, 'strong'));
          out.push(p.paint('─'.repeat(Math.min(W, Math.max(...lines.map(strWidth)))), 'dim'));
        } else {
          wrapped(block.text, 2, '', undefined, 'strong');
        }
        break;
      }
      case 'para':
        wrapped(block.text, 2);
        break;
      case 'list':
        block.items.forEach((item, i) => {
          wrapped(item, block.ordered ? 6 : 4, block.ordered ? `  ${i + 1}.` : '  •');
        });
        break;
      case 'kv': {
        const labelW = Math.min(18, Math.max(...block.rows.map(([k]) => strWidth(clean(k)))));
        for (const [k, v] of block.rows) {
          wrapped(v, 2 + labelW + 2, `  ${truncEnd(clean(k), labelW)}`, 'dim');
        }
        break;
      }
      case 'table':
        table(block.headers, block.rows, block.compare === true);
        break;
      case 'code':
        if (block.title) wrapped(`${block.title}:`, 2, '', undefined, 'dim');
        codeLines(block.lines, 4, block.diff === true, block.words);
        break;
      case 'byteMap':
        out.push(`  ${p.paint('Byte map (both files to scale):', 'dim')}`);
        for (const l of byteMapText(block.files, W - 6)) {
          out.push(
            `  ${l.startsWith('|') ? [...l].map((ch) => (ch === 'X' ? p.paint(ch, 'bad') : ch === '~' ? p.paint(ch, 'warn') : ch === '!' ? p.paint(ch, 'strong') : ch)).join('') : clean(l)}`,
          );
        }
        break;
      case 'hexDiff':
        wrapped(`${block.title}:`, 2, '', undefined, 'dim');
        for (const l of hexViewLines(block, W - 4, p.color, (t, ch) =>
          ch ? p.changed(p.paint(t, 'bad')) : t,
        )) {
          out.push(`    ${l}`);
        }
        break;
      case 'sideBySide':
        sideBySide(block);
        break;
    }
  });
  if (doc.footer) {
    out.push('');
    for (const l of wrapChars(toChars(doc.footer), W)) out.push(p.paint(l.map((c) => c.ch).join(''), 'dim'));
  }
  return `${out.join('\n')}\n`;
}
