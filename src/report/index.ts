/**
 * Reports: pure functions from data to a string (no file system, no
 * processes). The comparison document (src/forensics/types.ts) and the build
 * summary (./build-view.ts) are each turned into one document model, which is
 * drawn as terminal text, Markdown or a self-contained HTML page, so the
 * three always hold the same content.
 */
import type { Comparison } from '../forensics/types.js';
import { type BuildSummaryView, buildDoc } from './build-view.js';
import { comparisonDoc, type ReportOptions } from './comparison-doc.js';
import { renderDocHtml } from './html.js';
import { renderDocMarkdown } from './markdown.js';
import { renderDocText, type TextOptions } from './text.js';

export type {
  BuildComparisonView,
  BuildOutputView,
  BuildStatus,
  BuildSummaryView,
  ExpectedDigests,
} from './build-view.js';
export { buildSentence } from './build-view.js';
export type { ReportOptions } from './comparison-doc.js';
export {
  differenceSummary,
  excludedRegions,
  orderChanges,
  verdictLine,
  verdictSentence,
} from './comparison-doc.js';
export { escapeHtml } from './html.js';
export type { TextOptions } from './text.js';

/** The comparison for a terminal: fits `width` columns, ANSI colour only with `color: true`. */
export function renderText(c: Comparison, opts: TextOptions & ReportOptions = {}): string {
  return renderDocText(comparisonDoc(c, opts), opts);
}

/** The comparison as GitHub-flavoured Markdown. */
export function renderMarkdown(c: Comparison, opts: ReportOptions = {}): string {
  return renderDocMarkdown(comparisonDoc(c, opts), opts);
}

/** The comparison as one self-contained HTML page (no network, no scripts). */
export function renderHtml(c: Comparison, opts: ReportOptions = {}): string {
  return renderDocHtml(comparisonDoc(c, opts), opts);
}

/** The result of `rebuild build` for a terminal. */
export function renderBuildSummary(r: BuildSummaryView, opts: TextOptions = {}): string {
  return renderDocText(buildDoc(r), opts);
}

export function renderBuildMarkdown(r: BuildSummaryView): string {
  return renderDocMarkdown(buildDoc(r));
}

export function renderBuildHtml(r: BuildSummaryView): string {
  return renderDocHtml(buildDoc(r));
}
