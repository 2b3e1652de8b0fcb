/** Artifact comparisons as terminal text, Markdown and HTML (the same document model as the file reports). */
import type { ArtifactComparison } from '../forensics/artifact/types.js';
import { artifactDoc } from './artifact-doc.js';
import type { ReportOptions } from './options.js';
import { DOC_RENDERERS, type DocFormat } from './renderers.js';
import type { TextOptions } from './text.js';

export { artifactSentence } from './artifact-doc.js';

/** The comparison in one format; only that format's renderer is loaded. */
export async function renderArtifact(
  format: DocFormat,
  c: ArtifactComparison,
  opts: TextOptions & ReportOptions = {},
): Promise<string> {
  const render = await DOC_RENDERERS[format]();
  return render(artifactDoc(c, opts), opts);
}
