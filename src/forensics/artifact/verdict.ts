import type { Verdict } from '../types.js';

const RANK: Record<Verdict, number> = { identical: 0, equivalent: 1, different: 2 };

/** The worse of verdicts: a whole is never better than its worst part. */
export function worst(...verdicts: Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((w, v) => (RANK[v] > RANK[w] ? v : w), 'identical');
}
