import type { Command } from 'commander';
import { onInterrupt } from '../../engine/cleanup.js';
import { replayVerification } from '../../verify/replay.js';
import { renderVerifyText } from '../../verify/report.js';
import { action } from '../action.js';
import { exitCodeHelp, verifyExitCode } from '../exit-codes.js';
import { terminal } from '../terminal.js';

interface ReplayFlags {
  out?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description(
      're-run a recorded verification (result.json) with exactly its inputs and say whether the verdict is the same',
    )
    .argument('<result.json>', 'a result.json written by `rebuild <pkg>`')
    .option('--out <dir>', 'output directory (default: <dir of result.json>.replay)')
    .option('--json', 'print the new result.json to stdout')
    .option('--verbose', 'plain log lines even in a terminal')
    .option('--quiet', 'no progress, only the result')
    .addHelpText(
      'after',
      '\nThe artifact is fetched by its recorded manifest digest; a recipe whose digest differs is refused\n' +
        '(exit 6); the recorded builder image is used again when the engine still has it, otherwise\n' +
        `the change is reported. Exits with the replayed verdict's code.\n${exitCodeHelp()}`,
    )
    .action(
      action(async (resultPath: string, flags: ReplayFlags) => {
        const controller = new AbortController();
        const unregister = onInterrupt(() => controller.abort());
        try {
          const { createReporter } = await import('../progress.js');
          const outcome = await replayVerification(
            { resultPath, outDir: flags.out, signal: controller.signal },
            createReporter({ verbose: flags.verbose, quiet: flags.quiet || flags.json }),
          );
          const { after, before, same, changes } = outcome;
          if (flags.json) process.stdout.write(`${JSON.stringify(after, null, 2)}\n`);
          else {
            process.stdout.write(
              renderVerifyText(after, { color: terminal().color, width: terminal().columns }),
            );
            process.stdout.write(
              same
                ? `\nsame verdict: ${after.verdict} (recorded ${before.startedAt})\n`
                : `\nverdict CHANGED: ${before.verdict} → ${after.verdict}\n`,
            );
            for (const c of changes.filter((x) => !x.startsWith('verdict:')))
              process.stdout.write(`  changed: ${c}\n`);
          }
          return verifyExitCode(after);
        } finally {
          unregister();
        }
      }),
    );
}
