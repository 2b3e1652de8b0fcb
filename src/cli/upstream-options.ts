/**
 * Options every command that reads pkgforge's publication shares (`search`,
 * `info`, `rebuild <pkg>`, `audit`): where the metadata comes from, registry
 * mirrors, the cache directory.
 */
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { MetadataSource, RegistryOptions } from '../upstream/types.js';
import { RebuildError } from '../util/errors.js';
import { configValues } from './config.js';

/** The parsed flags (commander camel-cases them). */
export interface UpstreamFlags {
  /** `--metadata FILE|URL`: one index used as is. */
  metadata?: string;
  /** `--metadata-base URL`: instead of https://meta.pkgforge.dev. */
  metadataBase?: string;
  /** `--registry-mirror HOST=URL`, repeatable. */
  registryMirror?: string[];
  /** `--cache-dir DIR`: cache root (blobs/ and metadata/ below it). */
  cacheDir?: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds --metadata, --metadata-base, --registry-mirror (repeatable) and --cache-dir to `cmd`. */
export function addUpstreamOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--metadata <file|url>',
        "read this one metadata index instead of pkgforge's (air-gapped use)",
      ),
    )
    .addOption(
      new Option(
        '--metadata-base <url>',
        'metadata base URL: <url>/<repo>/<arch>-Linux.json (default $REBUILD_METADATA_URL or https://meta.pkgforge.dev)',
      ),
    )
    .addOption(
      new Option(
        '--registry-mirror <host=url>',
        'reach registry HOST at URL instead of https://HOST (repeatable)',
      )
        .argParser(collect)
        .default(undefined),
    )
    .addOption(
      new Option(
        '--cache-dir <dir>',
        'download cache root (default $XDG_CACHE_HOME/rebuild or ~/.cache/rebuild)',
      ),
    );
}

/** `HOST=URL` → [host, url], or a usage error. */
export function parseMirror(spec: string): [string, string] {
  const eq = spec.indexOf('=');
  const host = eq > 0 ? spec.slice(0, eq).trim() : '';
  const url = eq > 0 ? spec.slice(eq + 1).trim() : '';
  let ok = host.length > 0 && /^[A-Za-z0-9.-]+(?::\d+)?$/.test(host);
  if (ok) {
    try {
      const u = new URL(url);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw new RebuildError('usage', `--registry-mirror must be HOST=URL (got "${spec}")`, {
      fix: 'for example --registry-mirror ghcr.io=http://127.0.0.1:5000',
    });
  }
  return [host, url.replace(/\/+$/, '')];
}

/** Turns the parsed flags into the upstream module's options. */
export function upstreamFromFlags(flags: UpstreamFlags): {
  metadata: MetadataSource;
  registry: RegistryOptions;
} {
  const metadata: MetadataSource = {};
  const registry: RegistryOptions = {};
  // The config file fills in what the command line leaves out.
  const cfg = configValues();
  flags = {
    ...flags,
    metadataBase: flags.metadataBase ?? cfg.metadata_base,
    cacheDir: flags.cacheDir ?? cfg.cache_dir,
  };
  if (cfg.registry_mirrors && !(flags.registryMirror && flags.registryMirror.length > 0)) {
    registry.mirrors = { ...cfg.registry_mirrors };
  }
  if (flags.metadata) {
    metadata.override = /^(https?|file):/i.test(flags.metadata) ? flags.metadata : resolve(flags.metadata);
  }
  if (flags.metadataBase) {
    if (!/^https?:\/\//i.test(flags.metadataBase)) {
      throw new RebuildError(
        'usage',
        `--metadata-base must be an http(s) URL (got "${flags.metadataBase}")`,
        {
          fix: 'for a local copy of one index use --metadata FILE',
        },
      );
    }
    metadata.baseUrl = flags.metadataBase.replace(/\/+$/, '');
  }
  if (flags.registryMirror && flags.registryMirror.length > 0) {
    registry.mirrors = Object.fromEntries(flags.registryMirror.map(parseMirror));
  }
  if (flags.cacheDir) {
    const root = resolve(flags.cacheDir);
    registry.cacheDir = join(root, 'blobs');
    metadata.cacheDir = join(root, 'metadata');
  }
  return { metadata, registry };
}
