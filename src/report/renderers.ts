/**
 * The formats a document is drawn in, each its own module, loaded only when
 * a report in that format is asked for (a terminal report never loads the
 * HTML page's code, nor the other way round). Adding a format is adding a
 * module and an entry here; the record keeps the list complete.
 */
import type { Doc } from './doc.js';
import type { ReportOptions } from './options.js';
import type { TextOptions } from './text.js';

export type DocFormat = 'text' | 'markdown' | 'html';

/** Draws a document; `text` reads the width and colour, the others ignore them. */
export type DocRenderer = (doc: Doc, opts: TextOptions & ReportOptions) => string;

export const DOC_RENDERERS: Readonly<Record<DocFormat, () => Promise<DocRenderer>>> = {
  text: async () => (await import('./text.js')).renderDocText,
  markdown: async () => (await import('./markdown.js')).renderDocMarkdown,
  html: async () => (await import('./html.js')).renderDocHtml,
};
