import { resolve } from 'node:path';
import type { Command } from 'commander';
import { compare } from '../../forensics/compare.js';
import { renderHtml, renderMarkdown, renderText } from '../../report/index.js';
import { action } from '../action.js';
import { exitCodeForVerdict, exitCodeHelp } from '../exit-codes.js';
import { addOutputOptions, type OutputFlags, writeOutputs } from '../outputs.js';

interface CompareFlags extends OutputFlags {
  postProcessing?: boolean;
  exclude: string[];
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  const cmd = program
    .command('compare')
    .description(
      'compare two files (a = published, b = rebuilt) and explain every difference: exit 0 identical, 1 equivalent, 2 different, 3 bad input',
    )
    .argument('<a>', 'the published file')
    .argument('<b>', 'the rebuilt file');
  addOutputOptions(cmd, 'the comparison')
    .option(
      '--exclude <glob>',
      'leave regions (sections, headers) whose name matches GLOB out of the report (repeatable; the verdict still counts them)',
      collect,
      [],
    )
    .option('--no-post-processing', "skip simulating pkgforge's objcopy+strip")
    .addHelpText('after', exitCodeHelp())
    .action(
      action(async (a: string, b: string, flags: CompareFlags) => {
        const c = await compare(resolve(a), resolve(b), { postProcessing: flags.postProcessing !== false });
        const ropts = {
          maxDiffLines: flags.maxDiffLines,
          maxReportSize: flags.maxReportSize,
          exclude: flags.exclude,
        };
        await writeOutputs(
          flags,
          {
            text: (t) => renderText(c, { ...t, ...ropts }),
            json: () => `${JSON.stringify(c, null, 2)}\n`,
            markdown: () => renderMarkdown(c, ropts),
            html: () => renderHtml(c, ropts),
          },
          [a, b],
        );
        return exitCodeForVerdict(c.verdict);
      }),
    );
}
