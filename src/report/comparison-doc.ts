/**
 * Comparison → document blocks, in the order a person reads them: verdict,
 * the two files, the route, explanations, differences (with context), the
 * hardening of both sides, the byte accounting of both sides, and a text
 * diff for non-ELF text files.
 */

import { diffWordsWithSpace } from 'diff/lib/diff/word.js';
import type {
  AccountingSummary,
  ByteRange,
  Comparison,
  DiffContext,
  Difference,
  FileFacts,
  Hardening,
} from '../forensics/types.js';
import { byteMapFiles, differenceAnchor } from './byte-map.js';
import {
  differenceValues,
  displayPath,
  explanationItems,
  groupedRegions,
  sidesRegion,
} from './comparison-access.js';
import { type Block, code, type Doc, type Rich, type Row, type Tone, tone, type WordPart } from './doc.js';
import { bytes, dec, duration, hex, hexDec, sizeHexDec } from './format.js';
import { globMatcher } from './globs.js';
import { hexRowsOf } from './hex-view.js';
import { excludedText, keptLines, type ReportOptions } from './options.js';

export type { ReportOptions } from './options.js';

export const SIDE_A = 'a (published)';
export const SIDE_B = 'b (rebuilt)';

// ---------------------------------------------------------------------------
// The verdict sentence

const VERDICT_TONE: Record<Comparison['verdict'], Tone> = {
  identical: 'ok',
  equivalent: 'warn',
  different: 'bad',
};

function regionCategory(region: string): 'section' | 'header' | 'extra' {
  if (region === 'header') return 'header';
  if (region === 'trailing' || region === 'unaccounted') return 'extra';
  return 'section';
}

/** `.text (1 byte at +0x1a2)`, `.foo (only in b)`, `trailing (0x10 bytes only in b)`. */
export function differenceSummary(d: Difference): string {
  const bits: string[] = [];
  if (d.a && !d.b) bits.push(d.region === 'trailing' ? `${hex(d.a.size)} bytes only in a` : 'only in a');
  else if (d.b && !d.a) bits.push(d.region === 'trailing' ? `${hex(d.b.size)} bytes only in b` : 'only in b');
  else if (d.differingBytes !== undefined && d.firstDifference !== undefined)
    bits.push(`${bytes(d.differingBytes)} at +${hex(d.firstDifference)}`);
  else if (d.firstDifference !== undefined) bits.push(`from +${hex(d.firstDifference)}`);
  else if (d.differingBytes !== undefined) bits.push(bytes(d.differingBytes));
  else if (d.a && d.b && d.a.size !== d.b.size) bits.push(`size ${hex(d.a.size)} → ${hex(d.b.size)}`);
  if (d.hint) bits.push(`looks like a ${d.hint}`);
  const name = sidesRegion(d);
  return bits.length ? `${name} (${bits.join(', ')})` : name;
}

/** The one sentence after the verdict word (`differs` can name what it differs from). */
export function verdictSentence(c: Comparison, differs = 'differs'): string {
  if (c.verdict === 'identical') return `same bytes (sha256 ${c.a.sha256.slice(0, 16)}…)`;
  if (c.verdict === 'equivalent') {
    if (c.route === 'post-processing') return `${differs} only in ways pkgforge's post-processing explains`;
    const kinds = [...new Set(c.explanations.map((e) => e.kind))];
    return kinds.length
      ? `${differs} only in removable parts: ${kinds.join(', ')}`
      : `${differs} only in ways explained as benign`;
  }
  if (c.differences.length === 0) return c.route === 'bytes' ? 'the bytes differ' : 'the files differ';
  const cats = new Set(c.differences.map((d) => regionCategory(d.region)));
  let lead: string;
  if (c.route === 'bytes')
    lead = c.a.format === 'text' && c.b.format === 'text' ? 'the text differs' : 'the bytes differ';
  else if (cats.has('section')) lead = 'code or data differs';
  else if (cats.has('header')) lead = 'header fields differ';
  else lead = 'bytes that nothing accounts for';
  // A few: each with where it differs; many: grouped and counted ("7 program headers, entry point, .text").
  if (c.differences.length <= 3) return `${lead}: ${c.differences.map(differenceSummary).join('; ')}`;
  const hints = [...new Set(c.differences.flatMap((d) => (d.hint ? [d.hint] : [])))];
  return `${lead}: ${groupedRegions(c.differences)}${hints.length ? ` (some look like a ${hints.join(' or a ')})` : ''}`;
}

/** `DIFFERENT — code or data differs: .text (1 byte at +0x1a2)`. */
export function verdictLine(c: Comparison): string {
  return `${c.verdict.toUpperCase()} — ${verdictSentence(c)}`;
}

// ---------------------------------------------------------------------------
// Pieces

function yesNo(v: boolean | null | undefined, nullText = 'unknown'): string {
  if (v === null || v === undefined) return nullText;
  return v ? 'yes' : 'no';
}

function rangeText(r: ByteRange | undefined, absent = 'absent'): string {
  if (!r) return absent;
  return `at ${hexDec(r.offset)}, ${sizeHexDec(r.size)}`;
}

function fileRows(a: FileFacts, b: FileFacts): Row[] {
  const rows: Row[] = [];
  const add = (
    label: string,
    va: string | undefined,
    vb: string | undefined,
    asCode = true,
    markTone?: Tone,
  ) => {
    const differs = va !== vb;
    const cell = (v: string | undefined): Rich => (v === undefined ? tone('dim', '—') : asCode ? code(v) : v);
    rows.push({
      cells: [label, cell(va), cell(vb), differs ? tone(markTone ?? 'warn', '≠') : ''],
      ...(differs ? { mark: markTone ?? 'warn' } : {}),
    });
  };
  add('path', displayPath(a.path), displayPath(b.path), true, 'dim');
  add('size', sizeHexDec(a.size), sizeHexDec(b.size), false);
  add('sha256', a.sha256, b.sha256);
  add('blake3', a.blake3, b.blake3);
  add('format', a.format, b.format, false);
  if (a.elf || b.elf) {
    const ea = a.elf;
    const eb = b.elf;
    add(
      'ELF class',
      ea && `ELF${ea.class} ${ea.endian}-endian`,
      eb && `ELF${eb.class} ${eb.endian}-endian`,
      false,
    );
    add('machine', ea?.machine, eb?.machine, false, 'bad');
    add('type', ea?.type, eb?.type, false, 'bad');
    add('entry', ea?.entry, eb?.entry, true, 'bad');
    add('sections', ea && dec(ea.sections), eb && dec(eb.sections), false);
    add('segments', ea && dec(ea.segments), eb && dec(eb.segments), false);
    const bid = (e: typeof ea) => (e ? (e.buildId ?? 'none') : undefined);
    add('build-id', bid(ea), bid(eb));
    const bidOk = (e: typeof ea) => {
      if (!e) return undefined;
      if (!e.buildId) return 'no build-id';
      if (e.buildIdMatches === true) return 'yes, matches the contents';
      if (e.buildIdMatches === false) {
        const why = e.buildIdStatus ?? 'modified after linking';
        return why.startsWith('stripped') ? `no: ${why}` : `NO: ${why}`;
      }
      return e.buildIdStatus ?? 'could not be recomputed';
    };
    add('build-id ok', bidOk(ea), bidOk(eb), false);
  }
  // "build-id ok: NO" deserves attention even when both sides agree.
  for (const r of rows) {
    if (r.cells[0] === 'build-id ok') {
      r.cells = r.cells.map((c, i) =>
        i > 0 && i < 3 && typeof c === 'string' && c.startsWith('NO') ? tone('bad', c) : c,
      );
    }
  }
  return rows;
}

const HARDENING_FIELDS: Array<{ key: keyof Hardening; label: string }> = [
  { key: 'pie', label: 'PIE' },
  { key: 'relro', label: 'RELRO' },
  { key: 'bindNow', label: 'BIND_NOW' },
  { key: 'nxStack', label: 'NX stack' },
  { key: 'cetIbt', label: 'CET IBT' },
  { key: 'cetShstk', label: 'CET shadow stack' },
  { key: 'bti', label: 'AArch64 BTI' },
  { key: 'pac', label: 'AArch64 PAC' },
  { key: 'stackProtector', label: 'stack protector' },
  { key: 'static', label: 'static' },
];

function hardeningValue(key: keyof Hardening, h: Hardening | undefined): string {
  if (!h) return '—';
  const v = h[key];
  if (key === 'relro') return String(v);
  if (key === 'nxStack') return yesNo(v as boolean | null, 'default (no PT_GNU_STACK)');
  if (key === 'stackProtector') return yesNo(v as boolean | null, 'not determinable (no symbols)');
  return yesNo(v as boolean);
}

/** A number for "how hardened", or null when the field is not better/worse (static) or unknown. */
function strength(key: keyof Hardening, h: Hardening): number | null {
  const v = h[key];
  if (key === 'static') return null;
  if (key === 'relro') return v === 'full' ? 2 : v === 'partial' ? 1 : 0;
  if (v === null) return null;
  return v ? 1 : 0;
}

function hardeningRows(a: Hardening | undefined, b: Hardening | undefined, differs: string[]): Row[] {
  return HARDENING_FIELDS.map(({ key, label }) => {
    const va = hardeningValue(key, a);
    const vb = hardeningValue(key, b);
    const different = differs.includes(key) || (a !== undefined && b !== undefined && va !== vb);
    let note: Rich = '';
    let mark: Tone | undefined;
    if (different) {
      const sa = a ? strength(key, a) : null;
      const sb = b ? strength(key, b) : null;
      if (sa !== null && sb !== null && sa < sb) {
        note = tone('warn', '≠ weaker in a');
        mark = 'warn';
      } else if (sa !== null && sb !== null && sa > sb) {
        note = tone('warn', '≠ weaker in b');
        mark = 'warn';
      } else {
        note = tone('warn', '≠');
        mark = 'warn';
      }
    }
    const cell = (v: string, h: Hardening | undefined): Rich => {
      if (!h || key === 'static') return v;
      const s = strength(key, h);
      return s === null ? tone('dim', v) : s > 0 ? tone('ok', v) : v;
    };
    return { cells: [label, cell(va, a), cell(vb, b), note], ...(mark ? { mark } : {}) };
  });
}

function accountingRows(
  a: AccountingSummary | undefined,
  b: AccountingSummary | undefined,
  sa: number,
  sb: number,
): Row[] {
  const rows: Row[] = [];
  const add = (label: string, pick: (x: AccountingSummary) => number, badIfNonZero = false) => {
    const va = a ? pick(a) : undefined;
    const vb = b ? pick(b) : undefined;
    const cell = (v: number | undefined): Rich =>
      v === undefined ? tone('dim', '—') : badIfNonZero && v > 0 ? tone('bad', hexDec(v)) : hexDec(v);
    const flagged = badIfNonZero && ((va ?? 0) > 0 || (vb ?? 0) > 0);
    rows.push({
      cells: [label, cell(va), cell(vb), flagged ? tone('bad', '!') : va !== vb ? '≠' : ''],
      ...(flagged ? { mark: 'bad' as Tone } : {}),
    });
  };
  add('ELF header', (x) => x.header);
  add('program headers', (x) => x.programHeaders);
  add('sections', (x) => x.sections);
  add('section header table', (x) => x.sectionHeaders);
  add('segment bytes outside sections', (x) => x.segments ?? 0);
  add('zero padding', (x) => x.zeroPadding);
  add('unaccounted', (x) => x.unaccounted, true);
  add('trailing', (x) => x.trailing, true);
  add('total accounted', accountedTotal);
  rows.push({
    cells: ['file size', hexDec(sa), hexDec(sb), sa !== sb ? '≠' : ''],
  });
  return rows;
}

/** The sum of every accounting category (equal to the file size when nothing overlaps or is missing). */
export function accountedTotal(x: AccountingSummary): number {
  return (
    x.header +
    x.programHeaders +
    x.sections +
    x.sectionHeaders +
    (x.segments ?? 0) +
    x.zeroPadding +
    x.unaccounted +
    x.trailing
  );
}

const HARDENING_WORDS =
  /relro|bind_now|bindnow|pie\b|nx|gnu_stack|gnu_property|cet|ibt|shstk|bti|pac\b|stack.?protector|hardening/i;

/** The post-processing changes, hardening losses first (stable otherwise). */
export function orderChanges(changes: readonly string[]): string[] {
  const hard = changes.filter((c) => HARDENING_WORDS.test(c));
  const rest = changes.filter((c) => !HARDENING_WORDS.test(c));
  return [...hard, ...rest];
}

/** Keeps the first lines under --max-diff-lines, with a line saying how many were cut. */
function cutLines(lines: string[], opts: ReportOptions): string[] {
  const keep = keptLines(lines.length, opts.maxDiffLines);
  return keep < lines.length
    ? [
        ...lines.slice(0, keep),
        `… ${dec(lines.length - keep)} more lines not shown (--max-diff-lines ${keep})`,
      ]
    : lines;
}

/** Disassembly lines compared without their address column (moved code is the same code). */
const insnKey = (l: string) => l.replace(/^[> ]\s*[0-9a-f]+:\s*/, '').trim();

/** Word-level marks for a unified diff: each `-` line paired with the `+` line that follows it in its hunk. */
export function wordMarks(lines: readonly string[]): Array<WordPart[] | undefined> {
  const out: Array<WordPart[] | undefined> = lines.map(() => undefined);
  for (let i = 0; i < lines.length; ) {
    const isDel = (l: string | undefined) => !!l && l.startsWith('-') && !l.startsWith('---');
    const isAdd = (l: string | undefined) => !!l && l.startsWith('+') && !l.startsWith('+++');
    if (!isDel(lines[i])) {
      i++;
      continue;
    }
    const dels: number[] = [];
    while (isDel(lines[i])) dels.push(i++);
    const adds: number[] = [];
    while (isAdd(lines[i])) adds.push(i++);
    dels.forEach((di, k) => {
      const ai = adds[k];
      if (ai === undefined) return;
      const a = (lines[di] ?? '').slice(1);
      const b = (lines[ai] ?? '').slice(1);
      const parts = diffWordsWithSpace(a, b);
      out[di] = [
        { text: '-' },
        ...parts.filter((p) => !p.added).map((p) => ({ text: p.value, changed: p.removed })),
      ];
      out[ai] = [
        { text: '+' },
        ...parts.filter((p) => !p.removed).map((p) => ({ text: p.value, changed: p.added })),
      ];
    });
  }
  return out;
}

function contextBlocks(
  ctx: DiffContext,
  title: string,
  opts: ReportOptions,
  names?: Difference['names'],
): Block[] {
  const out: Block[] = [];
  // Each side titled with its own section when they differ (unrelated files).
  const sideTitles: [string, string] = names
    ? [`${SIDE_A} ${names.a}`, `${SIDE_B} ${names.b}`]
    : [SIDE_A, SIDE_B];
  const hexRows = hexRowsOf(ctx);
  if (hexRows) {
    const keep = keptLines(hexRows.length, opts.maxDiffLines);
    out.push({
      t: 'hexDiff',
      title: `${title}: bytes, changed ones highlighted`,
      titles: sideTitles,
      rows: hexRows.slice(0, keep),
    });
    if (keep < hexRows.length) {
      out.push({
        t: 'para',
        text: tone('dim', `… ${dec(hexRows.length - keep)} more rows not shown (--max-diff-lines ${keep})`),
      });
    }
    return out;
  }
  const what =
    ctx.kind === 'disassembly'
      ? 'disassembly (aligned, changed instructions marked)'
      : ctx.kind === 'hex'
        ? 'hex dump'
        : 'text';
  if (ctx.a || ctx.b) {
    const a = cutLines(ctx.a ?? [], opts);
    const b = cutLines(ctx.b ?? [], opts);
    const n = Math.max(a.length, b.length);
    const changed =
      ctx.kind === 'disassembly'
        ? Array.from(
            { length: n },
            (_, i) =>
              insnKey(a[i] ?? '') !== insnKey(b[i] ?? '') ||
              (a[i] ?? '').startsWith('>') ||
              (b[i] ?? '').startsWith('>'),
          )
        : undefined;
    out.push({
      t: 'sideBySide',
      title: `${title}: ${what}`,
      titles: sideTitles,
      a,
      b,
      ...(changed ? { changed } : {}),
    });
  }
  if (ctx.unified !== undefined) {
    const lines = cutLines(diffLines(ctx.unified), opts);
    if (lines.some((l) => l.startsWith('@@'))) {
      out.push({
        t: 'code',
        title: `${title}: ${ctx.kind === 'text' ? 'text diff' : `${what} diff`}`,
        lines,
        diff: true,
        words: wordMarks(lines),
      });
    }
  }
  return out;
}

/** A unified diff's lines without jsdiff's `=====` banner and "No newline" notes. */
function diffLines(unified: string): string[] {
  const lines = unified
    .split('\n')
    .filter((l) => !/^={10,}$/.test(l) && !l.startsWith('Index: ') && l !== '\\ No newline at end of file');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function differenceBlocks(
  d: Difference,
  i: number,
  opts: ReportOptions,
  textDiff: string | undefined,
): Block[] {
  const names = d.names;
  // Files laid out differently: each side's own section or segment for these bytes.
  const label = sidesRegion(d);
  const head: Rich[] = [`${i + 1}. `, code(label, 'bad'), ` — ${d.detail}`];
  if (d.hint) head.push(' ', tone('hint', `[${d.hint}]`));
  const rows: Array<[string, Rich]> = [];
  rows.push(['region', names ? [code(names.a), ' in a, ', code(names.b), ' in b'] : code(d.region)]);
  const own = (side: 'a' | 'b', r: Rich): Rich => (names ? [r, ' ', tone('dim', `(${names[side]})`)] : r);
  if (d.hint) {
    rows.push([
      'hint',
      tone(
        'hint',
        d.hint === 'timestamp'
          ? 'the differing bytes look like a date/time'
          : 'the differing bytes look like a file path',
      ),
    ]);
  }
  const values = differenceValues(d);
  if (values) {
    rows.push([SIDE_A, code(values.a, 'bad')]);
    rows.push([SIDE_B, code(values.b, 'bad')]);
  } else if (d.a || d.b) {
    rows.push([SIDE_A, d.a ? own('a', rangeText(d.a)) : tone('dim', 'absent')]);
    rows.push([SIDE_B, d.b ? own('b', rangeText(d.b)) : tone('dim', 'absent')]);
  }
  if (d.firstDifference !== undefined) {
    const abs: string[] = [];
    if (d.a) abs.push(`a ${hex(d.a.offset + d.firstDifference)}`);
    if (d.b) abs.push(`b ${hex(d.b.offset + d.firstDifference)}`);
    rows.push([
      'first difference',
      `+${hexDec(d.firstDifference)} into the region${abs.length ? ` (file offset ${abs.join(', ')})` : ''}`,
    ]);
  }
  if (d.differingBytes !== undefined) rows.push(['differing bytes', sizeHexDec(d.differingBytes)]);
  const blocks: Block[] = [
    { t: 'heading', level: 3, text: head, id: differenceAnchor(i) },
    { t: 'kv', rows },
  ];
  // A whole-file text diff is shown once, under "Text diff".
  if (d.context && !(d.context.unified !== undefined && d.context.unified === textDiff)) {
    blocks.push(...contextBlocks(d.context, label, opts, names));
  }
  return blocks;
}

// ---------------------------------------------------------------------------

/** `--exclude`: whether a difference is left out of the report, by its region or either side's own name. */
export function differenceExcluder(globs: readonly string[] | undefined): (d: Difference) => boolean {
  if (!globs?.length) return () => false;
  const match = globMatcher(globs);
  return (d) => match(d.region) || (d.names !== undefined && (match(d.names.a) || match(d.names.b)));
}

/** The regions `--exclude` leaves out of the report of `c`, each once (they still count in its verdict). */
export function excludedRegions(c: Comparison, globs: readonly string[] | undefined): string[] {
  const isExcluded = differenceExcluder(globs);
  return [...new Set(c.differences.filter(isExcluded).map(sidesRegion))];
}

export function comparisonDoc(c: Comparison, opts: ReportOptions = {}): Doc {
  const blocks: Block[] = [];
  blocks.push({
    t: 'verdict',
    word: c.verdict.toUpperCase(),
    tone: VERDICT_TONE[c.verdict],
    text: verdictSentence(c),
  });
  const isExcluded = differenceExcluder(opts.exclude);
  const counts: string[] = [];
  if (c.verdict !== 'identical') {
    counts.push(
      `${c.explanations.length} benign ${c.explanations.length === 1 ? 'difference' : 'differences'} explained`,
    );
    counts.push(
      `${c.differences.length} ${c.differences.length === 1 ? 'difference' : 'differences'} not explained`,
    );
    blocks.push({ t: 'para', text: tone('dim', counts.join(', ')) });
  }
  if (c.verdict !== 'identical') {
    const files = byteMapFiles(c, SIDE_A, SIDE_B);
    if (files.some((f) => f.layout.length > 0 || f.marks.length > 0)) blocks.push({ t: 'byteMap', files });
  }

  // Files
  blocks.push({ t: 'heading', level: 2, text: 'Files' });
  blocks.push({ t: 'table', headers: ['', SIDE_A, SIDE_B, ''], rows: fileRows(c.a, c.b), compare: true });

  // Route
  blocks.push({ t: 'heading', level: 2, text: 'Route' });
  const routeText: Record<Comparison['route'], string> = {
    identical: 'identical: both files have the same bytes; nothing else to compare.',
    'post-processing':
      "post-processing: a equals b after pkgforge's CI post-processing (objcopy, then strip), simulated exactly on b only.",
    accounting:
      "accounting: the loader's view decides: every byte the kernel or loader reads must match (build-id descriptors aside); bytes outside it may differ only in named, removable sections.",
    bytes: 'bytes: not ELF, compared as bytes (with a text diff when both are text).',
  };
  blocks.push({ t: 'para', text: [code(c.route), ' — ', routeText[c.route].replace(/^[a-z-]+: /, '')] });
  const pp = c.postProcessing;
  if (pp) {
    const rows: Array<[string, Rich]> = [];
    rows.push([
      'result',
      pp.matches
        ? tone('ok', 'a equals post-processed b byte for byte')
        : pp.skipped
          ? tone('dim', 'not simulated')
          : tone('dim', 'a does not equal post-processed b'),
    ]);
    if (pp.profile)
      rows.push([
        'profile',
        [code(pp.profile), pp.matches ? ' (reproduces the published bytes)' : ' (the first that ran)'],
      ]);
    if (pp.tried?.length) rows.push(['tried', pp.tried.join(', ')]);
    if (pp.tool) rows.push(['tool', code(pp.tool)]);
    if (pp.skipped) rows.push(['skipped', pp.skipped]);
    blocks.push({ t: 'heading', level: 3, text: 'pkgforge post-processing (simulated)' });
    blocks.push({ t: 'kv', rows });
    if (pp.steps.length) blocks.push({ t: 'code', title: 'steps', lines: pp.steps });
  }

  // Explanations
  blocks.push({
    t: 'heading',
    level: 2,
    text: `Explanations (${c.explanations.length})`,
    id: 'explanations',
  });
  if (pp?.changes.length) {
    blocks.push({
      t: 'para',
      text:
        c.route === 'post-processing'
          ? 'What the post-processing changed, hardening losses first:'
          : 'What the post-processing would change, hardening losses first:',
    });
    blocks.push({
      t: 'list',
      items: orderChanges(pp.changes).map((ch) => (HARDENING_WORDS.test(ch) ? tone('warn', ch) : ch)),
    });
  }
  if (c.explanations.length) {
    blocks.push({
      t: 'table',
      headers: ['kind', 'region', 'detail', SIDE_A, SIDE_B],
      rows: c.explanations.map((e) => ({
        cells: [
          code(e.kind),
          e.region ? code(e.region) : tone('dim', '—'),
          explanationItems(e).length > 1 ? `${explanationItems(e).length} items, listed below` : e.detail,
          e.a ? rangeText(e.a) : tone('dim', '—'),
          e.b ? rangeText(e.b) : tone('dim', '—'),
        ],
      })),
    });
    for (const e of c.explanations) {
      const items = explanationItems(e);
      if (items.length < 2) continue;
      blocks.push({
        t: 'table',
        headers: ['#', `${e.kind}${e.region ? ` (${e.region})` : ''}`],
        rows: items.map((it, k) => ({ cells: [dec(k + 1), it] })),
      });
    }
  } else {
    blocks.push({ t: 'para', text: tone('dim', 'No benign differences.') });
  }
  if (c.observations?.length) {
    blocks.push({ t: 'heading', level: 2, text: `Observations (${c.observations.length})` });
    blocks.push({
      t: 'list',
      items: c.observations.map((o) => [code(o.region), ': ', o.detail]),
    });
  }

  // Differences
  blocks.push({ t: 'heading', level: 2, text: `Differences (${c.differences.length})` });
  if (c.differences.length === 0) {
    blocks.push({
      t: 'para',
      text: tone(
        'dim',
        c.verdict === 'different' ? 'None itemised.' : 'None: nothing that is loaded or executed differs.',
      ),
    });
  }
  const excluded: string[] = [];
  c.differences.forEach((d, i) => {
    if (isExcluded(d)) excluded.push(sidesRegion(d));
    else blocks.push(...differenceBlocks(d, i, opts, c.textDiff));
  });
  if (excluded.length) blocks.push({ t: 'para', text: tone('dim', excludedText([...new Set(excluded)])) });

  // Hardening
  const ha = c.hardening?.a ?? c.a.elf?.hardening;
  const hb = c.hardening?.b ?? c.b.elf?.hardening;
  if (ha || hb) {
    blocks.push({ t: 'heading', level: 2, text: 'Hardening' });
    const differs = c.hardening?.differs ?? [];
    blocks.push({
      t: 'table',
      headers: ['', SIDE_A, SIDE_B, ''],
      rows: hardeningRows(ha, hb, differs),
      compare: true,
    });
    if (differs.length) {
      const labels = differs.map((k) => HARDENING_FIELDS.find((f) => f.key === k)?.label ?? k);
      blocks.push({ t: 'para', text: [tone('warn', 'Differs:'), ` ${labels.join(', ')}`] });
    } else if (ha && hb) {
      blocks.push({ t: 'para', text: tone('dim', 'Same hardening on both sides.') });
    }
  }

  // Byte accounting
  const aa = c.a.elf?.accounting;
  const ab = c.b.elf?.accounting;
  if (aa || ab) {
    blocks.push({ t: 'heading', level: 2, text: 'Byte accounting', id: 'accounting' });
    blocks.push({
      t: 'table',
      headers: ['', SIDE_A, SIDE_B, ''],
      rows: accountingRows(aa, ab, c.a.size, c.b.size),
      compare: true,
    });
    const ranges: Rich[] = [];
    for (const [side, acc] of [
      ['a', aa],
      ['b', ab],
    ] as const) {
      for (const r of acc?.unaccountedRanges ?? []) {
        ranges.push([`${side}: `, tone('bad', `${sizeHexDec(r.size)} at ${hexDec(r.offset)}`)]);
      }
    }
    const gaps = [
      ['a', aa, c.a.size],
      ['b', ab, c.b.size],
    ] as const;
    const short = gaps.filter(([, acc, size]) => acc && accountedTotal(acc) !== size);
    if (ranges.length) {
      blocks.push({ t: 'para', text: 'Unaccounted and trailing ranges:' });
      blocks.push({ t: 'list', items: ranges });
    } else if (short.length === 0) {
      blocks.push({
        t: 'para',
        text: tone('dim', 'Every byte of both files is accounted for: the totals equal the file sizes.'),
      });
    }
    for (const [side, acc, size] of short) {
      if (!acc) continue;
      const d = size - accountedTotal(acc);
      blocks.push({
        t: 'para',
        text: tone(
          'bad',
          `${side}: the accounted total is ${hexDec(accountedTotal(acc))}, ${d > 0 ? `${dec(d)} bytes short of` : `${dec(-d)} bytes over`} the file size ${hexDec(size)} (overlapping or missing ranges).`,
        ),
      });
    }
  }

  // Whole-file text diff
  if (c.textDiff !== undefined) {
    blocks.push({ t: 'heading', level: 2, text: 'Text diff' });
    const lines = cutLines(diffLines(c.textDiff), opts);
    blocks.push({ t: 'code', title: 'unified diff, a → b', lines, diff: true, words: wordMarks(lines) });
  }

  return {
    title: `rebuild compare: ${c.verdict.toUpperCase()}`,
    blocks,
    footer: `${c.schema} · route ${c.route} · compared in ${duration(c.durationMs)}`,
  };
}
