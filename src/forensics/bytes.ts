/**
 * Streaming byte comparison of ranges of two files: fixed-size chunks from
 * each side, so memory stays bounded whatever the sizes.
 */
import type { ByteSource } from './elf/source.js';

export interface RangeComparison {
  equal: boolean;
  /** Offset (within the range) of the first differing byte, when any. */
  first?: number;
  /** Differing bytes over the common length, plus the length difference. */
  differing: number;
}

const CHUNK = 1 << 20;

/**
 * Compares `a[offA, offA+lenA)` with `b[offB, offB+lenB)`. The common prefix
 * is compared byte-wise; a length difference counts as differing bytes.
 * `untilFirst`: stop reading at the first differing chunk (`equal` and
 * `first` are exact, `differing` then counts that chunk only).
 */
export async function compareRanges(
  a: ByteSource,
  offA: number,
  lenA: number,
  b: ByteSource,
  offB: number,
  lenB: number,
  untilFirst = false,
): Promise<RangeComparison> {
  const common = Math.min(lenA, lenB);
  const bufA = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, common)));
  const bufB = Buffer.allocUnsafe(bufA.length);
  let first: number | undefined;
  let differing = 0;
  // A simulated file's range that is literally the other file's bytes there (never a's: a is not ours).
  const same = common > 0 && (a.sameBytes?.(offA, common, b, offB) || b.sameBytes?.(offB, common, a, offA));
  for (let pos = 0; !same && pos < common; pos += bufA.length) {
    const n = Math.min(bufA.length, common - pos);
    const [ga, gb] = await Promise.all([a.readInto(bufA, offA + pos, n), b.readInto(bufB, offB + pos, n)]);
    const m = Math.min(ga, gb);
    const ca = bufA.subarray(0, m);
    const cb = bufB.subarray(0, m);
    if (!ca.equals(cb)) {
      for (let i = 0; i < m; i++) {
        if (ca[i] !== cb[i]) {
          if (first === undefined) first = pos + i;
          differing++;
        }
      }
      if (untilFirst) return { equal: false, first, differing };
    }
    if (m < n) {
      // A short read: the file shrank under us; count the rest as different.
      if (first === undefined) first = pos + m;
      differing += common - pos - m;
      break;
    }
  }
  if (lenA !== lenB) {
    if (first === undefined) first = common;
    differing += Math.abs(lenA - lenB);
  }
  return { equal: differing === 0, first, differing };
}

/** Reads up to `length` bytes at `offset`, clipped to the file. */
export async function readClipped(src: ByteSource, offset: number, length: number): Promise<Buffer> {
  const start = Math.max(0, Math.min(offset, src.size));
  const n = Math.max(0, Math.min(length, src.size - start));
  if (n === 0) return Buffer.alloc(0);
  return src.read(start, n);
}
