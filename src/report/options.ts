/** What the reader asked to see (diffoscope's --max-report-size, --max-diff-lines, --exclude). */
export interface ReportOptions {
  /** Lines kept per hex, disassembly or text diff (0 = all; default 200). */
  maxDiffLines?: number;
  /** About this many bytes of report; later blocks are cut with a line saying so (0 = no limit). */
  maxReportSize?: number;
  /** Regions (and archive members) whose name matches one of these globs are left out of the report. */
  exclude?: string[];
}

export const DEFAULT_MAX_DIFF_LINES = 200;

/** Lines to keep of `n` under `max` (0 = all). */
export function keptLines(n: number, max: number | undefined): number {
  const m = max ?? DEFAULT_MAX_DIFF_LINES;
  return m === 0 ? n : Math.min(n, m);
}

/** What `--exclude` left out of a report (`3 regions left out by --exclude (still counted in the verdict): …`). */
export function excludedText(items: readonly string[], what: 'regions' | 'members' = 'regions'): string {
  const shown = items.slice(0, 20);
  const noun = items.length === 1 ? what.slice(0, -1) : what;
  const more = items.length > shown.length ? `, and ${items.length - shown.length} more` : '';
  return `${items.length} ${noun} left out by --exclude (still counted in the verdict): ${shown.join(', ')}${more}`;
}
