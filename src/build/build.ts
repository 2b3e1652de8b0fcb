import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { reapOrphans, removeContainersUsing } from '../engine/cleanup.js';
import { DEFAULT_LIMITS, effectiveCpus } from '../engine/container.js';
import { describeShortage, shortageFix } from '../engine/disk-guard.js';
import { connectEngine } from '../engine/docker.js';
import { detectEmulator } from '../engine/emulator.js';
import { describeHardening } from '../engine/hardening.js';
import type { Arch, ContainerLimits } from '../engine/types.js';
import type { Comparison } from '../forensics/types.js';
import {
  applyPostProcessing,
  DEFAULT_BUILD_PROFILE,
  type PostProcessRequest,
  resolvePostProcessRequest,
} from '../postprocess/index.js';
import {
  dockerRunRewriteApplies,
  envOfRecord,
  loadRecipeFile,
  parseRecipe,
  type RecipeGeneration,
  recipeEnv,
  renderScript,
  rewriteDockerRuns,
  versionsFromPkgverOutput,
} from '../recipe/index.js';
import { failureHint } from '../report/failure-hints.js';
import type { ReportOptions } from '../report/options.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { isRebuildError } from '../util/errors.js';
import { isProcessAlive } from '../util/process.js';
import { REBUILD_VERSION } from '../util/version.js';
import { collectOutputs } from './collect.js';
import { type EngineContext, resolveRunImage, runMainScript, runPkgverScript } from './execute.js';
import { type Expectations, expectationFromFlags, loadExpectations } from './expect.js';
import { BUILD_LOG_CAP_BYTES, CappedLog, LineSplitter } from './log-capture.js';
import { CONTAINER_PATHS, planBuild } from './plan.js';
import type { BuildResult } from './result.js';
import { verifyOutputs } from './verify.js';
import {
  createWorkspace,
  outDirError,
  publishStaging,
  RESULT_FILE,
  reapWorkspaces,
  removeWorkspace,
} from './workspace.js';

export interface BuildOptions {
  recipePath: string;
  arch: Arch;
  /** Default: rebuild-out/<pkg>/<arch>. */
  outDir?: string;
  pkgver?: string;
  network?: 'none' | 'host';
  limits?: Partial<ContainerLimits>;
  /** A CHECKSUM file, or a directory with CHECKSUM and the published files. */
  expect?: string;
  /**
   * By file name in `expect`: where that published file is kept, when
   * `expect` is a temporary copy (verify's): the reports name that place.
   */
  expectShownAs?: Readonly<Record<string, string>>;
  expectBsum?: string;
  expectShasum?: string;
  imageMap?: Record<string, string>;
  /** Image IDs in imageMap that are pkgforge's builders of record (recorded as such). */
  imagesOfRecord?: string[];
  /**
   * A builder the recipe pins by digest may be replaced by rebuild's local
   * stand-in (verify sets this: it records the builder of record as differing).
   * Otherwise such a recipe is refused.
   */
  digestStandIn?: boolean;
  /** Extra environment for the recipe's containers (e.g. `REBUILD_SOURCE_COMMIT`); recipe variables win. */
  env?: Record<string, string>;
  keepWork?: boolean;
  signal?: AbortSignal;
  /** Which of pkgforge's post-processing profiles to apply (default DEFAULT_BUILD_PROFILE). */
  postprocess?: PostProcessRequest;
  /** Which builder of record's environment and script header (default: the profile's, else by recipe dialect). */
  recipeGeneration?: RecipeGeneration;
  /** `set -x` in the header (default: bash CI yes, sbuild no; pkgcache ran sbuild verbose). */
  trace?: boolean;
  /** Receives each forensic comparison as a typed value (verify judges by it, never by its rendered files). */
  onComparison?: (output: string, comparison: Comparison) => void;
  /** What the forensic reports show (`--exclude`, `--max-diff-lines`, `--max-report-size`); never the verdict. */
  report?: ReportOptions;
}

/** How the build shows progress: steps (listr2 or plain lines) and log lines. */
export interface BuildReporter {
  step<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** One line of build output or a rebuild note, without the newline. */
  log(line: string): void;
}

/**
 * Rebuilds one recipe: runs it in its builder image, collects and
 * post-processes its outputs like pkgforge's CI, hashes them, compares them
 * with what was expected, and writes `<outDir>/result.json`. A failing build
 * still produces an output directory with its log and result; anything else
 * (bad input, missing engine, Ctrl-C) leaves no output directory behind.
 */
export async function buildRecipe(opts: BuildOptions, reporter: BuildReporter): Promise<BuildResult> {
  const startedAt = new Date();
  const loaded = loadRecipeFile(opts.recipePath);
  const recipeSha = loaded.sha256;
  const asked: ContainerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const limits: ContainerLimits = { ...asked, cpus: effectiveCpus(asked) };
  const postprocess = resolvePostProcessRequest(opts.postprocess ?? DEFAULT_BUILD_PROFILE);
  // The CI of record rewrote docker-run recipes before running them: run what it ran.
  const rewrite =
    postprocess.profile?.rewritesDockerRun && dockerRunRewriteApplies(loaded.recipe)
      ? rewriteDockerRuns(loaded.text, opts.arch)
      : undefined;
  const recipe =
    rewrite && rewrite.changed.length > 0 ? parseRecipe(rewrite.text, opts.recipePath) : loaded.recipe;
  const generation: RecipeGeneration =
    opts.recipeGeneration ??
    (postprocess.profile?.generation === 'sbuild'
      ? 'sbuild'
      : postprocess.profile?.generation === 'bash-ci'
        ? 'bash-ci'
        : recipe.dialect === '2026'
          ? 'sbuild'
          : 'bash-ci');
  // pkgcache ran `sbuild --log-level verbose`, which writes `set -x`
  const envRecord = envOfRecord(
    generation,
    recipe.shell,
    opts.trace ?? (postprocess.profile?.id === 'pkgcache-sbuild' ? true : undefined),
  );
  const plan = planBuild(recipe, { arch: opts.arch, pkgver: opts.pkgver, network: opts.network, limits });
  const expectations: Expectations = new Map();
  let publishedDir: string | undefined;
  if (opts.expect) {
    const set = await loadExpectations(opts.expect);
    for (const [k, v] of set.expectations) expectations.set(k, v);
    publishedDir = set.dir;
  }
  for (const [k, v] of expectationFromFlags(plan.mainProgram, {
    bsum: opts.expectBsum,
    shasum: opts.expectShasum,
  })) {
    expectations.set(k, { ...expectations.get(k), ...v });
  }

  const docker = await connectEngine();
  // Independent questions to the engine and the host: asked at once, not one round trip after another.
  const [emulator, , engineVersion, hardening] = await Promise.all([
    detectEmulator(opts.arch),
    (async () => {
      const reaped = await reapOrphans(docker);
      if (reaped > 0) reporter.log(`[rebuild] removed ${reaped} container(s) left by an earlier, killed run`);
      for (const dir of await reapWorkspaces((d) => removeContainersUsing(docker, d), isProcessAlive)) {
        reporter.log(`[rebuild] removed ${dir}, left by an earlier, killed run`);
      }
    })(),
    docker.version(),
    describeHardening(docker, { network: plan.network }),
  ]);
  const ws = await createWorkspace(opts.outDir ?? join('rebuild-out', recipe.pkg, opts.arch));
  const logPath = join(ws.staging, 'build.log');
  const logFile = createWriteStream(logPath, { flags: 'wx' });
  // A full or failing disk surfaces when the log is closed (below), never as an unhandled error.
  let logError: unknown;
  logFile.on('error', (err) => {
    logError ??= err;
  });
  const log = new CappedLog(logFile, BUILD_LOG_CAP_BYTES);
  const tail: string[] = [];
  let shownCap = false;
  const emit = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    if (!log.full) reporter.log(line);
    else if (!shownCap) {
      shownCap = true;
      reporter.log(`[rebuild] more than ${log.cap} bytes of output: the rest is neither shown nor logged`);
    }
  };
  const lines = new LineSplitter(emit);
  const onOutput = (chunk: Buffer) => {
    log.write(chunk);
    lines.push(chunk);
  };
  const note = (line: string) => onOutput(Buffer.from(`[rebuild] ${line}\n`));
  for (const n of plan.notes) note(n);
  if (rewrite)
    note(
      rewrite.changed.length > 0
        ? `the CI of record rewrote ${rewrite.changed.length} line(s) of the recipe before running it (${rewrite.source}): ${rewrite.changed.map((c) => `line ${c.line}: ${c.after.trim()}`).join('; ')}`
        : `the recipe already carries the CI of record's docker run rewrite (${rewrite.source})`,
    );
  const ctx: EngineContext = {
    docker,
    arch: opts.arch,
    network: plan.network,
    limits,
    imageMap: opts.imageMap,
    digestStandIn: opts.digestStandIn,
    ...(opts.imagesOfRecord?.length ? { ofRecord: new Set(opts.imagesOfRecord) } : {}),
    signal: opts.signal,
    note,
  };

  const result: BuildResult = {
    schema: 'rebuild.build/1',
    status: 'failed',
    recipe: {
      file: opts.recipePath,
      sha256: recipeSha,
      pkg: recipe.pkg,
      pkgId: recipe.pkgId,
      pkgType: recipe.pkgType,
      mode: recipe.mode,
    },
    arch: opts.arch,
    outDir: ws.outDir,
    inputs: {
      rebuildVersion: REBUILD_VERSION,
      image: { asWritten: '', tag: '', id: '', builder: '', inputsHash: '' },
      innerImages: [],
      emulator,
      pkgver: { source: plan.pkgver.source, value: plan.pkgver.value },
      recipeEnv: envRecord,
      ...(rewrite ? { recipeRewrite: { source: rewrite.source, changed: rewrite.changed } } : {}),
      network: plan.network,
      limits,
      engine: { version: engineVersion.Version, apiVersion: engineVersion.ApiVersion },
      hardening,
    },
    notes: plan.notes,
    outputs: [],
    missing: [],
    skippedOutputs: [],
    log: 'build.log',
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationMs: 0,
  };

  const finish = async () => {
    lines.flush();
    const capNote = log.close();
    if (capNote) result.notes = [...result.notes, capNote];
    await new Promise<void>((resolve) => {
      logFile.once('error', () => resolve());
      logFile.end(resolve);
    });
    if (logError) throw logError;
    const finishedAt = new Date();
    result.finishedAt = finishedAt.toISOString();
    result.durationMs = finishedAt.getTime() - startedAt.getTime();
    await writeJsonAtomic(join(ws.staging, RESULT_FILE), result);
    await publishStaging(ws);
  };

  try {
    const image = await reporter.step(`Builder image for ${opts.arch}`, () =>
      resolveRunImage(ctx, plan.runImage),
    );
    result.inputs.image = image;
    note(`image ${image.asWritten} → ${image.tag} (${image.id})`);
    note(
      `emulator: ${emulator.kind === 'native' ? 'native' : `${emulator.version} via ${emulator.handler} (flags ${emulator.flags})`}`,
    );

    const baseEnv = (pkgver: string, remotePkgver?: string) => ({
      ...opts.env,
      ...recipeEnv(recipe, {
        arch: opts.arch,
        pkgver,
        generation,
        ...(remotePkgver !== undefined ? { remotePkgver } : {}),
        outdir: CONTAINER_PATHS.outDir,
        tmpdir: CONTAINER_PATHS.tmpDir,
      }),
    });
    let pkgver = plan.pkgver.value ?? '';
    let remotePkgver: string | undefined;
    if (plan.pkgver.source === 'script' && recipe.pkgverScript) {
      const script = `#!/usr/bin/env ${recipe.shell}\n${recipe.pkgverScript}\n`;
      const printed = await reporter.step('Version (x_exec.pkgver)', () =>
        runPkgverScript(ctx, ws, image, script, baseEnv(''), onOutput),
      );
      const v = versionsFromPkgverOutput(generation, printed);
      pkgver = v.pkgver;
      remotePkgver = v.remotePkgver;
      result.inputs.pkgver.value = pkgver;
      if (remotePkgver !== pkgver) result.inputs.pkgver.remote = remotePkgver;
    }
    note(`PKGVER=${pkgver || '(none)'} (${plan.pkgver.source})`);
    note(`environment of record: ${generation} (${envRecord.source}): ${envRecord.versionSemantics}`);

    const main = await reporter.step(`Running ${recipe.pkg} (${plan.mode})`, () =>
      runMainScript(
        ctx,
        ws,
        image,
        plan.runImage.role,
        renderScript(recipe, envRecord),
        baseEnv(pkgver, remotePkgver),
        onOutput,
      ),
    );
    result.inputs.innerImages = main.innerImages;
    // The inner containers share the build's deadline: whichever timer fires first, the build timed out.
    if (main.innerTimedOut && main.outcome.exitCode !== 0) main.outcome.timedOut = true;
    const diskFull = main.outcome.diskFull ?? main.diskFullInner;
    if (main.outcome.timedOut || main.outcome.exitCode !== 0 || main.outcome.oomKilled || diskFull) {
      const message = diskFull
        ? `the build was stopped: ${describeShortage(diskFull, 'fell to')}`
        : main.outcome.timedOut
          ? `the build hit its time limit (${Math.round(limits.timeoutMs / 1000)} s) and was stopped`
          : main.outcome.oomKilled
            ? `the build container was killed for exceeding its memory limit (${(limits.memoryBytes / 1024 ** 3).toFixed(1)} GiB)`
            : `the build script exited with status ${main.outcome.exitCode}`;
      result.failure = {
        message,
        exitCode: main.outcome.exitCode,
        timedOut: main.outcome.timedOut,
        logTail: [...tail],
        fix: diskFull
          ? shortageFix(diskFull)
          : main.outcome.timedOut
            ? 'raise the limit with --timeout <minutes>'
            : main.outcome.oomKilled
              ? 'raise the limit with --memory <GiB>, or lower the parallelism with --cpus <n>'
              : (failureHint({
                  exitCode: main.outcome.exitCode,
                  logTail: tail,
                  network: ctx.network,
                  memoryBytes: limits.memoryBytes,
                }) ?? 'read build.log in the output directory'),
      };
      await finish();
      return result;
    }

    const collected = await reporter.step('Collecting outputs', () => collectOutputs(ws.sbuild, ws.staging));
    result.skippedOutputs = collected.skipped;
    for (const s of collected.skipped) note(`not an output: ${s.name}: ${s.reason}`);
    if (!collected.files.includes(plan.mainProgram)) {
      const oom = main.oomKilledInner.length > 0;
      result.failure = {
        message: `the build did not produce ${plan.mainProgram} in $SBUILD_OUTDIR${oom ? ` (inner container ${main.oomKilledInner.join(', ')} was killed for exceeding its memory limit)` : ''}`,
        logTail: [...tail],
        fix: 'read build.log in the output directory',
      };
      await finish();
      return result;
    }
    result.postProcessing = await reporter.step("Post-processing like pkgforge's CI", () =>
      applyPostProcessing(ws.staging, { ...postprocess, onLog: note }),
    );
    const verified = await reporter.step('Hashing and verifying', () =>
      verifyOutputs({
        dir: ws.staging,
        files: collected.files,
        postProcessing: result.postProcessing,
        expectations,
        publishedDir,
        ...(opts.expectShownAs ? { publishedShownAs: opts.expectShownAs } : {}),
        mainProgram: plan.mainProgram,
        note,
        ...(opts.onComparison ? { onComparison: opts.onComparison } : {}),
        ...(opts.report ? { report: opts.report } : {}),
      }),
    );
    result.outputs = verified.outputs;
    result.missing = verified.missing;
    result.status = verified.status;
    if (verified.verdict) result.verdict = verified.verdict;
    await finish();
    return result;
  } catch (err) {
    // A build failure inside a step keeps its log; anything else leaves nothing half-made.
    if (isRebuildError(err) && err.category === 'build') {
      result.failure = { message: err.message, fix: err.fix, logTail: [...tail] };
      await finish().catch((e: unknown) => {
        throw outDirError(ws.outDir, e);
      });
      return result;
    }
    logFile.destroy();
    // Writing the outputs, log or result into --out failed (full, read-only): say so, leave nothing.
    throw outDirError(ws.outDir, err);
  } finally {
    // Only once no container can write the work directory: removal then follows nothing the recipe planted.
    const writers = await removeContainersUsing(docker, ws.root);
    if (writers.stillThere.length > 0) {
      reporter.log(`[rebuild] kept ${ws.root}: containers still use it (${writers.stillThere.join(', ')})`);
      await removeWorkspace(ws, { keepWork: true });
    } else await removeWorkspace(ws, { keepWork: opts.keepWork });
  }
}
