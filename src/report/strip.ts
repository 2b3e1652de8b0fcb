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

/**
 * The strip as inline SVG (14 px cells, a letter in each, a title per night
 * with its time as `when` writes it).
 */
export function verdictStripSvg(
  nights: readonly NightVerdict[],
  when: (iso: string) => string = (iso) => iso,
): string {
  const w = 14;
  const cells = nights
    .map((n, i) => {
      const c = cell(n.verdict);
      return `<g><title>${escapeHtml(`${when(n.at)}: ${n.verdict}${n.auditId !== undefined ? ` (audit #${n.auditId})` : ''}`)}</title><rect x="${i * (w + 2)}" y="0" width="${w}" height="${w}" rx="2" class="${c.cls}"/><text x="${i * (w + 2) + w / 2}" y="${w - 3}" text-anchor="middle" class="st-letter">${c.letter}</text></g>`;
    })
    .join('');
  return `<svg class="strip" role="img" aria-label="verdicts over the last ${nights.length} nights: ${escapeHtml(verdictStripText(nights))}" viewBox="0 0 ${Math.max(1, nights.length * (w + 2))} ${w}" width="${nights.length * (w + 2)}" height="${w}">${cells}</svg>`;
}

export const STRIP_CSS =
  '.strip .st-ok{fill:var(--ok)}.strip .st-warn{fill:var(--warn)}.strip .st-bad{fill:var(--bad)}.strip .st-dim{fill:var(--muted)}' +
  '.strip .st-letter{fill:var(--bg);font:bold 9px system-ui,sans-serif}';
