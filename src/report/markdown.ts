/**
 * Document → GitHub-flavoured Markdown: headings, pipe tables, fenced code
 * blocks. Data is escaped so that a `|`, a backtick or a `<tag>` in a path or
 * a section name cannot break a table, a code span or inject HTML.
 */
import { byteMapText } from './byte-map.js';
import type { Block, Doc, Rich, Span } from './doc.js';
import { cutBlocks, spans } from './doc.js';
import { clean, codeLine, longestBacktickRun } from './format.js';
import { hexViewLines } from './hex-text.js';
import { relativeUrl } from './links.js';
import type { ReportOptions } from './options.js';

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
    .map((s: Span) => (s.href ? `[${inlineSpan(s)}](${relativeUrl(s.href)})` : inlineSpan(s)))
    .join('');
}

function inlineSpan(s: Span): string {
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
      return [
        `${b.id ? `<a id="${b.id.replace(/[^a-z0-9-]/g, '')}"></a>\n\n` : ''}${'#'.repeat(b.level)} ${inline(b.text)}`,
      ];
    case 'byteMap':
      return ['**Byte map** (both files to scale)', '', ...fenced(byteMapText(b.files, 64), 'text')];
    case 'hexDiff':
      return [`**${mdEscape(b.title)}**`, '', ...fenced(hexViewLines(b, 100, false), 'text')];
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

export function renderDocMarkdown(doc: Doc, opts: ReportOptions = {}): string {
  const parts = cutBlocks(doc.blocks, (b) => block(b).join('\n').length + 2, opts.maxReportSize).map((b) =>
    block(b).join('\n'),
  );
  if (doc.footer) parts.push('---', `_${mdEscape(doc.footer)}_`);
  return `${parts.join('\n\n')}\n`;
}
