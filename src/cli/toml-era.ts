/**
 * Wiring for the TOML era (soarpkgs pkg.toml + version files, pkgforge/builds
 * build.toml) into `rebuild <pkg>` and `rebuild build`: which targets are
 * TOML-era, and the options only they take.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { Arch, ContainerLimits } from '../engine/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { RebuildError } from '../util/errors.js';
import { ExitCode, pinnedExitCode } from './exit-codes.js';
import { parseMirror } from './upstream-options.js';

export interface TomlFlags {
  soarpkgs?: string;
  builds?: string;
  indexKey?: string;
  urlMirror?: string[];
}

export function addTomlOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--soarpkgs <dir>',
        'a soarpkgs checkout (TOML era): <pkg> is read from <dir>/packages/<pkg>/pkg.toml',
      ),
    )
    .addOption(
      new Option(
        '--builds <dir>',
        'a pkgforge/builds checkout: rebuild pkgforge-built archives from its build.toml',
      ),
    )
    .addOption(
      new Option(
        '--index-key <file>',
        "minisign public key of the index (default soarpkgs' keys/minisign.pub)",
      ),
    )
    .addOption(
      new Option(
        '--pkg-version <version>',
        'verify this version file of a TOML-era package (default the newest)',
      ),
    )
    .addOption(
      new Option(
        '--url-mirror <prefix=url>',
        'download the pinned URLs of TOML-era packages that start with PREFIX from URL instead (repeatable)',
      ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    );
}

/** `PREFIX=URL` → [prefix, url], or a usage error. */
export function parseUrlMirror(spec: string): [string, string] {
  const eq = spec.indexOf('=');
  const prefix = eq > 0 ? spec.slice(0, eq) : '';
  const url = eq > 0 ? spec.slice(eq + 1) : '';
  if (!/^https?:\/\//.test(prefix) || !/^https?:\/\//.test(url))
    throw new RebuildError('usage', `--url-mirror must be PREFIX=URL (got "${spec}")`, {
      fix: 'for example --url-mirror https://github.com=http://127.0.0.1:8080',
    });
  return [prefix.replace(/\/+$/, ''), url.replace(/\/+$/, '')];
}

/** The pkg.toml, version file or package directory `query` names, when it is TOML era. */
export function tomlTarget(query: string, flags: TomlFlags): string | undefined {
  if (flags.soarpkgs) {
    const p = join(flags.soarpkgs, 'packages', query, 'pkg.toml');
    if (existsSync(p)) return p;
  }
  if (!existsSync(query)) return undefined;
  const st = statSync(query);
  if (st.isDirectory()) return existsSync(join(query, 'pkg.toml')) ? join(query, 'pkg.toml') : undefined;
  return query.endsWith('.toml') && basename(query) !== 'build.toml' ? query : undefined;
}

export interface TomlRunFlags {
  arch: Arch;
  out?: string;
  /** true or `-`: JSON on stdout; a path: JSON written there (and the text on stdout). */
  json?: boolean | string;
  metadata?: string;
  registryMirror?: string[];
  cacheDir?: string;
  network: 'none' | 'host';
  verbose?: boolean;
  quiet?: boolean;
  /** `--exclude`: archive members left out of the text (never out of the verdict). */
  exclude?: string[];
}

export async function runTomlVerify(
  target: string,
  flags: TomlRunFlags & TomlFlags & { pkgVersion?: string },
  limits: Partial<ContainerLimits>,
  signal: AbortSignal,
): Promise<number> {
  const log = flags.quiet || flags.json ? undefined : (l: string) => process.stderr.write(`${l}\n`);
  // loaded on use: the CLI starts without the engine and forensics modules
  const { verifyPinned } = await import('../verify/pinned.js');
  const { renderPinnedText } = await import('../verify/pinned-report.js');
  const result = await verifyPinned({
    target,
    version: flags.pkgVersion,
    arch: flags.arch,
    outDir: flags.out,
    cacheDir: flags.cacheDir ? join(resolve(flags.cacheDir), 'pinned') : undefined,
    index: flags.metadata,
    indexKey: flags.indexKey ? readFileSync(flags.indexKey, 'utf8') : undefined,
    buildsTree: flags.builds,
    registryMirrors: Object.fromEntries((flags.registryMirror ?? []).map(parseMirror)),
    urlMirrors: Object.fromEntries((flags.urlMirror ?? []).map(parseUrlMirror)),
    network: flags.network,
    limits,
    signal,
    log,
  });
  await emit(flags, result, () => renderPinnedText(result, { exclude: flags.exclude }));
  return pinnedExitCode(result);
}

/** Prints the text, or the JSON on stdout (`--json`, `--json -`), or writes the JSON to `--json FILE`. */
async function emit(flags: TomlRunFlags, value: unknown, text: () => string): Promise<void> {
  const json = `${JSON.stringify(value, null, 2)}\n`;
  if (flags.json === true || flags.json === '-') {
    process.stdout.write(json);
    return;
  }
  if (typeof flags.json === 'string') await writeFileAtomic(flags.json, json);
  process.stdout.write(text());
}

/** `rebuild build path/to/build.toml --arch …`: build.py's build, archive and all. */
export async function runBuildsBuild(
  recipePath: string,
  flags: TomlRunFlags,
  limits: Partial<ContainerLimits>,
  signal: AbortSignal,
): Promise<number> {
  const log = flags.quiet || flags.json ? undefined : (l: string) => process.stderr.write(`${l}\n`);
  const host = `${flags.arch}-linux`;
  const { rebuildBuildsToml } = await import('../build/builds/rebuild.js');
  const r = await rebuildBuildsToml({
    recipePath,
    host,
    outDir: flags.out ?? join('rebuild-out', basename(resolve(recipePath, '..')), flags.arch),
    registryMirrors: Object.fromEntries((flags.registryMirror ?? []).map(parseMirror)),
    network: flags.network,
    limits,
    signal,
    log,
  });
  await emit(
    flags,
    r,
    () =>
      `${r.archive.path}\n  sha256 ${r.archive.sha256}\n  blake3 ${r.archive.blake3}\n  bytes  ${r.archive.size}\n  commit ${r.source.commit ?? '(pinned archive)'}, SOURCE_DATE_EPOCH ${r.source.epoch}, image ${r.image.pulledAs}\n${r.notes.map((n) => `  note: ${n}\n`).join('')}`,
  );
  return ExitCode.ok;
}
