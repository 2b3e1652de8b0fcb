import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arch } from '../engine/types.js';
import { parseArch } from '../engine/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { RebuildError } from '../util/errors.js';
import { readRegularFile } from '../util/regular-file.js';
import { defaultCacheRoot } from './cache.js';
import {
  DEFAULT_BOUNDS,
  type HttpBounds,
  idleTimeout,
  isTransientStatus,
  readBounded,
  TransientError,
  withRetries,
} from './http.js';
import { matchPackage, type ParsedIndex, parseIndex, REPOS } from './records.js';
import type { MetadataSource, PackageRecord, RepoName } from './types.js';

export const DEFAULT_METADATA_BASE = 'https://meta.pkgforge.dev';
/** Index files are tens of MB; refuse anything past this. */
export const METADATA_MAX_BYTES = 256 * 1024 * 1024;

/** The validated records of one arch (bincache and pkgcache, or one override index). */
export interface MetadataIndex extends ParsedIndex {
  arch: Arch;
  /** URLs or files read. */
  sources: string[];
  /** What was not read and why, when the rest was enough (e.g. a repository with no index for this arch). */
  notes?: string[];
}

/** `<base>/<repo>/<arch>-Linux.json`, base from the source, `REBUILD_METADATA_URL`, or pkgforge's. */
export function indexUrl(base: string, repo: RepoName, arch: Arch): string {
  return `${base.replace(/\/+$/, '')}/${repo}/${arch}-Linux.json`;
}

export function metadataBase(source: MetadataSource): string {
  return source.baseUrl ?? (process.env.REBUILD_METADATA_URL || DEFAULT_METADATA_BASE);
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

function boundsOf(source: MetadataSource): HttpBounds {
  return {
    timeoutMs: source.timeoutMs ?? DEFAULT_BOUNDS.timeoutMs,
    retries: source.retries ?? DEFAULT_BOUNDS.retries,
    retryBaseMs: DEFAULT_BOUNDS.retryBaseMs,
  };
}

/**
 * GETs a metadata index (streamed, capped at 256 MiB, retried with backoff on
 * 5xx and network errors). With a cache dir, the body is kept with its ETag /
 * Last-Modified and revalidated (304 → the cached copy).
 */
export async function fetchIndexText(url: string, source: MetadataSource = {}): Promise<string> {
  const cacheDir =
    source.cacheDir === false ? undefined : (source.cacheDir ?? join(defaultCacheRoot(), 'metadata'));
  const key = createHash('sha256').update(url).digest('hex').slice(0, 32);
  const bodyPath = cacheDir ? join(cacheDir, `${key}.json`) : undefined;
  const metaPath = cacheDir ? join(cacheDir, `${key}.meta.json`) : undefined;
  let validators: { etag?: string; lastModified?: string } = {};
  if (metaPath) {
    try {
      validators = JSON.parse(await readFile(metaPath, 'utf8'));
    } catch {
      validators = {};
    }
  }
  const bounds = boundsOf(source);
  return withRetries(`metadata ${url}`, bounds, async () => {
    const t = idleTimeout(bounds.timeoutMs);
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (validators.etag) headers['if-none-match'] = validators.etag;
      if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
      const res = await fetch(url, { headers, signal: t.signal, redirect: 'follow' });
      if (res.status === 304 && bodyPath) {
        await res.body?.cancel().catch(() => {});
        try {
          return await readFile(bodyPath, 'utf8');
        } catch {
          validators = {};
          throw new TransientError('cached index vanished after 304');
        }
      }
      if (isTransientStatus(res.status)) {
        await res.body?.cancel().catch(() => {});
        throw new TransientError(`HTTP ${res.status}`);
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new RebuildError('network', `metadata index ${url}: HTTP ${res.status}`, {
          subject: url,
          fix: 'check --metadata-base / --metadata (or REBUILD_METADATA_URL)',
        });
      }
      const body = await readBounded(res, METADATA_MAX_BYTES, `metadata index ${url}`, t.kick);
      const text = body.toString('utf8');
      if (cacheDir && bodyPath && metaPath) {
        const etag = res.headers.get('etag') ?? undefined;
        const lastModified = res.headers.get('last-modified') ?? undefined;
        try {
          await mkdir(cacheDir, { recursive: true });
          await writeFileAtomic(bodyPath, text);
          await writeFileAtomic(metaPath, JSON.stringify({ url, etag, lastModified }));
        } catch {
          // the cache is an optimisation
        }
      }
      return text;
    } finally {
      t.done();
    }
  });
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RebuildError('input', `metadata index is not valid JSON: ${(err as Error).message}`, {
      subject: source,
      fix: 'download the index again or point --metadata at a pkgforge index file',
    });
  }
}

async function readOverride(
  override: string,
  source: MetadataSource,
): Promise<{ text: string; where: string }> {
  if (isUrl(override)) return { text: await fetchIndexText(override, source), where: override };
  const path = override.startsWith('file:') ? fileURLToPath(override) : resolve(override);
  try {
    return { text: (await readRegularFile(path, 'metadata index', 1 << 28)).toString('utf8'), where: path };
  } catch (err) {
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    throw new RebuildError(
      'input',
      `cannot read the metadata file: ${cause?.code ?? (err as Error).message}`,
      {
        subject: path,
        fix: 'pass --metadata an existing index file (e.g. a saved bincache/aarch64-Linux.json) or a URL',
      },
    );
  }
}

/** The repo hinted by a file or URL name (`…/pkgcache/…`, `pkgcache-aarch64.json`). */
function repoHint(where: string): RepoName | undefined {
  const m = /(bincache|pkgcache)/i.exec(where);
  return m ? (m[1]!.toLowerCase() as RepoName) : undefined;
}

function archHint(where: string): Arch | undefined {
  const m = /(x86_64|aarch64|amd64|arm64)/i.exec(where);
  return m ? parseArch(m[1]!) : undefined;
}

/**
 * Loads and validates the metadata for `arch`: bincache and pkgcache from
 * `<base>/<repo>/<arch>-Linux.json`, or the one `override` index (records of
 * other arches are left out). Invalid records are kept aside in `invalid`.
 */
export async function loadMetadata(source: MetadataSource, arch: Arch): Promise<MetadataIndex> {
  if (source.override) {
    const { text, where } = await readOverride(source.override, source);
    const json = parseJson(text, where);
    // a record without `host` is taken to be for the arch the file is named after, else the one asked for
    const parsed = parseIndex(json, undefined, archHint(where) ?? arch, where);
    const hint = repoHint(where);
    const invalid = parsed.invalid.map((i) => (i.repo || !hint ? i : { ...i, repo: hint }));
    const records = parsed.records.filter((r) => r.arch === arch);
    if (records.length === 0 && parsed.records.length > 0) {
      const others = [...new Set(parsed.records.map((r) => r.arch))].join(', ');
      throw new RebuildError('usage', `the metadata index has no records for ${arch} (only ${others})`, {
        subject: where,
        fix: `pass --arch ${parsed.records[0]!.arch}, or an index for ${arch}`,
      });
    }
    const invalidHere = invalid.filter((i) => {
      const host = (i.raw as { host?: unknown })?.host;
      const a = typeof host === 'string' ? parseArch(host.replace(/-linux$/i, '')) : undefined;
      return !a || a === arch;
    });
    return { arch, records, invalid: invalidHere, sources: [where] };
  }
  const base = metadataBase(source);
  const repos = source.repos && source.repos.length > 0 ? source.repos : [...REPOS];
  const settled = await Promise.allSettled(
    repos.map(async (repo) => {
      const url = isUrl(base) ? indexUrl(base, repo, arch) : join(resolve(base), repo, `${arch}-Linux.json`);
      const text = isUrl(base) ? await fetchIndexText(url, source) : (await readOverride(url, source)).text;
      return { url, parsed: parseIndex(parseJson(text, url), repo, arch, url) };
    }),
  );
  const parts = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const notes: string[] = [];
  for (const [i, r] of settled.entries()) {
    if (r.status === 'fulfilled') continue;
    // A repository without an index for this arch (HTTP 404) is a note when another answered;
    // any other failure could hide the record asked for, so it stays fatal.
    if (parts.length > 0 && isMissingIndex(r.reason)) {
      notes.push(
        `${repos[i]} has no ${arch} index (${(r.reason as Error).message}); only ${parts.map((p) => p.url).join(', ')} was searched`,
      );
      continue;
    }
    throw r.reason;
  }
  return {
    arch,
    records: parts.flatMap((p) => p.parsed.records.filter((r) => r.arch === arch)),
    invalid: parts.flatMap((p) => p.parsed.invalid),
    sources: parts.map((p) => p.url),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

/** An index that does not exist (HTTP 404, or a missing file under a local base). */
function isMissingIndex(err: unknown): boolean {
  if (!(err instanceof RebuildError)) return false;
  return (
    (err.category === 'network' && / HTTP 404$/.test(err.message)) ||
    (err.category === 'input' && /ENOENT/.test(err.message))
  );
}

/** Loads the metadata for `arch` and returns the one record `query` names (see `matchPackage`). */
export async function resolvePackage(
  query: string,
  arch: Arch,
  source: MetadataSource = {},
): Promise<PackageRecord> {
  return (await resolvePackageWithNotes(query, arch, source)).record;
}

/** resolvePackage, with the index's notes (repositories not searched) to show the user. */
export async function resolvePackageWithNotes(
  query: string,
  arch: Arch,
  source: MetadataSource = {},
): Promise<{ record: PackageRecord; notes: string[] }> {
  const index = await loadMetadata(source, arch);
  try {
    return { record: matchPackage(index, query, arch), notes: index.notes ?? [] };
  } catch (err) {
    if (err instanceof RebuildError && index.notes?.length) {
      throw new RebuildError(err.category, err.message, {
        ...(err.subject ? { subject: err.subject } : {}),
        fix: `${err.fix ?? ''}${err.fix ? '; ' : ''}note: ${index.notes.join('; ')}`,
      });
    }
    throw err;
  }
}
