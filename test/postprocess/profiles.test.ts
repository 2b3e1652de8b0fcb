import { describe, expect, it } from 'vitest';
import {
  type EntryFacts,
  PROFILES,
  planPostProcessing,
  profileById,
  requestForRecord,
  resolvePostProcessRequest,
  rewriteDesktopExec,
  selectProfile,
  UNSTRIPPED_DIR,
} from '../../src/postprocess/index.js';
import { RebuildError } from '../../src/util/errors.js';

const profile = (id: string) => {
  const p = profileById(id);
  if (!p) throw new Error(`no profile ${id}`);
  return p;
};

describe('profiles of record', () => {
  it('every profile names its source commit, and bincache ranges tile 2025 without gaps', () => {
    for (const p of PROFILES) {
      expect(p.source.repo).toMatch(/^pkgforge\//);
      expect(p.source.commit).toMatch(/^[0-9a-f]{7,40}$|^main$/);
    }
    const b = PROFILES.filter((p) => p.repository === 'bincache');
    for (let i = 1; i < b.length; i++) expect(b[i]?.from).toBe(b[i - 1]?.until);
  });

  it('records re-dated into each CI period get the right profile and commands', () => {
    const cases: Array<[string, string, string[]]> = [
      ['2025-01-15T00:00:00Z', 'bincache-2025-01-10', ['--strip-debug', '--strip-dwo', '--strip-unneeded']],
      ['2025-01-22T19:06:33Z', 'bincache-2025-01-20', ['--strip-unneeded']],
      ['2025-03-10T00:00:00Z', 'bincache-2025-03-05', ['--strip-unneeded', 'Exec={{pkg_path}}']],
      ['2025-04-01T00:00:00Z', 'bincache-2025-03-20', ['--strip-unneeded', '-size 0 -delete']],
      ['2025-05-01T00:00:00Z', 'bincache-2025-04-10', ['strip --strip-all --verbose']],
      ['2025-08-01T00:00:00Z', 'bincache-2025-06-25', ['-size 0 -delete']],
    ];
    for (const [date, id, fragments] of cases) {
      const c = selectProfile('bincache', date);
      expect(c?.profile.id, date).toBe(id);
      expect(c?.candidates).toEqual([c?.profile]);
      const text = c?.profile.commands.join('\n') ?? '';
      for (const f of fragments) expect(text, `${id}: ${f}`).toContain(f);
    }
    // after the quoting error nothing strips and nothing is renamed
    const broken = profile('bincache-2025-06-25');
    expect(broken.executablePasses).toEqual([]);
    expect(broken.renameNoStrip).toBe(false);
    expect(broken.commands.join('\n')).not.toMatch(/strip|objcopy/);
    expect(broken.notes.join(' ')).toContain('syntax error');
    expect(profile('bincache-2025-04-10').executablePasses).toEqual([
      'remove-comment-and-notes',
      'strip-all',
    ]);
    expect(profile('bincache-2025-01-10').executablePasses).toEqual([
      'remove-comment-and-notes',
      'strip-debug-dwo-unneeded',
    ]);
  });

  it('near a boundary or without a date every plausible profile is a candidate', () => {
    const near = selectProfile('bincache', '2025-04-10T10:00:00Z');
    expect(near?.profile.id).toBe('bincache-2025-04-10');
    expect(near?.candidates.map((p) => p.id)).toEqual(['bincache-2025-04-10', 'bincache-2025-03-20']);
    expect(near?.reason).toMatch(/within a day of a boundary/);
    const none = selectProfile('bincache', undefined);
    expect(none?.candidates).toHaveLength(PROFILES.filter((p) => p.repository === 'bincache').length);
    expect(selectProfile('bincache', 'not a date')?.reason).toContain('"not a date"');
    expect(requestForRecord('bincache', '2025-04-10T10:00:00Z')).toMatchObject({
      profile: 'bincache-2025-04-10',
      alternatives: ['bincache-2025-03-20'],
    });
  });

  it('pkgcache never stripped; soarpkgs 2026 sbuild and the TOML era run no strip', () => {
    const pc = selectProfile('pkgcache', '2025-03-01T00:00:00Z');
    expect(pc?.profile.id).toBe('pkgcache-sbuild');
    expect(pc?.profile.executablePasses).toEqual([]);
    expect(pc?.profile.renameNoStrip).toBe(true);
    expect(pc?.profile.appimageRepack).toBe(true);
    expect(profile('soarpkgs-sbuild').commands.join(' ')).not.toMatch(/\bstrip\b|objcopy/);
    expect(profile('builds-toml').commands).toEqual([]);
  });

  it('--postprocess takes a profile id or none, and names the choices otherwise', () => {
    expect(resolvePostProcessRequest({ profile: 'none', reason: 'r' }).profile).toBeUndefined();
    const err = (() => {
      try {
        resolvePostProcessRequest({ profile: 'nope' as 'none', reason: 'r' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RebuildError);
    expect((err as RebuildError).fix).toContain('bincache-2025-04-10');
  });
});

describe('planPostProcessing (pure)', () => {
  const elf = { class: 64 as const, endian: 'little' as const, machine: 183 };
  const entries: EntryFacts[] = [
    { name: 'tool', kind: 'file', size: 9, elf: { ...elf, type: 3 }, mime: 'x-pie-executable' },
    { name: 'tool-static', kind: 'file', size: 9, elf: { ...elf, type: 2 }, mime: 'x-executable' },
    { name: 'libfoo.so', kind: 'file', size: 9, elf: { ...elf, type: 3 }, mime: 'x-sharedlib' },
    { name: 'lib.o', kind: 'file', size: 9, elf: { ...elf, type: 1 }, mime: 'x-object' },
    { name: 'helper.no_strip', kind: 'file', size: 9, elf: { ...elf, type: 2 }, mime: 'x-executable' },
    { name: 'bundle.archive', kind: 'file', size: 9, elf: { ...elf, type: 2 }, mime: 'x-executable' },
    { name: 'notes.no_strip', kind: 'file', size: 9 },
    { name: 'empty', kind: 'file', size: 0 },
    { name: 'app.DESKTOP', kind: 'file', size: 30 },
    { name: 'README', kind: 'file', size: 5 },
    { name: 'share', kind: 'directory' },
    { name: 'link', kind: 'symlink' },
    { name: UNSTRIPPED_DIR, kind: 'directory' },
  ];
  const plan = (id: string) =>
    Object.fromEntries(planPostProcessing(entries, profile(id)).files.map((f) => [f.name, f]));

  it('strips executables whatever pkg_type, never shared libraries, renames only executables', () => {
    const by = plan('bincache-2025-04-10');
    expect(by.tool?.action).toBe('process');
    expect(by['tool-static']?.action).toBe('process');
    expect(by['libfoo.so']).toMatchObject({ action: 'skip' });
    expect(by['libfoo.so']?.reason).toContain('x-sharedlib');
    expect(by['lib.o']?.action).toBe('skip');
    expect(by['helper.no_strip']).toMatchObject({ action: 'rename', renameTo: 'helper' });
    expect(by['bundle.archive']).toMatchObject({ action: 'rename', renameTo: 'bundle' });
    expect(by['bundle.archive']?.reason).toContain('not stripped');
    expect(by['notes.no_strip']?.action).toBe('skip'); // not an executable: the CI's loop never saw it
    expect(by.empty?.action).toBe('delete');
    expect(by['app.DESKTOP']?.action).toBe('rewrite');
    expect(by.README).toMatchObject({ action: 'skip', reason: 'not an ELF file' });
    expect(by.link?.reason).toContain('symlink');
    expect(by[UNSTRIPPED_DIR]).toBeUndefined();
  });

  it('follows each period: no .archive rename, desktop rewrite or deletion in January 2025; nothing after June', () => {
    const jan = plan('bincache-2025-01-10');
    expect(jan['bundle.archive']?.action).toBe('process');
    expect(jan.empty?.action).toBe('skip');
    expect(jan['app.DESKTOP']?.action).toBe('skip');
    const late = plan('bincache-2025-06-25');
    expect(late.tool?.action).toBe('skip');
    expect(late['helper.no_strip']?.action).toBe('skip');
    expect(late.empty?.action).toBe('delete');
    const pkgcache = plan('pkgcache-sbuild');
    expect(pkgcache.tool?.action).toBe('skip');
    expect(pkgcache['helper.no_strip']?.action).toBe('rename');
    expect(pkgcache['bundle.archive']?.action).toBe('skip');
  });

  it('rewrites Exec= like the CI sed, line by line', () => {
    expect(
      rewriteDesktopExec('[Desktop Entry]\n  exec = /usr/bin/app --flag %U\nExecStart=x\nTryExec=app\n'),
    ).toBe('[Desktop Entry]\nExec={{pkg_path}} --flag %U\nExecStart=x\nTryExec=app\n');
  });
});
