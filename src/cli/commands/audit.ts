import type { Command } from 'commander';
import {
  type AuditRequest,
  dbLocation,
  defaultDbPath,
  defaultReportsDir,
  realVerifier,
  runAuditRequest,
} from '../../audit/audit.js';
import { createAuditProgress } from '../../audit/console.js';
import { runDistributedAudit } from '../../audit/farm/coordinator.js';
import { farmStatus, renderFarmStatus } from '../../audit/farm/status.js';
import { DEFAULT_RETRY, parseDeadline } from '../../audit/policy.js';
import { renderAuditJson, renderAuditText } from '../../audit/report.js';
import { AuditStore } from '../../audit/store.js';
import type { Verifier } from '../../audit/types.js';
import { onInterrupt } from '../../engine/cleanup.js';
import { type Arch, hostArch, parseArch } from '../../engine/types.js';
import type { RepoName } from '../../upstream/types.js';
import { RebuildError } from '../../util/errors.js';
import { action } from '../action.js';
import { configValues } from '../config.js';
import { ExitCode } from '../exit-codes.js';
import { addContainerOptions, type ContainerFlags, limitsFromFlags, positiveNumber } from '../options.js';
import { describe } from '../registry.js';
import { addUpstreamOptions, type UpstreamFlags, upstreamFromFlags } from '../upstream-options.js';

export const AUDIT_EXIT_HELP =
  '\nExit codes: 0 nothing got worse; 10 something got worse (a regression: reproducible or\n' +
  'equivalent before and different now, a new `different` verdict, or an upstream integrity\n' +
  'failure); 11 nothing regressed but a package newly fails to build or could not be verified;\n' +
  '3 bad arguments or packages list; 5 engine missing; 7 metadata unreachable; 8 the audit\n' +
  'database cannot be used (unreachable, credentials refused, not an audit database);\n' +
  '130 interrupted (the rest is left for the next audit).';

function list(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

function count(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new RebuildError('usage', `${name} must be a whole number ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}

interface AuditFlags extends UpstreamFlags, ContainerFlags {
  attest?: string;
  packages?: string;
  repo?: string[];
  type?: string[];
  name?: string;
  limit?: number;
  arch: string[];
  jobs: number;
  db: string;
  out: string;
  recheck?: boolean;
  retryFailed?: boolean;
  retries: number;
  mismatchRetries: number;
  backoff: number;
  deadline?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  distributed?: boolean;
  needs?: string;
  lease?: number;
}

/** With --attest: a verifier that signs each result (the key is read before anything runs). */
export async function attestingDeps(keyPath: string | undefined): Promise<{ verify?: Verifier }> {
  if (!keyPath) return {};
  const { loadSigningKey } = await import('../../evidence/keys.js');
  const { attestingVerifier } = await import('../../evidence/attesting-verifier.js');
  const key = await loadSigningKey(keyPath);
  return { verify: attestingVerifier(realVerifier, key) };
}

export function register(program: Command): void {
  const cmd = program
    .command('audit')
    .description(describe('audit'))
    .option(
      '--packages <file>',
      'packages to audit: one name or pkg_id per line (name#bincache to qualify), # comments',
    )
    .option('--repo <repos>', 'only these repositories: bincache, pkgcache (comma-separated)', list)
    .option('--type <types>', 'index mode: only these pkg_type values (comma-separated)', list)
    .option('--name <glob>', 'index mode: only names (pkg, pkg_name or pkg_id) matching this glob')
    .option('--limit <n>', 'index mode: at most this many packages per arch', count('--limit', 1))
    .option('--arch <arches>', `arches to audit, comma-separated (default ${hostArch()})`, list)
    .option('--jobs <n>', 'packages verified at once', count('--jobs', 1), configValues().jobs ?? 1)
    .option(
      '--db <path|url>',
      'audit database: an SQLite file, or a postgresql:// connection string (shared by a farm)',
      configValues().state_db ?? defaultDbPath(),
    )
    .option('--out <dir>', 'reports and per-package results (one audit-<id>/ per audit)', defaultReportsDir())
    .option('--recheck', 'verify again what is already verified with the same inputs')
    .option('--retry-failed', 'verify again packages whose last verdict (same inputs) was a build failure')
    .option(
      '--retries <n>',
      'further attempts after a build failure or error',
      count('--retries', 0),
      DEFAULT_RETRY.retries,
    )
    .option(
      '--mismatch-retries <n>',
      'further attempts to confirm a `different` that would be a regression or new',
      count('--mismatch-retries', 0),
      DEFAULT_RETRY.mismatchRetries,
    )
    .option(
      '--backoff <seconds>',
      'wait before the first retry of a failure, doubled each time',
      positiveNumber,
      DEFAULT_RETRY.backoffMs / 1000,
    )
    .option(
      '--deadline <when>',
      'start no new work after this: a time of day (06:30), a duration (5h, 90m) or an ISO time',
    )
    .option('--json', 'print the summary (summary.json) to stdout instead of text')
    .option('--quiet', 'print only the summary')
    .option(
      '--attest <key>',
      'sign every verdict with this Ed25519 key (attestation.intoto.jsonl beside each result)',
    )
    .option('--verbose', 'one line per package even in a terminal')
    .option(
      '--distributed',
      'enqueue the work for `rebuild worker`s (needs --db postgresql://…) and wait for them',
    )
    .option(
      '--needs <file>',
      'distributed: per-package resource needs, `<package or pkg_id> memory=16G` per line',
    )
    .option(
      '--lease <seconds>',
      'distributed: how long a job stays with a worker that stops renewing it (it died) before another takes it over (default 120 s)',
      count('--lease', 5),
    );
  cmd
    .command('status')
    .description(
      'the queue and the workers: queued, running (by worker), done, waiting; workers and what they build',
    )
    .option('--audit <id>', 'counts for this audit (default: the newest)', count('--audit', 1))
    .addHelpText(
      'after',
      "\n--db and --json are the audit command's: rebuild audit status --db postgresql://… --json\nExit codes: 0 shown; 8 the database cannot be used.",
    )
    .action(
      action(async (own: { audit?: number }, sub: Command) => {
        // --db and --json belong to `audit` (commander gives a parent's options to the parent).
        const flags = { ...(sub.parent?.opts() as { db: string; json?: boolean }), ...own };
        const store = await AuditStore.open(dbLocation(flags.db));
        try {
          const s = await farmStatus(store, flags.audit);
          process.stdout.write(flags.json ? `${JSON.stringify(s, null, 2)}\n` : renderFarmStatus(s));
          return ExitCode.ok;
        } finally {
          await store.close();
        }
      }),
    );
  addContainerOptions(cmd);
  addUpstreamOptions(cmd);
  cmd.addHelpText(
    'after',
    '\nWrites report.html, report.md and summary.json to <out>/audit-<id>/ (and <out>/latest points at the newest).' +
      AUDIT_EXIT_HELP,
  );
  cmd.action(
    action(async (flags: AuditFlags) => {
      const arches: Arch[] = [];
      for (const a of flags.arch ?? [hostArch()]) {
        const arch = parseArch(a);
        if (!arch)
          throw new RebuildError('usage', `--arch: unknown arch "${a}"`, {
            fix: 'use x86_64, aarch64 or both: --arch x86_64,aarch64',
          });
        if (!arches.includes(arch)) arches.push(arch);
      }
      const repos = flags.repo?.map((r) => {
        if (r !== 'bincache' && r !== 'pkgcache') {
          throw new RebuildError('usage', `--repo: unknown repository "${r}"`, {
            fix: 'use bincache, pkgcache or both',
          });
        }
        return r as RepoName;
      });
      if (flags.packages && (flags.type || flags.name || flags.limit)) {
        throw new RebuildError(
          'usage',
          '--type, --name and --limit select from the index; they do not apply to --packages',
          {
            fix: 'either list the packages in the file, or drop --packages and filter the index',
          },
        );
      }
      let deadline: Date | undefined;
      if (flags.deadline) {
        deadline = parseDeadline(flags.deadline);
        if (!deadline) {
          throw new RebuildError('usage', `--deadline: cannot read "${flags.deadline}"`, {
            fix: 'give a time of day (06:30), a duration (5h, 90m, 1h30m) or an ISO time (2026-01-02T06:00)',
          });
        }
        if (deadline.getTime() <= Date.now()) {
          throw new RebuildError('usage', `--deadline ${flags.deadline} has already passed`, {
            fix: 'give a later time, or a duration from now (5h) as a timer that catches up at boot should',
          });
        }
      }
      if (flags.distributed && flags.attest) {
        throw new RebuildError(
          'usage',
          'a distributed audit verifies nothing itself: --attest goes to the workers',
          {
            fix: 'run each `rebuild worker` with --attest KEY',
          },
        );
      }
      if (!flags.distributed && (flags.needs || flags.lease)) {
        throw new RebuildError('usage', '--needs and --lease apply to a distributed audit', {
          fix: 'add --distributed (with --db postgresql://…), or drop them',
        });
      }
      const { metadata, registry } = upstreamFromFlags(flags);
      const controller = new AbortController();
      const off = onInterrupt(() => controller.abort());
      try {
        const progress = createAuditProgress({ quiet: flags.quiet || flags.json, verbose: flags.verbose });
        const request: AuditRequest = {
          db: flags.db,
          reportsDir: flags.out,
          ...(flags.packages ? { packagesFile: flags.packages } : {}),
          filter: {
            ...(repos ? { repos } : {}),
            ...(flags.type ? { types: flags.type } : {}),
            ...(flags.name ? { name: flags.name } : {}),
          },
          ...(flags.limit ? { limit: flags.limit } : {}),
          arches,
          jobs: flags.jobs,
          recheck: flags.recheck,
          retryFailed: flags.retryFailed,
          retry: {
            retries: flags.retries,
            mismatchRetries: flags.mismatchRetries,
            backoffMs: flags.backoff * 1000,
          },
          ...(deadline ? { deadline } : {}),
          metadata,
          registry,
          network: flags.network,
          limits: limitsFromFlags(flags),
          imageMap: flags.imageMap,
          signal: controller.signal,
        };
        const run = flags.distributed
          ? await runDistributedAudit(
              {
                ...request,
                ...(flags.needs ? { needsFile: flags.needs } : {}),
                ...(flags.lease ? { leaseSeconds: flags.lease } : {}),
                ...(flags.quiet || flags.json ? {} : { log: (l: string) => process.stderr.write(`${l}\n`) }),
              },
              {},
            )
          : await runAuditRequest(request, { progress, ...(await attestingDeps(flags.attest)) });
        process.stdout.write(
          flags.json ? renderAuditJson(run.summary) : renderAuditText(run.summary, run.dir),
        );
        return run.exitCode;
      } finally {
        off();
      }
    }),
  );
}
