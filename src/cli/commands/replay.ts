import { type Command, Option } from 'commander';
import { onInterrupt } from '../../engine/cleanup.js';
import { isBundleFile, readBundle } from '../../evidence/bundle.js';
import { replayVerification } from '../../verify/replay.js';
import { renderVerifyText } from '../../verify/report.js';
import type { VerifyResult } from '../../verify/types.js';
import { parseVerifyResult } from '../../verify/verify.js';
import { action } from '../action.js';
import { exitCodeHelp, verifyExitCode } from '../exit-codes.js';
import { addLimitOptions, type LimitFlags, limitsFromFlags } from '../options.js';
import { addExcludeOption } from '../outputs.js';
import { describe } from '../registry.js';
import { terminal } from '../terminal.js';
import { parseMirror } from '../upstream-options.js';

/** The recorded result inside an evidence bundle, or undefined for a result.json (read by replay itself). */
async function recordedResult(path: string): Promise<VerifyResult | undefined> {
  if (!(await isBundleFile(path))) return undefined;
  const entries = await readBundle(path);
  return parseVerifyResult(entries.get('result.json')!.toString('utf8'), `${path}:result.json`);
}

interface ReplayFlags extends LimitFlags {
  registryMirror?: string[];
  network?: 'none' | 'host';
  out?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  exclude?: string[];
}

export function register(program: Command): void {
  const cmd = program
    .command('replay')
    .description(describe('replay'))
    .argument('<result>', 'a result.json written by `rebuild <pkg>`, or an evidence bundle (.tar.gz)');
  // Raising a limit is the one input a replay may change (a build that ran out of memory or time).
  addExcludeOption(addLimitOptions(cmd, '(default: as recorded, else '))
    .option('--out <dir>', 'output directory (default: <dir of result.json>.replay, or <bundle>.replay)')
    .option(
      '--registry-mirror <host=url>',
      "reach registry HOST at URL (repeatable); a bundle's own recorded mirrors are never followed",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .addOption(
      new Option(
        '--network <mode>',
        'network for build containers (default: as recorded; none for a bundle)',
      ).choices(['none', 'host']),
    )
    .option('--json', 'print the new result.json to stdout')
    .option('--verbose', 'plain log lines even in a terminal')
    .option('--quiet', 'no progress, only the result')
    .addHelpText(
      'after',
      '\nThe artifact is fetched by its recorded manifest digest; a recipe whose digest differs is refused\n' +
        '(exit 6); the recorded builder image is used again when the engine still has it, otherwise\n' +
        'the change is reported. --timeout, --memory, --cpus and --pids replace the recorded limits\n' +
        `(a bundle's are its sender's: the defaults are used) and are recorded in the new result.\n` +
        `Exits with the replayed verdict's code.\n${exitCodeHelp()}`,
    )
    .action(
      action(async (resultPath: string, flags: ReplayFlags) => {
        const controller = new AbortController();
        const unregister = onInterrupt(() => controller.abort());
        try {
          const { createReporter } = await import('../progress.js');
          const recorded = await recordedResult(resultPath);
          // Someone else's bundle names registries of its sender's choosing: replay reaches the
          // real registry (or the mirrors given here), never the ones recorded in the bundle.
          const mirrors = flags.registryMirror?.length
            ? { mirrors: Object.fromEntries(flags.registryMirror.map(parseMirror)) }
            : undefined;
          // Nor its cache path or network mode: the recorded values are the sender's.
          const registry = recorded ? (mirrors ?? {}) : mirrors;
          const network = recorded ? (flags.network ?? 'none') : flags.network;
          const outcome = await replayVerification(
            {
              resultPath,
              before: recorded,
              outDir: flags.out,
              registry,
              network,
              defaultLimits: Boolean(recorded),
              limits: limitsFromFlags(flags),
              ...(flags.exclude?.length ? { report: { exclude: flags.exclude } } : {}),
              signal: controller.signal,
            },
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
