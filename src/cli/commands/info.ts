import type { Command } from 'commander';
import type { Arch } from '../../engine/types.js';
import { profileById, requestForRecord, sourceOf } from '../../postprocess/index.js';
import { resolvePackageWithNotes } from '../../upstream/metadata.js';
import { OciClient, TITLE } from '../../upstream/oci.js';
import { findMainLayer } from '../../upstream/published.js';
import { formatReference } from '../../upstream/reference.js';
import type { PackageRecord } from '../../upstream/types.js';
import { isRebuildError } from '../../util/errors.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';
import { addUpstreamOptions, type UpstreamFlags, upstreamFromFlags } from '../upstream-options.js';
import { archOption, table } from './search.js';

interface InfoFlags extends UpstreamFlags {
  arch: Arch;
  json?: boolean;
  registry?: boolean;
}

interface ArtifactView {
  reference: string;
  manifestDigest: string;
  sbuild: { digest: string; size: number } | null;
  main: { name: string; digest: string; size: number } | null;
  files: Array<{ name: string; digest: string; size: number }>;
}

export interface InfoView {
  pkg: string;
  pkg_name: string;
  pkg_id: string;
  pkg_family: string | null;
  pkg_type: string | null;
  repo: string;
  arch: Arch;
  version: string;
  source_commit: { sha: string; date: string } | null;
  build_date: string;
  recipe: {
    /** The recipe of record: the SBUILD inside the published OCI artifact; null when ghcr_files has none. */
    of_record: string | null;
    /** Why there is none, and what to do. */
    missing?: string;
    artifact: ArtifactView | null;
    /** pkgforge's build_script URL: a mutable branch, not what was built. */
    build_script: string | null;
    build_script_mutable: true;
  };
  build_log: string | null;
  checksums: { shasum: string; bsum: string; ghcr_blob: string | null; size: number | null };
  files_of_record: string[];
  /** pkgforge's post-processing of record for this build: profile, where it comes from, its exact commands. */
  postprocess: {
    profile: string;
    source: string;
    commands: string[];
    reason: string;
    alternatives: string[];
  };
  /** Malformed fields verification does not need (ignored). */
  warnings: string[];
  /** What could not be checked (e.g. the registry unreachable). */
  unchecked?: string;
}

const NO_RECIPE =
  'ghcr_files lists no SBUILD: pkgforge published no recipe of record for this build (early-2025 bincache); rebuild it with --recipe FILE (e.g. the soarpkgs recipe of that date)';

function postprocessView(r: PackageRecord): InfoView['postprocess'] {
  const req = requestForRecord(r.repo, r.buildDate);
  const p = req.profile === 'none' ? undefined : profileById(req.profile);
  return {
    profile: req.profile,
    source: p ? sourceOf(p) : '',
    commands: p ? [...p.commands] : [],
    reason: req.reason,
    alternatives: req.alternatives ?? [],
  };
}

export function infoView(r: PackageRecord, artifact: ArtifactView | null): InfoView {
  return {
    pkg: r.pkg,
    pkg_name: r.pkgName,
    pkg_id: r.pkgId,
    pkg_family: r.pkgFamily ?? null,
    pkg_type: r.pkgType ?? null,
    repo: r.repo,
    arch: r.arch,
    version: r.version,
    source_commit: r.sourceCommit ?? null,
    build_date: r.buildDate,
    recipe: {
      of_record: r.soar
        ? `pinned upstream artifact ${r.soar.download_url} (soarpkgs version file; nothing to rebuild unless it is a pkgforge/builds archive)`
        : r.hasRecipeOfRecord === false
          ? null
          : `SBUILD in ${r.ghcrPkg}`,
      ...(r.hasRecipeOfRecord === false && !r.soar ? { missing: NO_RECIPE } : {}),
      artifact,
      build_script: r.buildScript ?? null,
      build_script_mutable: true,
    },
    build_log: r.buildLog ?? null,
    checksums: { shasum: r.shasum, bsum: r.bsum, ghcr_blob: r.ghcrBlob ?? null, size: r.sizeRaw ?? null },
    files_of_record: r.soar
      ? r.soar.files.map((f) => `${f.source || '(the artifact)'} -> ${f.to}`)
      : r.ghcrFiles.filter((f) => !f.endsWith('.sig')),
    postprocess: postprocessView(r),
    warnings: (r.warnings ?? []).map((w) => `${w.field}: ${w.message}`),
  };
}

export function renderInfo(v: InfoView): string {
  const rows: string[][] = [
    ['pkg_id', v.pkg_id],
    [
      'pkg_name',
      `${v.pkg_name}${v.pkg_family && v.pkg_family !== v.pkg_name ? ` (family ${v.pkg_family})` : ''}`,
    ],
    ['version', v.version],
  ];
  if (v.source_commit)
    rows.push([
      'source commit',
      `${v.source_commit.sha} (${v.source_commit.date}): the checkout is pinned to it`,
    ]);
  rows.push(['build date', v.build_date]);
  rows.push([
    'recipe',
    v.recipe.of_record ? `${v.recipe.of_record} (the recipe of record)` : `NONE: ${v.recipe.missing}`,
  ]);
  const a = v.recipe.artifact;
  if (a) {
    rows.push(['', `manifest ${a.manifestDigest}`]);
    rows.push([
      '',
      a.sbuild ? `SBUILD ${a.sbuild.digest} (${a.sbuild.size} bytes)` : 'the artifact has NO SBUILD layer',
    ]);
  } else if (!v.recipe.of_record?.startsWith('pinned'))
    rows.push(['', `(${v.unchecked ?? 'registry not asked: --no-registry'})`]);
  if (v.recipe.build_script)
    rows.push(['build_script', `${v.recipe.build_script} (mutable branch URL, not what was built)`]);
  if (v.build_log) rows.push(['build_log', v.build_log]);
  rows.push(['shasum', `${v.checksums.shasum} (SHA-256 of the main file)`]);
  rows.push(['bsum', `${v.checksums.bsum} (BLAKE3 of the main file)`]);
  if (v.checksums.size !== null) rows.push(['size', `${v.checksums.size} bytes`]);
  if (a?.main) {
    const agree = a.main.digest === `sha256:${v.checksums.shasum}`;
    rows.push([
      'main file',
      `${a.main.name}: layer ${a.main.digest}${agree ? ' (= shasum)' : ' (≠ shasum: upstream inconsistency)'}`,
    ]);
  }
  if (a) for (const f of a.files) rows.push(['file', `${f.name.padEnd(20)} ${f.digest} ${f.size}`]);
  else rows.push(['files', v.files_of_record.join(', ')]);
  const pp = v.postprocess;
  rows.push(['postprocess', `${pp.profile}${pp.source ? ` (${pp.source})` : ''}: ${pp.reason}`]);
  for (const c of pp.commands) rows.push(['', c]);
  if (pp.commands.length === 0) rows.push(['', 'pkgforge ran no post-processing commands']);
  for (const w of v.warnings) rows.push(['warning', w]);
  return `${v.pkg} ${v.version} (${v.repo}, ${v.arch})\n${table(rows.map((r) => [`  ${r[0]}`, r[1]!]))}\n`;
}

export function register(program: Command): void {
  const cmd = program
    .command('info')
    .description(describe('info'))
    .argument('<pkg>', 'pkg, pkg_name, pkg_id or pkg_family; qualify with #bincache, #pkgcache or #<pkg_id>')
    .addOption(archOption())
    .option('--json', 'print one JSON document')
    .option('--no-registry', 'do not ask the registry for the artifact manifest (metadata only)');
  addUpstreamOptions(cmd);
  cmd.action(
    action(async (query: string, flags: InfoFlags) => {
      const arch = flags.arch;
      const { metadata, registry } = upstreamFromFlags(flags);
      const { record, notes } = await resolvePackageWithNotes(query, arch, metadata);
      for (const n of notes) process.stderr.write(`note: ${n}\n`);
      let artifact: ArtifactView | null = null;
      let unchecked: string | undefined;
      // TOML era: no OCI artifact, the index entry is the whole record
      if (flags.registry !== false && !record.soar) {
        const m = await new OciClient(registry)
          .getManifest(record.ghcrPkg, record.arch)
          .catch((err: unknown) => {
            // Offline: show what the metadata says, and say what could not be checked.
            if (isRebuildError(err) && err.category === 'network') {
              unchecked = `registry not reachable (${err.message}): the artifact's files and digests were not checked`;
              return undefined;
            }
            throw err;
          });
        if (m) {
          const files = m.manifest.layers
            .filter((l) => l.annotations?.[TITLE] && !l.annotations[TITLE].endsWith('.sig'))
            .map((l) => ({ name: l.annotations![TITLE]!, digest: l.digest, size: l.size }));
          const sb = files.find((f) => f.name === 'SBUILD');
          artifact = {
            reference: formatReference(m.reference),
            manifestDigest: m.digest,
            sbuild: sb ? { digest: sb.digest, size: sb.size } : null,
            main: findMainLayer(record, files) ?? null,
            files,
          };
        }
      }
      const view = infoView(record, artifact);
      if (unchecked) {
        view.unchecked = unchecked;
        if (!flags.json) process.stderr.write(`note: ${unchecked}\n`);
      }
      process.stdout.write(flags.json ? `${JSON.stringify(view, null, 2)}\n` : renderInfo(view));
      return ExitCode.ok;
    }),
  );
}
