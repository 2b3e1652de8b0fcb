import type { Command } from 'commander';
import { dbLocation, defaultReportsDir } from '../../audit/audit.js';
import { parseTags, type WorkerMode } from '../../audit/farm/routing.js';
import { runWorker } from '../../audit/farm/worker.js';
import { onInterrupt } from '../../engine/cleanup.js';
import { type Arch, hostArch, parseArch } from '../../engine/types.js';
import { RebuildError } from '../../util/errors.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';
import { attestingDeps } from './audit.js';

interface WorkerFlags {
  attest?: string;
  db?: string;
  arch?: string[];
  native?: boolean;
  emulated?: boolean;
  tags?: string[];
  jobs: number;
  name?: string;
  out: string;
  maxJobs?: number;
  quiet?: boolean;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function whole(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new RebuildError('usage', `${name} must be a whole number ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}

/** `--arch` with `--native`/`--emulated`: the host's arch is native unless told otherwise, any other emulated. */
export function workerArches(
  flags: Pick<WorkerFlags, 'arch' | 'native' | 'emulated'>,
): Array<{ arch: Arch; mode: WorkerMode }> {
  if (flags.native && flags.emulated) {
    throw new RebuildError('usage', '--native and --emulated exclude each other', {
      fix: 'run one worker per way of building, or drop one of them',
    });
  }
  const out: Array<{ arch: Arch; mode: WorkerMode }> = [];
  for (const a of (flags.arch ?? [hostArch()]).flatMap((v) => v.split(','))) {
    const arch = parseArch(a.trim());
    if (!arch) {
      throw new RebuildError('usage', `--arch: unknown arch "${a}"`, { fix: 'use x86_64, aarch64 or both' });
    }
    const mode: WorkerMode = flags.native
      ? 'native'
      : flags.emulated
        ? 'emulated'
        : arch === hostArch()
          ? 'native'
          : 'emulated';
    if (!out.some((o) => o.arch === arch)) out.push({ arch, mode });
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description(describe('worker'))
    .requiredOption('--db <url>', 'the farm’s audit database: postgresql://user@host/dbname')
    .option('--arch <arches>', `arches this worker builds, comma-separated (default ${hostArch()})`, collect)
    .option('--native', 'the arches run natively here (a foreign arch is otherwise emulated)')
    .option('--emulated', 'the arches run under QEMU here (then native workers get them first)')
    .option(
      '--tags <k=v,…>',
      'what this machine offers, e.g. memory=64G,cpus=16 (matched against --needs)',
      collect,
    )
    .option('--jobs <n>', 'jobs at once', whole('--jobs', 1), 1)
    .option('--name <name>', 'this worker’s name in reports and `rebuild audit status` (default host:pid)')
    .option('--out <dir>', 'per-package results (one audit-<id>/ per audit)', defaultReportsDir())
    .option(
      '--max-jobs <n>',
      'stop after this many jobs (default: run until stopped)',
      whole('--max-jobs', 1),
    )
    .option('--quiet', 'print nothing but errors')
    .option(
      '--attest <key>',
      'sign every verdict with this Ed25519 key (attestation.intoto.jsonl beside each result)',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 stopped after --max-jobs; 130 stopped by SIGINT/SIGTERM (its running jobs go back\n' +
        'to the queue); 3 bad arguments; 5 engine missing; 8 the database cannot be used\n' +
        '(unreachable, credentials refused, not PostgreSQL).',
    )
    .action(
      action(async (flags: WorkerFlags) => {
        const arches = workerArches(flags);
        const tags = parseTags(flags.tags ?? []);
        const controller = new AbortController();
        const off = onInterrupt(() => controller.abort());
        try {
          const code = await runWorker(
            {
              db: dbLocation(flags.db ?? ''),
              arches,
              tags,
              jobs: flags.jobs,
              outDir: flags.out,
              signal: controller.signal,
              ...(flags.name ? { name: flags.name } : {}),
              ...(flags.maxJobs ? { maxJobs: flags.maxJobs } : {}),
              ...(flags.quiet ? {} : { log: (l: string) => process.stderr.write(`${l}\n`) }),
            },
            await attestingDeps(flags.attest),
          );
          return code === 130 ? ExitCode.interrupted : ExitCode.ok;
        } finally {
          off();
        }
      }),
    );
}
