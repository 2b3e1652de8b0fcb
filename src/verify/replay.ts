/**
 * `rebuild replay <result.json>`: run a recorded verification again with
 * exactly its inputs (the manifest fetched by its recorded digest, the same
 * recipe digest or a refusal, the same pins, the same builder image ID when
 * the engine still has it) and say whether the verdict is the same.
 */
import { dirname, resolve } from 'node:path';
import type { BuildReporter } from '../build/build.js';
import type { ContainerLimits } from '../engine/types.js';
import type { ReportOptions } from '../report/options.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { RebuildError } from '../util/errors.js';
import { renderVerifyHtml, renderVerifyMarkdown } from './report.js';
import type { VerifyResult } from './types.js';
import type { UpstreamApi } from './upstream.js';
import { readVerifyResult, verifyRecord } from './verify.js';

export interface ReplayOptions {
  /** The result.json (or, with `before`, what it was read from: an evidence bundle). */
  resultPath: string;
  /** The recorded result, when it was read from somewhere else than resultPath as JSON. */
  before?: VerifyResult;
  /** Default: `<dir of result.json>.replay`. */
  outDir?: string;
  /** Use the engine's default limits instead of the recorded ones (a bundle's are its sender's). */
  defaultLimits?: boolean;
  /**
   * Limits given to replay (`--memory`, `--timeout`, …), over the recorded
   * ones (or, with `defaultLimits`, over the engine's defaults): a build that
   * ran out of memory or time can be replayed with more.
   */
  limits?: Partial<ContainerLimits>;
  /** Override the recorded network mode (a bundle from someone else never chooses `host`). */
  network?: 'none' | 'host';
  /** Override the recorded registry mirrors (the registry may have moved). */
  registry?: VerifyResult['inputs']['registry'];
  /** How the new reports are drawn (`--exclude`): never what is verified. */
  report?: ReportOptions;
  signal?: AbortSignal;
}

export interface ReplayOutcome {
  before: VerifyResult;
  after: VerifyResult;
  /** The verdict is the same. */
  same: boolean;
  /** What differs between the two runs (inputs and outputs), for people. */
  changes: string[];
}

/** Differences between two verifications of the same inputs. Pure. */
export function replayChanges(before: VerifyResult, after: VerifyResult): string[] {
  const out: string[] = [];
  const cmp = (what: string, a: string | undefined, b: string | undefined) => {
    if ((a ?? '') !== (b ?? '')) out.push(`${what}: ${a || '(none)'} → ${b || '(none)'}`);
  };
  cmp('verdict', before.verdict, after.verdict);
  cmp('manifest digest', before.inputs.manifestDigest, after.inputs.manifestDigest);
  cmp('recipe sha256', before.inputs.recipe.digest, after.inputs.recipe.digest);
  cmp('pkgver', before.inputs.pins.pkgver, after.inputs.pins.pkgver);
  cmp('source commit', before.inputs.pins.sourceCommit, after.inputs.pins.sourceCommit);
  cmp('builder image id', before.inputs.pins.image.id, after.inputs.pins.image.id);
  cmp('run image id', before.inputs.runImage?.id, after.inputs.runImage?.id);
  cmp('emulator', before.inputs.emulator, after.inputs.emulator);
  cmp('limits', limitsLine(before.build?.inputs.limits), limitsLine(after.build?.inputs.limits));
  cmp('rebuilt sha256', before.rebuilt?.sha256, after.rebuilt?.sha256);
  cmp('published sha256', before.published.sha256, after.published.sha256);
  return out;
}

function limitsLine(l: Partial<ContainerLimits> | undefined): string | undefined {
  if (!l) return undefined;
  return [
    l.memoryBytes !== undefined ? `memory ${+(l.memoryBytes / 1024 ** 3).toFixed(2)} GiB` : '',
    l.cpus !== undefined ? `cpus ${l.cpus}` : '',
    l.pids !== undefined ? `pids ${l.pids}` : '',
    l.timeoutMs !== undefined ? `timeout ${+(l.timeoutMs / 60_000).toFixed(2)} min` : '',
    l.diskReserveBytes !== undefined
      ? `disk reserve ${+(l.diskReserveBytes / 1024 ** 3).toFixed(2)} GiB`
      : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** `<dir of result.json>.replay`, or `<bundle without .tar.gz>.replay` beside a bundle. */
function defaultReplayDir(resultPath: string, fromBundle: boolean): string {
  return fromBundle
    ? `${resultPath.replace(/\.tar\.gz$|\.tgz$/, '')}.replay`
    : `${dirname(resultPath)}.replay`;
}

export async function replayVerification(
  opts: ReplayOptions,
  reporter: BuildReporter,
  upstream?: UpstreamApi,
): Promise<ReplayOutcome> {
  const resultPath = resolve(opts.resultPath);
  const before = opts.before ?? (await readVerifyResult(resultPath));
  const inputs = before.inputs;
  const record = inputs.packageRecord;
  if (!record) {
    throw new RebuildError('input', 'the result does not carry the package record it verified', {
      subject: resultPath,
      fix: 'replay results written by this version of rebuild, or run `rebuild <pkg>` again',
    });
  }
  if (!inputs.manifestDigest) {
    throw new RebuildError(
      'input',
      'the recorded run never fetched the artifact: there is nothing to replay',
      {
        subject: resultPath,
        fix: `run \`rebuild ${inputs.query} --arch ${inputs.arch}\` instead`,
      },
    );
  }
  const images = [
    ...(inputs.pins.image.asWritten && inputs.pins.image.id
      ? [{ asWritten: inputs.pins.image.asWritten, id: inputs.pins.image.id }]
      : []),
    ...(inputs.innerImages ?? []).map((i) => ({ asWritten: i.asWritten, id: i.id })),
  ].filter((i) => i.asWritten !== 'host-runner');
  const after = await verifyRecord(record, {
    opts: {
      query: inputs.query,
      arch: inputs.arch,
      metadata: inputs.metadata,
      registry: opts.registry ?? inputs.registry,
      outDir: opts.outDir ?? defaultReplayDir(resultPath, Boolean(opts.before)),
      network: opts.network ?? inputs.network,
      limits: { ...(opts.defaultLimits ? {} : before.build?.inputs.limits), ...opts.limits },
      signal: opts.signal,
      ...(opts.report ? { report: opts.report } : {}),
      // A local recipe (--recipe) is replayed from the copy the result kept.
      ...(inputs.recipe.local ? { recipeFile: inputs.recipe.path } : {}),
    },
    reporter,
    upstream,
    replay: {
      recipeDigest: inputs.recipe.digest || undefined,
      manifestDigest: inputs.manifestDigest,
      images,
      record,
    },
  });
  const changes = replayChanges(before, after);
  const same = before.verdict === after.verdict;
  after.replayOf = {
    result: resultPath,
    verdict: before.verdict,
    same,
    changes,
    ...(opts.limits && Object.keys(opts.limits).length ? { limits: opts.limits } : {}),
  };
  await writeJsonAtomic(after.reports.json, after);
  if (after.reports.markdown) await writeFileAtomic(after.reports.markdown, renderVerifyMarkdown(after));
  if (after.reports.html) await writeFileAtomic(after.reports.html, renderVerifyHtml(after));
  return { before, after, same, changes };
}
