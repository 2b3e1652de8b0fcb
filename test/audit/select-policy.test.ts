/** Selection (list files, globs, index filters, matching) and the pure policies (skip, retry, deadline). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, decideSkip, parseDeadline, recordKey, retryDelay } from '../../src/audit/policy.js';
import {
  filterRecords,
  globToRegExp,
  parsePackagesList,
  selectFromIndex,
  selectFromList,
} from '../../src/audit/select.js';
import type { StoredResult } from '../../src/audit/types.js';
import type { ParsedIndex } from '../../src/upstream/records.js';
import { RebuildError } from '../../src/util/errors.js';
import { record } from './fixtures.js';

describe('packages list', () => {
  it('one name per line, # comments (a qualifier # stays), blank lines, duplicates dropped', () => {
    const text = [
      '# nightly list',
      'hello-rb',
      '',
      '  tally   # the 2026 dialect',
      'age#bincache',
      'example.invalid.rebuild.lc\r',
      'hello-rb',
      '\t# indented comment',
    ].join('\n');
    expect(parsePackagesList(text, 'p.txt')).toEqual([
      { query: 'hello-rb', line: 2 },
      { query: 'tally', line: 4 },
      { query: 'age#bincache', line: 5 },
      { query: 'example.invalid.rebuild.lc', line: 6 },
    ]);
  });

  it('two names on a line, or no names at all, are input errors naming the file and line', () => {
    expect(() => parsePackagesList('a\nb c\n', 'p.txt')).toThrow(/line 2: "b c"/);
    const err = (() => {
      try {
        parsePackagesList('# nothing\n\n', 'empty.txt');
      } catch (e) {
        return e as RebuildError;
      }
    })();
    expect(err).toBeInstanceOf(RebuildError);
    expect(err?.category).toBe('input');
    expect(err?.subject).toBe('empty.txt');
  });
});

describe('index filters', () => {
  const recs = [
    record('hello-rb'),
    record('tally', { pkgType: 'dynamic' }),
    record('lc', { repo: 'pkgcache' }),
    record('7z', { pkgId: 'github.com.ip7z.7zip' }),
  ];

  it('globs match whole names, case-insensitively; regex characters are literal', () => {
    expect(globToRegExp('h*').test('hello-rb')).toBe(true);
    expect(globToRegExp('h*').test('ah')).toBe(false);
    expect(globToRegExp('?c').test('lc')).toBe(true);
    expect(globToRegExp('[lt]*').test('tally')).toBe(true);
    expect(globToRegExp('[!lt]*').test('tally')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('HELLO*').test('hello-rb')).toBe(true);
  });

  it('repo, type and name (pkg, pkg_name or pkg_id) filter; --limit applies per arch', () => {
    expect(filterRecords(recs, { repos: ['pkgcache'] }).map((r) => r.pkg)).toEqual(['lc']);
    expect(filterRecords(recs, { types: ['DYNAMIC'] }).map((r) => r.pkg)).toEqual(['tally']);
    expect(filterRecords(recs, { name: 'github.com.*' }).map((r) => r.pkg)).toEqual(['7z']);
    const byArch = new Map([
      ['x86_64', recs],
      ['aarch64', recs.map((r) => ({ ...r, arch: 'aarch64' as const }))],
    ] as const);
    const sel = selectFromIndex(byArch, {}, 2);
    expect(sel.units.map((u) => u.key)).toEqual([
      'bincache/example.invalid.hello-rb/hello-rb@x86_64',
      'bincache/example.invalid.tally/tally@x86_64',
      'bincache/example.invalid.hello-rb/hello-rb@aarch64',
      'bincache/example.invalid.tally/tally@aarch64',
    ]);
  });

  it('list entries match as `rebuild <pkg>` does; ambiguous and unknown names are reported, not verified', () => {
    const x86: ParsedIndex = {
      records: [record('hello-rb'), record('age'), record('age', { repo: 'pkgcache', pkgId: 'other.age' })],
      invalid: [],
    };
    const arm: ParsedIndex = { records: [record('hello-rb', { arch: 'aarch64' })], invalid: [] };
    const byArch = new Map([
      ['x86_64', x86],
      ['aarch64', arm],
    ] as const);
    const sel = selectFromList(
      [
        { query: 'hello-rb', line: 1 },
        { query: 'age', line: 2 },
        { query: 'age#pkgcache', line: 3 },
        { query: 'nope', line: 4 },
      ],
      byArch,
      'list.txt',
    );
    expect(sel.units.map((u) => u.key)).toEqual([
      'bincache/example.invalid.hello-rb/hello-rb@x86_64',
      'bincache/example.invalid.hello-rb/hello-rb@aarch64',
      'pkgcache/other.age/age@x86_64',
    ]);
    expect(sel.unresolved.map((u) => u.detail)).toEqual([
      expect.stringMatching(/list\.txt line 2: x86_64: "age" matches 2 packages/),
      expect.stringMatching(/list\.txt line 4: nope is not in the metadata index for x86_64, aarch64/),
    ]);
  });
});

describe('policies', () => {
  const rec = record('a');
  const prev = (over: Partial<StoredResult>): StoredResult =>
    ({
      id: 1,
      auditId: 3,
      version: rec.version,
      recordKey: recordKey(rec),
      verdict: 'reproducible',
      imageTag: 'rebuild/debian-builder:x86_64',
      imageId: 'sha256:1',
      ...over,
    }) as StoredResult;
  const env = { imageId: () => 'sha256:1' };

  it('skips only the same published file with the same builder image', () => {
    expect(decideSkip(rec, undefined, env)).toEqual({ skip: false, reason: 'never verified' });
    expect(decideSkip(rec, prev({}), env)).toEqual({
      skip: true,
      reason: 'unchanged since audit #3: reproducible',
    });
    expect(decideSkip(rec, prev({}), env, { recheck: true }).skip).toBe(false);
    expect(decideSkip({ ...rec, version: '2' }, prev({}), env).reason).toBe('new version 2 (was 1.0.0)');
    expect(decideSkip({ ...rec, bsum: 'f'.repeat(64) }, prev({}), env).reason).toMatch(/republished/);
    expect(decideSkip(rec, prev({}), { imageId: () => 'sha256:2' }).reason).toMatch(/changed/);
    expect(decideSkip(rec, prev({}), { imageId: () => undefined }).reason).toMatch(/no longer here/);
    expect(decideSkip(rec, prev({ verdict: 'build-failed' }), env).skip).toBe(true);
    expect(decideSkip(rec, prev({ verdict: 'build-failed' }), env, { retryFailed: true }).skip).toBe(false);
  });

  it('retries: failures with doubling backoff, mismatches only to confirm bad news, never the settled', () => {
    const p = { ...DEFAULT_RETRY, retries: 2, backoffMs: 100 };
    expect(retryDelay('build-failed', 1, p, 'now-fails')).toBe(100);
    expect(retryDelay('build-failed', 2, p, 'now-fails')).toBe(200);
    expect(retryDelay('build-failed', 3, p, 'now-fails')).toBeUndefined();
    expect(retryDelay('error', 1, p, 'now-fails')).toBe(100);
    expect(retryDelay('different', 1, p, 'regression')).toBe(0);
    expect(retryDelay('different', 2, p, 'regression')).toBeUndefined();
    expect(retryDelay('different', 1, p, 'unchanged')).toBeUndefined();
    expect(retryDelay('reproducible', 1, p, 'first')).toBeUndefined();
    expect(retryDelay('upstream-integrity', 1, p, 'upstream-integrity')).toBeUndefined();
  });

  it('deadlines: time of day (the next one), durations, ISO times; nonsense is undefined', () => {
    const now = new Date(2026, 0, 1, 23, 0, 0);
    expect(parseDeadline('06:30', now)).toEqual(new Date(2026, 0, 2, 6, 30, 0));
    expect(parseDeadline('23:30', now)).toEqual(new Date(2026, 0, 1, 23, 30, 0));
    expect(parseDeadline('90m', now)?.getTime()).toBe(now.getTime() + 90 * 60_000);
    expect(parseDeadline('1h30m', now)?.getTime()).toBe(now.getTime() + 90 * 60_000);
    expect(parseDeadline('45s', now)?.getTime()).toBe(now.getTime() + 45_000);
    expect(parseDeadline('2026-01-02T06:00:00Z', now)?.toISOString()).toBe('2026-01-02T06:00:00.000Z');
    for (const bad of ['', 'soon', '25:00', '5x', '12:61']) expect(parseDeadline(bad, now)).toBeUndefined();
  });
});

describe('examples/audit', () => {
  it('the sample packages list parses and names the three examples', async () => {
    const { readFile } = await import('node:fs/promises');
    const file = new URL('../../examples/audit/packages.txt', import.meta.url);
    const entries = parsePackagesList(await readFile(file, 'utf8'), 'packages.txt');
    expect(entries.map((e) => e.query)).toEqual(['hello-rb', 'tally', 'example.invalid.rebuild.lc']);
  });

  it('the crontab line and the systemd service use only options `rebuild audit` has', async () => {
    const { readFile } = await import('node:fs/promises');
    const { rebuild } = await import('../helpers/cli.js');
    const help = (await rebuild(['audit', '--help'])).stdout;
    for (const name of ['crontab', 'rebuild-audit.service']) {
      const text = await readFile(new URL(`../../examples/audit/${name}`, import.meta.url), 'utf8');
      const line = text.split('\n').find((l) => !l.startsWith('#') && l.includes('rebuild audit'));
      expect(line, name).toBeDefined();
      const flags = [...line!.matchAll(/\s(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
      expect(flags.length, name).toBeGreaterThanOrEqual(4);
      for (const f of flags) expect(help, `${name}: ${f}`).toContain(`${f} `);
    }
  });

  it('the farm units and compose file use only options the commands have', async () => {
    const { readFile } = await import('node:fs/promises');
    const { rebuild } = await import('../helpers/cli.js');
    const help = {
      'rebuild audit': (await rebuild(['audit', '--help'])).stdout,
      'rebuild worker': (await rebuild(['worker', '--help'])).stdout,
    };
    for (const [name, cmd] of [
      ['rebuild-audit-coordinator.service', 'rebuild audit'],
      ['rebuild-worker@.service', 'rebuild worker'],
    ] as const) {
      const text = await readFile(new URL(`../../examples/audit/${name}`, import.meta.url), 'utf8');
      const line = text.split('\n').find((l) => l.startsWith('ExecStart=') && l.includes(cmd));
      expect(line, name).toBeDefined();
      for (const m of line!.matchAll(/\s(--[a-z][a-z-]*)/g))
        expect(help[cmd], `${name}: ${m[1]}`).toContain(`${m[1]} `);
    }
    const compose = await readFile(new URL('../../examples/audit/compose.yaml', import.meta.url), 'utf8');
    for (const m of compose.matchAll(/"(--[a-z][a-z-]*)"/g))
      expect(help['rebuild worker']).toContain(`${m[1]} `);
    expect(compose).not.toMatch(/postgresql:\/\/[^@"\s]*:[^@"\s]*@postgres/); // no password in a worker's command line
  });

  it('the shipped cron and systemd files avoid the known traps', async () => {
    const { readFile } = await import('node:fs/promises');
    const read = (n: string) => readFile(new URL(`../../examples/audit/${n}`, import.meta.url), 'utf8');
    const body = (t: string) => t.split('\n').filter((l) => !l.startsWith('#'));
    const user = body(await read('rebuild-audit.service'));
    // a user unit cannot order itself after system units
    expect(user.filter((l) => /^(After|Wants|Requires)=/.test(l))).toEqual([]);
    // a stop (exit 130, interrupted) does not mark the unit failed
    for (const n of [
      'rebuild-audit.service',
      'rebuild-audit-coordinator.service',
      'rebuild-worker@.service',
    ]) {
      expect(body(await read(n)), n).toContain('SuccessExitStatus=130');
    }
    // Persistent=true catches up at boot: the deadline must be a duration from the start, not a time of day
    for (const n of ['crontab', 'rebuild-audit.service', 'rebuild-audit-coordinator.service']) {
      const line = body(await read(n)).find((l) => l.includes('--deadline'))!;
      expect(line, n).toMatch(/--deadline \d+h/);
    }
    // cron's PATH has no npm-installed binaries
    expect(body(await read('crontab')).some((l) => /^PATH=.*\/usr\/local\/bin/.test(l))).toBe(true);
  });
});
