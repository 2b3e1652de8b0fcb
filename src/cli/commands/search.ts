import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Arch } from '../../engine/types.js';
import { loadMetadata } from '../../upstream/metadata.js';
import { describeInvalid, REPOS, searchRecords } from '../../upstream/records.js';
import type { PackageRecord, RepoName } from '../../upstream/types.js';
import { action } from '../action.js';
import { exitCodeForMatches } from '../exit-codes.js';
import { archOption } from '../options.js';
import { describe } from '../registry.js';
import { addUpstreamOptions, type UpstreamFlags, upstreamFromFlags } from '../upstream-options.js';

export { archOption };

function wholeNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number (0 = all)');
  return n;
}

function repoOption(v: string): RepoName {
  const r = v.toLowerCase();
  if (!(REPOS as readonly string[]).includes(r))
    throw new InvalidArgumentError('must be bincache or pkgcache');
  return r as RepoName;
}

interface SearchFlags extends UpstreamFlags {
  arch: Arch;
  repo?: RepoName;
  json?: boolean;
  limit: number;
}

/** Lines of a left-aligned table. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

function jsonLine(r: PackageRecord): string {
  return JSON.stringify({
    pkg: r.pkg,
    pkg_name: r.pkgName,
    pkg_id: r.pkgId,
    pkg_family: r.pkgFamily ?? null,
    repo: r.repo,
    arch: r.arch,
    version: r.version,
    build_date: r.buildDate,
    description: typeof r.raw.description === 'string' ? r.raw.description : null,
    ghcr_pkg: r.ghcrPkg,
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('search')
    .description(describe('search'))
    .argument('<term>', 'part of a name (pkg, pkg_name, pkg_id, pkg_family) or of the description')
    .addOption(archOption())
    .addOption(new Option('--repo <repo>', 'only bincache or pkgcache').argParser(repoOption))
    .option('--json', 'print JSON Lines, one record per line')
    .option('--limit <n>', 'show at most N results (0 = all)', wholeNumber, 50);
  addUpstreamOptions(cmd);
  cmd.action(
    action(async (term: string, flags: SearchFlags) => {
      const arch = flags.arch;
      const { metadata } = upstreamFromFlags(flags);
      if (flags.repo && !metadata.override) metadata.repos = [flags.repo];
      const index = await loadMetadata(metadata, arch);
      for (const n of index.notes ?? []) process.stderr.write(`note: ${n}\n`);
      const records = index.records.filter((r) => !flags.repo || r.repo === flags.repo);
      const hits = searchRecords(records, term);
      const limit = flags.limit;
      const shown = limit > 0 ? hits.slice(0, limit) : hits;
      const t = term.toLowerCase();
      const badHits = index.invalid.filter(
        (i) => (!flags.repo || i.repo === flags.repo) && i.names.some((n) => n.toLowerCase().includes(t)),
      );
      if (flags.json) {
        for (const r of shown) process.stdout.write(`${jsonLine(r)}\n`);
      } else if (shown.length > 0) {
        const rows = [['PKG_NAME', 'PKG', 'PKG_ID', 'REPO', 'VERSION', 'BUILD DATE']];
        for (const r of shown) rows.push([r.pkgName, r.pkg, r.pkgId, r.repo, r.version, r.buildDate]);
        process.stdout.write(`${table(rows)}\n`);
      }
      if (shown.length < hits.length) {
        process.stderr.write(`(${hits.length - shown.length} more; use --limit 0 to show all)\n`);
      }
      for (const bad of badHits)
        process.stderr.write(`note: invalid record not shown: ${describeInvalid(bad)}\n`);
      if (hits.length === 0 && !flags.json) {
        process.stderr.write(
          `rebuild: no package matches "${term}" for ${arch}${flags.repo ? ` in ${flags.repo}` : ''}\n` +
            `  fix: try a shorter or different word${flags.repo ? ', or drop --repo' : ''}${arch ? ', or another --arch' : ''}\n`,
        );
      }
      return exitCodeForMatches(hits.length);
    }),
  );
}
