/** Artifact comparisons as terminal text, Markdown and HTML (the same document model as the file reports). */
import type { ArtifactComparison } from '../forensics/artifact/types.js';
import { artifactDoc } from './artifact-doc.js';
import { renderDocHtml } from './html.js';
import { renderDocMarkdown } from './markdown.js';
import type { ReportOptions } from './options.js';
import { renderDocText, type TextOptions } from './text.js';

export { artifactSentence } from './artifact-doc.js';

export function renderArtifactText(c: ArtifactComparison, opts: TextOptions & ReportOptions = {}): string {
  return renderDocText(artifactDoc(c, opts), opts);
}

export function renderArtifactMarkdown(c: ArtifactComparison, opts: ReportOptions = {}): string {
  return renderDocMarkdown(artifactDoc(c, opts), opts);
}

export function renderArtifactHtml(c: ArtifactComparison, opts: ReportOptions = {}): string {
  return renderDocHtml(artifactDoc(c, opts), opts);
}
