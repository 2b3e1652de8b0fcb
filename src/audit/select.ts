/**
 * Which (package, arch) units an audit verifies: the names in a list file, or
 * the metadata index filtered by repository, pkg_type, a name glob and a limit.
 * Pure: the records are loaded elsewhere.
 */
import type { Arch } from '../engine/types.js';
import { matchPackage, type ParsedIndex } from '../upstream/records.js';
import type { PackageRecord, RepoName } from '../upstream/types.js';
import { isRebuildError, RebuildError } from '../util/errors.js';
import { type AuditItem, type Unit, unitKey } from './types.js';

export interface ListEntry {
  /** A name or pkg_id, optionally qualified `name#bincache`. */
  query: string;
  line: number;
}

/**
 * A packages list: one name or pkg_id per line; `#` starts a comment when it
 * begins the line or follows whitespace (so `age#bincache` stays a
 * qualified name); blank lines are ignored; duplicates are dropped.
 */
export function parsePackagesList(text: string, file: string): ListEntry[] {
  const out: ListEntry[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const cut = raw.search(/(^|\s)#/);
    const text = (cut === -1 ? raw : raw.slice(0, cut)).trim();
    if (text === '') continue;
    if (/\s/.test(text)) {
      throw new RebuildError('input', `line ${i + 1}: "${text}" holds more than one name`, {
        subject: file,
        fix: 'write one package name or pkg_id per line (comments start with #)',
      });
    }
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ query: text, line: i + 1 });
  }
  if (out.length === 0) {
    throw new RebuildError('input', 'names no packages', {
      subject: file,
      fix: 'write one package name or pkg_id per line',
    });
  }
  return out;
}

/** `*` any run of characters, `?` one character, `[abc]` a class; whole-name, case-insensitive. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

export interface IndexFilter {
  repos?: RepoName[];
  types?: string[];
  /** Matched against pkg, pkg_name and pkg_id. */
  name?: string;
}

export function filterRecords(records: readonly PackageRecord[], f: IndexFilter): PackageRecord[] {
  const re = f.name ? globToRegExp(f.name) : undefined;
  const types = f.types?.map((t) => t.toLowerCase());
  return records.filter(
    (r) =>
      (!f.repos || (f.repos as readonly string[]).includes(r.repo)) &&
      (!types || (r.pkgType !== undefined && types.includes(r.pkgType.toLowerCase()))) &&
      (!re || re.test(r.pkg) || re.test(r.pkgName) || re.test(r.pkgId)),
  );
}

export function unitFor(record: PackageRecord): Unit {
  return {
    key: unitKey(record),
    query: `${record.pkg}#${record.pkgId}#${record.repo}`,
    record,
  };
}

export interface Selection {
  units: Unit[];
  /** Entries of the list that matched nothing or several things (reported, not verified). */
  unresolved: AuditItem[];
}

/**
 * Units for a list file: each entry is matched as `rebuild <pkg>` matches it
 * (upstream's matchPackage), per arch. An entry that names several packages,
 * or an invalid record, is reported and not verified; an entry published for
 * none of the arches too.
 */
export function selectFromList(
  entries: readonly ListEntry[],
  byArch: ReadonlyMap<Arch, ParsedIndex>,
  file: string,
): Selection {
  const units: Unit[] = [];
  const unresolved: AuditItem[] = [];
  const seen = new Set<string>();
  const arches = [...byArch.keys()];
  for (const e of entries) {
    let found = false;
    const problems: string[] = [];
    for (const [arch, index] of byArch) {
      try {
        const u = unitFor(matchPackage(index, e.query, arch));
        found = true;
        if (!seen.has(u.key)) {
          seen.add(u.key);
          units.push(u);
        }
      } catch (err) {
        if (!isRebuildError(err)) throw err;
        if (err.message.startsWith('no package')) continue;
        found = true;
        problems.push(`${arch}: ${err.message}${err.fix ? ` (${err.fix})` : ''}`);
      }
    }
    const add = (detail: string) =>
      unresolved.push({
        unit: `${file}:${e.line}`,
        repo: '',
        pkg: e.query,
        pkgId: '',
        arch: arches[0]!,
        version: '',
        status: 'unresolved',
        detail,
      });
    if (problems.length > 0) add(`${file} line ${e.line}: ${problems.join('; ')}`);
    else if (!found)
      add(`${file} line ${e.line}: ${e.query} is not in the metadata index for ${arches.join(', ')}`);
  }
  return { units, unresolved };
}

/** Units for the index: every record that passes the filter, in index order, at most `limit` per arch. */
export function selectFromIndex(
  byArch: ReadonlyMap<Arch, readonly PackageRecord[]>,
  filter: IndexFilter,
  limit?: number,
): Selection {
  const units: Unit[] = [];
  const seen = new Set<string>();
  for (const records of byArch.values()) {
    let n = 0;
    for (const r of filterRecords(records, filter)) {
      if (limit !== undefined && n >= limit) break;
      const u = unitFor(r);
      if (seen.has(u.key)) continue;
      seen.add(u.key);
      units.push(u);
      n++;
    }
  }
  return { units, unresolved: [] };
}
