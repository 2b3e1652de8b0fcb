/**
 * What verify needs from the upstream module, as one object so that tests
 * and audit can hand in their own (e.g. a shared OCI client).
 */
import type { Arch } from '../engine/types.js';
import { resolvePackage } from '../upstream/metadata.js';
import {
  type FetchOptions,
  fetchPublished,
  type PublishedFileCheck,
  verifyPublishedFile,
} from '../upstream/published.js';
import type {
  FetchedFile,
  MetadataSource,
  PackageRecord,
  PublishedArtifact,
  RegistryOptions,
} from '../upstream/types.js';

export interface UpstreamApi {
  /** The one record `query` names for `arch` (RebuildError 'usage' listing them when several match). */
  resolve(
    query: string,
    arch: Arch,
    metadata: MetadataSource,
    registry: RegistryOptions,
  ): Promise<PackageRecord>;
  /** The files of record (SBUILD, main file, log, version, CHECKSUM), each verified against its digest. */
  fetch(record: PackageRecord, opts: FetchOptions): Promise<PublishedArtifact>;
  /** The published main file against the record's shasum/bsum. */
  verifyFile(record: PackageRecord, file: FetchedFile): Promise<PublishedFileCheck>;
}

export const defaultUpstream: UpstreamApi = {
  resolve: (query, arch, metadata) => resolvePackage(query, arch, metadata),
  fetch: (record, opts) => fetchPublished(record, opts),
  verifyFile: (record, file) => verifyPublishedFile(record, file),
};
