/**
 * soarpkgs' declarative package format (since 2026-07-28): `packages/<name>/pkg.toml`
 * (identity, hosts, update policy, how to find the artifact, what to
 * install from it) and `<name>-<version>.toml` version files (the literal
 * URL, BLAKE3, SHA-256 and size per host). Nothing in it executes. The
 * install-map semantics follow sbuild's model (`src/port/model.rs`): a host
 * table replaces the shared list for that host alone; an entry without `to`
 * installs to `bin/<basename of from>`; `symlink_as` names sit beside `to`.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type Arch, parseArch } from '../../engine/types.js';
import { RebuildError } from '../../util/errors.js';
import {
  Fields,
  isSafeRelativePath,
  isTable,
  parseToml,
  readTomlText,
  type Table,
  unknownKeys,
} from './fields.js';

/** `x86_64-linux`, `aarch64-linux`, `riscv64-linux`: soarpkgs' host names. */
export type SoarHost = string;

export const SOAR_TYPES = ['static', 'appimage', 'onelf'] as const;

/** One `[source.install]` entry as written (before `${version}`/`${arch}` are expanded). */
export interface InstallRule {
  /** Path inside the artifact; absent: the artifact itself. */
  from?: string;
  to?: string;
  symlinkAs: string[];
}

export interface InstallSpec {
  shared: InstallRule[];
  perHost: Record<SoarHost, InstallRule[]>;
}

/** One file installed out of the artifact, for one host and version (as `sbuild meta` publishes it). */
export interface InstallMapping {
  /** Path inside the archive ('' = the artifact itself). */
  source: string;
  /** Installed path, relative to the package directory. */
  to: string;
  /** Other installed paths that are symlinks to `to`. */
  alias: string[];
}

export interface PinnedExtra {
  url: string;
  to: string;
  host?: SoarHost;
  blake3?: string;
  sha256?: string;
}

/** A version file: what a client acts on. */
export interface SoarVersion {
  file: string;
  version: string;
  date?: string;
  url: Record<SoarHost, string>;
  blake3: Record<SoarHost, string>;
  sha256: Record<SoarHost, string>;
  size: Record<SoarHost, number>;
  extra: PinnedExtra[];
  note?: string[];
  provides?: string[];
  /** SHA-256 of the file's bytes (a build input of record). */
  fileSha256: string;
  unknownKeys: string[];
}

export interface SoarPackage {
  /** The pkg.toml path. */
  file: string;
  dir: string;
  name: string;
  family?: string;
  type?: string;
  description?: string;
  channel: string;
  homepage: string[];
  license: string[];
  maintainer: string[];
  category: string[];
  src: string[];
  note: string[];
  portable: boolean;
  disabled: boolean;
  disabledReason?: string;
  hosts: SoarHost[];
  /** Host arch → what upstream calls it. */
  arch: Record<string, string>;
  update?: { strategy: string; repo: string; tagPrefix?: string; tagSuffix?: string; stripPrefix?: string };
  source: {
    url?: string | Record<SoarHost, string>;
    github?: string;
    glob?: string;
    match: string[];
    exclude: string[];
    install: InstallSpec;
  };
  versions: SoarVersion[];
  /** Version files that could not be read, with why (the rest are still read). */
  versionErrors: Array<{ file: string; error: string }>;
  unknownKeys: string[];
  fileSha256: string;
}

const PKG_KEYS = ['pkg', 'host', 'arch', 'update', 'source', 'extra'];
const PKG_PKG_KEYS = [
  'name',
  'type',
  'description',
  'family',
  'channel',
  'homepage',
  'src',
  'license',
  'maintainer',
  'category',
  'repology',
  'provides',
  'note',
  'portable',
  'portable-reason',
  'disabled',
  'disabled-reason',
  'ghcr',
];
const VERSION_KEYS = ['version', 'date', 'url', 'blake3', 'sha256', 'size', 'note', 'provides', 'extra'];

function installRule(f: Fields, t: Table, field: string): InstallRule {
  const from = f.string(t, 'from', `${field}.from`);
  const to = f.string(t, 'to', `${field}.to`);
  if (from === undefined && to === undefined) f.fail(field, 'needs `from` or `to`');
  return { from, to, symlinkAs: f.strings(t, 'symlink_as', `${field}.symlink_as`) };
}

/** `[source.install]` in its three spellings: a map, `[[source.install]]` entries, per-host tables of either. */
export function parseInstall(f: Fields, v: unknown): InstallSpec {
  const spec: InstallSpec = { shared: [], perHost: {} };
  if (v === undefined) return spec;
  if (Array.isArray(v)) {
    v.forEach((e, i) => {
      if (!isTable(e)) f.fail(`source.install[${i}]`, 'must be a table with from/to');
      spec.shared.push(installRule(f, e, `source.install[${i}]`));
    });
    return spec;
  }
  if (!isTable(v)) f.fail('source.install', 'must be a table or a list of tables');
  for (const [key, value] of Object.entries(v)) {
    const field = `source.install."${key}"`;
    if (typeof value === 'string') spec.shared.push({ from: key, to: value, symlinkAs: [] });
    else if (Array.isArray(value)) {
      spec.perHost[key] = value.map((e, i) => {
        if (!isTable(e)) f.fail(`${field}[${i}]`, 'must be a table with from/to');
        return installRule(f, e, `${field}[${i}]`);
      });
    } else if (isTable(value)) {
      spec.perHost[key] = Object.entries(value).map(([from, to]) => {
        if (typeof to !== 'string') f.fail(`${field}."${from}"`, 'must be a string (the installed path)');
        return { from, to, symlinkAs: [] };
      });
    } else f.fail(field, 'must be a string, a table or a list of tables');
  }
  return spec;
}

function expand(s: string, version: string, arch: string): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the recipe's own placeholder syntax
  return s.replaceAll('${version}', version).replaceAll('${arch}', arch);
}

/** What upstream calls `host`'s arch (`[arch]`, else the arch itself). */
export function upstreamArch(pkg: Pick<SoarPackage, 'arch'>, host: SoarHost): string {
  const raw = host.split('-')[0] ?? host;
  return pkg.arch[raw] ?? raw;
}

/**
 * The install map for one host and version, as `sbuild meta` expands it:
 * `${version}`/`${arch}` substituted, a leading `*\/` dropped. Empty means
 * the artifact itself is the package.
 */
export function installFor(
  pkg: Pick<SoarPackage, 'arch' | 'source'>,
  host: SoarHost,
  version: string,
): InstallMapping[] {
  const rules = pkg.source.install.perHost[host] ?? pkg.source.install.shared;
  const arch = upstreamArch(pkg, host);
  return rules.map((r) => {
    const source = r.from === undefined ? '' : expand(r.from, version, arch).replace(/^(\*\/)+/, '');
    const to = r.to ?? `bin/${(r.from ?? '').split('/').pop() ?? ''}`;
    const dir = to.includes('/') ? to.slice(0, to.lastIndexOf('/')) : '';
    return { source, to, alias: r.symlinkAs.map((n) => (dir ? `${dir}/${n}` : n)) };
  });
}

/** Installed paths must stay inside the package directory: checked before anything is extracted. */
export function checkInstallPaths(mappings: readonly InstallMapping[], subject: string): void {
  for (const m of mappings)
    for (const p of [m.to, ...m.alias])
      if (!isSafeRelativePath(p))
        throw new RebuildError('input', `install path "${p}" leaves the package directory`, {
          subject,
          fix: 'install paths are relative, without "..", empty parts or a leading "/"',
        });
}

export function parsePkgToml(
  doc: Table,
  file: string,
  fileSha256: string,
): Omit<SoarPackage, 'versions' | 'versionErrors'> {
  const f: Fields = new Fields(file);
  const pkg = f.table(doc, 'pkg', 'pkg', true);
  const host = f.table(doc, 'host', 'host');
  const update = doc.update === undefined ? undefined : f.table(doc, 'update', 'update');
  const source = f.table(doc, 'source', 'source');
  const arch = f.stringMap(doc, 'arch', 'arch');
  let url: string | Record<string, string> | undefined;
  if (typeof source.url === 'string') url = source.url;
  else if (source.url !== undefined) url = f.stringMap(source, 'url', 'source.url');
  const type = f.string(pkg, 'type', 'pkg.type');
  return {
    file,
    dir: dirname(file),
    name: f.string(pkg, 'name', 'pkg.name', true),
    family: f.string(pkg, 'family', 'pkg.family'),
    type,
    description: f.string(pkg, 'description', 'pkg.description'),
    channel: f.string(pkg, 'channel', 'pkg.channel') ?? 'stable',
    homepage: f.strings(pkg, 'homepage', 'pkg.homepage'),
    license: f.strings(pkg, 'license', 'pkg.license'),
    maintainer: f.strings(pkg, 'maintainer', 'pkg.maintainer'),
    category: f.strings(pkg, 'category', 'pkg.category'),
    src: f.strings(pkg, 'src', 'pkg.src'),
    note: f.strings(pkg, 'note', 'pkg.note'),
    portable: f.bool(pkg, 'portable', 'pkg.portable', true),
    disabled: f.bool(pkg, 'disabled', 'pkg.disabled', false),
    disabledReason: f.string(pkg, 'disabled-reason', 'pkg.disabled-reason'),
    hosts: f.strings(host, 'supported', 'host.supported'),
    arch,
    update: update && {
      strategy: f.string(update, 'strategy', 'update.strategy', true),
      repo: f.string(update, 'repo', 'update.repo', true),
      tagPrefix: f.string(update, 'tag-prefix', 'update.tag-prefix'),
      tagSuffix: f.string(update, 'tag-suffix', 'update.tag-suffix'),
      stripPrefix: f.string(update, 'strip-prefix', 'update.strip-prefix'),
    },
    source: {
      url,
      github: f.string(source, 'github', 'source.github'),
      glob: f.string(source, 'glob', 'source.glob'),
      match: f.strings(source, 'match', 'source.match'),
      exclude: f.strings(source, 'exclude', 'source.exclude'),
      install: parseInstall(f, source.install),
    },
    unknownKeys: [...unknownKeys(doc, PKG_KEYS), ...unknownKeys(pkg, PKG_PKG_KEYS, 'pkg.')],
    fileSha256,
  };
}

export function parseVersionToml(doc: Table, file: string, fileSha256: string): SoarVersion {
  const f: Fields = new Fields(file);
  const v: SoarVersion = {
    file,
    version: f.string(doc, 'version', 'version', true),
    date: doc.date instanceof Date ? doc.date.toISOString() : f.string(doc, 'date', 'date'),
    url: f.stringMap(doc, 'url', 'url'),
    blake3: f.hexMap(doc, 'blake3', 'blake3'),
    sha256: f.hexMap(doc, 'sha256', 'sha256'),
    size: f.sizeMap(doc, 'size', 'size'),
    extra: f.tables(doc, 'extra', 'extra').map((e, i) => {
      const b3 = f.string(e, 'blake3', `extra[${i}].blake3`);
      const sha = f.string(e, 'sha256', `extra[${i}].sha256`);
      if (b3 !== undefined && !/^[0-9a-f]{64}$/.test(b3))
        f.fail(`extra[${i}].blake3`, 'must be 64 hex digits');
      if (sha !== undefined && !/^[0-9a-f]{64}$/.test(sha))
        f.fail(`extra[${i}].sha256`, 'must be 64 hex digits');
      return {
        url: f.string(e, 'url', `extra[${i}].url`, true),
        to: f.string(e, 'to', `extra[${i}].to`, true),
        host: f.string(e, 'host', `extra[${i}].host`),
        blake3: b3,
        sha256: sha,
      };
    }),
    note: doc.note === undefined ? undefined : f.strings(doc, 'note', 'note'),
    provides: doc.provides === undefined ? undefined : f.strings(doc, 'provides', 'provides'),
    fileSha256,
    unknownKeys: unknownKeys(doc, VERSION_KEYS),
  };
  for (const host of Object.keys(v.url)) {
    if (v.blake3[host] === undefined)
      f.fail(
        `blake3."${host}"`,
        'is missing: every pinned URL needs the BLAKE3 soar verifies',
        'run `sbuild hashfill`',
      );
  }
  return v;
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** True for a version file name beside a pkg.toml. */
export function isVersionFileName(name: string): boolean {
  return name.endsWith('.toml') && name !== 'pkg.toml';
}

/**
 * Reads `pkg.toml` and every version file beside it (sorted by name, as
 * sbuild does). A version file that cannot be read is listed in
 * `versionErrors`; the package is still read.
 */
export function loadSoarPackage(pkgTomlPath: string): SoarPackage {
  const { text, bytes } = readTomlText(pkgTomlPath);
  const base = parsePkgToml(parseToml(text, pkgTomlPath), pkgTomlPath, sha256Hex(bytes));
  const versions: SoarVersion[] = [];
  const versionErrors: SoarPackage['versionErrors'] = [];
  const names = readdirSync(base.dir, { withFileTypes: true })
    .filter((e) => e.isFile() && isVersionFileName(e.name))
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    const file = join(base.dir, name);
    try {
      const vt = readTomlText(file);
      versions.push(parseVersionToml(parseToml(vt.text, file), file, sha256Hex(vt.bytes)));
    } catch (err) {
      if (!(err instanceof RebuildError)) throw err;
      versionErrors.push({ file, error: err.message });
    }
  }
  return { ...base, versions, versionErrors };
}

/** Rebuild's arch for a soarpkgs host, when rebuild can build for it. */
export function archOfHost(host: SoarHost): Arch | undefined {
  const [arch, os] = host.split('-');
  return os === 'linux' && arch ? parseArch(arch) : undefined;
}

/** The version file named `<dir>-<version>.toml`, or by its `version`. */
export function findVersion(pkg: SoarPackage, version?: string): SoarVersion {
  if (pkg.versions.length === 0)
    throw new RebuildError('input', 'has no version file', {
      subject: pkg.file,
      fix: `add ${basename(pkg.dir)}-<version>.toml (sbuild resolve)`,
    });
  if (version === undefined) return newestVersion(pkg.versions);
  const found = pkg.versions.find((v) => v.version === version);
  if (!found)
    throw new RebuildError(
      'input',
      `has no version ${version} (has ${pkg.versions.map((v) => v.version).join(', ')})`,
      {
        subject: pkg.file,
      },
    );
  return found;
}

/** The newest version by date (then by numeric-aware version order). */
export function newestVersion(versions: readonly SoarVersion[]): SoarVersion {
  return [...versions].sort(
    (a, b) =>
      (b.date ?? '').localeCompare(a.date ?? '') ||
      b.version.localeCompare(a.version, 'en', { numeric: true }),
  )[0]!;
}
