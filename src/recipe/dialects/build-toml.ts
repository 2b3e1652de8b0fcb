import { archiveName, type BuildsRecipe, buildScript, loadBuildToml } from '../toml/builds.js';
import { archOfHost } from '../toml/soarpkgs.js';
import type { RecipeDialect, RecipeRecordBase } from './types.js';

export function buildTomlRecord(r: BuildsRecipe): RecipeRecordBase & Record<string, unknown> {
  return {
    file: r.file,
    pkg: r.name,
    pkg_id: r.name,
    pkg_type: 'static',
    dialect: 'build.toml',
    disabled: false,
    hosts: r.hosts,
    arches: [...new Set(r.hosts.map(archOfHost).filter((a) => a !== undefined))],
    pkgver: r.source.version,
    description: r.description ?? '',
    reason: r.reason ?? null,
    source: r.source,
    image: r.image,
    image_digest: r.imageDigest ?? null,
    deps: r.deps,
    deps_via: r.depsVia,
    target: r.target,
    env: r.env,
    script: buildScript(r),
    verify_run: r.verifyRun ?? null,
    artifacts: r.artifacts,
    tools: r.tools,
    extra: r.extra,
    archives: Object.fromEntries(r.hosts.map((h) => [h, archiveName(r, h)])),
    unknown_keys: r.unknownKeys,
  };
}

function human(r: BuildsRecipe): string {
  const src =
    r.source.kind === 'git'
      ? `${r.source.git} at ${r.source.commit}`
      : `${r.source.url} (sha256 ${r.source.sha256.slice(0, 12)}…, epoch ${r.source.epoch})`;
  const arches = [...new Set(r.hosts.map(archOfHost).filter(Boolean))];
  return [
    r.file,
    `  pkg       ${r.name} ${r.source.version}${r.reason ? ` (${r.reason})` : ''}`,
    '  recipe    build.toml dialect (pkgforge/builds, run by build.py)',
    `  hosts     ${r.hosts.join(', ')} -> ${arches.join(', ') || 'none rebuild builds for'}`,
    `  source    ${src}`,
    `  image     ${r.image}${r.imageDigest ? '' : '  (NOT pinned by digest: cannot be rebuilt faithfully)'}`,
    `  deps      ${r.deps.length > 0 ? `${r.depsVia} ${r.deps.join(' ')} (not version-pinned)` : '(none)'}`,
    `  artifact  ${r.artifacts.map((a) => `${a.from} -> ${a.to}`).join('; ')}`,
    `  rebuild   fetch the pinned commit, pull the image by digest, run sh -euc in /build with SOURCE_DATE_EPOCH from the commit,`,
    `            then write ${r.hosts.map((h) => archiveName(r, h)).join(', ')} like build.py and compare byte for byte`,
  ].join('\n');
}

export const buildTomlDialect: RecipeDialect = {
  name: 'build.toml',
  claims: (name) => name === 'build.toml',
  read(path) {
    const r = loadBuildToml(path);
    return { record: buildTomlRecord(r), human: human(r) };
  },
};
