import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixOneSlashUrl, matchPackage, parseIndex, searchRecords } from '../../src/upstream/records.js';
import { RebuildError } from '../../src/util/errors.js';

// Five real early-January-2025 bincache records, as published (see fixtures/README.md).
const raw = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'bincache-x86_64-2025-01-early.json'), 'utf8'),
) as Array<Record<string, unknown>>;
const index = parseIndex(raw, 'bincache', 'x86_64');

function thrown(fn: () => unknown): RebuildError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RebuildError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('real early-2025 records', () => {
  it('every value is a string, and none is rejected over a swapped ghcr_size_raw', () => {
    for (const r of raw)
      for (const v of Object.values(r)) expect(typeof v === 'string' || Array.isArray(v)).toBe(true);
    expect(raw[0]?.ghcr_size_raw).toBe('3.64 MB');
    expect(index.invalid).toEqual([]);
    expect(index.records).toHaveLength(5);
    const sz = index.records[0]?.warnings?.find((w) => w.field === 'ghcr_size_raw');
    expect(sz?.message).toMatch(/must be a decimal number \(got "3\.64 MB"\); ignored/);
  });

  it('reads one-slash https:/ URLs', () => {
    expect(fixOneSlashUrl('https:/api.ghcr.pkgforge.dev/x')).toBe('https://api.ghcr.pkgforge.dev/x');
    expect(fixOneSlashUrl('https://ok')).toBe('https://ok');
    expect(index.records[0]?.buildLog).toMatch(/^https:\/\/api\.ghcr\.pkgforge\.dev\//);
    expect(index.records[0]?.downloadUrl).toMatch(/^https:\/\/api\./);
    expect(index.records[0]?.raw.build_log).toMatch(/^https:\/api\./); // the record itself stays as published
  });

  it('knows there is no SBUILD of record when ghcr_files lists none', () => {
    for (const r of index.records) expect(r.hasRecipeOfRecord).toBe(false);
  });

  it('selects each program of a multi-program package by pkg_name; qualifiers work when pasted back', () => {
    for (const name of ['printf', 'catv', 'hpwd', 'issue'])
      expect(matchPackage(index, name).pkgName).toBe(name);
    const err = thrown(() => matchPackage(index, 'a-utils'));
    expect(err.message).toMatch(/matches 4 packages/);
    const quals = err.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[0]!);
    expect(new Set(quals).size).toBe(4);
    expect(quals.map((q) => matchPackage(index, q).pkgName).sort()).toEqual([
      'catv',
      'hpwd',
      'issue',
      'printf',
    ]);
    expect(thrown(() => matchPackage(index, 'a-utils.static')).message).toMatch(/matches 4/);
  });

  it('an exact pkg_name wins over a family match', () => {
    // rage and rage-keygen: one pkg, pkg_id and family, two programs
    const rage = raw.map((r) => ({ ...r })).slice(0, 2);
    const [a, b] = rage as [Record<string, unknown>, Record<string, unknown>];
    Object.assign(a, {
      pkg: 'rage.static',
      pkg_family: 'rage',
      pkg_id: 'github.com.str4d.rage',
      pkg_name: 'rage',
    });
    Object.assign(b, {
      pkg: 'rage.static',
      pkg_family: 'rage',
      pkg_id: 'github.com.str4d.rage',
      pkg_name: 'rage-keygen',
    });
    const idx = parseIndex(rage, 'bincache', 'x86_64');
    expect(matchPackage(idx, 'rage').pkgName).toBe('rage');
    expect(matchPackage(idx, 'rage-keygen').pkgName).toBe('rage-keygen');
    expect(matchPackage(idx, 'rage-keygen#github.com.str4d.rage#bincache').pkgName).toBe('rage-keygen');
    expect(thrown(() => matchPackage(idx, 'rage.static')).message).toMatch(/rage-keygen\s/);
  });

  it('search finds every program', () => {
    expect(
      searchRecords(index.records, 'a-utils')
        .map((r) => r.pkgName)
        .sort(),
    ).toEqual(['catv', 'hpwd', 'issue', 'printf']);
  });
});
