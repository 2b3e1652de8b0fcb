/** The upstream module: pkgforge's metadata and its OCI artifacts. */
export { BlobCache, defaultBlobCacheDir, defaultCacheRoot } from './cache.js';
export {
  DEFAULT_METADATA_BASE,
  fetchIndexText,
  indexUrl,
  loadMetadata,
  type MetadataIndex,
  resolvePackage,
} from './metadata.js';
export { OciClient, parseBearerChallenge, type ResolvedManifest } from './oci.js';
export { type PushFile, pushArtifact } from './oci-push.js';
export {
  assertPublishedIntegrity,
  type FetchOptions,
  fetchPublished,
  findMainLayer,
  type PublishedFileCheck,
  verifyPublishedFile,
} from './published.js';
export {
  describeInvalid,
  type InvalidRecord,
  matchPackage,
  type ParsedIndex,
  parseIndex,
  parseQuery,
  parseRecord,
  parseVersion,
  searchRecords,
  suggestNames,
} from './records.js';
export { formatReference, type ImageReference, parseReference, sanitizeTag } from './reference.js';
export type * from './types.js';
