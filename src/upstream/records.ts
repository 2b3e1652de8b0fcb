/**
 * Pure functions over pkgforge metadata: validate raw records (every value a
 * string), parse `HEAD-<sha>-<date>` versions, and match a user's `<pkg>`
 * against an index without ever picking silently among several records.
 */
import { z } from 'zod';
import type { Arch } from '../engine/types.js';
import { parseArch } from '../engine/types.js';
import { RebuildError } from '../util/errors.js';
import { parseReference } from './reference.js';
import { isSoarIndex, parseSoarIndexAsRecords } from './soar-index.js';
import type { PackageRecord, RepoName } from './types.js';

export const REPOS: readonly RepoName[] = ['bincache', 'pkgcache'];

/** One problem with one field of one record. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** A record that failed validation, kept so it can be reported when asked for. */
export interface InvalidRecord {
  repo: RepoName | undefined;
  /** Position in its index. */
  index: number;
  /** The names it can be asked for by (whatever of pkg, pkg_name, pkg_id, pkg_family were readable). */
  names: string[];
  /** `pkg` if readable, else `record #<index>`. */
  label: string;
  problems: FieldProblem[];
  raw: unknown;
}

export interface ParsedIndex {
  records: PackageRecord[];
  invalid: InvalidRecord[];
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const str = z.string();
const nonEmpty = z.string().trim().min(1, 'must not be empty');
const hex64 = z.string().trim().regex(HEX64, 'must be 64 hex digits');
const stringList = z.array(z.string(), 'must be an array of strings');
const reference = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine(
    (v) => {
      try {
        return parseReference(v).tag !== undefined;
      } catch {
        return false;
      }
    },
    { message: 'must be an OCI reference <host>/<path>:<tag>' },
  );
const blobRef = z.string().refine(
  (v) => {
    try {
      return parseReference(v).digest !== undefined;
    } catch {
      return false;
    }
  },
  { message: 'must be an OCI reference <host>/<path>@sha256:<hex>' },
);
const digits = z.string().trim().regex(/^\d+$/, 'must be a decimal number');
const date = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((v) => !Number.isNaN(Date.parse(v)), { message: 'must be a date (ISO 8601)' });

/** Optional fields: absent, or "" (pkgforge writes empty strings), or valid. */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === '' || v === null ? undefined : v), schema.optional());
}

export const RawRecordSchema = z.object({
  pkg: nonEmpty,
  pkg_name: nonEmpty,
  pkg_id: nonEmpty,
  pkg_family: optional(str),
  pkg_type: optional(str),
  host: optional(str),
  version: nonEmpty,
  bsum: hex64,
  shasum: hex64,
  build_date: date,
  build_script: optional(str),
  build_log: optional(str),
  download_url: optional(str),
  ghcr_pkg: reference,
  ghcr_blob: optional(blobRef),
  ghcr_files: optional(stringList),
  provides: optional(stringList),
  src_url: optional(stringList),
  size_raw: optional(digits),
  ghcr_size_raw: optional(digits),
  _disabled: optional(str),
});

/** `HEAD-<7..40 hex>-<date>`: the source commit and the date as ISO (or as written). */
export function parseVersion(version: string): { sha: string; date: string } | undefined {
  const m = /^HEAD-([0-9a-fA-F]{7,40})-(.+)$/.exec(version.trim());
  if (!m) return undefined;
  const raw = m[2]!;
  const d = /^(\d{2})(\d{2})(\d{2})T?(\d{2})(\d{2})(\d{2})?$/.exec(raw);
  let iso = raw;
  if (d) {
    const [, yy, mo, dd, hh, mi, ss] = d;
    const candidate = `20${yy}-${mo}-${dd}T${hh}:${mi}:${ss ?? '00'}Z`;
    if (!Number.isNaN(Date.parse(candidate))) iso = candidate;
  } else {
    const d8 = /^(\d{4})(\d{2})(\d{2})$/.exec(raw);
    if (d8) iso = `${d8[1]}-${d8[2]}-${d8[3]}`;
  }
  return { sha: m[1]!.toLowerCase(), date: iso };
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** The repo a record belongs to, from `ghcr_pkg` (`…/pkgforge/<repo>/…`) or `pkg_webpage`. */
export function repoOfRaw(raw: Record<string, unknown>): RepoName | undefined {
  for (const key of ['ghcr_pkg', 'pkg_webpage', 'download_url']) {
    const v = raw[key];
    if (typeof v !== 'string') continue;
    const m = /\/(?:pkgforge\/|repo\/)(bincache|pkgcache)\//.exec(v);
    if (m) return m[1] as RepoName;
  }
  return undefined;
}

function namesOf(raw: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of ['pkg', 'pkg_name', 'pkg_id', 'pkg_family']) {
    const v = raw[k];
    if (typeof v === 'string' && v.trim() && !out.includes(v.trim())) out.push(v.trim());
  }
  return out;
}

export type RecordResult = { ok: true; record: PackageRecord } | { ok: false; invalid: InvalidRecord };

/**
 * Validates one raw record. `repo` is the index it came from (undefined for
 * a `--metadata` file: taken from `ghcr_pkg`); `arch` is the index's arch,
 * used when the record has no `host`.
 */
export function parseRecord(
  raw: unknown,
  repo: RepoName | undefined,
  arch: Arch | undefined,
  index = 0,
): RecordResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      invalid: {
        repo,
        index,
        names: [],
        label: `record #${index}`,
        problems: [{ field: '(record)', message: `must be a JSON object (got ${show(raw)})` }],
        raw,
      },
    };
  }
  const obj = raw as Record<string, unknown>;
  const names = namesOf(obj);
  const label = typeof obj.pkg === 'string' && obj.pkg.trim() ? obj.pkg.trim() : `record #${index}`;
  const problems: FieldProblem[] = [];
  const { value: fixed, warnings } = softenRecord(obj);
  const parsed = RawRecordSchema.safeParse(fixed);
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(record)';
      const top = String(issue.path[0] ?? '');
      if (seen.has(field)) continue;
      seen.add(field);
      const value = issue.path.length > 0 ? obj[top] : obj;
      if (value === undefined) problems.push({ field, message: 'missing' });
      else if (issue.code === 'invalid_type' && issue.path.length === 1) {
        problems.push({
          field,
          message: `${issue.expected === 'string' ? 'must be a string' : issue.message} (got ${show(value)})`,
        });
      } else
        problems.push({
          field,
          message: `${issue.message} (got ${show(issue.path.length > 1 ? getPath(obj, issue.path) : value)})`,
        });
    }
  }
  const recordRepo = repo ?? repoOfRaw(obj);
  if (!recordRepo) {
    problems.push({
      field: 'ghcr_pkg',
      message: 'does not name the repository (…/pkgforge/bincache|pkgcache/…)',
    });
  }
  let recordArch: Arch | undefined = arch;
  if (typeof obj.host === 'string' && obj.host.trim()) {
    const a = parseArch(obj.host.trim().replace(/-linux$/i, ''));
    if (!a)
      problems.push({
        field: 'host',
        message: `must be <arch>-Linux for x86_64 or aarch64 (got ${show(obj.host)})`,
      });
    else recordArch = a;
  } else if (!recordArch) {
    problems.push({ field: 'host', message: 'missing (and the index does not say which arch it is for)' });
  }
  if (problems.length > 0 || !parsed.success || !recordRepo || !recordArch) {
    return { ok: false, invalid: { repo: recordRepo, index, names, label, problems, raw } };
  }
  const r = parsed.data;
  const record: PackageRecord = {
    repo: recordRepo,
    host: r.host?.trim() || `${recordArch}-Linux`,
    arch: recordArch,
    pkg: r.pkg,
    pkgName: r.pkg_name,
    pkgId: r.pkg_id,
    version: r.version,
    bsum: r.bsum.toLowerCase(),
    shasum: r.shasum.toLowerCase(),
    buildDate: r.build_date,
    ghcrPkg: r.ghcr_pkg,
    ghcrFiles: r.ghcr_files ?? [],
    provides: r.provides ?? [],
    raw: obj,
  };
  if (r.pkg_family) record.pkgFamily = r.pkg_family;
  if (r.pkg_type) record.pkgType = r.pkg_type;
  const commit = parseVersion(r.version);
  if (commit) record.sourceCommit = commit;
  if (r.build_script) record.buildScript = r.build_script;
  if (r.build_log) record.buildLog = r.build_log;
  if (r.download_url) record.downloadUrl = r.download_url;
  if (r.ghcr_blob) record.ghcrBlob = r.ghcr_blob;
  if (r.size_raw) record.sizeRaw = Number(r.size_raw);
  if (r.ghcr_files) record.hasRecipeOfRecord = r.ghcr_files.includes('SBUILD');
  if (warnings.length > 0) record.warnings = warnings;
  return { ok: true, record };
}

/**
 * Fields verification does not need: a malformed one is dropped with a
 * warning instead of rejecting the record (early-2025 bincache records have
 * `ghcr_size` and `ghcr_size_raw` swapped, e.g. `"ghcr_size_raw": "1.64 MB"`).
 */
export const SOFT_FIELDS = [
  'pkg_family',
  'pkg_type',
  'build_script',
  'build_log',
  'download_url',
  'ghcr_blob',
  'ghcr_files',
  'provides',
  'src_url',
  'size_raw',
  'ghcr_size_raw',
  '_disabled',
] as const;

/** Fields that hold URLs; early-2025 records write them with one slash (`https:/api.ghcr…`). */
const URL_FIELDS = [
  'build_script',
  'build_log',
  'download_url',
  'pkg_webpage',
  'manifest_url',
  'ghcr_url',
] as const;

/** `https:/host/…` → `https://host/…` (and `http:/`); anything else unchanged. Pure. */
export function fixOneSlashUrl(url: string): string {
  return url.replace(/^(https?):\/(?!\/)/i, '$1://');
}

/**
 * The record with one-slash URLs repaired and malformed soft fields removed,
 * and a warning for each soft field removed. Pure.
 */
export function softenRecord(obj: Record<string, unknown>): {
  value: Record<string, unknown>;
  warnings: FieldProblem[];
} {
  const value: Record<string, unknown> = { ...obj };
  for (const k of URL_FIELDS) {
    const v = value[k];
    if (typeof v === 'string' && fixOneSlashUrl(v) !== v) value[k] = fixOneSlashUrl(v);
  }
  const warnings: FieldProblem[] = [];
  const first = RawRecordSchema.safeParse(value);
  if (first.success) return { value, warnings };
  const soft = new Set<string>(SOFT_FIELDS);
  for (const issue of first.error.issues) {
    const top = String(issue.path[0] ?? '');
    if (!soft.has(top) || !(top in value)) continue;
    warnings.push({
      field: top,
      message: `${issue.message} (got ${show(obj[top])}); ignored: verification does not need it`,
    });
    delete value[top];
  }
  return { value, warnings };
}

function getPath(obj: Record<string, unknown>, path: PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** Validates a whole index: valid records and invalid ones (never throws for one bad record). */
export function parseIndex(
  json: unknown,
  repo: RepoName | undefined,
  arch: Arch | undefined,
  source = 'index',
): ParsedIndex {
  // the TOML era: an index generated by `sbuild meta` (soar-index.ts)
  if (isSoarIndex(json)) return parseSoarIndexAsRecords(json, arch ?? 'x86_64', source);
  let list: unknown = json;
  // some mirrors wrap the array: { "bincache": [...] } or { "packages": [...] }
  if (!Array.isArray(list) && list && typeof list === 'object') {
    const arrays = Object.values(list as Record<string, unknown>).filter(Array.isArray);
    if (arrays.length === 1) list = arrays[0];
  }
  if (!Array.isArray(list)) {
    throw new RebuildError('input', 'a metadata index must be a JSON array of records', {
      subject: source,
      fix: 'point --metadata at a pkgforge index such as https://meta.pkgforge.dev/bincache/aarch64-Linux.json',
    });
  }
  const out: ParsedIndex = { records: [], invalid: [] };
  list.forEach((raw, i) => {
    const r = parseRecord(raw, repo, arch, i);
    if (r.ok) out.records.push(r.record);
    else out.invalid.push(r.invalid);
  });
  return out;
}

/** `name: field: message; field: message` */
export function describeInvalid(inv: InvalidRecord): string {
  return `${inv.label}${inv.repo ? ` (${inv.repo})` : ''}: ${inv.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`;
}

/** A user's `<pkg>`: a name, optionally `#bincache`/`#pkgcache` and/or `#<pkg_id>`. */
export interface PackageQuery {
  name: string;
  repo?: RepoName;
  pkgId?: string;
}

export function parseQuery(query: string): PackageQuery {
  const parts = query.trim().split('#');
  const name = parts.shift() ?? '';
  const q: PackageQuery = { name };
  for (const p of parts) {
    if (!p) continue;
    if ((REPOS as readonly string[]).includes(p.toLowerCase())) q.repo = p.toLowerCase() as RepoName;
    else q.pkgId = p;
  }
  if (!q.name && !q.pkgId) {
    throw new RebuildError('usage', `no package name in "${query}"`, {
      fix: 'give a package name, e.g. 7z, 7z#bincache or a pkg_id',
    });
  }
  return q;
}

type Candidate = { kind: 'valid'; record: PackageRecord } | { kind: 'invalid'; invalid: InvalidRecord };

function candidateNames(c: Candidate): string[] {
  if (c.kind === 'valid') {
    const r = c.record;
    return [r.pkg, r.pkgName, r.pkgId, ...(r.pkgFamily ? [r.pkgFamily] : [])];
  }
  return c.invalid.names;
}
const repoOf = (c: Candidate) => (c.kind === 'valid' ? c.record.repo : c.invalid.repo);
const pkgIdOf = (c: Candidate) =>
  c.kind === 'valid'
    ? c.record.pkgId
    : typeof (c.invalid.raw as { pkg_id?: unknown })?.pkg_id === 'string'
      ? String((c.invalid.raw as { pkg_id: string }).pkg_id)
      : undefined;
const pkgOf = (c: Candidate) => (c.kind === 'valid' ? c.record.pkg : c.invalid.label);

function filterCandidates(all: Candidate[], q: PackageQuery, fold: boolean): Candidate[] {
  const eq = (a: string, b: string) => (fold ? a.toLowerCase() === b.toLowerCase() : a === b);
  return all.filter((c) => {
    if (q.repo && repoOf(c) !== q.repo) return false;
    if (q.pkgId) {
      const id = pkgIdOf(c);
      if (!id || !eq(id, q.pkgId)) return false;
    }
    return !q.name || candidateNames(c).some((n) => eq(n, q.name));
  });
}

const pkgNameOf = (c: Candidate) =>
  c.kind === 'valid'
    ? c.record.pkgName
    : typeof (c.invalid.raw as { pkg_name?: unknown })?.pkg_name === 'string'
      ? String((c.invalid.raw as { pkg_name: string }).pkg_name).trim()
      : undefined;

/**
 * The candidates a query picks: exact (case-sensitive) name matches, else
 * case-insensitive ones; among several, those whose pkg_name equals the name
 * win (`rage` is the program rage, not every program of the rage family).
 */
function resolveHits(all: Candidate[], q: PackageQuery): Candidate[] {
  for (const fold of [false, true]) {
    const hits = filterCandidates(all, q, fold);
    if (hits.length === 0) continue;
    if (hits.length > 1 && q.name) {
      const eq = (a: string | undefined) =>
        a !== undefined && (fold ? a.toLowerCase() === q.name.toLowerCase() : a === q.name);
      const byName = hits.filter((c) => eq(pkgNameOf(c)));
      if (byName.length > 0) return byName;
    }
    return hits;
  }
  return [];
}

/**
 * The shortest qualifier that picks `c` alone when pasted back, checked
 * against every candidate of the index (`all`), not only the ambiguous ones.
 * Names by pkg_name, so each program of a multi-program package gets its own.
 */
export function qualifierFor(c: Candidate, all: Candidate[]): string {
  const name = pkgNameOf(c) || pkgOf(c);
  const id = pkgIdOf(c);
  const repo = repoOf(c);
  const options: string[] = [name];
  if (repo) options.push(`${name}#${repo}`);
  if (id) options.push(`${name}#${id}`);
  if (id && repo) options.push(`${name}#${id}#${repo}`);
  for (const o of options) {
    const hits = resolveHits(all, parseQuery(o));
    if (hits.length === 1 && hits[0] === c) return o;
  }
  return options[options.length - 1] ?? name;
}

function levenshtein(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** Names close to `term`: prefix, substring, then one or two edits away. */
export function suggestNames(index: ParsedIndex, term: string, max = 8): string[] {
  const t = term.toLowerCase();
  if (!t) return [];
  const names = new Set<string>();
  for (const r of index.records) for (const n of [r.pkg, r.pkgName, r.pkgFamily ?? '']) if (n) names.add(n);
  const scored: Array<[number, string]> = [];
  for (const n of names) {
    const l = n.toLowerCase();
    const score = l.startsWith(t) ? 0 : l.includes(t) ? 1 : levenshtein(l, t) <= 2 ? 2 : -1;
    if (score >= 0) scored.push([score, n]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].length - b[1].length || a[1].localeCompare(b[1]));
  return scored.slice(0, max).map(([, n]) => n);
}

/**
 * The one record `query` names. Exact (case-sensitive) matches on pkg,
 * pkg_name, pkg_id or pkg_family first, then case-insensitive. Several →
 * RebuildError('usage') listing each with the qualifier that picks it; none
 * → RebuildError('usage') with close names; the one match invalid →
 * RebuildError('input') naming its fields.
 */
export function matchPackage(index: ParsedIndex, query: string, arch?: Arch): PackageRecord {
  const q = parseQuery(query);
  const all: Candidate[] = [
    ...index.records.map((record) => ({ kind: 'valid', record }) as const),
    ...index.invalid.map((invalid) => ({ kind: 'invalid', invalid }) as const),
  ];
  const hits = resolveHits(all, q);
  const where = arch ? ` for ${arch}` : '';
  if (hits.length === 0) {
    const close = suggestNames(index, q.name || q.pkgId || '');
    throw new RebuildError('usage', `no package "${query}" in the metadata${where}`, {
      subject: query,
      fix:
        close.length > 0
          ? `did you mean: ${close.join(', ')}?`
          : 'run `rebuild search <term>` to find the name',
    });
  }
  if (hits.length > 1) {
    const lines = hits.map((c) => {
      const qual = qualifierFor(c, all);
      if (c.kind === 'valid') {
        const r = c.record;
        return `  ${qual.padEnd(36)} ${r.pkgName} (${r.pkg}) ${r.version} (${r.repo}, ${r.pkgId}, built ${r.buildDate})`;
      }
      return `  ${qual.padEnd(36)} ${c.invalid.label} (${c.invalid.repo ?? '?'}, invalid record)`;
    });
    throw new RebuildError(
      'usage',
      `"${query}" matches ${hits.length} packages${where}:\n${lines.join('\n')}`,
      {
        subject: query,
        fix: 'pick one with the qualifier in the first column',
      },
    );
  }
  const only = hits[0]!;
  if (only.kind === 'invalid') {
    throw new RebuildError(
      'input',
      only.invalid.problems.map((p) => `${only.invalid.label}: ${p.field}: ${p.message}`).join('\n  '),
      {
        subject: `metadata record ${only.invalid.label}${only.invalid.repo ? ` (${only.invalid.repo})` : ''}`,
        fix: 'the published metadata is malformed; report it to pkgforge or pass a corrected index with --metadata FILE',
      },
    );
  }
  return only.record;
}

/**
 * Records whose names contain `term` (case-insensitive), best first: exact
 * name, prefix, substring in a name, then in the description.
 */
export function searchRecords(records: PackageRecord[], term: string): PackageRecord[] {
  const t = term.toLowerCase();
  const scored: Array<[number, PackageRecord]> = [];
  for (const r of records) {
    const names = [r.pkg, r.pkgName, r.pkgId, r.pkgFamily ?? ''].map((n) => n.toLowerCase());
    const desc = typeof r.raw.description === 'string' ? r.raw.description.toLowerCase() : '';
    const score = names.includes(t)
      ? 0
      : names.some((n) => n.startsWith(t))
        ? 1
        : names.some((n) => n.includes(t))
          ? 2
          : desc.includes(t)
            ? 3
            : -1;
    if (score >= 0) scored.push([score, r]);
  }
  scored.sort(
    (a, b) => a[0] - b[0] || a[1].pkg.localeCompare(b[1].pkg) || a[1].repo.localeCompare(b[1].repo),
  );
  return scored.map(([, r]) => r);
}
