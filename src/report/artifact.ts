/** Artifact comparisons as terminal text, Markdown and HTML (the same document model as the file reports). */
import type { ArtifactComparison } from '../forensics/artifact/types.js';
import { artifactDoc } from './artifact-doc.js';
import { renderDocHtml } from './html.js';
import { renderDocMarkdown } from './markdown.js';
import { renderDocText, type TextOptions } from './text.js';

export { artifactSentence } from './artifact-doc.js';

export function renderArtifactText(c: ArtifactComparison, opts: TextOptions = {}): string {
  return renderDocText(artifactDoc(c), opts);
}

export function renderArtifactMarkdown(c: ArtifactComparison): string {
  return renderDocMarkdown(artifactDoc(c));
}

export function renderArtifactHtml(c: ArtifactComparison): string {
  return renderDocHtml(artifactDoc(c));
}
