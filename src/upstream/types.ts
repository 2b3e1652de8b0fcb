/**
 * What pkgforge publishes, as rebuild reads it. Contract between the upstream
 * module (metadata index, OCI registry client, download cache) and its users
 * (verify, audit). Add fields; do not rename.
 */
import type { Arch } from '../engine/types.js';

/** Which pkgforge repository a record comes from. */
export type RepoName = 'bincache' | 'pkgcache';

/** One validated metadata record (values arrive as strings; these are parsed). */
export interface PackageRecord {
  repo: RepoName;
  /** `aarch64-Linux` etc. */
  host: string;
  arch: Arch;
  pkg: string;
  pkgName: string;
  pkgId: string;
  pkgFamily?: string;
  pkgType?: string;
  version: string;
  /** Set when version is `HEAD-<sha>-<date>`: built from this source commit. */
  sourceCommit?: { sha: string; date: string };
  bsum: string;
  shasum: string;
  buildDate: string;
  buildScript?: string;
  buildLog?: string;
  downloadUrl?: string;
  /** `ghcr.io/pkgforge/<repo>/…/<prog>:<tag>` */
  ghcrPkg: string;
  /** `ghcr.io/…@sha256:<hex>` (equals shasum: the main file's layer digest). */
  ghcrBlob?: string;
  ghcrFiles: string[];
  sizeRaw?: number;
  provides: string[];
  /**
   * Whether `ghcr_files` lists an `SBUILD` (undefined when the record has no
   * ghcr_files). False: there is no recipe of record in the artifact
   * (early-2025 bincache records), so a rebuild needs `--recipe FILE`.
   */
  hasRecipeOfRecord?: boolean;
  /** Malformed fields verification does not need, dropped (e.g. swapped ghcr_size/ghcr_size_raw). */
  warnings?: Array<{ field: string; message: string }>;
  /** The record exactly as published. */
  raw: Record<string, unknown>;
}

/** Where metadata comes from: pkgforge's base URL, another URL, or a local file. */
export interface MetadataSource {
  /** Default `https://meta.pkgforge.dev`; `<base>/<repo>/<arch>-Linux.json`. */
  baseUrl?: string;
  /** `--metadata FILE|URL`: one index used as is (air-gapped use). */
  override?: string;
  repos?: RepoName[];
  /** Where fetched indexes are cached for ETag revalidation (default `${XDG_CACHE_HOME:-~/.cache}/rebuild/metadata`; `false` disables). */
  cacheDir?: string | false;
  /** Per request (ms) and retries with backoff. */
  timeoutMs?: number;
  retries?: number;
}

/** How registries are reached. */
export interface RegistryOptions {
  /**
   * Map a registry host to a base URL (tests and mirrors):
   * `{ 'ghcr.io': 'http://127.0.0.1:5000' }`. Default: https://<host>.
   */
  mirrors?: Record<string, string>;
  /** Download cache root (default `${XDG_CACHE_HOME:-~/.cache}/rebuild/blobs`). */
  cacheDir?: string;
  /** Bytes per blob (default 2 GiB) and per manifest (4 MiB). */
  maxBlobBytes?: number;
  /** Per request, and retries with backoff. */
  timeoutMs?: number;
  retries?: number;
  /** First backoff delay in ms, doubled per retry (default 250). */
  retryBaseMs?: number;
}

/** A file of the published artifact, downloaded, verified against its digest, cached. */
export interface FetchedFile {
  name: string;
  /** `sha256:<hex>` (OCI layer digest, verified while streaming). */
  digest: string;
  size: number;
  /** Path in the cache (read-only use). */
  path: string;
}

/** What `fetchPublished` returns: the files of record of one package version. */
export interface PublishedArtifact {
  record: PackageRecord;
  /** The reference fetched and the manifest digest it resolved to. */
  reference: string;
  manifestDigest: string;
  /** By file name: SBUILD, the main program, <prog>.log, <prog>.version, CHECKSUM … */
  files: Record<string, FetchedFile>;
  /** Manifest annotations (2026: `dev.pkgforge.soar.*` checksums). */
  annotations: Record<string, string>;
  /** Name of the main program among `files` (the layer whose digest is `sha256:<shasum>`, else by name). */
  mainFile?: string;
  /** Every titled layer of the manifest (downloaded or not). */
  layers?: Array<{ name: string; digest: string; size: number; mediaType: string }>;
}
