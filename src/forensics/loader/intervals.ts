/** Half-open file ranges [start, end), merged and searched in O(n log n). Pure. */

export interface Interval {
  start: number;
  end: number;
}

/** Sorts and merges overlapping or touching intervals; empty ones are dropped. */
export function mergeIntervals(list: readonly Interval[]): Interval[] {
  const sorted = list.filter((i) => i.end > i.start).sort((x, y) => x.start - y.start || x.end - y.end);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ start: i.start, end: i.end });
  }
  return out;
}

/** `from` minus `cut` (both merged). */
export function subtractIntervals(from: readonly Interval[], cut: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const f of from) {
    let pos = f.start;
    while (j < cut.length && cut[j]!.end <= pos) j++;
    let k = j;
    while (k < cut.length && cut[k]!.start < f.end) {
      const c = cut[k]!;
      if (c.start > pos) out.push({ start: pos, end: c.start });
      pos = Math.max(pos, c.end);
      k++;
    }
    if (pos < f.end) out.push({ start: pos, end: f.end });
  }
  return out;
}

/** How [start, end) relates to a merged interval list. */
export function relation(
  merged: readonly Interval[],
  start: number,
  end: number,
): 'inside' | 'outside' | 'straddles' {
  if (end <= start) return 'outside';
  // The last interval starting at or before `start`.
  let lo = 0;
  let hi = merged.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (merged[mid]!.start <= start) {
      idx = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const at = idx >= 0 ? merged[idx]! : undefined;
  if (at && at.end >= end) return 'inside';
  if (at && at.end > start) return 'straddles';
  const next = merged[idx + 1];
  if (next && next.start < end) return 'straddles';
  return 'outside';
}

/** Total length. */
export function totalLength(list: readonly Interval[]): number {
  let n = 0;
  for (const i of list) n += i.end - i.start;
  return n;
}
