/**
 * A package's verdicts over the last nights as a small strip (inline SVG
 * for HTML, one character per night for text), oldest first. Each cell has
 * a pattern and a letter as well as a colour, so it reads without colour.
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
  return nights.map((n) => cell(n.verdict).letter).join('');
}

/** What the letters mean, for a line under the table. */
export function verdictStripLegend(): string {
  return Object.entries(CELL)
    .map(([v, c]) => `${c.letter} ${v}`)
    .join(', ');
}

const W = 14;

/**
 * What follows a cell's title, by position and verdict (`</title><rect …/><text …>R</text></g>`):
 * the same for every package, so an audit's 14 cells × 10,000 packages build only their titles.
 */
const cellTails = new Map<string, string>();
function cellTail(i: number, verdict: string): string {
  const c = cell(verdict);
  const key = `${i} ${c.letter}${c.cls}`;
  let t = cellTails.get(key);
  if (t === undefined) {
    t = `</title><rect x="${i * (W + 2)}" y="0" width="${W}" height="${W}" rx="2" class="${c.cls}"/><text x="${i * (W + 2) + W / 2}" y="${W - 3}" text-anchor="middle" class="st-letter">${c.letter}</text></g>`;
    cellTails.set(key, t);
  }
  return t;
}

/**
 * The strip as inline SVG (14 px cells, a letter in each, a title per night
 * with its time as `when` writes it).
 */
export function verdictStripSvg(
  nights: readonly NightVerdict[],
  when: (iso: string) => string = (iso) => iso,
): string {
  let cells = '';
  for (let i = 0; i < nights.length; i++) {
    const n = nights[i]!;
    cells += `<g><title>${escapeHtml(`${when(n.at)}: ${n.verdict}${n.auditId !== undefined ? ` (audit #${n.auditId})` : ''}`)}${cellTail(i, n.verdict)}`;
  }
  return `<svg class="strip" role="img" aria-label="verdicts over the last ${nights.length} nights: ${escapeHtml(verdictStripText(nights))}" viewBox="0 0 ${Math.max(1, nights.length * (W + 2))} ${W}" width="${nights.length * (W + 2)}" height="${W}">${cells}</svg>`;
}

export const STRIP_CSS =
  '.strip .st-ok{fill:var(--ok)}.strip .st-warn{fill:var(--warn)}.strip .st-bad{fill:var(--bad)}.strip .st-dim{fill:var(--muted)}' +
  '.strip .st-letter{fill:var(--bg);font:bold 9px system-ui,sans-serif}';
