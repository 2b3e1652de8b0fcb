import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Arch } from '../engine/types.js';
import { PLATFORM } from '../engine/types.js';
import { isNoSpace, noSpaceError, RebuildError } from '../util/errors.js';
import { BlobCache, defaultBlobCacheDir } from './cache.js';
import {
  DEFAULT_BOUNDS,
  describeNetworkError,
  type HttpBounds,
  idleTimeout,
  isTransientStatus,
  readBounded,
  TransientError,
  withRetries,
} from './http.js';
import { formatReference, type ImageReference, isDigest, parseReference } from './reference.js';
import type { RegistryOptions } from './types.js';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

const MANIFEST_ACCEPT = [MEDIA.ociManifest, MEDIA.dockerManifest, MEDIA.ociIndex, MEDIA.dockerList].join(
  ', ',
);
export const TITLE = 'org.opencontainers.image.title';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ResolvedManifest {
  reference: ImageReference;
  /** `sha256:` of the manifest bytes that were served (what a digest reference pins). */
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  bytes: Buffer;
}

const MANIFEST_MAX = 4 * 1024 * 1024;
const BLOB_MAX = 2 * 1024 * 1024 * 1024;

export interface BlobResult {
  path: string;
  digest: string;
  size: number;
  /** Served from the cache, no request made. */
  cached: boolean;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
  /** Token scope actions: `pull` (default) or `pull,push`. */
  actions?: string;
}

interface Challenge {
  realm: string;
  service?: string;
  scope?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"`. */
export function parseBearerChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*Bearer\s+(.*)$/i.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[1]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  if (!params.realm) return undefined;
  const out: Challenge = { realm: params.realm };
  if (params.service) out.service = params.service;
  if (params.scope) out.scope = params.scope;
  return out;
}

/**
 * A client of the OCI distribution API: manifests by tag or digest, blobs by
 * digest, the anonymous Bearer-token flow. Registry hosts are mapped to base
 * URLs by `mirrors` (default `https://<host>`).
 */
export class OciClient {
  readonly bounds: HttpBounds;
  readonly maxBlobBytes: number;
  private readonly tokens = new Map<string, string>();
  private cachePromise: Promise<BlobCache> | undefined;

  constructor(readonly options: RegistryOptions = {}) {
    this.bounds = {
      timeoutMs: options.timeoutMs ?? DEFAULT_BOUNDS.timeoutMs,
      retries: options.retries ?? DEFAULT_BOUNDS.retries,
      retryBaseMs: options.retryBaseMs ?? DEFAULT_BOUNDS.retryBaseMs,
    };
    this.maxBlobBytes = options.maxBlobBytes ?? BLOB_MAX;
  }

  cache(): Promise<BlobCache> {
    this.cachePromise ??= BlobCache.open(this.options.cacheDir ?? defaultBlobCacheDir());
    return this.cachePromise;
  }

  baseUrl(host: string): string {
    const mirror = this.options.mirrors?.[host];
    return (mirror ?? `https://${host}`).replace(/\/+$/, '');
  }

  /**
   * One request to `<base>/v2/<name>/<path>`, with the anonymous token flow:
   * a 401 carrying a Bearer challenge gets a token from the realm and the
   * request is repeated once with it. Returns any other response as is.
   */
  request(
    ref: Pick<ImageReference, 'host' | 'name'>,
    path: string,
    init: RequestOptions = {},
  ): Promise<Response> {
    return this.requestUrl(ref, `${this.baseUrl(ref.host)}/v2/${ref.name}/${path}`, init);
  }

  /** Like `request`, for an absolute URL the registry handed out (upload locations). */
  async requestUrl(
    ref: Pick<ImageReference, 'host' | 'name'>,
    url: string,
    init: RequestOptions = {},
  ): Promise<Response> {
    const scope = `repository:${ref.name}:${init.actions ?? 'pull'}`;
    const key = `${ref.host} ${scope}`;
    const send = (token?: string) =>
      fetch(url, {
        method: init.method ?? 'GET',
        headers: { ...init.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: init.body ?? null,
        redirect: 'follow',
        signal: init.signal ?? null,
      });
    const cached = this.tokens.get(key);
    let res = await send(cached);
    if (res.status !== 401) return res;
    const challenge = parseBearerChallenge(res.headers.get('www-authenticate'));
    await res.body?.cancel().catch(() => {});
    if (!challenge) {
      throw new RebuildError(
        'upstream',
        `${ref.host} asks for credentials (HTTP 401 without a Bearer challenge)`,
        {
          subject: `${ref.host}/${ref.name}`,
          fix: 'rebuild only reads public packages anonymously; use a mirror that serves them without login',
        },
      );
    }
    const token = await this.fetchToken(challenge, scope, init.signal);
    this.tokens.set(key, token);
    res = await send(token);
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => {});
      throw new RebuildError('upstream', `${ref.host} refused its own anonymous token (HTTP ${res.status})`, {
        subject: `${ref.host}/${ref.name}`,
        fix: 'the package may be private or deleted; check ghcr_pkg in the metadata',
      });
    }
    return res;
  }

  private async fetchToken(c: Challenge, scope: string, signal?: AbortSignal): Promise<string> {
    const u = new URL(c.realm);
    if (c.service) u.searchParams.set('service', c.service);
    u.searchParams.set('scope', c.scope ?? scope);
    const res = await fetch(u, { signal: signal ?? AbortSignal.timeout(this.bounds.timeoutMs) });
    if (isTransientStatus(res.status))
      throw new TransientError(`token endpoint ${u.origin}: HTTP ${res.status}`);
    if (!res.ok) {
      throw new RebuildError(
        'upstream',
        `the token endpoint ${u.origin}${u.pathname} answered HTTP ${res.status}`,
        {
          fix: 'the package may be private or deleted',
        },
      );
    }
    const body = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new RebuildError('upstream', `the token endpoint ${u.origin}${u.pathname} returned no token`);
    }
    return token;
  }

  /**
   * The image manifest of `reference`: by tag (digest recorded) or by digest
   * (verified). An index is resolved to the entry for `arch` (linux), or to
   * its first entry when that is an artifact without a platform.
   */
  async getManifest(reference: string | ImageReference, arch?: Arch): Promise<ResolvedManifest> {
    const ref = typeof reference === 'string' ? parseReference(reference) : reference;
    const shown = formatReference(ref);
    const resolved = await withRetries(`manifest of ${shown}`, this.bounds, async () => {
      const t = idleTimeout(this.bounds.timeoutMs);
      try {
        const res = await this.request(ref, `manifests/${ref.digest ?? ref.tag}`, {
          headers: { accept: MANIFEST_ACCEPT },
          signal: t.signal,
        });
        if (res.status === 404) {
          await res.body?.cancel().catch(() => {});
          throw new RebuildError('upstream', `the registry has no manifest for ${shown} (HTTP 404)`, {
            subject: shown,
            fix: 'the tag may have been deleted or the metadata is newer than the registry; check ghcr_pkg',
          });
        }
        if (isTransientStatus(res.status)) {
          await res.body?.cancel().catch(() => {});
          throw new TransientError(`HTTP ${res.status}`);
        }
        if (!res.ok) {
          await res.body?.cancel().catch(() => {});
          throw new RebuildError(
            'upstream',
            `the registry answered HTTP ${res.status} for the manifest of ${shown}`,
            {
              subject: shown,
            },
          );
        }
        const bytes = await readBounded(res, MANIFEST_MAX, `manifest of ${shown}`, t.kick);
        return { bytes, contentType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim() };
      } finally {
        t.done();
      }
    });
    const digest = `sha256:${createHash('sha256').update(resolved.bytes).digest('hex')}`;
    if (ref.digest && digest !== ref.digest) {
      throw new RebuildError(
        'upstream',
        `manifest ${shown} has digest ${digest} — the registry served other bytes than it advertised`,
        { subject: shown },
      );
    }
    let doc: ImageManifest & { manifests?: Descriptor[] };
    try {
      doc = JSON.parse(resolved.bytes.toString('utf8'));
    } catch {
      throw new RebuildError('upstream', `the manifest of ${shown} is not JSON`, { subject: shown });
    }
    const mediaType = doc.mediaType ?? resolved.contentType;
    if (mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList || Array.isArray(doc.manifests)) {
      const entry = pickIndexEntry(doc.manifests ?? [], arch);
      if (!entry) {
        throw new RebuildError('upstream', `the index ${shown} has no manifest for linux/${arch ?? '?'}`, {
          subject: shown,
        });
      }
      return this.getManifest({ host: ref.host, name: ref.name, digest: entry.digest }, arch);
    }
    if (!Array.isArray(doc.layers)) {
      throw new RebuildError(
        'upstream',
        `the manifest of ${shown} has no layers (media type ${mediaType || '?'})`,
        {
          subject: shown,
        },
      );
    }
    return { reference: ref, digest, mediaType, manifest: doc, bytes: resolved.bytes };
  }

  /**
   * The tags of a repository (`GET /v2/<name>/tags/list`), following the
   * registry's `Link: <…>; rel="next"` pages (at most `maxPages`). A
   * repository the registry does not know has no tags.
   */
  async listTags(ref: Pick<ImageReference, 'host' | 'name'>, maxPages = 20): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = `${this.baseUrl(ref.host)}/v2/${ref.name}/tags/list?n=1000`;
    for (let page = 0; url && page < maxPages; page++) {
      const t = idleTimeout(this.bounds.timeoutMs);
      try {
        const res: Response = await this.requestUrl(ref, url, { signal: t.signal });
        if (res.status === 404) {
          await res.body?.cancel().catch(() => {});
          return tags;
        }
        if (!res.ok) {
          await res.body?.cancel().catch(() => {});
          throw new RebuildError(
            'upstream',
            `the registry answered HTTP ${res.status} for the tags of ${ref.host}/${ref.name}`,
            { subject: `${ref.host}/${ref.name}` },
          );
        }
        const bytes = await readBounded(res, MANIFEST_MAX, `tags of ${ref.host}/${ref.name}`, t.kick);
        const doc = JSON.parse(bytes.toString('utf8')) as { tags?: unknown };
        if (Array.isArray(doc.tags)) for (const tag of doc.tags) if (typeof tag === 'string') tags.push(tag);
        const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
        // Only pages of the same registry: a Link elsewhere is not followed.
        const nextUrl: URL | undefined = next ? new URL(next, url) : undefined;
        url = nextUrl && nextUrl.origin === new URL(url).origin ? nextUrl.href : undefined;
      } finally {
        t.done();
      }
    }
    return tags;
  }

  /**
   * Downloads a blob into the cache (`<cache>/sha256/<hex>`), hashing while it
   * streams; the bytes are renamed into place only after the digest and size
   * check. Dropped or truncated transfers are retried with backoff.
   */
  async fetchBlob(
    ref: Pick<ImageReference, 'host' | 'name'>,
    desc: { digest: string; size: number; title?: string },
  ): Promise<BlobResult> {
    if (!isDigest(desc.digest)) {
      throw new RebuildError('upstream', `layer digest "${desc.digest}" is not sha256:<64 hex>`, {
        subject: `${ref.host}/${ref.name}`,
      });
    }
    const label = `blob ${desc.digest} of ${ref.host}/${ref.name}${desc.title ? ` (${desc.title})` : ''}`;
    const cache = await this.cache();
    const hit = await cache.lookup(desc.digest, desc.size);
    if (hit) return { path: hit, digest: desc.digest, size: desc.size, cached: true };
    if (desc.size > this.maxBlobBytes) {
      throw new RebuildError(
        'upstream',
        `${label} is ${desc.size} bytes, more than the limit of ${this.maxBlobBytes}`,
        {
          fix: 'raise maxBlobBytes only if the package is really that large',
        },
      );
    }
    return withRetries(label, this.bounds, async () => {
      const tmp = cache.tempPath(desc.digest);
      const t = idleTimeout(this.bounds.timeoutMs);
      let committed = false;
      try {
        const res = await this.request(ref, `blobs/${desc.digest}`, { signal: t.signal });
        if (isTransientStatus(res.status)) {
          await res.body?.cancel().catch(() => {});
          throw new TransientError(`HTTP ${res.status}`);
        }
        if (!res.ok) {
          await res.body?.cancel().catch(() => {});
          throw new RebuildError('upstream', `the registry answered HTTP ${res.status} for ${label}`, {
            fix:
              res.status === 404
                ? 'the blob is gone from the registry; the package was probably republished'
                : undefined,
          });
        }
        const declared = Number(res.headers.get('content-length') ?? Number.NaN);
        if (Number.isFinite(declared) && declared !== desc.size) {
          await res.body?.cancel().catch(() => {});
          throw new RebuildError(
            'upstream',
            `${label}: the registry sends ${declared} bytes, the manifest says ${desc.size}`,
          );
        }
        const hash = createHash('sha256');
        const fh = await open(tmp, 'wx', 0o600);
        let total = 0;
        try {
          if (res.body) {
            for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
              t.kick();
              total += chunk.byteLength;
              if (total > desc.size) {
                throw new RebuildError(
                  'upstream',
                  `${label}: the registry sent more than the ${desc.size} bytes of the manifest`,
                );
              }
              hash.update(chunk);
              await fh.write(chunk).catch((err: unknown) => {
                // a full cache disk: name the cache directory (the write error carries no path)
                throw isNoSpace(err) ? noSpaceError(dirname(tmp), err, tmp) : err;
              });
            }
          }
          await fh.sync();
        } finally {
          await fh.close();
        }
        if (total < desc.size)
          throw new TransientError(`${label}: connection ended after ${total} of ${desc.size} bytes`);
        const got = `sha256:${hash.digest('hex')}`;
        if (got !== desc.digest) {
          throw new RebuildError(
            'upstream',
            `${label} has digest ${got} — the registry served other bytes than it advertised`,
            {
              fix: 'try again later or through another mirror; do not trust this artifact until it verifies',
            },
          );
        }
        const path = await cache.commit(tmp, desc.digest);
        committed = true;
        return { path, digest: desc.digest, size: total, cached: false };
      } catch (err) {
        if (err instanceof RebuildError || err instanceof TransientError) throw err;
        // fetch/undici failures (terminated, ECONNRESET, aborted): worth a retry
        throw new TransientError(describeNetworkError(err));
      } finally {
        t.done();
        if (!committed) await rm(tmp, { force: true });
      }
    });
  }
}

/** The index entry for linux/<arch>, else the first entry that is an artifact (no platform). */
export function pickIndexEntry(entries: Descriptor[], arch?: Arch): Descriptor | undefined {
  if (arch) {
    const want = PLATFORM[arch].architecture;
    const hit = entries.find((e) => e.platform?.os === 'linux' && e.platform.architecture === want);
    if (hit) return hit;
  }
  const first = entries[0];
  if (first && (first.artifactType || !first.platform)) return first;
  return undefined;
}
