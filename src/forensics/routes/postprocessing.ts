/**
 * Rule 3: post-processing only explains what it removes from the rebuilt
 * side. pkgforge's post-processing is simulated on b (the rebuilt file,
 * ours) and never on a (the published file, the attacker's): when a equals
 * the simulated b byte for byte, the verdict is equivalent; otherwise a is
 * judged against the simulated b by the loader-view route, and against b as
 * built, and the better of two sound judgments wins (each compares a's
 * loaded bytes with a file we built).
 *
 * The profiles simulated are the candidates of record: the record's chosen
 * profile and the other plausible ones (near a date boundary, or with no
 * date), or every profile of record when the caller has no record. The
 * first whose output equals a byte for byte explains it; when none does, a
 * is judged against the first one that ran a command.
 */

import type { PassComparison } from '../../hash/offer.js';
import { PlanSource } from '../../postprocess/plan.js';
import type { PostProcessProfile } from '../../postprocess/profiles.js';
import { forensicCandidates, type ProfileSimulation, simulateEach } from '../../postprocess/simulate.js';
import { isRebuildError } from '../../util/errors.js';
import { compareRanges } from '../bytes.js';
import { readElf } from '../elf/reader.js';
import { type ByteSource, FileSource } from '../elf/source.js';
import type { RouteResult } from '../findings.js';
import { describeHardening, hardeningDiffers } from '../hardening.js';
import { sectionsByKey } from '../sections.js';
import { makeSide, type Side } from '../side.js';
import type { Difference, Explanation, PostProcessingFacts } from '../types.js';
import { judgeElf } from './loader.js';

export interface PostProcessingRouteOptions {
  workDir?: string;
  context: boolean;
  /** The candidate profiles of record, the chosen one first (default: every profile, see forensicCandidates). */
  profiles?: readonly PostProcessProfile[];
  /** The hash pass that reads a, which may compare a with a plan as it reads it. */
  passComparison?: PassComparison;
}

export interface PostProcessingOutcome {
  facts: PostProcessingFacts;
  /** The judgment, when the simulation ran. */
  result?: RouteResult;
  matches: boolean;
}

/** A profile's simulation that ran (or planned) at least one command. */
type Ran = Exclude<ProfileSimulation, { skipped: string }>;

/** Where a simulation's output is: its file, or the plan over b it was described as. */
const outputKey = (r: Ran): string => ('plan' in r ? `plan:${r.steps.join(' ')}` : r.outputPath);

/** The simulated output, read like a file: a plan reads b's own source (ours), never a copy. */
async function openOutput(r: Ran, b: Side): Promise<ByteSource> {
  if ('plan' in r) return new PlanSource(b.src, r.plan.pieces, `${b.path} (${r.profile}, streamed)`);
  return FileSource.open(r.outputPath);
}

export async function postProcessingRoute(
  a: Side,
  b: Side,
  opts: PostProcessingRouteOptions,
): Promise<PostProcessingOutcome> {
  const h = b.elf.header;
  const profiles = opts.profiles?.length ? opts.profiles : forensicCandidates();
  const tried = profiles.map((p) => p.id);
  // The one call into the post-processing simulation: b side only. Profiles are simulated
  // in order and the first whose output equals a ends it (the later ones could not be chosen).
  const sims = simulateEach(b.path, profiles, {
    machine: h.machine,
    class: h.class,
    endian: h.endian,
    ...(opts.workDir ? { workDir: opts.workDir } : {}),
    stream: true,
  });
  let out: ByteSource | undefined;
  try {
    let first: Ran | undefined;
    let skipped: string | undefined;
    let chosen: Ran | undefined;
    const unequal = new Set<string>();
    for await (const r of sims.results) {
      if ('skipped' in r) {
        skipped ??= r.skipped;
        continue;
      }
      if (r.steps.length === 0) continue;
      first ??= r;
      // Profiles with the same passes share one output: compared once.
      if (unequal.has(outputKey(r))) continue;
      const f = await openOutput(r, b);
      const equal = f.size === a.src.size && (await equalsA(r, f, a, b, opts.passComparison));
      if (equal) {
        chosen = r;
        out = f;
        break;
      }
      unequal.add(outputKey(r));
      await f.close();
    }
    if (!first) {
      const why =
        skipped ?? `the post-processing of record (${tried.join(', ')}) runs no command on executables`;
      return { facts: { steps: [], changes: [], matches: false, skipped: why, tried }, matches: false };
    }
    const matches = chosen !== undefined;
    const sim = chosen ?? first;
    out ??= await openOutput(sim, b);
    const facts: PostProcessingFacts = {
      steps: sim.steps,
      changes: [],
      matches,
      ...(sim.tool ? { tool: sim.tool } : {}),
      profile: sim.profile,
      tried,
    };
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
    const who = `pkgforge's post-processing of b (${sim.profile})`;
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
    await sims.cleanup();
  }
}

/**
 * Whether a equals the simulated output `f`, every byte. A plan is offered to
 * the hash pass first: its reading thread compares each byte of a with the
 * plan's (its literals, and its ranges read from b's own open file) as it
 * reads a to hash it, so a is read once. That is this same byte-for-byte
 * comparison, of every byte of a, made elsewhere; the pass declines when it
 * started on a already, or compares a plan over no other file than b's.
 */
async function equalsA(r: Ran, f: ByteSource, a: Side, b: Side, pass?: PassComparison): Promise<boolean> {
  if ('plan' in r && pass) {
    const viaPass = await pass.offer({ pieces: r.plan.pieces, size: f.size }, a.src, b.src);
    if (viaPass !== undefined) return viaPass;
  }
  return (await compareRanges(f, 0, f.size, a.src, 0, f.size)).equal;
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
