/**
 * Two files whose bytes differ, judged by the routes (see compare.ts): for
 * an ELF pair post-processing, then the loader's view and the byte
 * accounting; for anything else the bytes route. A module of its own so
 * that an identical pair never loads the forensic engine behind them.
 */
import type { PassComparison } from '../hash/offer.js';
import type { CompareOptions, ComparisonBody, DescribedSide } from './compare.js';
import type { ByteSource } from './elf/source.js';
import { hasRemovableSections } from './explanations.js';
import type { RouteResult } from './findings.js';
import { hardeningDiffers } from './hardening.js';
import { bytesRoute } from './routes/bytes.js';
import { judgeElf } from './routes/loader.js';
import type { FileFacts, PostProcessingFacts, Route } from './types.js';

export interface DifferentPair {
  /** The files' facts, completed here (format, ELF facts). */
  a: FileFacts;
  b: FileFacts;
  elfA: boolean;
  elfB: boolean;
  /** Both sides, when both are ELF files (a malformed one's error is thrown from here). */
  sides: { a: DescribedSide; b: DescribedSide } | undefined;
  /** How the text diff names the files. */
  names: { a: string; b: string };
  /** The hash pass's offer to compare a with the post-processing plan (closed here when unused). */
  passComparison?: PassComparison;
}

export async function judgeDifferent(
  srcA: ByteSource,
  srcB: ByteSource,
  pair: DifferentPair,
  opts: CompareOptions,
): Promise<ComparisonBody> {
  const context = opts.context !== false;
  const { a, b } = pair;
  if (pair.sides) {
    // Malformed input is an error: the message names the file and what is wrong.
    const [sa, sb] = await Promise.all([pair.sides.a.side, pair.sides.b.side]);
    a.format = 'elf';
    b.format = 'elf';
    const hardening = {
      a: sa.hardening,
      b: sb.hardening,
      differs: hardeningDiffers(sa.hardening, sb.hardening),
    };
    let postProcessing: PostProcessingFacts | undefined;
    let result: RouteResult | undefined;
    let route: Route = 'accounting';
    // The post-processing route applies when a carries none of what it removes and b does;
    // it (and the simulation behind it) is loaded only by the pairs it applies to.
    if (opts.postProcessing !== false && !hasRemovableSections(sa.elf) && hasRemovableSections(sb.elf)) {
      const { postProcessingRoute } = await import('./routes/postprocessing.js');
      const pp = await postProcessingRoute(sa, sb, {
        context,
        ...(opts.workDir ? { workDir: opts.workDir } : {}),
        ...(opts.postProcessingProfiles ? { profiles: opts.postProcessingProfiles } : {}),
        ...(pair.passComparison ? { passComparison: pair.passComparison } : {}),
      });
      postProcessing = pp.facts;
      result = pp.result;
      if (pp.matches) route = 'post-processing';
    }
    // No plan to offer the pass from here on: it reads a without waiting for one.
    pair.passComparison?.close();
    if (!result || (route !== 'post-processing' && result.differences.length > 0)) {
      // a against b as built: sound too (both references are files we built).
      const direct = await judgeElf(sa, sb, { context });
      if (!result || direct.differences.length === 0) result = direct;
    }
    // The build-id facts are the last to be known (the hash pass takes their digests).
    [a.elf, b.elf] = await Promise.all([pair.sides.a.facts, pair.sides.b.facts]);
    return {
      verdict: result.differences.length === 0 ? 'equivalent' : 'different',
      route,
      explanations: result.explanations,
      differences: result.differences,
      ...(result.observations.length > 0 ? { observations: result.observations } : {}),
      hardening,
      ...(postProcessing ? { postProcessing } : {}),
    };
  }

  const r = await bytesRoute(srcA, srcB, pair.elfA, pair.elfB, context, pair.names);
  a.format = pair.elfA ? 'elf' : r.textA ? 'text' : 'binary';
  b.format = pair.elfB ? 'elf' : r.textB ? 'text' : 'binary';
  return {
    verdict: 'different',
    route: 'bytes',
    explanations: [],
    differences: r.differences,
    ...(r.textDiff !== undefined ? { textDiff: r.textDiff } : {}),
  };
}
