import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type ArtifactComparison, compareArtifact } from '../../forensics/artifact.js';
import { prestartPairThreads } from '../../hash/prestart.js';
import { renderArtifact } from '../../report/artifact.js';
import { RebuildError } from '../../util/errors.js';
import { action } from '../action.js';
import { exitCodeForVerdict, exitCodeHelp } from '../exit-codes.js';
import { addOutputOptions, type OutputFlags, reportOptionsOf, writeOutputs } from '../outputs.js';
import { describe } from '../registry.js';

interface CompareFlags extends OutputFlags {
  postProcessing?: boolean;
  appimageRuntime?: string;
  maxUnpackedBytes?: string;
}

/** Plain files keep the file document (rebuild.compare/1); archives print the artifact document. */
function jsonDocument(c: ArtifactComparison): unknown {
  const plain = c.file && c.members.length === 0 && c.archive.length === 0 && c.explanations.length === 0;
  return plain && c.file?.verdict === c.verdict ? c.file : c;
}

function parseBytes(value: string): number {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(value.trim());
  const unit: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  if (!m?.[1]) {
    throw new RebuildError('usage', `--max-unpacked-bytes: not a size: "${value}"`, {
      fix: 'give bytes, or a number with K, M or G (e.g. 4G)',
    });
  }
  return Number(m[1]) * (m[2] ? (unit[m[2][0]?.toLowerCase() ?? ''] ?? 1) : 1);
}

export function register(program: Command): void {
  const cmd = program
    .command('compare')
    .description(describe('compare'))
    .argument('<a>', 'the published file')
    .argument('<b>', 'the rebuilt file');
  addOutputOptions(cmd, 'the comparison')
    .option('--no-post-processing', "skip simulating pkgforge's objcopy+strip")
    .option(
      '--appimage-runtime <file>',
      "a trusted AppImage runtime: lets appimagetool's runtime in a repacked AppImage be proven against it",
    )
    .option('--max-unpacked-bytes <size>', 'refuse archives that unpack to more than this (default: 2G)')
    .addHelpText('after', exitCodeHelp())
    .action(
      action(async (a: string, b: string, flags: CompareFlags) => {
        prestartPairThreads(resolve(a), resolve(b)).catch(() => undefined);
        const c = await compareArtifact(resolve(a), resolve(b), {
          postProcessing: flags.postProcessing !== false,
          ...(flags.appimageRuntime ? { appimageRuntime: resolve(flags.appimageRuntime) } : {}),
          ...(flags.maxUnpackedBytes ? { limits: { maxBytes: parseBytes(flags.maxUnpackedBytes) } } : {}),
          onProgress: (line) => process.stderr.write(`${line}\n`),
        });
        const ropts = reportOptionsOf(flags);
        await writeOutputs(
          flags,
          {
            text: (t) => renderArtifact('text', c, { ...t, ...ropts }),
            json: () => `${JSON.stringify(jsonDocument(c), null, 2)}\n`,
            markdown: () => renderArtifact('markdown', c, ropts),
            html: () => renderArtifact('html', c, ropts),
          },
          [a, b],
        );
        return exitCodeForVerdict(c.verdict);
      }),
    );
}
