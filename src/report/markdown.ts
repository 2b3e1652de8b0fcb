/**
 * Document → GitHub-flavoured Markdown: headings, pipe tables, fenced code
 * blocks. Data is escaped so that a `|`, a backtick or a `<tag>` in a path or
 * a section name cannot break a table, a code span or inject HTML.
 */
import type { Block, Doc, Rich, Span } from './doc.js';
import { spans } from './doc.js';
import { clean, codeLine, longestBacktickRun } from './format.js';

/** Escapes Markdown punctuation (and `|`, which matters in tables). */
export function mdEscape(s: string): string {
  return clean(s).replace(/[\\`*_[\]<>|~&#!]/g, (ch) => `\\${ch}`);
}

/** A code span that survives backticks and pipes in its content. */
export function mdCode(s: string): string {
  const text = clean(s).replace(/\|/g, '\\|');
  const fence = '`'.repeat(longestBacktickRun(text) + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || text === '' ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function inline(r: Rich): string {
  return spans(r)
    .map((s: Span) => {
      if (s.code) {
        const c = mdCode(s.text);
        return s.tone === 'bad' || s.tone === 'hint' || s.tone === 'strong' ? `**${c}**` : c;
      }
      const lead = /^\s*/.exec(s.text)?.[0] ?? '';
      const trail = /\s*$/.exec(s.text)?.[0] ?? '';
      const core = s.text.slice(lead.length, s.text.length - trail.length);
      if (core === '') return s.text;
      const e = mdEscape(core);
      let m = e;
      if (s.tone === 'bad' || s.tone === 'warn' || s.tone === 'strong') m = `**${e}**`;
      else if (s.tone === 'hint') m = `**_${e}_**`;
      else if (s.tone === 'dim') m = `_${e}_`;
      return lead + m + trail;
    })
    .join('');
}

function fenced(lines: string[], info: string): string[] {
  const body = lines.map(codeLine);
  const fence = '`'.repeat(Math.max(3, ...body.map((l) => longestBacktickRun(l) + 1)));
  return [`${fence}${info}`, ...body, fence];
}

function side(title: string, lines: string[]): string[] {
  const head = `_${mdEscape(title)}_`;
  return lines.length === 0 ? [`${head} _(nothing on this side)_`] : [head, '', ...fenced(lines, 'text')];
}

function tableRow(cells: string[]): string {
  return `| ${cells.map((c) => (c === '' ? ' ' : c)).join(' | ')} |`;
}

function block(b: Block): string[] {
  switch (b.t) {
    case 'verdict':
      return [`# ${mdEscape(b.word)} — ${mdEscape(b.text)}`];
    case 'heading':
      return [`${'#'.repeat(b.level)} ${inline(b.text)}`];
    case 'para':
      return [inline(b.text)];
    case 'list':
      return b.items.map((it, i) => `${b.ordered ? `${i + 1}.` : '-'} ${inline(it)}`);
    case 'kv':
      return b.rows.map(([k, v]) => `- **${mdEscape(k)}:** ${inline(v)}`);
    case 'table': {
      const n = b.headers.length;
      const lines = [tableRow(b.headers.map(mdEscape)), tableRow(b.headers.map(() => '---'))];
      for (const r of b.rows) {
        const cells = Array.from({ length: n }, (_, i) => inline(r.cells[i] ?? ''));
        lines.push(tableRow(cells));
      }
      return lines;
    }
    case 'code':
      return [
        ...(b.title ? [`**${mdEscape(b.title)}**`, ''] : []),
        ...fenced(b.lines, b.diff ? 'diff' : 'text'),
      ];
    case 'sideBySide':
      return [
        ...(b.title ? [`**${mdEscape(b.title)}**`, ''] : []),
        ...side(b.titles[0], b.a),
        '',
        ...side(b.titles[1], b.b),
      ];
  }
}

export function renderDocMarkdown(doc: Doc): string {
  const parts = doc.blocks.map((b) => block(b).join('\n'));
  if (doc.footer) parts.push('---', `_${mdEscape(doc.footer)}_`);
  return `${parts.join('\n\n')}\n`;
}
