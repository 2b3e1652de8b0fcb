import { describe, expect, it } from 'vitest';
import type { Comparison } from '../../src/forensics/types.js';
import { renderHtml, renderMarkdown, renderText, verdictLine } from '../../src/report/index.js';
import {
  different,
  equivalentPostProcessing,
  HOSTILE_IMG,
  HOSTILE_SCRIPT,
  identical,
  textFiles,
} from './comparisons.js';

const ALL: Array<[string, () => Comparison]> = [
  ['identical', identical],
  ['equivalent', equivalentPostProcessing],
  ['different', different],
  ['text files', textFiles],
];

/** Splits a Markdown table row into cells on unescaped pipes. */
function cells(row: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < row.length; i++) {
    const ch = row[i]!;
    if (ch === '\\' && i + 1 < row.length) {
      cur += ch + row[i + 1];
      i++;
    } else if (ch === '|') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.slice(1, -1);
}

/** Every pipe table: header, delimiter row, rows with the same number of cells. */
function checkMarkdownTables(md: string): number {
  const lines = md.split('\n');
  let tables = 0;
  let inFence: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const fence = /^(`{3,})/.exec(l)?.[1];
    if (fence) {
      if (inFence === null) inFence = fence;
      else if (l === inFence) inFence = null;
      continue;
    }
    if (inFence !== null || !l.startsWith('|')) continue;
    const prev = lines[i - 1] ?? '';
    if (prev.startsWith('|')) continue; // not the first row of a table
    tables++;
    const n = cells(l).length;
    expect(n, `table header: ${l}`).toBeGreaterThan(1);
    const delim = lines[i + 1] ?? '';
    expect(
      cells(delim).every((c) => /^\s*:?-{3,}:?\s*$/.test(c)),
      `delimiter row: ${delim}`,
    ).toBe(true);
    expect(cells(delim)).toHaveLength(n);
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith('|'); j++) {
      const row = lines[j]!;
      expect(row.endsWith('|'), `row ends with a pipe: ${row}`).toBe(true);
      expect(cells(row), `cells of: ${row}`).toHaveLength(n);
    }
  }
  expect(inFence, 'all code fences closed').toBeNull();
  return tables;
}

function indexOrder(s: string, needles: string[]): void {
  let last = -1;
  for (const n of needles) {
    const i = s.indexOf(n, last + 1);
    expect(i, `"${n}" after position ${last}`).toBeGreaterThan(last);
    last = i;
  }
}

describe('renderText', () => {
  it('puts the verdict on the first line', () => {
    expect(renderText(identical()).split('\n')[0]).toMatch(
      /^IDENTICAL — same bytes \(sha256 3f2a9c1be07d55a4/,
    );
    expect(renderText(equivalentPostProcessing()).split('\n')[0]).toBe(
      "EQUIVALENT — differs only in ways pkgforge's post-processing explains",
    );
    const first = renderText(different(), { width: 200 }).split('\n')[0]!;
    expect(first).toBe(verdictLine(different()));
    // many differences: region names grouped and counted, in the order found
    expect(first).toMatch(/^DIFFERENT — code or data differs: \.text, \.rodata, entry point,/);
    expect(first).toContain('timestamp');
    expect(renderText(textFiles()).split('\n')[0]).toMatch(/^DIFFERENT — the text differs: bytes/);
  });

  it('shows files, route, explanations, differences, hardening and accounting in that order', () => {
    const t = renderText(different(), { width: 120 });
    indexOrder(t, [
      'DIFFERENT',
      'Files',
      'Route',
      'Explanations',
      'Differences',
      'Hardening',
      'Byte accounting',
    ]);
    // both files: hashes, sizes, ELF facts
    for (const s of [different().a.sha256, different().b.sha256, different().a.blake3, different().b.blake3])
      expect(t).toContain(s);
    expect(t).toContain('0x3888 (14,472) bytes');
    expect(t).toMatch(/entry\s+a\s+0x1060\n\s+≠ b\s+0x1070/);
    expect(t).toContain('NO: modified after linking');
    expect(t).toContain('a1b2c3d4e5f60718293a4b5c6d7e8f9012345678');
    // differences: regions, offsets and sizes in hex and decimal
    indexOrder(t, ['1. .text', '2. .rodata', '3. header', '4. .weird|sec`x', '5. trailing']);
    expect(t).toContain('at 0x1060 (4,192), 0x113 (275) bytes');
    expect(t).toContain('+0x42 (66) into the region (file offset a 0x10a2, b 0x10a2)');
    expect(t).toContain('the differing bytes look like a date/time');
    // contexts: disassembly side by side at 120 columns, text diff, hex
    expect(t).toMatch(/mov {4}\$0x2a,%eax +≠ +1144: +b8 2b/);
    expect(t).toContain('-built on Jan  1 2025 12:00:00');
    expect(t).toContain('+built on Mar 14 2025 09:26:53');
    expect(t).toContain('50 41 59 4c 4f 41 44 21');
    // hardening and accounting
    expect(t).toMatch(/RELRO\s+full\s+partial\s+≠ weaker in b/);
    expect(t).toMatch(/trailing\s+0x0 \(0\)\s+0x10 \(16\)\s+!/);
    expect(t).toContain('b: 0x10 (16) bytes at 0x4160 (16,736)');
  });

  it('lists the post-processing changes with hardening losses first', () => {
    const t = renderText(equivalentPostProcessing());
    indexOrder(t, [
      'Explanations (5)',
      'RELRO hardening lost',
      'CET IBT/SHSTK properties lost',
      'removed .comment (43 bytes)',
      'removed .symtab and .strtab',
    ]);
    for (const k of ['comment', 'build-id', 'notes', 'symbols', 'post-processing']) expect(t).toContain(k);
    expect(t).toContain("objcopy --remove-section=.comment --remove-section='.note.*' hello");
    expect(t).toContain('a equals post-processed b byte for byte');
    expect(t).toMatch(/RELRO\s+none\s+full\s+≠ weaker in a/);
    expect(t).toContain('Differs: RELRO, CET IBT, CET shadow stack, stack protector');
  });

  it('shows the whole-file text diff for non-ELF text files, without ELF sections', () => {
    const t = renderText(textFiles());
    expect(t).toContain('Text diff');
    expect(t).toContain('-built = 2025-01-01T12:00:00Z');
    expect(t).toContain('+built = 2025-03-14T09:26:53Z');
    expect(t).not.toContain('Hardening');
    expect(t).not.toContain('Byte accounting');
  });

  for (const width of [80, 100, 120]) {
    it(`fits ${width} columns for every fixture, with and without colour`, () => {
      for (const [name, make] of ALL) {
        for (const color of [false, true]) {
          const t = renderText(make(), { width, color });
          const visible = t.replace(/\x1b\[[0-9;]*m/g, '');
          for (const line of visible.split('\n')) {
            expect([...line].length, `${name}, ${width} cols: "${line}"`).toBeLessThanOrEqual(width);
          }
        }
      }
    });
  }

  it('uses ANSI colour only when asked, and never passes control characters from the data through', () => {
    const plain = renderText(different());
    expect(plain).not.toContain('\x1b');
    expect(plain).toContain('\\x1b[31m'); // the ESC in the hostile path, made visible
    const colored = renderText(different(), { color: true });
    expect(colored).toContain('\x1b[');
    expect(colored).toContain('\\x1b[31m');
    // every ESC in the coloured output belongs to an SGR sequence the renderer wrote
    expect(colored.replace(/\x1b\[[0-9;]*m/g, '')).not.toContain('\x1b');
    expect(colored.replace(/\x1b\[[0-9;]*m/g, '')).toBe(renderText(different()));
  });
});

describe('renderMarkdown', () => {
  it('holds the same facts, with well-formed tables and closed fences', () => {
    for (const [name, make] of ALL) {
      const md = renderMarkdown(make());
      const tables = checkMarkdownTables(md);
      expect(tables, name).toBeGreaterThanOrEqual(1);
      expect(md.startsWith(`# ${make().verdict.toUpperCase()} — `), name).toBe(true);
    }
    const md = renderMarkdown(different());
    indexOrder(md, [
      '# DIFFERENT',
      '## Files',
      '## Route',
      '## Explanations',
      '## Differences',
      '## Hardening',
      '## Byte accounting',
    ]);
    expect(md).toContain(different().b.sha256);
    expect(md).toContain('at 0x1060 (4,192), 0x113 (275) bytes');
    expect(md).toContain('```diff');
    expect(md).toContain('+built on Mar 14 2025 09:26:53');
    expect(md).toContain('**_the differing bytes look like a date/time_**');
    expect(checkMarkdownTables(md)).toBe(4); // files, explanations, hardening, accounting
  });

  it('escapes pipes and backticks in table cells and data', () => {
    const md = renderMarkdown(different());
    // the hostile path: pipe escaped inside a code span fenced with two backticks
    expect(md).toContain("``/tmp/<script>document.title='pwned'</script>/hello\\|pipe`tick\\x1b[31m``");
    // region with a pipe and a backtick in a heading code span
    expect(md).toContain('``.weird\\|sec`x``');
    expect(md).not.toContain('\x1b');
    // an HTML tag in prose (outside code) is escaped
    const c = equivalentPostProcessing();
    c.explanations[0]!.detail = `removed ${HOSTILE_SCRIPT} | and more`;
    const md2 = renderMarkdown(c);
    expect(md2).toContain("\\<script\\>document.title='pwned'\\</script\\> \\| and more");
    checkMarkdownTables(md2);
  });

  it('chooses a code fence longer than any backtick run in the content', () => {
    const c = different();
    c.differences[0]!.context = { kind: 'disassembly', a: ['```', 'x'], b: ['````', 'y'] };
    const md = renderMarkdown(c);
    expect(md).toContain('````text\n```\nx\n````');
    expect(md).toContain('`````text\n````\ny\n`````');
    checkMarkdownTables(md);
  });
});

describe('renderHtml', () => {
  const html = renderHtml(different());

  it('is one self-contained page with the same facts', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>rebuild compare: DIFFERENT</title>');
    indexOrder(html, [
      'DIFFERENT',
      '>Files<',
      '>Route<',
      'Explanations',
      'Differences',
      '>Hardening<',
      'Byte accounting',
    ]);
    expect(html).toContain(different().a.sha256);
    expect(html).toContain('at 0x1060 (4,192), 0x113 (275) bytes');
    expect(html).toContain('<mark class="t-hint">');
    expect(html.match(/<table/g)).toHaveLength(4);
    expect(html).toContain('<details');
  });

  it('escapes hostile strings from paths and contexts', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;');
    expect(html).not.toContain('\x1b');
    expect(html).toContain('\\x1b[31m');
    expect(HOSTILE_IMG).toContain('<img'); // the fixture really carries the payload
  });

  it('loads nothing: no URL-bearing attributes or CSS, and a CSP that forbids it', () => {
    for (const [, make] of ALL) {
      const h = renderHtml(make());
      expect(h).toContain(`content="default-src 'none'; style-src 'unsafe-inline'`);
      const tags = h.match(/<[a-zA-Z][^>]*>/g) ?? [];
      for (const tag of tags) {
        expect(tag, tag).not.toMatch(/\s(src|action|srcset|poster|formaction|background|xlink:href)\s*=/i);
        // links only within the page (the byte map links each region to its detail)
        for (const m of tag.matchAll(/\shref\s*=\s*("[^"]*"|'[^']*'|\S+)/gi))
          expect(m[1], tag).toMatch(/^"#[a-z0-9-]+"$/);
        expect(tag, tag).not.toMatch(
          /^<(script|img|link|iframe|object|embed|base|form|video|audio|source)\b/i,
        );
      }
      const style = /<style>([\s\S]*?)<\/style>/.exec(h)?.[1] ?? '';
      expect(style).not.toMatch(/url\(|@import|@font-face/i);
      // URLs appear only as escaped text from the data, never in markup
      const markupOnly = h.replace(/>[^<]*</g, '><');
      expect(markupOnly).not.toMatch(/https?:\/\//);
    }
  });

  it('has light and dark colour schemes', () => {
    expect(html).toContain('<meta name="color-scheme" content="light dark">');
    expect(html).toContain('@media (prefers-color-scheme:dark)');
  });
});
