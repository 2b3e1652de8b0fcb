import { RebuildError } from '../util/errors.js';

/** `host/name[:tag][@sha256:<hex>]`, parsed. */
export interface ImageReference {
  /** Registry host as written (`ghcr.io`, `127.0.0.1:5000`). */
  host: string;
  /** Repository path inside the registry (`pkgforge/bincache/7z/official/7z`). */
  name: string;
  tag?: string;
  /** `sha256:<hex>` */
  digest?: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** `sha256:<64 lowercase hex>` or undefined. */
export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/**
 * Parses `ghcr.io/org/repo/path:tag` and `ghcr.io/org/repo/path@sha256:…`
 * (both at once is allowed: the digest wins). The host is required.
 */
export function parseReference(ref: string): ImageReference {
  const bad = (why: string) =>
    new RebuildError('input', `not an OCI reference: ${why} (got "${ref}")`, {
      subject: ref,
      fix: 'write it as <host>/<path>:<tag> or <host>/<path>@sha256:<hex>',
    });
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw bad('the digest must be sha256:<64 hex digits>');
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw bad('no registry host');
  const host = rest.slice(0, slash);
  if (
    !/^[A-Za-z0-9.-]+(?::[0-9]+)?$/.test(host) ||
    !(host.includes('.') || host.includes(':') || host === 'localhost')
  ) {
    throw bad(`"${host}" is not a registry host`);
  }
  let name = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  if (!NAME_RE.test(name)) throw bad(`"${name}" is not a valid repository path`);
  if (!tag && !digest) throw bad('neither a tag nor a digest');
  const out: ImageReference = { host, name };
  if (tag) out.tag = tag;
  if (digest) out.digest = digest;
  return out;
}

export function formatReference(r: ImageReference): string {
  return `${r.host}/${r.name}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** pkgforge's tag rule: characters outside `[a-zA-Z0-9._-]` become `_`. */
export function sanitizeTag(tag: string): string {
  return tag.replace(/[^a-zA-Z0-9._-]/g, '_');
}
