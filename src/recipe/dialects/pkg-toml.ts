import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RebuildError } from '../../util/errors.js';
import {
  archOfHost,
  installFor,
  isVersionFileName,
  loadSoarPackage,
  newestVersion,
  type SoarPackage,
  type SoarVersion,
} from '../toml/soarpkgs.js';
import type { RecipeDialect, RecipeRecordBase } from './types.js';

/** Release downloads of pkgforge/builds: artifacts pkgforge built itself (rebuildable from a build.toml). */
export const BUILDS_RELEASES = 'https://github.com/pkgforge/builds/releases/download/';

export type ArtifactOrigin = 'upstream' | 'pkgforge/builds';

export function originOf(url: string): ArtifactOrigin {
  return url.startsWith(BUILDS_RELEASES) ? 'pkgforge/builds' : 'upstream';
}

function versionRecord(pkg: SoarPackage, v: SoarVersion) {
  return {
    version: v.version,
    date: v.date ?? null,
    file: v.file,
    hosts: Object.fromEntries(
      Object.entries(v.url).map(([host, url]) => [
        host,
        {
          url,
          size: v.size[host] ?? null,
          blake3: v.blake3[host] ?? null,
          sha256: v.sha256[host] ?? null,
          origin: originOf(url),
          install: installFor(pkg, host, v.version),
        },
      ]),
    ),
    extra: v.extra,
  };
}

export function soarPackageRecord(
  pkg: SoarPackage,
  only?: SoarVersion,
): RecipeRecordBase & Record<string, unknown> {
  const versions = only ? [only] : pkg.versions;
  const newest = versions.length > 0 ? newestVersion(versions) : undefined;
  const arches = [...new Set(pkg.hosts.map(archOfHost).filter((a) => a !== undefined))];
  return {
    file: only ? only.file : pkg.file,
    pkg: pkg.name,
    pkg_id: pkg.name,
    pkg_type: pkg.type ?? null,
    dialect: 'pkg.toml',
    disabled: pkg.disabled,
    hosts: pkg.hosts,
    arches,
    pkgver: newest?.version ?? null,
    description: pkg.description ?? '',
    family: pkg.family ?? null,
    channel: pkg.channel,
    src_url: pkg.src,
    update: pkg.update ?? null,
    source: {
      url: pkg.source.url ?? null,
      github: pkg.source.github ?? null,
      glob: pkg.source.glob ?? null,
    },
    versions: versions.map((v) => versionRecord(pkg, v)),
    version_errors: pkg.versionErrors,
    unknown_keys: [...pkg.unknownKeys, ...versions.flatMap((v) => v.unknownKeys)],
  };
}

function human(pkg: SoarPackage, only?: SoarVersion): string {
  const versions = only ? [only] : pkg.versions;
  const lines = [
    only ? only.file : pkg.file,
    `  pkg       ${pkg.name}${pkg.type ? `, ${pkg.type}` : ''}${pkg.disabled ? ', DISABLED' : ''}`,
    `  recipe    pkg.toml dialect (soarpkgs, declarative: nothing executes), ${versions.length} version file(s)`,
    `  hosts     ${pkg.hosts.join(', ') || '(none)'} -> ${[...new Set(pkg.hosts.map(archOfHost).filter(Boolean))].join(', ') || 'none rebuild builds for'}`,
  ];
  const newest = versions.length > 0 ? newestVersion(versions) : undefined;
  if (newest) {
    lines.push(`  version   ${newest.version}${newest.date ? ` (${newest.date})` : ''}`);
    for (const [host, url] of Object.entries(newest.url)) {
      const origin = originOf(url);
      lines.push(
        `  ${host.padEnd(14)}${newest.size[host] ?? '?'} bytes, blake3 ${(newest.blake3[host] ?? '').slice(0, 12)}…, ${origin === 'upstream' ? 'upstream release' : 'built by pkgforge/builds'}`,
      );
      const install = installFor(pkg, host, newest.version);
      if (install.length > 0)
        lines.push(
          `  ${''.padEnd(14)}installs ${install
            .slice(0, 4)
            .map(
              (m) =>
                `${m.source || '(the file)'} -> ${m.to}${m.alias.length ? ` (+${m.alias.join(', ')})` : ''}`,
            )
            .join('; ')}${install.length > 4 ? `; … ${install.length - 4} more` : ''}`,
        );
    }
    const fromBuilds = Object.values(newest.url).some((u) => originOf(u) === 'pkgforge/builds');
    lines.push(
      '  rebuild   fetch the pinned URL, check size, BLAKE3, SHA-256 and the signed index; upstream binaries have no recipe to rebuild',
    );
    if (fromBuilds)
      lines.push(
        '            pkgforge/builds artifacts: rebuild its build.toml and compare the archive byte for byte',
      );
  }
  for (const e of pkg.versionErrors) lines.push(`  invalid   ${e.file}: ${e.error}`);
  return lines.join('\n');
}

export const pkgTomlDialect: RecipeDialect = {
  name: 'pkg.toml',
  claims: (name) => name === 'pkg.toml',
  read(path) {
    if (basename(path) === 'pkg.toml') {
      const pkg = loadSoarPackage(path);
      return { record: soarPackageRecord(pkg), human: human(pkg) };
    }
    // a version file given by itself: read with its pkg.toml, report that version only
    const pkgToml = join(dirname(path), 'pkg.toml');
    if (!isVersionFileName(basename(path)) || !existsSync(pkgToml))
      throw new RebuildError('input', 'is not a soarpkgs version file (no pkg.toml beside it)', {
        subject: path,
      });
    const pkg = loadSoarPackage(pkgToml);
    const bad = pkg.versionErrors.find((e) => e.file === path);
    if (bad) throw new RebuildError('input', bad.error, { subject: path });
    const only = pkg.versions.find((v) => v.file === path);
    if (!only) throw new RebuildError('input', 'could not be read as a version file', { subject: path });
    return { record: soarPackageRecord(pkg, only), human: human(pkg, only) };
  },
};

/** True for a `<name>-<version>.toml` that has a pkg.toml beside it. */
export function isSoarVersionFile(path: string): boolean {
  return isVersionFileName(basename(path)) && existsSync(join(dirname(path), 'pkg.toml'));
}
