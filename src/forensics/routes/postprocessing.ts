/**
 * Rule 3: post-processing only explains what it removes from the rebuilt
 * side. pkgforge's post-processing is simulated on b (the rebuilt file,
 * ours) and never on a (the published file, the attacker's): when a equals
 * the simulated b byte for byte, the verdict is equivalent; otherwise a is
 * judged against the simulated b by the loader-view route, and against b as
 * built, and the better of two sound judgments wins (each compares a's
 * loaded bytes with a file we built).
 *
 * The simulation is reached through `simulate` only, so that the
 * post-processing stage can be pointed at its own module.
 */

import { isRebuildError } from '../../util/errors.js';
import { compareRanges } from '../bytes.js';
import { readElf } from '../elf/reader.js';
import { FileSource } from '../elf/source.js';
import { hasRemovableSections } from '../explanations.js';
import type { RouteResult } from '../findings.js';
import { describeHardening, hardeningDiffers } from '../hardening.js';
import { simulatePkgforgePostProcessing } from '../postprocess.js';
import { sectionsByKey } from '../sections.js';
import { makeSide, type Side } from '../side.js';
import type { Difference, Explanation, PostProcessingFacts } from '../types.js';
import { judgeElf } from './loader.js';

export interface PostProcessingRouteOptions {
  workDir?: string;
  context: boolean;
}

export interface PostProcessingOutcome {
  facts: PostProcessingFacts;
  /** The judgment, when the simulation ran. */
  result?: RouteResult;
  matches: boolean;
}

/** The one call into the post-processing simulation (b side only). */
const simulate = simulatePkgforgePostProcessing;

/** Whether the route applies: a carries none of what post-processing removes, b does. */
export function postProcessingApplies(a: Side, b: Side): boolean {
  return !hasRemovableSections(a.elf) && hasRemovableSections(b.elf);
}

export async function postProcessingRoute(
  a: Side,
  b: Side,
  opts: PostProcessingRouteOptions,
): Promise<PostProcessingOutcome> {
  const h = b.elf.header;
  const sim = await simulate(b.path, {
    machine: h.machine,
    class: h.class,
    endian: h.endian,
    ...(opts.workDir ? { workDir: opts.workDir } : {}),
  });
  if ('skipped' in sim)
    return { facts: { steps: [], changes: [], matches: false, skipped: sim.skipped }, matches: false };
  let out: FileSource | undefined;
  try {
    out = await FileSource.open(sim.outputPath);
    const matches =
      out.size === a.src.size && (await compareRanges(out, 0, out.size, a.src, 0, out.size)).equal;
    const facts: PostProcessingFacts = { steps: sim.steps, changes: [], matches, tool: sim.tool };
    let c: Side;
    try {
      c = await makeSide('b', await readElf(out));
    } catch (err) {
      if (!isRebuildError(err)) throw err;
      return {
        facts: { ...facts, skipped: `the post-processed copy cannot be read: ${err.message}` },
        matches: false,
      };
    }
    c.path = b.path;
    // What the tools changed on b (our own file, changed by our own simulation).
    // Both are ours: what the simulation removed needs no proof of contents.
    const made = await judgeElf(c, b, { context: false, prove: false });
    const who = "pkgforge's post-processing of b";
    const changes: Explanation[] = [
      ...hardeningDiffers(c.hardening, b.hardening).map(
        (x): Explanation => ({
          kind: 'post-processing',
          detail: `${describeHardening(x, c.hardening, b.hardening)}: changed by ${who}`,
        }),
      ),
      ...made.differences.map(
        (d): Explanation => ({
          kind: kindOfRegion(d.region),
          detail: `${d.region}: ${d.detail} (made by ${who})`,
          region: d.region,
        }),
      ),
      ...made.explanations.map((e) => ({ ...e, detail: `removed by ${who}: ${e.detail}` })),
    ];
    facts.changes = changes.map((e) => e.detail);
    if (matches)
      return { facts, matches, result: { explanations: changes, differences: [], observations: [] } };
    const against = await judgeElf(a, c, opts);
    const remapped = { ...against, differences: against.differences.map((d) => remapToRebuilt(d, b)) };
    return { facts, matches, result: { ...remapped, explanations: [...changes, ...against.explanations] } };
  } finally {
    await out?.close();
    await sim.cleanup();
  }
}

/** A label for what the simulation changed (the proof is the route, not the name). */
function kindOfRegion(region: string): Explanation['kind'] {
  if (region.startsWith('.note.gnu.build-id')) return 'build-id';
  if (region.startsWith('.note')) return 'notes';
  return 'post-processing';
}

/**
 * A difference found against the post-processed copy: point its b range at
 * the rebuilt file (by section name), or say where it was found.
 */
function remapToRebuilt(d: Difference, b: Side): Difference {
  if (!d.b) return d;
  const { b: _dropped, ...rest } = d;
  const s = sectionsByKey(b.elf).get(d.region);
  if (s) return { ...rest, b: { offset: s.offset, size: s.type === 8 ? 0 : s.size } };
  return { ...rest, detail: `${d.detail} (in b after the simulated post-processing)` };
}
