/**
 * The side-by-side hex view as plain lines: a and b next to each other when
 * the width allows (one above the other otherwise), and under every row
 * that differs a `^^` line pointing at the changed bytes, so the view reads
 * the same with or without colour.
 */
import type { Block } from './doc.js';
import { asciiOf, byteDiffers, rowDiffers } from './hex-view.js';

type HexBlock = Extract<Block, { t: 'hexDiff' }>;

/** Lines of the view; `paint(text, changed)` may colour the changed bytes (identity without colour). */
export function hexViewLines(
  b: HexBlock,
  width: number,
  color: boolean,
  paint: (text: string, changed: boolean) => string = (t) => t,
): string[] {
  const bytesW = 16 * 3 - 1;
  const sideW = bytesW + 2 + 16;
  const sideBySide = 10 + sideW + 3 + sideW <= width;
  const row = (bytes: Array<string | undefined>, r: HexBlock['rows'][number]) =>
    bytes.map((h, i) => paint(h ?? '  ', h !== undefined && byteDiffers(r, i))).join(' ');
  const carets = (r: HexBlock['rows'][number]) =>
    r.a
      .map((_, i) => (byteDiffers(r, i) ? '^^' : '  '))
      .join(' ')
      .trimEnd();
  const out: string[] = [];
  if (sideBySide) {
    out.push(`${' '.repeat(10)}${b.titles[0].padEnd(sideW)}   ${b.titles[1]}`);
    for (const r of b.rows) {
      const off = r.offset.toString(16).padStart(8, '0');
      out.push(`${off}  ${row(r.a, r)}  ${asciiOf(r.a)}   ${row(r.b, r)}  ${asciiOf(r.b)}`.trimEnd());
      if (rowDiffers(r) && !color) {
        const c = carets(r);
        out.push(`${' '.repeat(10)}${c.padEnd(sideW)}   ${c}`.trimEnd());
      }
    }
    return out;
  }
  for (const r of b.rows) {
    const off = r.offset.toString(16).padStart(8, '0');
    out.push(`${off} a ${row(r.a, r)}  ${asciiOf(r.a)}`.trimEnd());
    if (rowDiffers(r)) {
      out.push(`${' '.repeat(8)} b ${row(r.b, r)}  ${asciiOf(r.b)}`.trimEnd());
      if (!color) out.push(`${' '.repeat(11)}${carets(r)}`);
    }
  }
  return out;
}
