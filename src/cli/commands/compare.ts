import { resolve } from 'node:path';
import type { Command } from 'commander';
import { compare } from '../../forensics/compare.js';
import type { Comparison } from '../../forensics/types.js';
import { renderHtml, renderMarkdown, renderText } from '../../report/index.js';
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
}

/** Exit code for a verdict: 0 identical, 1 equivalent, 2 different. */
export function exitCodeForVerdict(c: Comparison): number {
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
    .action(
      action(async (a: string, b: string, flags: CompareFlags) => {
        const c = await compare(resolve(a), resolve(b), { postProcessing: flags.postProcessing !== false });
        if (flags.markdown) await writeReport(flags.markdown, renderMarkdown(c));
        if (flags.html) await writeReport(flags.html, renderHtml(c));
        if (flags.json) process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
        else {
          process.stdout.write(
            renderText(c, { color: process.stdout.isTTY === true, width: process.stdout.columns ?? 100 }),
          );
        }
        return exitCodeForVerdict(c);
      }),
    );
}
