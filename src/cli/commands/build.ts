import { basename, relative } from 'node:path';
import { type Command, Option } from 'commander';
import { buildRecipe } from '../../build/build.js';
import type { BuildResult } from '../../build/result.js';
import { onInterrupt } from '../../engine/cleanup.js';
import type { Arch } from '../../engine/types.js';
import { POSTPROCESS_CHOICES, type PostProcessRequest } from '../../postprocess/index.js';
import type { BuildSummaryView } from '../../report/build-view.js';
import { renderBuildHtml, renderBuildMarkdown, renderBuildSummary } from '../../report/index.js';
import { action } from '../action.js';
import { buildExitCode, exitCodeHelp } from '../exit-codes.js';
import { addContainerOptions, archOption, type ContainerFlags, limitsFromFlags } from '../options.js';
import {
  addOutputOptions,
  jsonOnStdout,
  type OutputFlags,
  reportOptionsOf,
  writeOutputs,
} from '../outputs.js';
import { describe } from '../registry.js';
import { runBuildsBuild } from '../toml-era.js';

interface BuildFlags extends ContainerFlags, OutputFlags {
  arch: Arch;
  out?: string;
  pkgver?: string;
  sourceCommit?: string;
  expect?: string;
  expectBsum?: string;
  expectShasum?: string;
  verbose?: boolean;
  quiet?: boolean;
  keepWork?: boolean;
  registryMirror?: string[];
  postprocess?: string;
}

export function toSummaryView(r: BuildResult): BuildSummaryView {
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r === '' ? '.' : r.startsWith('..') ? p : r;
  };
  const emulator = r.inputs.emulator;
  return {
    recipe: { file: r.recipe.file, pkg: r.recipe.pkg, pkgId: r.recipe.pkgId, pkgType: r.recipe.pkgType },
    arch: r.arch,
    outDir: rel(r.outDir),
    status: r.status,
    ...(r.verdict ? { verdict: r.verdict } : {}),
    outputs: r.outputs.map((o) => ({
      name: o.name,
      size: o.size,
      sha256: o.sha256,
      blake3: o.blake3,
      expected: o.expected,
      match: o.check === undefined ? undefined : o.check === 'match',
      stripped: o.unstripped !== undefined,
      unstrippedPath: o.unstripped?.path,
      comparison: o.comparison && {
        verdict: o.comparison.verdict,
        reportPath: `${rel(r.outDir)}/${o.comparison.reports.html}`,
        summary: o.comparison.summary,
        ...(o.comparison.excluded ? { excluded: o.comparison.excluded } : {}),
      },
    })),
    inputs: {
      image: `${r.inputs.image.asWritten} → ${r.inputs.image.tag}`,
      imageId: r.inputs.image.id,
      emulator:
        emulator.kind === 'native'
          ? undefined
          : `${emulator.version ?? emulator.handler} (binfmt flags: ${emulator.flags})`,
      pkgver: r.inputs.pkgver.value ? `${r.inputs.pkgver.value} (${r.inputs.pkgver.source})` : undefined,
      other: [
        ['recipe sha256', r.recipe.sha256],
        ['mode', r.recipe.mode],
        ['network', r.inputs.network],
        ...r.inputs.innerImages.map((i): [string, string] => [
          `inner ${i.name}`,
          `${i.asWritten} → ${i.tag}`,
        ]),
      ],
    },
    durationMs: r.durationMs,
    logPath: `${rel(r.outDir)}/${r.log}`,
    resultPath: `${rel(r.outDir)}/result.json`,
    failure: r.failure && { message: r.failure.message, fix: r.failure.fix, logTail: r.failure.logTail },
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('build')
    .description(describe('build'))
    .argument('<recipe>', 'path to an SBUILD recipe or a pkgforge/builds build.toml')
    .addOption(archOption())
    .option('--out <dir>', 'output directory (default: rebuild-out/<pkg>/<arch>)')
    .option('--pkgver <version>', 'pin PKGVER/PKG_VER instead of running x_exec.pkgver')
    .option('--source-commit <sha>', 'check out this commit after every `git clone` the recipe runs');
  addContainerOptions(cmd)
    .option('--expect <path>', 'a CHECKSUM file, or a directory with CHECKSUM and the published files')
    .option('--expect-bsum <blake3>', 'expected BLAKE3 of the main output (pkgforge: bsum)')
    .option('--expect-shasum <sha256>', 'expected SHA-256 of the main output (pkgforge: shasum)');
  addOutputOptions(cmd, 'the build summary (JSON: result.json)')
    .option('--verbose', 'plain log lines even in a terminal')
    .option('--quiet', 'no progress, only the result')
    .option('--keep-work', 'keep the work directory (for debugging)')
    .option(
      '--registry-mirror <host=url>',
      'build.toml: pull the digest-pinned image from URL instead of HOST (repeatable)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .addOption(
      new Option(
        '--postprocess <profile>',
        "pkgforge's post-processing to apply: a profile of record (see the README) or none",
      ).choices([...POSTPROCESS_CHOICES]),
    )
    .addHelpText('after', exitCodeHelp())
    .action(
      action(async (recipePath: string, flags: BuildFlags) => {
        const controller = new AbortController();
        const unregister = onInterrupt(() => controller.abort());
        try {
          if (basename(recipePath) === 'build.toml')
            return await runBuildsBuild(recipePath, flags, limitsFromFlags(flags), controller.signal);
          const { createReporter } = await import('../progress.js');
          const result = await buildRecipe(
            {
              recipePath,
              arch: flags.arch,
              outDir: flags.out,
              pkgver: flags.pkgver,
              env: flags.sourceCommit ? { REBUILD_SOURCE_COMMIT: flags.sourceCommit } : undefined,
              network: flags.network,
              limits: limitsFromFlags(flags),
              expect: flags.expect,
              expectBsum: flags.expectBsum,
              expectShasum: flags.expectShasum,
              imageMap: flags.imageMap,
              keepWork: flags.keepWork,
              ...(flags.postprocess
                ? {
                    postprocess: {
                      profile: flags.postprocess as PostProcessRequest['profile'],
                      reason: `--postprocess ${flags.postprocess}`,
                    },
                  }
                : {}),
              signal: controller.signal,
              report: reportOptionsOf(flags),
            },
            createReporter({ verbose: flags.verbose, quiet: flags.quiet || jsonOnStdout(flags) }),
          );
          const view = toSummaryView(result);
          await writeOutputs(flags, {
            text: (t) => renderBuildSummary(view, t),
            json: () => `${JSON.stringify(result, null, 2)}\n`,
            markdown: () => renderBuildMarkdown(view),
            html: () => renderBuildHtml(view),
          });
          return buildExitCode(result);
        } finally {
          unregister();
        }
      }),
    );
}
