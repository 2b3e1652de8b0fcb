/**
 * Document → one self-contained HTML page: inline CSS, no scripts, no fonts,
 * no images, no links out, and a Content-Security-Policy that forbids loading
 * anything even if something slipped through. Every piece of data is
 * HTML-escaped after `clean`; light and dark colour schemes.
 */
import { BYTE_MAP_CSS, byteMapSvg } from './byte-map.js';
import type { Block, Doc, Rich, Tone, WordPart } from './doc.js';
import { cutBlocks, spans } from './doc.js';
import { codeLine } from './format.js';
import { asciiOf, byteDiffers, rowDiffers } from './hex-view.js';
import { escapeHtml } from './html-escape.js';
import { relativeUrl } from './links.js';
import type { ReportOptions } from './options.js';

export { escapeHtml };

/** For code lines: tabs expanded, then escaped. */
function escapeCode(s: string): string {
  return escapeHtml(codeLine(s));
}

const TONE_CLASS: Record<Tone, string> = {
  ok: 't-ok',
  warn: 't-warn',
  bad: 't-bad',
  hint: 't-hint',
  dim: 't-dim',
  strong: 't-strong',
};

function inline(r: Rich): string {
  return spans(r)
    .map((s) => {
      let h = escapeHtml(s.text);
      if (s.code) h = `<code>${h}</code>`;
      if (s.href) h = `<a href="${escapeHtml(relativeUrl(s.href))}">${h}</a>`;
      if (s.tone === 'hint') return `<mark class="t-hint">${h}</mark>`;
      if (s.tone) return `<span class="${TONE_CLASS[s.tone]}">${h}</span>`;
      return h;
    })
    .join('');
}

/** Contexts longer than this start collapsed. */
const OPEN_LIMIT = 40;

function diffLineClass(l: string): string {
  if (l.startsWith('+++') || l.startsWith('---')) return 'd-file';
  if (l.startsWith('+')) return 'd-add';
  if (l.startsWith('-')) return 'd-del';
  if (l.startsWith('@@')) return 'd-hunk';
  return '';
}

function details(summary: string, body: string, lines: number): string {
  return `<details${lines <= OPEN_LIMIT ? ' open' : ''}><summary>${summary} <span class="t-dim">(${lines} ${
    lines === 1 ? 'line' : 'lines'
  })</span></summary>${body}</details>`;
}

function block(b: Block): string {
  switch (b.t) {
    case 'verdict':
      return `<header class="verdict v-${TONE_CLASS[b.tone]}"><h1><span class="word">${escapeHtml(
        b.word,
      )}</span> <span class="sentence">— ${escapeHtml(b.text)}</span></h1></header>`;
    case 'heading':
      return `<h${b.level}${b.id ? ` id="${escapeHtml(b.id)}"` : ''}>${inline(b.text)}</h${b.level}>`;
    case 'para':
      return `<p>${inline(b.text)}</p>`;
    case 'list':
      return `<${b.ordered ? 'ol' : 'ul'}>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${b.ordered ? 'ol' : 'ul'}>`;
    case 'kv':
      return `<dl class="kv">${b.rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${inline(v)}</dd>`).join('')}</dl>`;
    case 'table': {
      const head = `<thead><tr>${b.headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>`;
      const rows = b.rows
        .map((r) => {
          const cls = r.mark ? ` class="marked m-${TONE_CLASS[r.mark]}"` : '';
          const cells = b.headers.map((_, i) => {
            const c = inline(r.cells[i] ?? '');
            return i === 0 && b.compare ? `<th scope="row">${c}</th>` : `<td>${c}</td>`;
          });
          return `<tr${cls}>${cells.join('')}</tr>`;
        })
        .join('');
      return `<div class="scroll"><table${b.compare ? ' class="compare"' : ''}>${head}<tbody>${rows}</tbody></table></div>`;
    }
    case 'code': {
      const body = b.lines
        .map((l, i) => {
          const cls = b.diff ? diffLineClass(l) : '';
          const words = b.words?.[i];
          const text = words ? wordsHtml(words, l.startsWith('+') ? 'w-add' : 'w-del') : escapeCode(l);
          return cls ? `<span class="${cls}">${text}</span>` : text;
        })
        .join('\n');
      const pre = `<pre class="code${b.diff ? ' diff' : ''}">${body}</pre>`;
      return details(escapeHtml(b.title ?? (b.diff ? 'diff' : 'code')), pre, b.lines.length);
    }
    case 'byteMap':
      return `<figure class="bm">${byteMapSvg(b.files)}<figcaption class="t-dim">Both files to scale: segments, sections, and what differs (click a region for its detail).</figcaption></figure>`;
    case 'hexDiff':
      return details(escapeHtml(b.title), hexTable(b), b.rows.length);
    case 'sideBySide': {
      const side = (title: string, lines: string[], other: string[], cls: string) => {
        const body =
          lines.length === 0
            ? '<span class="t-dim">(nothing on this side)</span>'
            : lines
                .map((l, i) =>
                  (b.changed ? b.changed[i] : l !== (other[i] ?? ''))
                    ? `<span class="${cls}">${escapeCode(l === '' ? ' ' : l)}</span>`
                    : escapeCode(l),
                )
                .join('\n');
        return `<div class="side"><div class="side-title">${escapeHtml(title)}</div><pre class="code">${body}</pre></div>`;
      };
      const body = `<div class="sbs">${side(b.titles[0], b.a, b.b, 'd-del')}${side(b.titles[1], b.b, b.a, 'd-add')}</div>`;
      return details(escapeHtml(b.title ?? 'context'), body, Math.max(b.a.length, b.b.length));
    }
  }
}

function wordsHtml(words: WordPart[], cls: string): string {
  return words
    .map((w) => (w.changed ? `<mark class="${cls}">${escapeCode(w.text)}</mark>` : escapeCode(w.text)))
    .join('');
}

/** Side-by-side hex: offset, a's 16 bytes, b's 16 bytes; differing bytes in <mark> (bold and underlined too). */
function hexTable(b: Extract<Block, { t: 'hexDiff' }>): string {
  const cells = (bytes: Array<string | undefined>, r: Parameters<typeof byteDiffers>[0]) =>
    bytes
      .map((h, i) =>
        h === undefined
          ? '  '
          : byteDiffers(r, i)
            ? `<mark class="hx">${escapeHtml(h)}</mark>`
            : escapeHtml(h),
      )
      .join(' ');
  const rows = b.rows
    .map(
      (r) =>
        `<tr${rowDiffers(r) ? ' class="hx-row"' : ''}><th scope="row">${r.offset.toString(16).padStart(8, '0')}</th><td>${cells(r.a, r)}</td><td class="hx-ascii">${escapeHtml(asciiOf(r.a))}</td><td>${cells(r.b, r)}</td><td class="hx-ascii">${escapeHtml(asciiOf(r.b))}</td></tr>`,
    )
    .join('');
  return `<div class="scroll"><table class="hex"><thead><tr><th scope="col">offset</th><th scope="col" colspan="2">${escapeHtml(b.titles[0])}</th><th scope="col" colspan="2">${escapeHtml(b.titles[1])}</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

const CSS = `
:root{color-scheme:light dark;--bg:#fdfdfc;--fg:#1d1f21;--muted:#5c6166;--line:#d8dadc;--head:#f1f2f3;--code:#f5f6f7;
--ok:#17703a;--warn:#8a5a00;--bad:#b3261e;--hint-bg:#fff0a8;--hint-fg:#5b3b00;--add:#e3f6e8;--del:#fde7e6;--mark:#fff6dc;
--v-ok:#e5f5ea;--v-warn:#fff4d6;--v-bad:#fde8e6}
@media (prefers-color-scheme:dark){:root{--bg:#16181a;--fg:#e3e5e8;--muted:#9aa0a6;--line:#3a3e43;--head:#202327;--code:#1e2124;
--ok:#6fd58f;--warn:#f0c05a;--bad:#ff8a80;--hint-bg:#5b4a00;--hint-fg:#ffe9a0;--add:#17361f;--del:#451c1a;--mark:#3a3115;
--v-ok:#173321;--v-warn:#3a300f;--v-bad:#411b18}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1160px;margin:0 auto;padding:24px 28px 48px}
code,pre{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:13px}
code{overflow-wrap:break-word}
table.compare td,table.compare code{overflow-wrap:anywhere}
table:not(.compare) code{white-space:nowrap}
h1{font-size:22px;margin:0;line-height:1.35}
h2{font-size:18px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:22px 0 8px}
.verdict{padding:16px 20px;border-radius:8px;border:1px solid var(--line);margin-bottom:8px}
.verdict .word{letter-spacing:.04em}
.v-t-ok{background:var(--v-ok)}.v-t-ok .word{color:var(--ok)}
.v-t-warn{background:var(--v-warn)}.v-t-warn .word{color:var(--warn)}
.v-t-bad{background:var(--v-bad)}.v-t-bad .word{color:var(--bad)}
.v-t-dim .word,.v-t-strong .word{color:var(--fg)}
.sentence{font-weight:500;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0 10px;font-size:14px}
th,td{border:1px solid var(--line);padding:4px 9px;text-align:left;vertical-align:top;overflow-wrap:break-word}
thead th{background:var(--head)}
table.compare tbody th{font-weight:600;white-space:nowrap;background:var(--head)}
tr.marked td,tr.marked th{background:var(--mark)}
tr.m-t-bad td,tr.m-t-bad th{background:var(--del)}
tr.m-t-dim td,tr.m-t-dim th{background:transparent}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:6px 0 10px}
.kv dt{color:var(--muted)}.kv dd{margin:0;overflow-wrap:anywhere}
.kv dd code{font-size:inherit}
details{margin:8px 0 12px;border:1px solid var(--line);border-radius:6px;background:var(--code)}
summary{cursor:pointer;padding:6px 10px;font-size:14px}
pre.code{margin:0;padding:8px 12px;font-size:12.5px;overflow-x:auto;line-height:1.4;border-top:1px solid var(--line)}
pre.code span{display:inline-block;min-width:100%}
.d-add{background:var(--add)}.d-del{background:var(--del)}.d-hunk{color:var(--muted)}.d-file{font-weight:600}
.sbs{display:grid;grid-template-columns:1fr 1fr;gap:0;border-top:1px solid var(--line)}
.sbs .side{min-width:0}.sbs .side+.side{border-left:1px solid var(--line)}
.side-title{padding:4px 12px;font-size:13px;color:var(--muted)}
@media (max-width:800px){.sbs{grid-template-columns:1fr}.sbs .side+.side{border-left:0}}
.t-ok{color:var(--ok)}.t-warn{color:var(--warn)}.t-bad{color:var(--bad);font-weight:600}.t-dim{color:var(--muted)}.t-strong{font-weight:600}
mark.t-hint{background:var(--hint-bg);color:var(--hint-fg);padding:0 3px;border-radius:3px;font-weight:600}
table.hex{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;white-space:pre}
table.hex th,table.hex td{padding:1px 8px;border-width:0 1px 0 0}
table.hex tr.hx-row th{color:var(--bad);font-weight:700}
mark.hx,mark.w-del,mark.w-add{font-weight:700;text-decoration:underline;color:inherit;border-radius:2px;padding:0 1px}
mark.hx{background:var(--hint-bg)}mark.w-del{background:#f7b9b4}mark.w-add{background:#a9e5b8}
@media (prefers-color-scheme:dark){mark.w-del{background:#7a2b26}mark.w-add{background:#235c32}}
.hx-ascii{color:var(--muted)}
figure.bm{margin:12px 0}
${BYTE_MAP_CSS}
footer{margin-top:36px;color:var(--muted);font-size:13px;border-top:1px solid var(--line);padding-top:8px;overflow-wrap:anywhere}
`
  .trim()
  .replace(/\n/g, '');

/**
 * One self-contained page: the CSP forbids every load (no scripts, fonts,
 * images or requests), styles are inline. Every report page goes through here.
 * `title` is escaped; `body` must already be escaped HTML.
 */
export function htmlPage(title: string, css: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function renderDocHtml(doc: Doc, opts: ReportOptions = {}): string {
  const body = cutBlocks(doc.blocks, (b) => block(b).length, opts.maxReportSize)
    .map(block)
    .join('\n');
  const footer = doc.footer ? `\n<footer>${escapeHtml(doc.footer)}</footer>` : '';
  return htmlPage(doc.title, CSS, `${body}${footer}`);
}
