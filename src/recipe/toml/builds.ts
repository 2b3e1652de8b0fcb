/**
 * pkgforge/builds' `packages/<name>/build.toml`: a source pinned by commit
 * (or a release artifact pinned by SHA-256), a builder image pinned by
 * digest, the script, and the artifacts published in a normalised
 * `.tar.gz`. Field meanings follow `build.py`, which is what runs them.
 */
import { createHash } from 'node:crypto';
import { parseImageName } from '../../engine/image-names.js';
import {
  Fields,
  HEX64,
  isSafeRelativePath,
  parseToml,
  readTomlText,
  type Table,
  unknownKeys,
} from './fields.js';

export type BuildsSource =
  | { kind: 'git'; git: string; commit: string; version: string }
  /** A pinned release artifact, unpacked (tarfile's "data" filter) as the source; dated by `epoch`. */
  | { kind: 'url'; url: string; sha256: string; version: string; epoch: number };

export interface PinnedDownload {
  url: string;
  sha256: string;
  /** Tool name (`[[tool]]`, put on /tools) or destination in the source tree (`[[extra]]`). */
  to: string;
}

export interface BuildsRecipe {
  file: string;
  name: string;
  description?: string;
  homepage: string[];
  license: string[];
  reason?: string;
  source: BuildsSource;
  /** As written: `<repo>@sha256:<hex>`. */
  image: string;
  /** `sha256:<hex>` when the image is pinned by digest. */
  imageDigest?: string;
  hosts: string[];
  deps: string[];
  depsVia: 'apk' | 'apt';
  /** Host → target triple (`$TARGET`, `${target}` in artifact paths). */
  target: Record<string, string>;
  /** `[build.env]`, in file order. */
  env: Record<string, string>;
  script: string;
  /** `[verify] run`: arguments build.py runs each built binary with (under qemu). */
  verifyRun?: string[];
  /** `[artifact]`: path in the source tree (with `${target}`) → published name, in file order. */
  artifacts: Array<{ from: string; to: string }>;
  tools: PinnedDownload[];
  extra: PinnedDownload[];
  unknownKeys: string[];
  fileSha256: string;
}

const TOP_KEYS = ['pkg', 'source', 'build', 'verify', 'artifact', 'tool', 'extra'];
const BUILD_KEYS = ['image', 'hosts', 'deps', 'deps_via', 'target', 'env', 'script'];
const COMMIT = /^[0-9a-f]{40}$/;

function pinned(f: Fields, t: Table, field: string, toKey: 'name' | 'to'): PinnedDownload {
  const sha256 = f.string(t, 'sha256', `${field}.sha256`, true);
  if (!HEX64.test(sha256)) f.fail(`${field}.sha256`, 'must be 64 lowercase hex digits');
  const to = f.string(t, toKey, `${field}.${toKey}`, true);
  if (!isSafeRelativePath(to) || (toKey === 'name' && to.includes('/')))
    f.fail(`${field}.${toKey}`, `"${to}" must be a relative path inside the tree`);
  return { url: f.string(t, 'url', `${field}.url`, true), sha256, to };
}

/**
 * build.py writes an extra at `repo / to` (making its parents), then stages it
 * as `stage / to` without making any, and archives only the stage's top level
 * (`stage.iterdir()`, `arcname=path.name`): an extra below a directory fails
 * its build, so pkgforge can never have published one. Refused here, like a
 * nested `[artifact]` name, rather than rebuilt into an archive pkgforge's
 * build.py cannot make.
 */
function publishedExtra(f: Fields, e: PinnedDownload, i: number): PinnedDownload {
  // pathlib drops `.` and empty components: `./LICENSE` is staged and archived as `LICENSE`.
  const parts = e.to.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length !== 1)
    f.fail(
      `extra[${i}].to`,
      `"${e.to}" is below a directory: pkgforge/builds publishes an extra under its \`to\` in a flat archive, and its build.py fails to stage a nested one`,
      `give the extra a plain file name (to = "${parts.at(-1) ?? 'name'}")`,
    );
  return { ...e, to: parts[0]! };
}

export function parseBuildToml(doc: Table, file: string, fileSha256: string): BuildsRecipe {
  const f: Fields = new Fields(file);
  const pkg = f.table(doc, 'pkg', 'pkg', true);
  const src = f.table(doc, 'source', 'source', true);
  const build = f.table(doc, 'build', 'build', true);
  const version = f.string(src, 'version', 'source.version', true);
  let source: BuildsSource;
  if (src.git !== undefined) {
    const commit = f.string(src, 'commit', 'source.commit', true);
    if (!COMMIT.test(commit))
      f.fail(
        'source.commit',
        `"${commit}" must be a full 40-hex-digit commit`,
        'pin the commit, not a branch or tag',
      );
    source = { kind: 'git', git: f.string(src, 'git', 'source.git', true), commit, version };
  } else if (src.url !== undefined) {
    const sha256 = f.string(src, 'sha256', 'source.sha256', true);
    if (!HEX64.test(sha256)) f.fail('source.sha256', 'must be 64 lowercase hex digits');
    const epoch = src.epoch ?? 0;
    if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0)
      f.fail('source.epoch', 'must be a Unix time in seconds');
    source = { kind: 'url', url: f.string(src, 'url', 'source.url', true), sha256, version, epoch };
  } else f.fail('source', 'needs `git` + `commit`, or `url` + `sha256`');
  const image = f.string(build, 'image', 'build.image', true);
  let imageDigest: string | undefined;
  try {
    imageDigest = parseImageName(image).digest;
  } catch {
    f.fail('build.image', `"${image}" is not an image reference`);
  }
  const depsVia = f.string(build, 'deps_via', 'build.deps_via') ?? 'apk';
  if (depsVia !== 'apk' && depsVia !== 'apt') f.fail('build.deps_via', 'must be "apk" or "apt"');
  const script = f.table(build, 'script', 'build.script', true);
  const verify = f.table(doc, 'verify', 'verify');
  const artifacts = Object.entries(f.table(doc, 'artifact', 'artifact', true)).map(([from, to]) => {
    if (typeof to !== 'string') f.fail(`artifact."${from}"`, 'must be a string (the published name)');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the recipe's own placeholder syntax
    if (!isSafeRelativePath(from.replaceAll('${target}', 't')))
      f.fail(`artifact."${from}"`, 'must be a relative path inside the source tree');
    if (to.includes('/') || to === '.' || to === '..' || to === '')
      f.fail(`artifact."${from}"`, `published name "${to}" must be a plain file name (the archive is flat)`);
    return { from, to };
  });
  if (artifacts.length === 0) f.fail('artifact', 'names no artifact');
  const hosts = f.strings(build, 'hosts', 'build.hosts');
  const target = f.stringMap(build, 'target', 'build.target');
  for (const h of hosts)
    if (target[h] === undefined)
      f.fail(`build.target."${h}"`, 'is missing: every host needs its target triple');
  return {
    file,
    name: f.string(pkg, 'name', 'pkg.name', true),
    description: f.string(pkg, 'description', 'pkg.description'),
    homepage: f.strings(pkg, 'homepage', 'pkg.homepage'),
    license: f.strings(pkg, 'license', 'pkg.license'),
    reason: f.string(pkg, 'reason', 'pkg.reason'),
    source,
    image,
    imageDigest,
    hosts,
    deps: f.strings(build, 'deps', 'build.deps'),
    depsVia,
    target,
    env: f.stringMap(build, 'env', 'build.env'),
    script: f.string(script, 'run', 'build.script.run', true),
    verifyRun: verify.run === undefined ? undefined : f.strings(verify, 'run', 'verify.run'),
    artifacts,
    tools: f.tables(doc, 'tool', 'tool').map((t, i) => pinned(f, t, `tool[${i}]`, 'name')),
    extra: f
      .tables(doc, 'extra', 'extra')
      .map((t, i) => publishedExtra(f, pinned(f, t, `extra[${i}]`, 'to'), i)),
    unknownKeys: [...unknownKeys(doc, TOP_KEYS), ...unknownKeys(build, BUILD_KEYS, 'build.')],
    fileSha256,
  };
}

export function loadBuildToml(path: string): BuildsRecipe {
  const { text, bytes } = readTomlText(path);
  return parseBuildToml(parseToml(text, path), path, createHash('sha256').update(bytes).digest('hex'));
}

/** build.py's prelude: deps installed before the script (`apk add --no-cache …`, or apt). */
export function depsPrelude(r: Pick<BuildsRecipe, 'deps' | 'depsVia'>): string {
  if (r.deps.length === 0) return '';
  if (r.depsVia === 'apt')
    return (
      'export DEBIAN_FRONTEND=noninteractive\n' +
      'apt-get update -qq\n' +
      `apt-get install -y --no-install-recommends ${r.deps.join(' ')}\n`
    );
  return `apk add --no-cache ${r.deps.join(' ')}\n`;
}

/** The script build.py passes to `sh -euc`. */
export function buildScript(r: Pick<BuildsRecipe, 'deps' | 'depsVia' | 'script'>): string {
  return depsPrelude(r) + r.script;
}

/** The archive build.py writes: `<name>-<version>-<host>.tar.gz`. */
export function archiveName(r: Pick<BuildsRecipe, 'name' | 'source'>, host: string): string {
  return `${r.name}-${r.source.version}-${host}.tar.gz`;
}

export const WORKDIR = '/build';

/**
 * The container environment build.py sets, in its order (a `[build.env]` key
 * that repeats one of the fixed ones wins, as the later `-e` does).
 */
export function buildEnv(r: BuildsRecipe, host: string, epoch: number): Record<string, string> {
  const env: Record<string, string> = {
    TARGET: r.target[host] ?? '',
    SOURCE_DATE_EPOCH: String(epoch),
    LC_ALL: 'C',
    TZ: 'UTC',
    CARGO_HOME: `${WORKDIR}/.cargo`,
  };
  for (const [k, v] of Object.entries(r.env)) env[k] = v;
  if (r.tools.length > 0) env.PATH = '/tools:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}
