import { hashFile } from '../hash/digest.js';
import { RebuildError } from '../util/errors.js';
import { type Descriptor, OciClient, TITLE } from './oci.js';
import { formatReference } from './reference.js';
import type { FetchedFile, PackageRecord, PublishedArtifact, RegistryOptions } from './types.js';

export interface FetchOptions extends RegistryOptions {
  /** Exactly these files (by title); default: SBUILD, the main program, <prog>.log, <prog>.version, CHECKSUM. */
  files?: string[];
  /** Reuse a client (shares tokens and the cache handle). */
  client?: OciClient;
}

type Layer = { name: string; digest: string; size: number; mediaType: string };

function titledLayers(layers: Descriptor[]): Layer[] {
  const out: Layer[] = [];
  for (const l of layers) {
    const name = l.annotations?.[TITLE];
    if (name) out.push({ name, digest: l.digest, size: l.size, mediaType: l.mediaType });
  }
  return out;
}

/**
 * The main program's layer: the one whose digest is `sha256:<shasum>` (each
 * file is its own layer), else the file named `pkg_name`, the first of
 * `provides`, or `pkg`.
 */
export function findMainLayer<T extends { name: string; digest: string }>(
  record: PackageRecord,
  layers: T[],
): T | undefined {
  const byDigest = layers.find((l) => l.digest === `sha256:${record.shasum}` && !l.name.endsWith('.sig'));
  if (byDigest) return byDigest;
  for (const name of [record.pkgName, record.provides[0], record.pkg]) {
    const hit = name ? layers.find((l) => l.name === name) : undefined;
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Fetches the files of record of one published package from its OCI
 * artifact (`ghcr_pkg`): the manifest, then each wanted layer by digest into
 * the cache, verified against the digest as it streams.
 */
export async function fetchPublished(
  record: PackageRecord,
  opts: FetchOptions = {},
): Promise<PublishedArtifact> {
  const client = opts.client ?? new OciClient(opts);
  const resolved = await client.getManifest(record.ghcrPkg, record.arch);
  const layers = titledLayers(resolved.manifest.layers);
  const shown = formatReference(resolved.reference);
  const main = findMainLayer(record, layers);
  let wanted: string[];
  if (opts.files) {
    const missing = opts.files.filter((f) => !layers.some((l) => l.name === f));
    if (missing.length > 0) {
      throw new RebuildError('upstream', `the artifact ${shown} has no file ${missing.join(', ')}`, {
        subject: `${record.pkg} (${record.repo})`,
        fix: `it has: ${layers.map((l) => l.name).join(', ') || '(no titled layers)'}`,
      });
    }
    wanted = opts.files;
  } else {
    if (!main) {
      throw new RebuildError(
        'upstream',
        `the artifact ${shown} has no layer with digest sha256:${record.shasum} (the record's shasum) nor a file named ${record.pkgName}`,
        {
          subject: `${record.pkg} (${record.repo})`,
          fix: `the metadata and the registry disagree; files in the artifact: ${layers.map((l) => l.name).join(', ')}`,
        },
      );
    }
    const prog = main.name;
    wanted = ['SBUILD', prog, `${prog}.sig`, `${prog}.log`, `${prog}.version`, 'CHECKSUM'].filter((n) =>
      layers.some((l) => l.name === n),
    );
  }
  const files: Record<string, FetchedFile> = {};
  for (const name of wanted) {
    const layer = layers.find((l) => l.name === name)!;
    const blob = await client.fetchBlob(resolved.reference, {
      digest: layer.digest,
      size: layer.size,
      title: name,
    });
    files[name] = { name, digest: layer.digest, size: blob.size, path: blob.path };
  }
  const out: PublishedArtifact = {
    record,
    reference: shown,
    manifestDigest: resolved.digest,
    files,
    annotations: resolved.manifest.annotations ?? {},
    layers,
  };
  if (main) out.mainFile = main.name;
  return out;
}

export interface PublishedFileCheck {
  /** SHA-256 of the file equals the record's `shasum`. */
  shasumOk: boolean;
  /** BLAKE3 of the file equals the record's `bsum`. */
  bsumOk: boolean;
  sha256: string;
  blake3: string;
  size: number;
}

/**
 * The upstream-integrity check: does the published file match its own
 * metadata (`shasum` = SHA-256, `bsum` = BLAKE3)? Distinct from a rebuild
 * mismatch.
 */
export async function verifyPublishedFile(
  record: PackageRecord,
  file: FetchedFile | { path: string },
): Promise<PublishedFileCheck> {
  const d = await hashFile(file.path);
  return {
    shasumOk: d.sha256 === record.shasum.toLowerCase(),
    bsumOk: d.blake3 === record.bsum.toLowerCase(),
    sha256: d.sha256,
    blake3: d.blake3,
    size: d.size,
  };
}

/** Throws RebuildError('upstream') when `check` failed, naming what was expected and found. */
export function assertPublishedIntegrity(
  record: PackageRecord,
  name: string,
  check: PublishedFileCheck,
): void {
  const bad: string[] = [];
  if (!check.shasumOk) bad.push(`SHA-256 ${check.sha256} ≠ shasum ${record.shasum}`);
  if (!check.bsumOk) bad.push(`BLAKE3 ${check.blake3} ≠ bsum ${record.bsum}`);
  if (bad.length > 0) {
    throw new RebuildError(
      'upstream',
      `published ${name} does not match its own metadata: ${bad.join('; ')}`,
      {
        subject: `${record.pkg} ${record.version} (${record.repo}, ${record.arch})`,
        fix: 'this is an upstream integrity failure, not a rebuild mismatch: report it to pkgforge',
      },
    );
  }
}
