/**
 * `compare(a, b)`: a = published, b = rebuilt. Decides identical /
 * equivalent / different, with the reasons, by routes:
 *
 * 1. `identical`: the same bytes;
 * 2. `post-processing` (routes/postprocessing.ts): when a carries none of
 *    what pkgforge's post-processing removes and b does, the post-processing
 *    is simulated on b only; a equal to that copy byte for byte is equivalent;
 * 3. `accounting` (routes/loader.ts): the loader's view decides — every byte
 *    the kernel or loader reads must be equal, but for build-id descriptors
 *    and the ELF header's section-table fields; bytes outside it may differ
 *    only where a non-loaded section of a registered kind names them;
 * 4. `bytes` (routes/bytes.ts): not both ELF.
 *
 * Files are read with positioned reads and compared in streamed chunks, so
 * memory stays bounded as files grow; every loop over headers is linear or
 * n·log n in their counts.
 */

import type { FileHandle } from 'node:fs/promises';
import { blake3Ready, type Digests, hashBytes, hashOpenFile } from '../hash/digest.js';
import { PassComparison } from '../hash/offer.js';
import type { PairPlans } from '../hash/pair.js';
import type { PostProcessProfile } from '../postprocess/profiles.js';
import { isRebuildError, RebuildError } from '../util/errors.js';
import { streamableBuildIdPlan } from './buildid.js';
import { type ElfFile, isElf, readElf } from './elf/reader.js';
import { type ByteSource, FileSource, openSource } from './elf/source.js';
import { elfFacts, makeSide, type Side } from './side.js';
import { isText } from './text.js';
import type { Comparison, ElfFacts, FileFacts } from './types.js';

export interface CompareOptions {
  /** Try pkgforge's post-processing route (default true). */
  postProcessing?: boolean;
  /** Where the post-processing simulation makes its temporary copy. */
  workDir?: string;
  /** Post-processing profiles of record to simulate, the chosen one first (default: every profile). */
  postProcessingProfiles?: readonly PostProcessProfile[];
  /** Disassembly / text / hex contexts for differences (default true). */
  context?: boolean;
  /**
   * How the document names the files (default: their paths): a temporary
   * copy is named by the place where its bytes are kept, not by a path that
   * is gone once the work is done.
   */
  names?: { a?: string; b?: string };
}

export async function compare(aPath: string, bPath: string, opts: CompareOptions = {}): Promise<Comparison> {
  const started = performance.now();
  const srcA = await openSource(aPath);
  let srcB: Awaited<ReturnType<typeof openSource>>;
  try {
    srcB = await openSource(bPath);
  } catch (err) {
    await srcA.close();
    throw err;
  }
  try {
    const c = await compareSources(srcA, srcB, opts, started);
    for (const [label, s] of [
      ['a', srcA],
      ['b', srcB],
    ] as const) {
      if (!(s instanceof FileSource)) continue;
      if (!(await s.unchanged()))
        throw new RebuildError('input', 'the file changed while it was being compared', {
          subject: s.name,
          fix: 'compare it again once nothing writes to it',
        });
      if (s.copiedBecause) {
        c.observations = [
          ...(c.observations ?? []),
          {
            region: 'file',
            detail: `${label} was compared from a private copy, made in one read, as ${s.copiedBecause}`,
          },
        ];
      }
    }
    return c;
  } finally {
    await Promise.all([srcA.close(), srcB.close()]);
  }
}

type Source = ByteSource & { bytes?: Buffer };

/**
 * The file a streamed source holds open: the hash pass reads the same open file
 * as the analysis, never the path again (a path renamed in between would have
 * the hashes and the verdict be of different files).
 */
function opened(s: Source): { path: string; handle: FileHandle; size: number } {
  if (!(s instanceof FileSource)) throw new Error(`${s.name}: a streamed source is a FileSource`);
  return { path: s.name, handle: s.handle, size: s.size };
}

/** Hashes from the bytes in memory when the file was read whole (one read), else streamed. */
const digestsOf = async (s: Source): Promise<Digests> => {
  if (s.bytes) {
    await blake3Ready();
    return hashBytes(s.bytes);
  }
  const o = opened(s);
  return hashOpenFile(o.path, o.handle, o.size);
};

/** Build-id digests the hash pass took (see streamableBuildIdPlan), by side. */
type BuildIdDigests = { a?: string; b?: string };

/**
 * The build-id digest the hash pass took for a side, once it is known
 * (undefined: none, the check takes it itself; null: not taken, as the
 * streamed files are the same bytes; see checkBuildId).
 */
type BuildIdOf = (label: 'a' | 'b') => Promise<string | undefined | null>;

/**
 * Both files' digests; bytes that are the same are hashed once (streamed files
 * compared while read, and GNU ld's build-id input digested in the same pass).
 */
async function digestsOfPair(
  a: Source,
  b: Source,
  plans: Promise<PairPlans>,
  onDiverged: () => void,
  offer: PassComparison,
): Promise<{ digests: [Digests, Digests]; buildIds: BuildIdDigests; identical: boolean }> {
  if (a.bytes || b.bytes) offer.close();
  if (a.bytes && b.bytes) {
    await blake3Ready();
    const da = hashBytes(a.bytes);
    const identical = a.bytes.equals(b.bytes);
    return { digests: [da, identical ? { ...da } : hashBytes(b.bytes)], buildIds: {}, identical };
  }
  if (!a.bytes && !b.bytes) {
    // Large files only (small ones are in memory): the pair reader is loaded by them.
    const { hashOpenPair } = await import('../hash/pair.js');
    const pair = await hashOpenPair(opened(a), opened(b), plans, onDiverged, undefined, offer);
    return { digests: [pair.a, pair.b], buildIds: pair.planDigests, identical: pair.identical };
  }
  return { digests: await Promise.all([digestsOf(a), digestsOf(b)]), buildIds: {}, identical: false };
}

/** A parsed ELF side; a malformed file's error is thrown where the side is used. */
type Parsed = Promise<ElfFile>;

/** One ELF side, and the facts reported about it (which wait for the hash pass's build-id digest). */
export interface DescribedSide {
  side: Promise<Side>;
  facts: Promise<ElfFacts>;
}

/** What a route decides: the comparison document without the files' facts and timing. */
export type ComparisonBody = Omit<Comparison, 'schema' | 'durationMs' | 'a' | 'b'>;

/** The build-id plans of both sides, when both are streamed ELF files whose plans can be. */
async function buildIdPlans(srcA: Source, srcB: Source, elves: { a: Parsed; b: Parsed } | undefined) {
  if (!elves || srcA.bytes || srcB.bytes) return {};
  const plan = (e: Parsed) => e.then(streamableBuildIdPlan).catch(() => undefined);
  const [a, b] = await Promise.all([plan(elves.a), plan(elves.b)]);
  return { ...(a ? { a } : {}), ...(b ? { b } : {}) };
}

async function compareSources(
  srcA: Source,
  srcB: Source,
  opts: CompareOptions,
  started: number,
): Promise<Comparison> {
  const [elfA, elfB] = await Promise.all([isElf(srcA), isElf(srcB)]);
  // The headers (a few small reads) give the build-id digests the hash pass takes.
  const elves = elfA && elfB ? { a: readElf(srcA), b: readElf(srcB) } : undefined;
  elves?.a.catch(() => undefined);
  elves?.b.catch(() => undefined);
  // Worked out beside the pass, which same-sized files start without them (see hashOpenPair).
  const plans = buildIdPlans(srcA, srcB, elves);
  // Whether the bytes are the same is known at the first difference, before the hashes are:
  // the analysis of files that differ starts then, beside the hashing.
  let diverged: () => void = () => undefined;
  const differs = new Promise<false>((resolve) => {
    diverged = () => resolve(false);
  });
  // The post-processing route may hand its comparison of a to the pass that reads a (see PassComparison).
  const offer = new PassComparison(srcA, srcB);
  const hashed = digestsOfPair(srcA, srcB, plans, () => diverged(), offer);
  // However the pass ends, it takes no offer after (the route then compares a itself).
  hashed.then(
    () => offer.close(),
    () => offer.close(),
  );
  const same = Promise.race([differs, hashed.then((h) => h.identical)]);
  const digests = hashed.then((h) => h.digests);
  // Handled here so that a failed hash never goes unnoticed while the analysis still runs;
  // every path below awaits it, and the error is thrown from there.
  digests.catch(() => undefined);
  // A side without a plan recomputes its build-id itself, without waiting for the hash pass.
  // Identical streamed files: the pass that proved them so took no build-id digest (a third
  // hash of the whole file, which only explains changes made after linking).
  const buildIds: BuildIdOf = (label) =>
    plans.then((p) =>
      p[label]
        ? hashed.then(
            (h) => (h.identical ? null : h.buildIds[label]),
            () => undefined,
          )
        : undefined,
    );
  try {
    return await judgeSources(
      srcA,
      srcB,
      { elfA, elfB, elves },
      { same, digests, offer },
      buildIds,
      opts,
      started,
    );
  } finally {
    await digests.catch(() => undefined);
  }
}

/** One ELF side and the facts reported about it. */
function describeSide(label: 'a' | 'b', elf: Parsed, buildIds: BuildIdOf): DescribedSide {
  const side = elf.then((e) => makeSide(label, e));
  const facts = side.then(async (s) => elfFacts(s, await buildIds(label)));
  // Handled here: every path that uses them awaits them, and the error is thrown from there.
  side.catch(() => undefined);
  facts.catch(() => undefined);
  return { side, facts };
}

async function judgeSources(
  srcA: Source,
  srcB: Source,
  { elfA, elfB, elves }: { elfA: boolean; elfB: boolean; elves: { a: Parsed; b: Parsed } | undefined },
  hashing: { same: Promise<boolean>; digests: Promise<[Digests, Digests]>; offer: PassComparison },
  buildIds: BuildIdOf,
  opts: CompareOptions,
  started: number,
): Promise<Comparison> {
  const { digests } = hashing;
  // a is described whatever the verdict, while the hash threads read both files.
  const sideA = elves ? describeSide('a', elves.a, buildIds) : undefined;
  // Files of different sizes are not identical: their analysis runs while they are hashed, and
  // so does that of same-sized files from their first difference. Identical: every byte compared.
  const identical = srcA.size === srcB.size && (await hashing.same);
  const base = (path: string, size: number): FileFacts => ({
    path,
    size,
    sha256: '',
    blake3: '',
    format: 'binary',
  });
  const names = { a: opts.names?.a ?? srcA.name, b: opts.names?.b ?? srcB.name };
  const a = base(names.a, srcA.size);
  const b = base(names.b, srcB.size);
  const done = async (c: ComparisonBody): Promise<Comparison> => {
    const [da, db] = await digests;
    for (const [f, d] of [
      [a, da],
      [b, db],
    ] as const) {
      f.size = d.size;
      f.sha256 = d.sha256;
      f.blake3 = d.blake3;
    }
    return {
      schema: 'rebuild.compare/1',
      ...c,
      a,
      b,
      durationMs: Math.round(performance.now() - started),
    };
  };

  if (sideA && identical) {
    // Same bytes: identical whatever they hold; describe them (read once) when they parse.
    try {
      const sa = await sideA.side;
      const facts = await sideA.facts;
      a.format = 'elf';
      a.elf = facts;
      b.format = 'elf';
      b.elf = { ...facts, accounting: { ...facts.accounting } };
      const hardening = { a: sa.hardening, b: sa.hardening, differs: [] };
      return done({ verdict: 'identical', route: 'identical', explanations: [], differences: [], hardening });
    } catch (err) {
      if (!isRebuildError(err)) throw err;
      return done({ verdict: 'identical', route: 'identical', explanations: [], differences: [] });
    }
  }

  if (identical) {
    // Identical bytes that are not ELF (both ELF is the case above): only their format is
    // described, read once, as the two hold the same bytes.
    a.format = b.format = (await isText(srcA)) ? 'text' : 'binary';
    return done({ verdict: 'identical', route: 'identical', explanations: [], differences: [] });
  }
  // The bytes differ: the forensic routes (loaded only now) explain or name every difference.
  const sides = elves && sideA ? { a: sideA, b: describeSide('b', elves.b, buildIds) } : undefined;
  const { judgeDifferent } = await import('./judge.js');
  const pair = { a, b, elfA, elfB, sides, names, passComparison: hashing.offer };
  return done(await judgeDifferent(srcA, srcB, pair, opts));
}
