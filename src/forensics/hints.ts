/**
 * Hints for a person: do the differing bytes look like a build date/time or
 * a file system path? Pure functions over the bytes around a difference.
 */
import type { Hint } from './types.js';

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
const TIMESTAMP_RES = [
  new RegExp(`(?:${MONTHS}) [ 0-3]\\d \\d{4}`), // __DATE__
  /\b[0-2]\d:[0-5]\d:[0-6]\d\b/, // __TIME__
  /\b(?:19|20)\d\d-[01]\d-[0-3]\d(?:[T ][0-2]\d:[0-5]\d)?/, // ISO 8601
  /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? /,
];
const PATH_RES = [
  /(?:^|[^\w.])\/(?:home|tmp|build|builds|root|usr|opt|var|src|work|nix|srv|mnt|workspace|github|runner)\//,
  /[\w-]+\/[\w.-]+\.(?:c|cc|cpp|cxx|h|hpp|rs|go|zig|s|S|m|f90)\b/,
  /[A-Za-z]:\\[\w\\]/,
];

/** The printable ASCII run that contains position `at` (extended both ways). */
export function printableRunAround(buf: Buffer, at: number, max = 256): string {
  const printable = (c: number | undefined) => c !== undefined && c >= 0x20 && c < 0x7f;
  if (at < 0 || at >= buf.length) return '';
  let s = at;
  let e = at;
  while (s > 0 && at - s < max && printable(buf[s - 1])) s--;
  while (e < buf.length && e - at < max && printable(buf[e])) e++;
  return buf.toString('latin1', s, e);
}

export function looksLikeTimestamp(text: string): boolean {
  return TIMESTAMP_RES.some((r) => r.test(text));
}

export function looksLikePath(text: string): boolean {
  return PATH_RES.some((r) => r.test(text));
}

function isText(buf: Buffer, start: number, width: number): boolean {
  for (let i = start; i < start + width; i++) {
    const c = buf[i]!;
    if (c !== 0 && (c < 0x20 || c >= 0x7f)) return false;
  }
  return true;
}

/** Seconds since the epoch in a plausible build window (2001–2040). */
function epochish(v: number): boolean {
  return v >= 1_000_000_000 && v <= 2_210_000_000;
}

/**
 * A hint for a difference, given windows of each side's bytes and the
 * position of the first differing byte within them.
 */
export function hintFor(
  a: Buffer,
  b: Buffer,
  at: number,
  little: boolean,
  opts: { epoch?: boolean; absolute?: number } = {},
): Hint | undefined {
  const ta = printableRunAround(a, at);
  const tb = printableRunAround(b, at);
  const texts = [ta, tb].filter((t) => t.length >= 3);
  if (texts.length > 0) {
    if (texts.some(looksLikeTimestamp)) return 'timestamp';
    if (texts.some(looksLikePath)) return 'path';
  }
  if (!opts.epoch) return undefined;
  // An aligned 32- or 64-bit data word holding the difference that reads as a
  // recent epoch time on both sides.
  const abs = opts.absolute ?? 0;
  for (let start = Math.max(0, at - 7); start <= at; start++) {
    for (const width of [4, 8] as const) {
      if ((abs - at + start) % width !== 0) continue;
      if (start + width > a.length || start + width > b.length || start + width <= at) continue;
      const read = (buf: Buffer) =>
        width === 4
          ? little
            ? buf.readUInt32LE(start)
            : buf.readUInt32BE(start)
          : Number(little ? buf.readBigUInt64LE(start) : buf.readBigUInt64BE(start));
      // Text reads as plausible epoch values too ("(tal" is 1818326056): only binary words count.
      if (isText(a, start, width) || isText(b, start, width)) continue;
      const va = read(a);
      const vb = read(b);
      if (va !== vb && epochish(va) && epochish(vb) && Math.abs(va - vb) < 10 * 365 * 86400)
        return 'timestamp';
    }
  }
  return undefined;
}
