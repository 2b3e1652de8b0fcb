/**
 * `rebuild <pkg> --arch A`: find what pkgforge published, check it against
 * its own checksums, pin what the recipe leaves floating, rebuild the recipe
 * of record, and say whether the published file is what the recipe makes.
 *
 * Output directory (replaced as a whole, never half-written):
 *   result.json   VerifyResult
 *   report.md, report.html
 *   published/    the files of record as fetched (SBUILD, main file, log, version, CHECKSUM)
 *   build/        `rebuild build`'s output (result.json, build.log, outputs, compare/)
 */
import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type BuildReporter, buildRecipe } from '../build/build.js';
import type { BuildResult } from '../build/result.js';
import { checkOutDir, RESULT_FILE } from '../build/workspace.js';
import { connectEngine } from '../engine/docker.js';
import { detectEmulator, type EmulatorInfo } from '../engine/emulator.js';
import type { Comparison } from '../forensics/types.js';
import { requestForRecord } from '../postprocess/select.js';
import { loadRecipeFile } from '../recipe/index.js';
import type { Recipe } from '../recipe/types.js';
import { verdictSentence } from '../report/comparison-doc.js';
import type { PackageRecord, PublishedArtifact } from '../upstream/types.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { isRebuildError, RebuildError } from '../util/errors.js';
import { readRegularFile } from '../util/regular-file.js';
import { REBUILD_VERSION } from '../util/version.js';
import { type BuilderOfRecord, pullBuilderOfRecord } from './builder-of-record.js';
import { builderNamesOf, chooseDatedImage, dayOf, sourcePin } from './pins.js';
import { renderVerifyHtml, renderVerifyMarkdown } from './report.js';
import { checkSignature, signatureLine } from './signature.js';
import type {
  LocalRecipeStanding,
  VerifyInputs,
  VerifyOptions,
  VerifyResult,
  VerifyVerdict,
} from './types.js';
import { defaultUpstream, type UpstreamApi } from './upstream.js';

export const RESULT_JSON = RESULT_FILE;

/** Replay refuses to run a different recipe: no result is written. */
export class ReplayRefusal extends RebuildError {}

/** Pins replay imposes on top of what verify would choose. */
export interface ReplayPins {
  /** Refuse when the fetched SBUILD's sha256 differs. */
  recipeDigest?: string;
  /** Fetch the manifest by this digest instead of the tag. */
  manifestDigest?: string;
  /** Builder images to use again, by name as written → image ID. */
  images?: { asWritten: string; id: string }[];
  /** The record to use instead of asking the metadata. */
  record?: PackageRecord;
}

interface Ctx {
  opts: VerifyOptions;
  reporter: BuildReporter;
  upstream: UpstreamApi;
  replay?: ReplayPins;
}

/** Verifies one published package by rebuilding it. See the module comment for what it writes. */
export async function verifyPackage(
  opts: VerifyOptions,
  reporter: BuildReporter,
  upstream: UpstreamApi = defaultUpstream,
): Promise<VerifyResult> {
  const record = await reporter.step(`Finding ${opts.query} (${opts.arch}) in pkgforge's metadata`, () =>
    upstream.resolve(opts.query, opts.arch, opts.metadata, opts.registry),
  );
  return verifyRecord(record, { opts, reporter, upstream });
}

/** Same as verifyPackage for a record already chosen (replay, audit). */
export async function verifyRecord(
  record: PackageRecord,
  ctx: { opts: VerifyOptions; reporter: BuildReporter; upstream?: UpstreamApi; replay?: ReplayPins },
): Promise<VerifyResult> {
  const c: Ctx = { ...ctx, upstream: ctx.upstream ?? defaultUpstream };
  const startedAt = new Date();
  const opts = c.opts;
  if (record.arch !== opts.arch) {
    throw new RebuildError('usage', `the record is for ${record.arch}, not ${opts.arch}`, {
      subject: `${record.pkg}#${record.repo}`,
    });
  }
  const outDir = resolve(opts.outDir ?? join('rebuild-out', record.pkgName || record.pkg, opts.arch));
  await checkOutDir(outDir);
  await mkdir(dirname(outDir), { recursive: true });
  const staging = join(dirname(outDir), `.${basename(outDir)}.partial-${randomBytes(4).toString('hex')}`);
  await mkdir(staging);
  try {
    const result = await run(record, c, staging, outDir, startedAt);
    result.durationMs = Date.now() - startedAt.getTime();
    await writeJsonAtomic(join(staging, RESULT_JSON), result);
    await writeFileAtomic(join(staging, 'report.md'), renderVerifyMarkdown(result));
    await writeFileAtomic(join(staging, 'report.html'), renderVerifyHtml(result));
    await publish(staging, outDir);
    return result;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The main file of the artifact: the name pkgforge gives the program (pkg_name, pkg, a provides entry). */
export function mainFileName(record: PackageRecord): string {
  const files = record.ghcrFiles;
  for (const n of [record.pkgName, record.pkg, ...record.provides]) {
    if (n && files.includes(n)) return n;
  }
  return record.pkgName || record.pkg;
}

function emptyInputs(record: PackageRecord, opts: VerifyOptions): VerifyInputs {
  return {
    query: opts.query,
    arch: opts.arch,
    record: {
      repo: record.repo,
      pkg: record.pkg,
      pkgId: record.pkgId,
      version: record.version,
      buildDate: record.buildDate,
      ghcrPkg: record.ghcrPkg,
    },
    manifestDigest: '',
    recipe: { digest: '', path: '' },
    pins: { pkgver: record.version, image: { tag: '', id: '', reason: 'not reached' } },
    metadata: opts.metadata,
    registry: opts.registry,
    network: opts.network ?? 'none',
    packageRecord: record,
    notes: [],
    rebuildVersion: REBUILD_VERSION,
  };
}

/**
 * The result before anything was attempted: verdict `error`, nothing fetched.
 * Verification fills it in; callers that fail before it (audit) use it as is.
 */
export function unattemptedResult(
  record: PackageRecord,
  opts: VerifyOptions,
  startedAt: Date,
  at: { outDir?: string; inputs?: VerifyInputs; mainName?: string } = {},
): VerifyResult {
  const outDir = at.outDir ?? opts.outDir ?? '';
  return {
    schema: 'rebuild.verify/1',
    verdict: 'error',
    summary: '',
    package: {
      repo: record.repo,
      pkg: record.pkg,
      pkgId: record.pkgId,
      pkgType: record.pkgType,
      version: record.version,
      buildDate: record.buildDate,
      arch: record.arch,
    },
    published: {
      name: at.mainName ?? mainFileName(record),
      sha256: '',
      blake3: '',
      size: 0,
      source: 'not fetched',
      shasumOk: false,
      bsumOk: false,
    },
    explanations: [],
    differences: [],
    inputs: at.inputs ?? emptyInputs(record, opts),
    outDir,
    reports: outDir
      ? {
          json: join(outDir, RESULT_JSON),
          markdown: join(outDir, 'report.md'),
          html: join(outDir, 'report.html'),
        }
      : { json: '' },
    startedAt: startedAt.toISOString(),
    durationMs: 0,
  };
}

async function run(
  record: PackageRecord,
  c: Ctx,
  staging: string,
  outDir: string,
  startedAt: Date,
): Promise<VerifyResult> {
  const { opts, reporter, upstream } = c;
  const inputs = emptyInputs(record, opts);
  const notes = inputs.notes as string[];
  const note = (line: string) => {
    notes.push(line);
    reporter.log(`[rebuild] ${line}`);
  };
  let mainName = mainFileName(record);
  const result = unattemptedResult(record, opts, startedAt, { outDir, inputs, mainName });
  const who = `${record.pkg} ${record.version} (${record.arch}, ${record.repo})`;
  if (record.hasRecipeOfRecord === false) {
    note(
      opts.recipeFile
        ? `no recipe of record: the record's ghcr_files lists no SBUILD (early-2025 bincache); the local recipe ${opts.recipeFile} is rebuilt instead`
        : "no recipe of record: the record's ghcr_files lists no SBUILD (early-2025 bincache); the published file is still checked, but rebuilding needs a recipe: `--recipe FILE` (e.g. the soarpkgs recipe of that date)",
    );
  }
  try {
    // 1. The files of record.
    const fetchRecord = c.replay?.manifestDigest
      ? {
          ...record,
          ghcrPkg: `${record.ghcrPkg.replace(/@sha256:[0-9a-f]+$/, '')}@${c.replay.manifestDigest}`,
        }
      : record;
    const artifact = await reporter.step(`Fetching ${fetchRecord.ghcrPkg}`, () =>
      upstream.fetch(fetchRecord, { ...opts.registry }),
    );
    inputs.manifestDigest = artifact.manifestDigest;
    inputs.files = Object.fromEntries(Object.entries(artifact.files).map(([n, f]) => [n, f.digest]));
    const pubDir = join(staging, 'published');
    await mkdir(pubDir);
    for (const f of Object.values(artifact.files)) {
      if (f.name.includes('/') || f.name.startsWith('.')) continue;
      await copyFile(f.path, join(pubDir, f.name));
    }
    if (artifact.mainFile && artifact.mainFile !== mainName) {
      note(`the main file of the artifact is ${artifact.mainFile} (its layer digest is the metadata shasum)`);
      mainName = artifact.mainFile;
      result.published.name = mainName;
    }
    const main = artifact.files[mainName];
    if (!main) {
      throw new RebuildError('upstream', `the artifact has no file named ${mainName}`, {
        subject: artifact.reference,
        fix: `the artifact holds ${Object.keys(artifact.files).join(', ') || 'no files'}; report it to pkgforge`,
      });
    }

    const sbuildFile = artifact.files.SBUILD;
    if (sbuildFile) {
      inputs.recipe = {
        digest: sbuildFile.digest.replace(/^sha256:/, ''),
        path: join(outDir, 'published', 'SBUILD'),
      };
    }

    // 2a. Its minisign signature against the repository's key, before anything is built.
    result.signature = await reporter.step('Checking the minisign signature', () =>
      checkSignature(record, artifact.files, mainName, opts.minisignKey),
    );
    note(signatureLine(result.signature));
    if (result.signature.status === 'bad') {
      result.verdict = 'upstream-integrity';
      result.summary = `${who}: ${signatureLine(result.signature)}; nothing was rebuilt`;
      inputs.pins.image.reason = 'not rebuilt (upstream integrity failure)';
      return result;
    }

    // 2b. The published file against its own published checksums, before anything else.
    const check = await reporter.step('Checking the published file against bsum/shasum', () =>
      upstream.verifyFile(record, main),
    );
    result.published = {
      name: mainName,
      sha256: check.sha256,
      blake3: check.blake3,
      size: main.size,
      source: `${artifact.reference} (${artifact.manifestDigest}), layer ${main.digest}; expected: metadata shasum/bsum of ${record.repo}/${record.host}`,
      shasumOk: check.shasumOk,
      bsumOk: check.bsumOk,
    };
    await checksumFileNote(artifact, mainName, check.blake3, check.sha256, note);
    if (opts.provenance) {
      const { checkPkgforgeProvenance } = await import('../evidence/provenance.js');
      result.provenance = await reporter.step("Asking for pkgforge's build provenance", () =>
        checkPkgforgeProvenance(record.repo, check.sha256, { ...opts.provenance, signal: opts.signal }),
      );
      note(`pkgforge build provenance: ${result.provenance.status} — ${result.provenance.detail}`);
    }
    if (!check.shasumOk || !check.bsumOk) {
      const bad = [
        check.shasumOk ? '' : `SHA-256 ${check.sha256} ≠ shasum ${record.shasum}`,
        check.bsumOk ? '' : `BLAKE3 ${check.blake3} ≠ bsum ${record.bsum}`,
      ].filter(Boolean);
      result.verdict = 'upstream-integrity';
      result.summary = `${who}: the published ${mainName} does not match its published checksums (${bad.join('; ')}); ${signatureLine(result.signature)}; nothing was rebuilt`;
      inputs.pins.image.reason = 'not rebuilt (upstream integrity failure)';
      return result;
    }

    // 3. The recipe of record (or the user's --recipe), and the pins.
    const sbuild = artifact.files.SBUILD;
    if (!sbuild && !opts.recipeFile) {
      throw new RebuildError('upstream', 'the artifact has no SBUILD (the recipe of record)', {
        subject: artifact.reference,
        fix: 'pkgforge published no recipe for this build: pass a recipe with --recipe FILE (e.g. the soarpkgs recipe of that date)',
      });
    }
    const recipeSource = opts.recipeFile
      ? await keepLocalRecipe(opts.recipeFile, staging)
      : { staged: join(pubDir, 'SBUILD') };
    const { recipe, sha256: recipeSha } = loadRecipeFile(recipeSource.staged);
    const ofRecord = opts.recipeFile ? localRecipeStanding(recipeSha, sbuild?.digest) : undefined;
    inputs.recipe = {
      digest: recipeSha,
      // where the staged copy ends up once the output directory is published
      path: join(outDir, recipeSource.staged.slice(staging.length + 1)),
      ...(opts.recipeFile ? { local: opts.recipeFile } : {}),
      ...(ofRecord ? { ofRecord } : {}),
    };
    if (opts.recipeFile) note(localRecipeNote(opts.recipeFile, recipeSha, ofRecord));
    if (c.replay?.recipeDigest && c.replay.recipeDigest !== recipeSha) {
      throw new ReplayRefusal(
        'upstream',
        `the recipe of record changed: SBUILD sha256 is ${recipeSha}, the result recorded ${c.replay.recipeDigest}`,
        {
          subject: artifact.reference,
          fix: 'replay only re-runs the same recipe; run `rebuild <pkg>` for a new verification',
        },
      );
    }
    const pin = sourcePin(record, recipe);
    if (pin) {
      inputs.pins.sourceCommit = pin.sha;
      for (const n of pin.notes) note(n);
    }
    const emulator = await detectEmulator(opts.arch).catch(() => undefined);
    if (emulator) inputs.emulator = describeEmulator(emulator);
    const imageMap = await imagePins(recipe, record, c, note);
    if (imageMap.ofRecord.length > 0) inputs.builderOfRecord = imageMap.ofRecord;

    // 4. Rebuild with the published file as the expectation.
    const expectDir = join(staging, '.expect');
    await mkdir(expectDir);
    const mainProgram = recipe.programs[0] ?? recipe.pkg;
    if (mainProgram !== mainName) {
      note(`the recipe's main program is ${mainProgram}; comparing it with the published ${mainName}`);
    }
    await copyFile(main.path, join(expectDir, mainProgram));
    await writeFile(
      join(expectDir, 'CHECKSUM'),
      `BLAKE3: ${record.bsum} ./${mainProgram}\nSHA256: ${record.shasum} ./${mainProgram}\n`,
    );
    const comparisons = new Map<string, Comparison>();
    const build = await buildRecipe(
      {
        onComparison: (name, c) => comparisons.set(name, c),
        recipePath: recipeSource.staged,
        arch: opts.arch,
        outDir: join(staging, 'build'),
        pkgver: record.version,
        network: opts.network ?? 'none',
        limits: opts.limits,
        expect: expectDir,
        // the copy in .expect/ is removed: the reports name the published file where it is kept
        expectShownAs: { [mainProgram]: join(outDir, 'published', mainName) },
        imageMap: imageMap.map,
        imagesOfRecord: imageMap.ofRecord.flatMap((b) => (b.id ? [b.id] : [])),
        // The builder of record was looked for and its absence is recorded (inputs.builderOfRecord).
        digestStandIn: true,
        env: pin?.env,
        keepWork: opts.keepWork,
        signal: opts.signal,
        postprocess: requestForRecord(record.repo, record.buildDate),
        ...(opts.report ? { report: opts.report } : {}),
      },
      reporter,
    );
    await rm(expectDir, { recursive: true, force: true });
    // The build's records point at the build's staging directory: name the final places.
    fixBuildPaths(build, staging, outDir);
    build.recipe.file = inputs.recipe.path;
    result.build = build;
    recordImages(build, recipe, record, imageMap.reasons, inputs);
    if (build.inputs.emulator) inputs.emulator = describeEmulator(build.inputs.emulator);
    const judged = await judge(
      result,
      build,
      mainProgram,
      comparisons.get(mainProgram),
      join(outDir, 'build'),
      who,
    );
    if (judged.signature) judged.summary = `${judged.summary} (${signatureLine(judged.signature)})`;
    if (opts.recipeFile)
      judged.summary = `${judged.summary}; ${localRecipeSummary(opts.recipeFile, ofRecord)}`;
    return judged;
  } catch (err) {
    if (
      !isRebuildError(err) ||
      err instanceof ReplayRefusal ||
      err.category === 'interrupted' ||
      opts.signal?.aborted
    )
      throw err;
    result.verdict = 'error';
    result.error = {
      message: err.message,
      ...(err.fix ? { fix: err.fix } : {}),
      category: err.category,
      ...(err.subject ? { subject: err.subject } : {}),
    };
    result.summary = `${who}: could not be verified: ${err.subject ? `${err.subject}: ` : ''}${err.message}`;
    return result;
  }
}

/** Copies the user's recipe into the output (`recipe/<name>`), so the result names the bytes it rebuilt. */
/** How a local recipe stands to the artifact's SBUILD, by digest (the layer digest is verified on download). */
function localRecipeStanding(sha256: string, recordDigest: string | undefined): LocalRecipeStanding {
  if (!recordDigest) return { is: 'none' };
  const record = recordDigest.replace(/^sha256:/, '');
  return record === sha256 ? { is: 'identical' } : { is: 'different', digest: record };
}

function localRecipeNote(file: string, sha256: string, s: LocalRecipeStanding | undefined): string {
  switch (s?.is) {
    case 'identical':
      return `the local recipe ${file} is identical to the recipe of record (SBUILD sha256 ${sha256}): the recipe of record is what is rebuilt`;
    case 'different':
      return `a local recipe is rebuilt instead of the recipe of record: ${file} (sha256 ${sha256}); the artifact's SBUILD (sha256 ${s.digest}) is kept in published/`;
    default:
      return `a local recipe is rebuilt instead of the recipe of record: ${file} (sha256 ${sha256})`;
  }
}

/** The end of the headline for `--recipe FILE`: whether what was rebuilt is the recipe of record after all. */
function localRecipeSummary(file: string, s: LocalRecipeStanding | undefined): string {
  switch (s?.is) {
    case 'identical':
      return `rebuilt from the local recipe ${file}, identical to the recipe of record`;
    case 'different':
      return `rebuilt from the local recipe ${file}, not the recipe of record`;
    default:
      return `rebuilt from the local recipe ${file}; pkgforge published no recipe of record`;
  }
}

async function keepLocalRecipe(file: string, staging: string): Promise<{ staged: string }> {
  // Read (and refused when not a regular recipe file) before it is copied.
  loadRecipeFile(file);
  await mkdir(join(staging, 'recipe'));
  const staged = join(staging, 'recipe', basename(file));
  await copyFile(file, staged);
  return { staged };
}

function describeEmulator(e: EmulatorInfo): string | undefined {
  return e.kind === 'native'
    ? undefined
    : `${e.version ?? e.handler} (binfmt ${e.handler}, flags ${e.flags})`;
}

/** Notes whether the artifact's own CHECKSUM file agrees with the metadata for the main file. */
async function checksumFileNote(
  artifact: PublishedArtifact,
  mainName: string,
  blake3: string,
  sha256: string,
  note: (l: string) => void,
): Promise<void> {
  const f = artifact.files.CHECKSUM;
  if (!f) return;
  const text = await readFile(f.path, 'utf8').catch(() => '');
  const { parseChecksumFile } = await import('../build/expect.js');
  try {
    const e = parseChecksumFile(text, 'CHECKSUM').get(mainName);
    if (!e) return note(`the artifact's CHECKSUM has no line for ${mainName}`);
    const ok =
      (e.blake3 === undefined || e.blake3 === blake3) && (e.sha256 === undefined || e.sha256 === sha256);
    note(
      ok
        ? `the artifact's CHECKSUM agrees with the published ${mainName}`
        : `the artifact's CHECKSUM disagrees with the published ${mainName} (CHECKSUM blake3 ${e.blake3 ?? '-'})`,
    );
  } catch {
    note("the artifact's CHECKSUM could not be parsed; the metadata checksums are used");
  }
}

/**
 * Builder images: the dated tag nearest before the build date where one is
 * in the engine, the recorded image ID on replay, the user's --image-map
 * above all.
 */
async function imagePins(
  recipe: Recipe,
  record: PackageRecord,
  c: Ctx,
  note: (l: string) => void,
): Promise<{
  map: Record<string, string>;
  reasons: Map<string, string>;
  ofRecord: BuilderOfRecord[];
}> {
  const names = builderNamesOf(recipe);
  const map: Record<string, string> = {};
  const reasons = new Map<string, string>();
  const day = dayOf(record.buildDate) ?? record.buildDate;
  if (names.length === 0) return { map: { ...c.opts.imageMap }, reasons, ofRecord: [] };
  const docker = await connectEngine();
  const tags = (await docker.listImages())
    .flatMap((i) => i.RepoTags ?? [])
    .filter((t) => t !== '<none>:<none>');
  const user = c.opts.imageMap ?? {};
  const ofRecord: BuilderOfRecord[] = [];
  for (const name of names) {
    const short = shortName(name);
    const replayed = c.replay?.images?.find((i) => shortName(i.asWritten) === short);
    if (replayed) {
      const present = await docker
        .getImage(replayed.id)
        .inspect()
        .then(() => true)
        .catch(() => false);
      if (present) {
        map[short] = replayed.id;
        reasons.set(name, `replay: the recorded image ${replayed.id}`);
        continue;
      }
      note(`the recorded image ${replayed.id} for ${name} is no longer in the engine; choosing again`);
    }
    if (!replayed && !Object.keys(user).some((k) => name.includes(k))) {
      const found = c.opts.localBuilder
        ? {
            asWritten: name,
            status: 'differs' as const,
            reason: `the builder differs from the one of record (${name}): --local-builder asks for rebuild's local stand-in`,
          }
        : await c.reporter.step(`Builder of record for ${name}`, () =>
            pullBuilderOfRecord(docker, name, c.opts.arch, record.buildDate, c.opts.registry, (l) =>
              c.reporter.log(`[rebuild] pull ${l}`),
            ),
          );
      ofRecord.push(found);
      // Shown in the log; the result and the report carry it as inputs.builderOfRecord.
      c.reporter.log(`[rebuild] ${found.reason}`);
      if (found.status === 'pulled' && found.id) {
        map[short] = found.id;
        reasons.set(name, found.reason);
        continue;
      }
    }
    const { chosen, candidates } = chooseDatedImage(name, c.opts.arch, record.buildDate, tags);
    if (chosen) {
      map[short] = chosen.tag;
      reasons.set(
        name,
        `dated tag ${chosen.tag}: the newest of ${candidates.length} on or before the build date ${day}`,
      );
    } else {
      reasons.set(
        name,
        candidates.length
          ? `no dated builder image on or before ${day} (the oldest here is ${candidates.at(-1)?.tag}); using local <tag>`
          : `no dated builder image before ${day}; using local <tag>`,
      );
    }
  }
  for (const k of Object.keys(user)) {
    for (const name of names) if (name.includes(k)) reasons.set(name, `--image-map ${k}=${user[k]}`);
  }
  return { map: { ...map, ...user }, reasons, ofRecord };
}

/** `ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m)` → `debian-builder-unstable`. */
function shortName(image: string): string {
  return image.split('@')[0]!.split('/').pop()?.split(':')[0] ?? image;
}

function recordImages(
  build: BuildResult,
  recipe: Recipe,
  record: PackageRecord,
  reasons: Map<string, string>,
  inputs: VerifyInputs,
): void {
  const reasonFor = (asWritten: string, tag: string) => {
    const exact = reasons.get(asWritten);
    const short = shortName(asWritten);
    const r = exact ?? [...reasons].find(([k]) => shortName(k) === short)?.[1];
    return (r ?? `no dated builder image before ${dayOf(record.buildDate)}; using local <tag>`).replace(
      '<tag>',
      tag,
    );
  };
  const img = build.inputs.image;
  if (recipe.mode === 'container' || img.asWritten !== 'host-runner') {
    if (img.tag)
      inputs.pins.image = {
        asWritten: img.asWritten,
        tag: img.tag,
        id: img.id,
        reason: reasonFor(img.asWritten, img.tag),
      };
    return;
  }
  inputs.runImage = { asWritten: img.asWritten, tag: img.tag, id: img.id };
  inputs.innerImages = build.inputs.innerImages.map((i) => ({
    asWritten: i.asWritten,
    tag: i.tag,
    id: i.id,
  }));
  const first = build.inputs.innerImages[0];
  if (first) {
    inputs.pins.image = {
      asWritten: first.asWritten,
      tag: first.tag,
      id: first.id,
      reason: reasonFor(first.asWritten, first.tag),
    };
  } else if (img.tag) {
    inputs.pins.image = {
      asWritten: img.asWritten,
      tag: img.tag,
      id: img.id,
      reason:
        recipe.mode === 'host'
          ? `pkgforge ran this recipe on its CI host: no builder image to date; rebuild's host-runner ${img.tag}`
          : `the recipe started no builder; rebuild's host-runner ${img.tag}`,
    };
  }
}

function fixBuildPaths(build: BuildResult, from: string, to: string): void {
  const moved = (p: string) => (p.startsWith(`${from}/`) ? to + p.slice(from.length) : p);
  build.outDir = moved(build.outDir);
  for (const o of build.outputs) {
    if (o.expected) o.expected = { ...o.expected, source: 'pkgforge metadata (shasum, bsum)' };
  }
}

function judge(
  result: VerifyResult,
  build: BuildResult,
  mainProgram: string,
  comparison: Comparison | undefined,
  buildOut: string,
  who: string,
): VerifyResult {
  if (build.failure || build.status === 'failed') {
    result.verdict = 'build-failed';
    result.summary = `${who}: the rebuild failed: ${build.failure?.message ?? 'unknown failure'}`;
    return result;
  }
  const out = build.outputs.find((o) => o.name === mainProgram);
  if (!out) {
    result.verdict = 'build-failed';
    result.summary = `${who}: the rebuild did not produce ${mainProgram}`;
    return result;
  }
  result.rebuilt = { name: out.name, sha256: out.sha256, blake3: out.blake3, size: out.size };
  if (out.check === 'match') {
    result.verdict = 'reproducible';
    result.summary = `${who}: the rebuilt ${out.name} has the published bytes (sha256 ${out.sha256.slice(0, 16)}…)`;
    return result;
  }
  if (!comparison) {
    result.verdict = 'different';
    result.summary = `${who}: the rebuilt ${out.name} does not match and could not be compared (see ${buildOut}/build.log)`;
    return result;
  }
  result.explanations = comparison.explanations;
  result.differences = comparison.differences;
  const v: VerifyVerdict =
    comparison.verdict === 'equivalent'
      ? 'equivalent'
      : comparison.verdict === 'identical'
        ? 'reproducible'
        : 'different';
  result.verdict = v;
  result.summary =
    v === 'equivalent'
      ? `${who}: the rebuilt ${out.name} ${verdictSentence(comparison, 'differs from the published file')}`
      : `${who}: ${verdictSentence(comparison)}`;
  return result;
}

// ---------------------------------------------------------------- output directory

async function publish(staging: string, outDir: string): Promise<void> {
  await checkOutDir(outDir);
  const old = `${staging}.old`;
  const had = await lstat(outDir).then(
    () => true,
    () => false,
  );
  if (had) await rename(outDir, old);
  await rename(staging, outDir);
  if (had) await rm(old, { recursive: true, force: true });
}

/** A result.json is a few hundred KiB; anything past this is not one. */
const RESULT_MAX_BYTES = 64 << 20;

/** Reads a result.json written by verify (for replay and audit), never a FIFO or device. */
export async function readVerifyResult(path: string): Promise<VerifyResult> {
  const text = (await readRegularFile(path, 'result.json', RESULT_MAX_BYTES)).toString('utf8');
  return parseVerifyResult(text, path);
}

/** A result.json's text as a verification result, checked (pure). */
export function parseVerifyResult(text: string, subject: string): VerifyResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RebuildError('input', 'is not JSON', { subject });
  }
  const v = value as Partial<VerifyResult>;
  if (v?.schema !== 'rebuild.verify/1' || !v.inputs || !v.inputs.record) {
    throw new RebuildError(
      'input',
      `is not a verification result (schema ${JSON.stringify(v?.schema ?? null)}, want "rebuild.verify/1")`,
      { subject, fix: 'pass the result.json that `rebuild <pkg>` wrote' },
    );
  }
  return v as VerifyResult;
}
