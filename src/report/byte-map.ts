/**
 * The byte map: both files laid out to scale — headers, segments and
 * sections as the background, differing ranges (red, hatched), explained
 * ones (amber, dotted) and unaccounted bytes (black, crossed) on top, each
 * linked to its detail. Patterns and labels make it readable without colour.
 */
import type { Comparison } from '../forensics/types.js';
import { differencesOf, explanationsOf, layoutOfFile } from './comparison-access.js';
import type { ByteMapFile, MapKind, MapRegion } from './doc.js';
import { dec } from './format.js';
import { escapeHtml } from './html-escape.js';

export const differenceAnchor = (i: number): string => `d-${i + 1}`;

export function byteMapFiles(c: Comparison, sideA: string, sideB: string): ByteMapFile[] {
  return (['a', 'b'] as const).map((side) => {
    const f = c[side];
    const layout: MapRegion[] = layoutOfFile(f).map((l) => ({
      name: l.name,
      offset: l.offset,
      size: l.size,
    }));
    const headerRange = layout.find((l) => l.name === 'ELF header');
    const marks: MapRegion[] = [];
    differencesOf(c).forEach((d, i) => {
      const whole = d[side] ?? (d.region === 'header' ? headerRange : undefined);
      // Where the bytes differ, when known: from the first differing byte (not the whole section).
      const r =
        whole && d[side] && d.firstDifference !== undefined && d.differingBytes !== undefined
          ? {
              offset: whole.offset + d.firstDifference,
              size: Math.max(1, Math.min(whole.size - d.firstDifference, d.differingBytes)),
            }
          : whole;
      if (r)
        marks.push({
          // each side labelled with its own section or segment (they differ in unrelated files)
          name: d.names?.[side] ?? d.region,
          offset: r.offset,
          size: r.size,
          kind: 'differs',
          anchor: differenceAnchor(i),
        });
    });
    for (const e of explanationsOf(c)) {
      const r = e[side];
      if (r)
        marks.push({
          name: e.region ?? e.kind,
          offset: r.offset,
          size: r.size,
          kind: 'explained',
          anchor: 'explanations',
        });
    }
    for (const r of f.elf?.accounting.unaccountedRanges ?? []) {
      marks.push({
        name: 'unaccounted',
        offset: r.offset,
        size: r.size,
        kind: 'unaccounted',
        anchor: 'accounting',
      });
    }
    return { label: side === 'a' ? sideA : sideB, size: f.size, layout, marks };
  });
}

const MARK_CHAR: Record<MapKind, string> = { differs: 'X', explained: '~', unaccounted: '!' };
const PRIORITY: Record<MapKind, number> = { unaccounted: 3, differs: 2, explained: 1 };

/** The map as text: one strip of `width` cells per file (`X` differs, `~` explained, `!` unaccounted). */
export function byteMapText(files: ByteMapFile[], width: number): string[] {
  const cells = Math.max(16, width);
  const lines: string[] = [];
  for (const f of files) {
    const strip: string[] = Array.from({ length: cells }, () => '.');
    const rank: number[] = Array.from({ length: cells }, () => 0);
    const per = Math.max(1, f.size) / cells;
    for (const m of f.marks) {
      if (!m.kind) continue;
      const from = Math.min(cells - 1, Math.floor(m.offset / per));
      const to = Math.min(cells - 1, Math.max(from, Math.ceil((m.offset + m.size) / per) - 1));
      for (let i = from; i <= to; i++) {
        if (PRIORITY[m.kind] > (rank[i] ?? 0)) {
          strip[i] = MARK_CHAR[m.kind];
          rank[i] = PRIORITY[m.kind];
        }
      }
    }
    lines.push(`${f.label} (${dec(f.size)} bytes)`);
    lines.push(`|${strip.join('')}|`);
  }
  lines.push('X differs   ~ explained as benign   ! unaccounted   . same');
  return lines;
}

const W = 1000;
const LANE = 22;

/** The map as inline SVG (no external references; in-page links only). */
export function byteMapSvg(files: ByteMapFile[]): string {
  const fileH = 18 + 3 * LANE + 14;
  const height = files.length * fileH + 34;
  const defs =
    '<defs>' +
    '<pattern id="p-differs" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="bm-differs"/><line x1="0" y1="0" x2="0" y2="6" class="bm-hatch"/></pattern>' +
    '<pattern id="p-explained" width="5" height="5" patternUnits="userSpaceOnUse"><rect width="5" height="5" class="bm-explained"/><circle cx="2.5" cy="2.5" r="1" class="bm-dot"/></pattern>' +
    '<pattern id="p-unaccounted" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" class="bm-unaccounted"/><path d="M0 0L6 6M6 0L0 6" class="bm-cross"/></pattern>' +
    '</defs>';
  const parts: string[] = [];
  files.forEach((f, fi) => {
    const y0 = fi * fileH;
    const scale = W / Math.max(1, f.size);
    const x = (o: number) => Math.min(W, o * scale);
    const w = (o: number, s: number) => Math.max(1.5, Math.min(W, (o + s) * scale) - x(o));
    parts.push(
      `<text x="0" y="${y0 + 13}" class="bm-label">${escapeHtml(f.label)} — ${dec(f.size)} bytes</text>`,
    );
    const laneY = (lane: number) => y0 + 18 + lane * LANE;
    parts.push(`<rect x="0" y="${laneY(0)}" width="${W}" height="${3 * LANE - 2}" class="bm-file"/>`);
    const bg = (lane: number, r: MapRegion, cls: string) => {
      const rx = x(r.offset);
      const rw = w(r.offset, r.size);
      const label =
        rw > 9 * Math.min(r.name.length, 14)
          ? `<text x="${(rx + 3).toFixed(1)}" y="${laneY(lane) + 14}" class="bm-text">${escapeHtml(r.name.slice(0, 14))}</text>`
          : '';
      return `<g><title>${escapeHtml(r.name)}: ${dec(r.size)} bytes at 0x${r.offset.toString(16)}</title><rect x="${rx.toFixed(1)}" y="${laneY(lane)}" width="${rw.toFixed(1)}" height="${LANE - 3}" class="${cls}"/>${label}</g>`;
    };
    for (const r of f.layout) {
      const lane = /^LOAD/.test(r.name) ? 0 : 1;
      parts.push(bg(lane, r, lane === 0 ? 'bm-seg' : 'bm-sec'));
    }
    for (const m of [...f.marks].sort(
      (p, q) => (PRIORITY[p.kind ?? 'explained'] ?? 0) - (PRIORITY[q.kind ?? 'explained'] ?? 0),
    )) {
      const kind = m.kind ?? 'explained';
      // A few bytes in a large file still get a mark one can see (and click): at least 8 units wide,
      // solid when too narrow for its pattern; the legend and the title still say what it is.
      const mw = w(m.offset, m.size);
      const narrow = mw < 8;
      const mx = narrow ? Math.max(0, Math.min(W - 8, x(m.offset) - (8 - mw) / 2)) : x(m.offset);
      const fill = narrow
        ? `class="bm-mark bm-${kind} bm-${kind}-mark"`
        : `fill="url(#p-${kind})" class="bm-mark bm-${kind}-mark"`;
      const rect = `<rect x="${mx.toFixed(1)}" y="${laneY(2)}" width="${(narrow ? 8 : mw).toFixed(1)}" height="${LANE - 3}" ${fill} data-kind="${kind}"/>`;
      const title = `<title>${escapeHtml(m.name)} (${kind}): ${dec(m.size)} bytes at 0x${m.offset.toString(16)}</title>`;
      parts.push(m.anchor ? `<a href="#${m.anchor}">${title}${rect}</a>` : `<g>${title}${rect}</g>`);
    }
    parts.push(
      `<text x="${W}" y="${laneY(0) + 14}" text-anchor="end" class="bm-lane">segments</text>`,
      `<text x="${W}" y="${laneY(1) + 14}" text-anchor="end" class="bm-lane">sections</text>`,
      `<text x="${W}" y="${laneY(2) + 14}" text-anchor="end" class="bm-lane">differences</text>`,
    );
  });
  const ly = files.length * fileH + 8;
  const legend = (lx: number, kind: MapKind, text: string) =>
    `<rect x="${lx}" y="${ly}" width="18" height="14" fill="url(#p-${kind})" class="bm-mark"/><text x="${lx + 24}" y="${ly + 12}" class="bm-text">${text}</text>`;
  parts.push(
    legend(0, 'differs', 'differs (red, hatched)'),
    legend(250, 'explained', 'explained as benign (amber, dotted)'),
    legend(560, 'unaccounted', 'unaccounted (black, crossed)'),
  );
  return `<svg class="bytemap" role="img" aria-label="byte map of both files" viewBox="0 -2 ${W} ${height}" preserveAspectRatio="xMinYMin meet">${defs}${parts.join('')}</svg>`;
}

export const BYTE_MAP_CSS = `
.bytemap{width:100%;height:auto;margin:10px 0 4px;font:12px system-ui,sans-serif}
.bm-file{fill:var(--code);stroke:var(--line)}
.bm-seg{fill:var(--head);stroke:var(--muted);stroke-width:.5}
.bm-sec{fill:var(--bg);stroke:var(--muted);stroke-width:.5}
.bm-text,.bm-label,.bm-lane{fill:var(--fg)}.bm-lane{fill:var(--muted)}.bm-label{font-weight:600}
.bm-differs{fill:var(--bad)}.bm-hatch{stroke:var(--bg);stroke-width:2}
.bm-explained{fill:var(--warn)}.bm-dot{fill:var(--bg)}
.bm-unaccounted{fill:var(--fg)}.bm-cross{stroke:var(--bg);stroke-width:1}
.bm-mark{stroke:var(--fg);stroke-width:.5}
`;
