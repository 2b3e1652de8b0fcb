import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type ArtifactComparison, compareArtifact } from '../../forensics/artifact.js';
import type { Verdict } from '../../forensics/types.js';
import { renderArtifactHtml, renderArtifactMarkdown, renderArtifactText } from '../../report/artifact.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { RebuildError } from '../../util/errors.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

interface CompareFlags {
  json?: boolean;
  markdown?: string;
  html?: string;
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

/** Exit code for a verdict: 0 identical, 1 equivalent, 2 different. */
export function exitCodeForVerdict(c: { verdict: Verdict }): number {
  return c.verdict === 'identical'
    ? ExitCode.ok
    : c.verdict === 'equivalent'
      ? ExitCode.equivalent
      : ExitCode.different;
}

async function writeReport(path: string, content: string): Promise<void> {
  try {
    await writeFileAtomic(path, content);
  } catch (err) {
    throw new RebuildError(
      'input',
      `cannot write report: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        subject: path,
        fix: 'choose a writable path for the report',
        cause: err,
      },
    );
  }
}

export function register(program: Command): void {
  program
    .command('compare')
    .description(describe('compare'))
    .argument('<a>', 'the published file')
    .argument('<b>', 'the rebuilt file')
    .option('--json', 'print the comparison as one JSON document on stdout')
    .option('--markdown <file>', 'also write a Markdown report')
    .option('--html <file>', 'also write a self-contained HTML report')
    .option('--no-post-processing', "skip simulating pkgforge's objcopy+strip")
    .option(
      '--appimage-runtime <file>',
      "a trusted AppImage runtime: lets appimagetool's runtime in a repacked AppImage be proven against it",
    )
    .option('--max-unpacked-bytes <size>', 'refuse archives that unpack to more than this (default 2G)')
    .action(
      action(async (a: string, b: string, flags: CompareFlags) => {
        const c = await compareArtifact(resolve(a), resolve(b), {
          postProcessing: flags.postProcessing !== false,
          ...(flags.appimageRuntime ? { appimageRuntime: resolve(flags.appimageRuntime) } : {}),
          ...(flags.maxUnpackedBytes ? { limits: { maxBytes: parseBytes(flags.maxUnpackedBytes) } } : {}),
          onProgress: (line) => process.stderr.write(`${line}\n`),
        });
        if (flags.markdown) await writeReport(flags.markdown, renderArtifactMarkdown(c));
        if (flags.html) await writeReport(flags.html, renderArtifactHtml(c));
        if (flags.json) process.stdout.write(`${JSON.stringify(jsonDocument(c), null, 2)}\n`);
        else {
          process.stdout.write(
            renderArtifactText(c, {
              color: process.stdout.isTTY === true,
              width: process.stdout.columns ?? 100,
            }),
          );
        }
        return exitCodeForVerdict(c);
      }),
    );
}
