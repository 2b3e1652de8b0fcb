import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBearerChallenge, pickIndexEntry } from '../../src/upstream/oci.js';
import {
  matchPackage,
  type ParsedIndex,
  parseIndex,
  parseQuery,
  parseRecord,
  parseVersion,
  searchRecords,
} from '../../src/upstream/records.js';
import { parseReference, sanitizeTag } from '../../src/upstream/reference.js';
import { RebuildError } from '../../src/util/errors.js';

// A real bincache record (aarch64, 7z), exactly as published: every value is a string.
const FIXTURE = join(import.meta.dirname, 'fixtures', 'metadata-record.json');
const real = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;

function variant(over: Record<string, unknown>): Record<string, unknown> {
  return { ...real, ...over };
}

function thrown(fn: () => unknown): RebuildError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RebuildError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('parseRecord', () => {
  it('validates the real published record (all strings) into a PackageRecord', () => {
    const r = parseRecord(real, 'bincache', undefined);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.record).toMatchObject({
      repo: 'bincache',
      arch: 'aarch64',
      host: 'aarch64-Linux',
      pkg: '7z.static',
      pkgName: '7z',
      pkgId: 'github.com.ip7z.7zip',
      pkgFamily: '7z',
      version: '24.09',
      bsum: '11c54a040b0929c829c780fbd76a83709a39cfb7cd42f3ea2c4c7acf43629369',
      shasum: 'bbbb55411e6df5ff05c91777086acc7240d0cc012635bd84098a7c1c5df38014',
      ghcrPkg: 'ghcr.io/pkgforge/bincache/7z/official/7z:24.09-aarch64-linux',
      sizeRaw: 3113480,
      provides: ['7z'],
    });
    expect(r.record.ghcrFiles).toContain('SBUILD');
    expect(r.record.sourceCommit).toBeUndefined();
    expect(r.record.raw).toBe(real);
    // the repo is read from ghcr_pkg when the index does not say
    const r2 = parseRecord(real, undefined, undefined);
    expect(r2.ok && r2.record.repo).toBe('bincache');
  });

  it('names the package and the field of a malformed value, with what it got', () => {
    const r = parseRecord(variant({ bsum: 'xyz' }), 'bincache', 'aarch64');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.invalid.label).toBe('7z.static');
    expect(r.invalid.problems).toEqual([{ field: 'bsum', message: 'must be 64 hex digits (got "xyz")' }]);
  });

  it('reports missing fields, non-string values and bad lists, all at once', () => {
    const { shasum: _s, ...noShasum } = real;
    const r = parseRecord(
      { ...noShasum, size_raw: 12, provides: [1], ghcr_pkg: 'not a ref' },
      'bincache',
      'aarch64',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byField = Object.fromEntries(r.invalid.problems.map((p) => [p.field, p.message]));
    expect(byField.shasum).toBe('missing');
    expect(byField.ghcr_pkg).toMatch(/OCI reference/);
    // fields verification does not need are warnings, not problems
    expect(byField.size_raw).toBeUndefined();
    expect(byField['provides.0']).toBeUndefined();
    const soft = parseRecord(variant({ size_raw: 12, provides: [1] }), 'bincache', 'aarch64');
    expect(soft.ok).toBe(true);
    if (!soft.ok) return;
    expect(soft.record.warnings?.map((w) => w.field).sort()).toEqual(['provides', 'size_raw']);
    expect(soft.record.provides).toEqual([]);
  });

  it('parses HEAD-<sha>-<date> versions into the source commit', () => {
    expect(parseVersion('HEAD-1a2b3c4-250122T095137')).toEqual({
      sha: '1a2b3c4',
      date: '2025-01-22T09:51:37Z',
    });
    expect(parseVersion('HEAD-0123456789abcdef0123456789abcdef01234567-20250122')).toEqual({
      sha: '0123456789abcdef0123456789abcdef01234567',
      date: '2025-01-22',
    });
    expect(parseVersion('HEAD-abc-250122T095137')).toBeUndefined(); // too short
    expect(parseVersion('24.09')).toBeUndefined();
    const r = parseRecord(variant({ version: 'HEAD-deadbee-241231T235959' }), 'bincache', undefined);
    expect(r.ok && r.record.sourceCommit).toEqual({ sha: 'deadbee', date: '2024-12-31T23:59:59Z' });
  });
});

function indexOf(...records: Record<string, unknown>[]): ParsedIndex {
  return parseIndex(records, undefined, 'aarch64');
}

const sevenZip = variant({});
const sevenZipPkgcache = variant({
  pkg: '7z.appimage',
  pkg_type: 'appimage',
  pkg_id: 'github.com.ip7z.7zip.appimage',
  ghcr_pkg: 'ghcr.io/pkgforge/pkgcache/7z/appimage/7z:24.09-aarch64-linux',
  pkg_webpage: 'https://pkgs.pkgforge.dev/repo/pkgcache/aarch64-linux/7z/7z',
});
const age = variant({
  pkg: 'age',
  pkg_name: 'age',
  pkg_family: 'age',
  pkg_id: 'github.com.FiloSottile.age',
  ghcr_pkg: 'ghcr.io/pkgforge/bincache/age/official/age:1.2.1-aarch64-linux',
});

describe('matchPackage', () => {
  it('one bad record does not make the index unusable; asking for it names package and field', () => {
    const idx = indexOf(
      sevenZip,
      variant({ pkg: 'broken', pkg_name: 'broken', pkg_id: 'x.broken', bsum: 'xyz' }),
      age,
    );
    expect(idx.records.map((r) => r.pkg)).toEqual(['7z.static', 'age']);
    expect(matchPackage(idx, 'age').pkg).toBe('age');
    const err = thrown(() => matchPackage(idx, 'broken'));
    expect(err.category).toBe('input');
    expect(err.describe()).toContain('broken: bsum: must be 64 hex digits (got "xyz")');
  });

  it('matches pkg, pkg_name, pkg_id and pkg_family; case-sensitive first, then case-insensitive', () => {
    const idx = indexOf(sevenZip, age);
    expect(matchPackage(idx, '7z.static').pkg).toBe('7z.static');
    expect(matchPackage(idx, 'github.com.FiloSottile.age').pkg).toBe('age');
    expect(matchPackage(idx, 'AGE').pkg).toBe('age');
    expect(matchPackage(idx, 'GitHub.com.filosottile.AGE').pkg).toBe('age');
    // a case-sensitive hit wins over case-insensitive ones
    const idx2 = indexOf(
      age,
      variant({ pkg: 'Age', pkg_name: 'Age', pkg_family: 'Age', pkg_id: 'other.Age' }),
    );
    expect(matchPackage(idx2, 'Age').pkgId).toBe('other.Age');
  });

  it('several matches: lists each with the qualifier that picks it, never a silent first', () => {
    const idx = indexOf(sevenZip, sevenZipPkgcache, age);
    const err = thrown(() => matchPackage(idx, '7z'));
    expect(err.category).toBe('usage');
    expect(err.message).toContain('"7z" matches 2 packages');
    expect(err.message).toContain('7z#bincache');
    expect(err.message).toContain('7z#pkgcache');
    // each listed qualifier picks exactly its record
    expect(matchPackage(idx, '7z.static#bincache').repo).toBe('bincache');
    expect(matchPackage(idx, '7z#pkgcache').pkg).toBe('7z.appimage');
    expect(matchPackage(idx, '7z#bincache').pkg).toBe('7z.static');
    expect(matchPackage(idx, 'github.com.ip7z.7zip.appimage').repo).toBe('pkgcache');
  });

  it('same pkg in both repos with one pkg_id: qualifier by repo; same repo: by pkg_id', () => {
    const a = variant({});
    const b = variant({ ghcr_pkg: 'ghcr.io/pkgforge/pkgcache/7z/official/7z:24.09-aarch64-linux' });
    const c = variant({ pkg_id: 'github.com.other.7zip' });
    const idx = indexOf(a, b, c);
    const err = thrown(() => matchPackage(idx, '7z.static'));
    expect(err.message).toMatch(/matches 3 packages/);
    const quals = err.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[0]!);
    expect(quals).toHaveLength(3);
    const picked = quals.map((q) => matchPackage(idx, q));
    expect(new Set(picked).size).toBe(3);
  });

  it('no match: suggests close names', () => {
    const idx = indexOf(sevenZip, age);
    const err = thrown(() => matchPackage(idx, 'ag'));
    expect(err.category).toBe('usage');
    expect(err.fix).toContain('age');
    expect(thrown(() => matchPackage(idx, 'agee')).fix).toContain('age');
    expect(thrown(() => matchPackage(idx, 'zzzzzz')).fix).toMatch(/rebuild search/);
    expect(thrown(() => matchPackage(idx, 'age#pkgcache')).category).toBe('usage');
  });

  it('parses qualifiers', () => {
    expect(parseQuery('age#bincache')).toEqual({ name: 'age', repo: 'bincache' });
    expect(parseQuery('age#github.com.FiloSottile.age#pkgcache')).toEqual({
      name: 'age',
      pkgId: 'github.com.FiloSottile.age',
      repo: 'pkgcache',
    });
    expect(() => parseQuery('#')).toThrow(RebuildError);
  });

  it('search ranks exact, prefix, substring, description', () => {
    const idx = indexOf(sevenZip, sevenZipPkgcache, age);
    expect(searchRecords(idx.records, '7z').map((r) => r.pkg)).toEqual(['7z.appimage', '7z.static']);
    expect(searchRecords(idx.records, 'archiver').length).toBe(3);
    expect(searchRecords(idx.records, 'sottile').map((r) => r.pkg)).toEqual(['age']);
  });
});

describe('references and challenges', () => {
  it('parses tags and digests', () => {
    expect(parseReference('ghcr.io/pkgforge/bincache/7z/official/7z:24.09-aarch64-linux')).toEqual({
      host: 'ghcr.io',
      name: 'pkgforge/bincache/7z/official/7z',
      tag: '24.09-aarch64-linux',
    });
    const d = `sha256:${'b'.repeat(64)}`;
    expect(parseReference(`127.0.0.1:5000/a/b@${d}`)).toEqual({
      host: '127.0.0.1:5000',
      name: 'a/b',
      digest: d,
    });
    expect(() => parseReference('pkgforge/7z:1')).toThrow(/registry host/);
    expect(() => parseReference('ghcr.io/A/b:1')).toThrow(/repository path/);
    expect(() => parseReference('ghcr.io/a/b@sha256:xyz')).toThrow(/digest/);
    expect(() => parseReference('ghcr.io/a/b')).toThrow(/neither a tag nor a digest/);
    expect(sanitizeTag('HEAD-abc+1~2-aarch64-linux')).toBe('HEAD-abc_1_2-aarch64-linux');
  });

  it('parses Bearer challenges', () => {
    expect(
      parseBearerChallenge(
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"',
      ),
    ).toEqual({ realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:a/b:pull' });
    expect(parseBearerChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseBearerChallenge(null)).toBeUndefined();
  });

  it('picks the linux/<arch> entry of an index, or a platform-less artifact', () => {
    const amd = {
      mediaType: 'm',
      digest: 'sha256:1',
      size: 1,
      platform: { os: 'linux', architecture: 'amd64' },
    };
    const arm = {
      mediaType: 'm',
      digest: 'sha256:2',
      size: 1,
      platform: { os: 'linux', architecture: 'arm64' },
    };
    expect(pickIndexEntry([amd, arm], 'aarch64')).toBe(arm);
    expect(pickIndexEntry([amd], 'aarch64')).toBeUndefined();
    const art = { mediaType: 'm', digest: 'sha256:3', size: 1, artifactType: 'x' };
    expect(pickIndexEntry([art], 'x86_64')).toBe(art);
  });
});
