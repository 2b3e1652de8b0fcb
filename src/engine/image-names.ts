import { RebuildError } from '../util/errors.js';
import { type Arch, parseArch } from './types.js';

/**
 * Builder images rebuild can make offline (dockerfiles/<name>.Dockerfile on
 * top of the mmdebstrap base), by the names pkgforge gives them.
 */
const BUILDABLE: Readonly<Record<string, string>> = {
  'debian-builder': 'debian-builder',
  'debian-builder-unstable': 'debian-builder',
};

/** Builders pkgforge publishes that rebuild cannot make here, with a hint. */
const NOT_BUILDABLE: Readonly<Record<string, string>> = {
  'alpine-builder':
    'build dockerfiles/alpine-builder.Dockerfile on a machine with registry access (it starts FROM alpine:edge)',
  'alpine-builder-edge':
    'build dockerfiles/alpine-builder.Dockerfile on a machine with registry access (it starts FROM alpine:edge)',
  'ubuntu-builder':
    "pull ghcr.io/pkgforge/devscripts/ubuntu-builder:<arch> (or build pkgforge's Github/Runners/ubuntu-builder.dockerfile) on a machine with registry access",
  'ubuntu-systemd-base':
    "pull ghcr.io/pkgforge/devscripts/ubuntu-systemd-base:<arch> (or build pkgforge's Github/Runners/ubuntu-systemd-base.dockerfile) on a machine with registry access",
  'archlinux-builder':
    "pull ghcr.io/pkgforge/devscripts/archlinux-builder:<arch> (or build pkgforge's Github/Runners/archlinux-builder.dockerfile) on a machine with registry access",
  'gentoo-builder':
    "pull ghcr.io/pkgforge/devscripts/gentoo-builder:<arch> (or build pkgforge's Github/Runners/gentoo-builder.dockerfile) on a machine with registry access",
};

/** A builder image reference as a recipe writes it, taken apart. */
export interface ParsedImageName {
  /** As written, trimmed. */
  written: string;
  /** Registry host, if the name has one (`ghcr.io`, `docker.io`). */
  registry?: string;
  /** Repository path without the registry (`pkgforge/devscripts/debian-builder-unstable`). */
  repository: string;
  /** Last path component of the repository (`debian-builder-unstable`). */
  short: string;
  tag?: string;
  digest?: string;
}

export interface ResolvedBuilder {
  /**
   * The builder rebuild uses: a Dockerfile name under dockerfiles/
   * (`debian-builder`) or, when `image` is set, the user's name for it.
   */
  builder: string;
  /** A local image tag from the user's map (`--image-map`); use it as is. */
  image?: string;
  /** The arch named in the tag (`:x86_64`, `:aarch64-v2025.01.15`), if any. */
  tagArch?: Arch;
  /** The date of a dated tag (`v2025.01.15` → `2025-01-15`), if any. */
  tagDate?: string;
  /** The digest the name pins, when rebuild's own builder stands in for it (`digestStandIn`). */
  pinnedDigest?: string;
}

const NAME_RE = /^[a-z0-9][a-z0-9._/:@+-]*$/i;

/** Splits `[registry/]path[:tag][@digest]`; pure, no validation beyond the shape. */
export function parseImageName(nameAsWritten: string): ParsedImageName {
  const written = nameAsWritten.trim();
  let rest = written;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  let registry: string | undefined;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  const repository = parts.join('/');
  const short = parts[parts.length - 1] ?? '';
  const parsed: ParsedImageName = { written, repository, short };
  if (registry !== undefined) parsed.registry = registry;
  if (tag !== undefined) parsed.tag = tag;
  if (digest !== undefined) parsed.digest = digest;
  return parsed;
}

/** `aarch64`, `x86_64-v2025.01.15`, `v2025.01.15`, `latest` → arch and date. */
function parseTag(tag: string | undefined): { tagArch?: Arch; tagDate?: string } {
  if (!tag) return {};
  const out: { tagArch?: Arch; tagDate?: string } = {};
  const m = /^(?:([a-z0-9_]+?)(?:-|$))?(?:v(\d{4})\.(\d{2})\.(\d{2}))?$/i.exec(tag);
  if (!m) return {};
  if (m[1]) {
    const arch = parseArch(m[1]);
    if (arch) out.tagArch = arch;
  }
  if (m[2]) out.tagDate = `${m[2]}-${m[3]}-${m[4]}`;
  return out;
}

function lookupUserMap(map: Record<string, string> | undefined, p: ParsedImageName): string | undefined {
  if (!map) return undefined;
  const keys = [p.written, p.tag ? `${p.repository}:${p.tag}` : undefined, p.repository, p.short];
  for (const k of keys) {
    if (k !== undefined && Object.hasOwn(map, k)) return map[k];
  }
  return undefined;
}

/**
 * Maps a builder image name as a recipe writes it
 * (`ghcr.io/pkgforge/devscripts/debian-builder-unstable:aarch64`,
 * `pkgforge/debian-builder`, `debian-builder-unstable:x86_64-v2025.01.15`)
 * to a builder rebuild can make offline, or to a local tag from the user's
 * map (`name → local tag`; keys may be the name as written, the repository or
 * its last component, e.g. `alpine-builder`). Anything else is an
 * environment error that names the image and the fix. Pure: no engine.
 */
export function resolveBuilderName(
  nameAsWritten: string,
  arch: Arch,
  userMap?: Record<string, string>,
  opts: { digestStandIn?: boolean } = {},
): ResolvedBuilder {
  const p = parseImageName(nameAsWritten);
  const subject = p.written || '(empty image name)';
  if (!p.written || p.written.includes('$') || p.written.includes('`') || !NAME_RE.test(p.written)) {
    throw new RebuildError(
      'environment',
      p.written.includes('$')
        ? 'builder image name still holds an unexpanded shell variable'
        : 'not a valid builder image name',
      {
        subject,
        fix: 'write the image as pkgforge does, e.g. ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m), after substitution',
      },
    );
  }
  const tagInfo = parseTag(p.tag);
  const mapped = lookupUserMap(userMap, p);
  if (mapped !== undefined) {
    if (!mapped.trim()) {
      throw new RebuildError('usage', 'the image map gives an empty local tag', {
        subject,
        fix: `pass --image-map ${p.short}=<local tag>`,
      });
    }
    return { builder: p.short, image: mapped.trim(), ...tagInfo };
  }
  const builder = BUILDABLE[p.short.toLowerCase()];
  if (builder && p.digest !== undefined && opts.digestStandIn) {
    return { builder, ...tagInfo, pinnedDigest: p.digest };
  }
  if (builder && p.digest !== undefined) {
    // A digest pins one exact image; the builder rebuild makes offline has another. Never substitute it silently.
    throw new RebuildError(
      'environment',
      `the image is pinned by digest (${p.digest}), which rebuild cannot honour: it builds ${builder} itself offline, and that image has its own digest`,
      {
        subject,
        fix: `load the pinned image into this engine and pass --image-map ${p.short}=<its local tag>, or drop @${p.digest} from the recipe to use rebuild's ${builder}`,
      },
    );
  }
  if (builder) return { builder, ...tagInfo };
  const hint = NOT_BUILDABLE[p.short.toLowerCase()];
  const mapFix = `pass --image-map ${p.short}=<local tag>`;
  if (hint) {
    throw new RebuildError('environment', `${p.short} cannot be built offline (no registry is reachable)`, {
      subject,
      fix: `${hint.replace('<arch>', arch)}, load it into this engine, and ${mapFix}`,
    });
  }
  throw new RebuildError(
    'environment',
    `unknown builder image ${p.short}: rebuild can build only ${Object.keys(BUILDABLE).join(', ')} offline`,
    {
      subject,
      fix: `load an equivalent ${arch} image into this engine and ${mapFix}`,
    },
  );
}
