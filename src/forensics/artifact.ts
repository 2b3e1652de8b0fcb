/**
 * `compareArtifact(a, b)`: a = published, b = rebuilt, whatever they are.
 * Plain files (ELF, text, other) go to the file comparator (`compare()`).
 * Archives (.tar, .tar.gz, .tar.xz, .tar.zst, .zip) and AppImages (an ELF
 * runtime, then a SquashFS image) are unpacked in a container and compared
 * member by member: members matched by path, each with its own verdict,
 * archive-level differences named, and one verdict never better than the
 * worst member's. Benign repackaging is explained only by the rules in
 * artifact/rules/, each a step pkgforge really took.
 */
import { readFile } from 'node:fs/promises';
import type { Unpacker } from '../engine/unpack.js';
import type { Digests } from '../hash/digest.js';
import { detectFileKind, isContainerKind } from './artifact/kind.js';
import type {
  ArtifactComparison,
  ArtifactFacts,
  ArtifactKind,
  ContainerKind,
  RepackExplanation,
} from './artifact/types.js';
import { type CompareOptions, compare } from './compare.js';
import { FileSource } from './elf/source.js';
import type { Comparison, Verdict } from './types.js';

export type * from './artifact/types.js';

export interface ArtifactLimits {
  /** Bytes of one side's unpacked member stream (default 2 GiB). */
  maxBytes: number;
  /** Members of one archive (default 100,000). */
  maxEntries: number;
  /** Unpacked / packed size beyond which an archive over 64 MiB unpacked is refused as a bomb (default 200). */
  maxRatio: number;
  /** Archives inside archives descended into (default 2 levels; deeper ones are compared as bytes). */
  maxDepth: number;
  /** Wall-clock limit of one unpack (default 10 minutes; only catches a hang). */
  timeoutMs: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  maxBytes: 2 * 1024 ** 3,
  maxEntries: 100_000,
  maxRatio: 200,
  maxDepth: 2,
  timeoutMs: 10 * 60_000,
};

export interface ArtifactOptions extends CompareOptions {
  /** How archives are unpacked (default: the unpack container on the local engine). */
  unpacker?: Unpacker;
  limits?: Partial<ArtifactLimits>;
  /** A trusted AppImage runtime: lets appimagetool's runtime on the published side be proven. */
  appimageRuntime?: string;
  /** Progress lines (image bootstrap, unpacking). */
  onProgress?: (line: string) => void;
  /** Nesting level (internal: 0 for the top). */
  depth?: number;
}

export async function compareArtifact(
  aPath: string,
  bPath: string,
  opts: ArtifactOptions = {},
): Promise<ArtifactComparison> {
  const started = performance.now();
  const limits = { ...DEFAULT_ARTIFACT_LIMITS, ...opts.limits };
  // Both must be readable regular files: the file comparator's own check and message.
  for (const p of [aPath, bPath]) await (await FileSource.open(p)).close();
  const [ka, kb] = await Promise.all([detectFileKind(aPath), detectFileKind(bPath)]);
  const containers = isContainerKind(ka.kind) && isContainerKind(kb.kind);
  const facts = (path: string, kind: ArtifactKind, d: Digests): ArtifactFacts => ({
    path,
    kind,
    size: d.size,
    sha256: d.sha256,
    blake3: d.blake3,
  });
  const newDoc = (da: Digests, db: Digests): ArtifactComparison => ({
    schema: 'rebuild.artifact/1',
    verdict: 'identical',
    a: facts(aPath, ka.kind, da),
    b: facts(bPath, kb.kind, db),
    members: [],
    archive: [],
    explanations: [],
    metadataOnly: false,
    notes: [],
    durationMs: 0,
  });
  const finish = (doc: ArtifactComparison): ArtifactComparison => {
    doc.durationMs = Math.round(performance.now() - started);
    return doc;
  };

  if (!containers) {
    // The file comparator hashes both files (identical ones once) from the bytes it judges:
    // its digests are the document's, so no file is read twice.
    const file = await compareFile(aPath, bPath, opts);
    const doc = newDoc(file.comparison.a, file.comparison.b);
    doc.file = file.comparison;
    doc.verdict = file.verdict;
    if (file.explanation) doc.explanations.push(file.explanation);
    if (ka.kind !== kb.kind && (isContainerKind(ka.kind) || isContainerKind(kb.kind))) {
      doc.archive.push({
        aspect: 'kind',
        detail: 'one is an archive, the other is not',
        a: ka.kind,
        b: kb.kind,
      });
      doc.verdict = 'different';
    }
    return finish(doc);
  }
  const { hashPair } = await import('../hash/pair.js');
  const pair = await hashPair(aPath, bPath);
  const doc = newDoc(pair.a, pair.b);
  if (pair.identical) {
    doc.notes.push('identical bytes: not unpacked');
    return finish(doc);
  }
  const { descend } = await import('./artifact/containers.js');
  await descend(doc, ka.kind as ContainerKind, kb.kind as ContainerKind, opts, limits);
  return finish(doc);
}

/** A plain file pair: the file comparator, plus the .desktop rewrite rule for text. */
export async function compareFile(
  aPath: string,
  bPath: string,
  opts: CompareOptions,
): Promise<{ verdict: Verdict; comparison: Comparison; explanation?: RepackExplanation }> {
  const comparison = await compare(aPath, bPath, opts);
  if (
    comparison.verdict !== 'different' ||
    comparison.a.format !== 'text' ||
    comparison.b.format !== 'text'
  ) {
    return { verdict: comparison.verdict, comparison };
  }
  // Differing text: the repackaging rules are loaded by the pairs they may apply to.
  const [{ explainedByDesktopRewrite, isDesktopFile }, { REPACK_RULES }] = await Promise.all([
    import('./artifact/rules/desktop-exec.js'),
    import('./artifact/rules/index.js'),
  ]);
  if (isDesktopFile(aPath) || isDesktopFile(bPath)) {
    const [ta, tb] = await Promise.all([readFile(aPath, 'utf8'), readFile(bPath, 'utf8')]);
    if (explainedByDesktopRewrite(ta, tb)) {
      const rule = REPACK_RULES['desktop-exec-rewrite'];
      return {
        verdict: 'equivalent',
        comparison,
        explanation: {
          rule: 'desktop-exec-rewrite',
          detail: `${rule.what} (${rule.source})`,
          evidence: ['the rebuilt file, rewritten by that sed, equals the published file byte for byte'],
        },
      };
    }
  }
  return { verdict: comparison.verdict, comparison };
}
