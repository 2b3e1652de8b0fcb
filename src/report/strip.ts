/**
 * A package's verdicts over the last nights as a small strip, oldest first:
 * one letter per night for text, and for HTML one element per strip whose
 * letters are drawn as cells (a run of equal verdicts is one `<b>` with its
 * colour class). Each cell has a letter as well as a colour, so it reads
 * without colour; the strip's title and label name every night's audit and
 * verdict, and the report lists each audit's time once (`stripNights`), so a
 * strip costs a few dozen bytes however many nights it shows.
 */
import { escapeHtml } from './html-escape.js';

export interface NightVerdict {
  /** ISO time of the night's verification. */
  at: string;
  verdict: string;
  /** The audit that reached it. */
  auditId?: number;
}

const CELL: Record<string, { letter: string; cls: string }> = {
  reproducible: { letter: 'R', cls: 'st-ok' },
  equivalent: { letter: 'E', cls: 'st-warn' },
  different: { letter: 'D', cls: 'st-bad' },
  'build-failed': { letter: 'F', cls: 'st-bad' },
  'upstream-integrity': { letter: 'U', cls: 'st-bad' },
  error: { letter: '?', cls: 'st-dim' },
};

const cell = (v: string) => CELL[v] ?? { letter: '?', cls: 'st-dim' };

/** `RRRED` for text reports. */
export function verdictStripText(nights: readonly NightVerdict[]): string {
  let s = '';
  for (const n of nights) s += cell(n.verdict).letter;
  return s;
}

/** What the letters mean, for a line under the table. */
export function verdictStripLegend(): string {
  return Object.entries(CELL)
    .map(([v, c]) => `${c.letter} ${v}`)
    .join(', ');
}

/** `#3`, `#17–#19`, `#3, #17–#19`: the audits of nights[from, to), consecutive ids as ranges. */
function auditsOf(
  nights: readonly NightVerdict[],
  from: number,
  to: number,
  when: (iso: string) => string,
): string {
  const parts: string[] = [];
  let i = from;
  while (i < to) {
    const first = nights[i]!.auditId;
    if (first === undefined) {
      parts.push(when(nights[i]!.at));
      i++;
      continue;
    }
    let j = i + 1;
    while (j < to && nights[j]!.auditId === first + (j - i)) j++;
    parts.push(j - i === 1 ? `#${first}` : `#${first}–#${first + (j - i - 1)}`);
    i = j;
  }
  return parts.join(', ');
}

/**
 * The strip as one HTML element: `<span class="strip" role="img" title="…"
 * aria-label="…">` holding one `<b>` per run of equal verdicts. The title
 * and label say, oldest first, each night's audit and verdict (`14 nights,
 * oldest first: #17–#29 reproducible; #30 different`); a night without an
 * audit is named by its time as `when` writes it.
 */
export function verdictStripHtml(
  nights: readonly NightVerdict[],
  when: (iso: string) => string = (iso) => iso,
): string {
  let runs = '';
  let label = '';
  let i = 0;
  while (i < nights.length) {
    const verdict = nights[i]!.verdict;
    let j = i + 1;
    while (j < nights.length && nights[j]!.verdict === verdict) j++;
    const c = cell(verdict);
    runs += `<b class="${c.cls}">${c.letter.repeat(j - i)}</b>`;
    label += `${label ? '; ' : ''}${auditsOf(nights, i, j, when)} ${verdict}`;
    i = j;
  }
  const text = escapeHtml(`${nights.length} night${nights.length === 1 ? '' : 's'}, oldest first: ${label}`);
  return `<span class="strip" role="img" title="${text}" aria-label="${text}">${runs}</span>`;
}

export interface StripNight {
  auditId: number;
  /** The earliest and the latest verification of that audit shown in the strips (ISO). */
  first: string;
  last: string;
}

/** Every audit the strips name, by id, with when its verifications shown finished: the legend of the strips. */
export function stripNights(strips: Iterable<readonly NightVerdict[]>): StripNight[] {
  const by = new Map<number, StripNight>();
  for (const nights of strips) {
    for (const n of nights) {
      if (n.auditId === undefined) continue;
      const seen = by.get(n.auditId);
      if (!seen) by.set(n.auditId, { auditId: n.auditId, first: n.at, last: n.at });
      else if (n.at < seen.first) seen.first = n.at;
      else if (n.at > seen.last) seen.last = n.at;
    }
  }
  return [...by.values()].sort((a, b) => a.auditId - b.auditId);
}

/**
 * Each letter drawn as a 14 px cell with a 2 px gap: monospace letters spaced
 * 16 px apart (`1ch` is one letter), a repeating background of cell and gap
 * behind them, the letter centred in its cell; the run's box is clipped where
 * its last cell ends (the padding that centres the letters would otherwise
 * start another cell), and the next run starts 2 px after it.
 */
export const STRIP_CSS =
  '.strip{display:inline-flex;white-space:nowrap;vertical-align:middle;font:bold 9px/14px ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}' +
  '.strip b{display:inline-block;height:14px;color:var(--bg);letter-spacing:calc(16px - 1ch);padding-left:calc((14px - 1ch)/2);margin-right:calc((1ch - 14px)/2);' +
  'background:repeating-linear-gradient(90deg,var(--st) 0 14px,transparent 14px 16px);clip-path:inset(0 calc((14px - 1ch)/2 + 2px) 0 0)}' +
  '.strip .st-ok{--st:var(--ok)}.strip .st-warn{--st:var(--warn)}.strip .st-bad{--st:var(--bad)}.strip .st-dim{--st:var(--muted)}';
