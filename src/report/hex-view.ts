/**
 * The side-by-side hex view: the hex context of a difference (16-byte rows
 * of each side at the same offsets) as rows of bytes, so that renderers can
 * highlight exactly the bytes that differ.
 */
import type { DiffContext } from '../forensics/types.js';
import type { HexRow } from './doc.js';

const ROW = /^[> ] ([0-9a-f]{8,16}) {2}((?:[0-9a-f]{2} ?)+)/;

function parse(lines: readonly string[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const l of lines) {
    const m = ROW.exec(l);
    if (!m?.[1] || !m[2]) continue;
    out.set(Number.parseInt(m[1], 16), m[2].trim().split(/\s+/));
  }
  return out;
}

/** Rows for both sides, or undefined when the context is not a hex dump of both. */
export function hexRowsOf(ctx: DiffContext): HexRow[] | undefined {
  if (ctx.kind !== 'hex' || !ctx.a || !ctx.b) return undefined;
  const a = parse(ctx.a);
  const b = parse(ctx.b);
  if (a.size === 0 && b.size === 0) return undefined;
  const offsets = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  return offsets.map((offset) => {
    const ra = a.get(offset) ?? [];
    const rb = b.get(offset) ?? [];
    return {
      offset,
      a: Array.from({ length: 16 }, (_, i) => ra[i]),
      b: Array.from({ length: 16 }, (_, i) => rb[i]),
    };
  });
}

/** Whether byte `i` of the row differs. */
export const byteDiffers = (r: HexRow, i: number): boolean => r.a[i] !== r.b[i];

export const rowDiffers = (r: HexRow): boolean => r.a.some((_, i) => byteDiffers(r, i));

/** The printable-ASCII column for a row's side. */
export function asciiOf(bytes: ReadonlyArray<string | undefined>): string {
  return bytes
    .map((h) => {
      if (h === undefined) return ' ';
      const c = Number.parseInt(h, 16);
      return c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
    })
    .join('');
}
