/**
 * The TOML-era index: what `sbuild meta --arch <host>` generates from the
 * soarpkgs tree (`{ "format": 1, "packages": [ … ] }`, sbuild's
 * `src/port/meta.rs`), published as `metadata-<host>.json` with a minisign
 * `.sig` beside it. Pure: JSON in, typed entries (and SBUILD-era-shaped
 * records for search/info) out.
 */
import { z } from 'zod';
import type { Arch } from '../engine/types.js';
import { RebuildError } from '../util/errors.js';
import type { InvalidRecord, ParsedIndex } from './records.js';
import type { PackageRecord } from './types.js';

/** The index format versions this reader knows. */
export const SOAR_INDEX_FORMATS = [1] as const;

const hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const strings = z.array(z.string()).default([]);

export const SoarIndexEntrySchema = z.object({
  pkg_name: z.string().min(1),
  pkg_family: z.string().optional(),
  pkg_type: z.string().nullish(),
  description: z.string().nullish(),
  version: z.string().min(1),
  date: z.string().optional(),
  download_url: z.string().min(1),
  size: z.number().int().nonnegative().nullish(),
  src_url: strings,
  homepage: strings,
  license: strings,
  maintainer: strings,
  note: strings,
  category: strings,
  repology: strings,
  shasum: hex.optional(),
  bsum: hex.optional(),
  extra: z
    .array(z.object({ url: z.string(), to: z.string(), blake3: hex.optional(), sha256: hex.optional() }))
    .default([]),
  files: z.array(z.object({ source: z.string(), to: z.string(), alias: strings })).default([]),
});

export type SoarIndexEntry = z.infer<typeof SoarIndexEntrySchema>;

/** Whether a parsed JSON document is an sbuild-generated index (rather than an SBUILD-era array). */
export function isSoarIndex(json: unknown): json is { format: number; packages: unknown[] } {
  return (
    typeof json === 'object' &&
    json !== null &&
    !Array.isArray(json) &&
    typeof (json as { format?: unknown }).format === 'number' &&
    Array.isArray((json as { packages?: unknown }).packages)
  );
}

/** Entries of an sbuild index; an unknown format version is refused, one bad entry is not. */
export function parseSoarIndex(
  json: unknown,
  source = 'index',
): { entries: SoarIndexEntry[]; invalid: Array<{ index: number; label: string; message: string }> } {
  if (!isSoarIndex(json))
    throw new RebuildError('input', 'not an sbuild index ({"format": 1, "packages": [...]})', {
      subject: source,
    });
  if (!(SOAR_INDEX_FORMATS as readonly number[]).includes(json.format))
    throw new RebuildError(
      'input',
      `index format ${json.format} is newer than rebuild reads (${SOAR_INDEX_FORMATS.join(', ')})`,
      {
        subject: source,
        fix: 'update rebuild',
      },
    );
  const entries: SoarIndexEntry[] = [];
  const invalid: Array<{ index: number; label: string; message: string }> = [];
  json.packages.forEach((raw, index) => {
    const r = SoarIndexEntrySchema.safeParse(raw);
    if (r.success) entries.push(r.data);
    else {
      const label = (raw as { pkg_name?: unknown })?.pkg_name;
      invalid.push({
        index,
        label: typeof label === 'string' ? label : `entry #${index}`,
        message: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
    }
  });
  return { entries, invalid };
}

/** An index entry as the record search/info/verify list (repo `soarpkgs`, no OCI artifact). */
export function soarEntryRecord(e: SoarIndexEntry, arch: Arch): PackageRecord {
  return {
    repo: 'soarpkgs',
    host: `${arch}-Linux`,
    arch,
    pkg: e.pkg_name,
    pkgName: e.pkg_name,
    pkgId: e.pkg_name,
    pkgFamily: e.pkg_family,
    pkgType: e.pkg_type ?? undefined,
    version: e.version,
    bsum: e.bsum ?? '',
    shasum: e.shasum ?? '',
    buildDate: e.date ?? '',
    downloadUrl: e.download_url,
    ghcrPkg: '',
    ghcrFiles: [],
    sizeRaw: e.size ?? undefined,
    provides: e.files.map((f) => f.to),
    raw: e as unknown as Record<string, unknown>,
    soar: e,
  };
}

/** The SBUILD-era ParsedIndex shape for an sbuild index, so the existing lookups work on it. */
export function parseSoarIndexAsRecords(json: unknown, arch: Arch, source: string): ParsedIndex {
  const { entries, invalid } = parseSoarIndex(json, source);
  return {
    records: entries.map((e) => soarEntryRecord(e, arch)),
    invalid: invalid.map(
      (i): InvalidRecord => ({
        repo: undefined,
        index: i.index,
        names: [i.label],
        label: i.label,
        problems: [{ field: 'entry', message: i.message }],
        raw: undefined,
      }),
    ),
  };
}
