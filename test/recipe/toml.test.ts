import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRecipeCommand } from '../../src/cli/commands/recipe.js';
import { buildEnv, buildScript, loadBuildToml } from '../../src/recipe/toml/builds.js';
import { installFor, loadSoarPackage } from '../../src/recipe/toml/soarpkgs.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON Lines records are checked field by field
type Rec = Record<string, any>;
const FIX = join(import.meta.dirname, 'fixtures', 'toml');

function records(paths: string[]): { code: number; lines: Array<Rec> } {
  let out = '';
  const code = runRecipeCommand(paths, { json: true }, (c) => {
    out += c;
  });
  return {
    code,
    lines: out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  };
}

describe('pkg.toml dialect (soarpkgs)', () => {
  it('reads every fixture package with its version files, as JSON Lines', () => {
    const { code, lines } = records([join(FIX, 'soarpkgs')]);
    expect(code).toBe(0);
    expect(lines.map((l) => l.pkg)).toEqual([
      '12to11',
      '7zip',
      'android-tools',
      'blender',
      'bottom',
      'fnm',
      'nushell',
    ]);
    for (const l of lines) {
      expect(l.dialect).toBe('pkg.toml');
      expect(l.version_errors).toEqual([]);
      expect(l.unknown_keys).toEqual([]);
    }
    const nu = lines.find((l) => l.pkg === 'nushell')!;
    expect(nu.versions.map((v: Rec) => v.version)).toEqual(['0.114.1', '0.115.0']);
    expect(nu.pkgver).toBe('0.115.0');
    const v = nu.versions[1];
    expect(v.hosts['riscv64-linux'].origin).toBe('pkgforge/builds');
    expect(v.hosts['x86_64-linux'].origin).toBe('upstream');
    expect(v.hosts['x86_64-linux'].size).toBe(83521764);
    // a named host replaces the shared list for that host alone
    expect(v.hosts['riscv64-linux'].install).toEqual([
      { source: 'nu', to: 'bin/nu', alias: [] },
      { source: 'LICENSE', to: 'LICENSE', alias: [] },
    ]);
    expect(v.hosts['aarch64-linux'].install[1]).toEqual({
      source: 'nu-0.115.0-aarch64-unknown-linux-musl/nu',
      to: 'bin/nu',
      alias: [],
    });
  });

  it('expands the long install form: symlink_as beside `to`, `to` defaulting from `from`', () => {
    const z = loadSoarPackage(join(FIX, 'soarpkgs/packages/7zip/pkg.toml'));
    expect(installFor(z, 'x86_64-linux', '26.02')).toEqual([
      { source: 'License.txt', to: 'License.txt', alias: [] },
      { source: '7zz', to: 'bin/7zz', alias: ['bin/7z', 'bin/7za', 'bin/7zr'] },
    ]);
    const a = loadSoarPackage(join(FIX, 'soarpkgs/packages/android-tools/pkg.toml'));
    const m = installFor(a, 'x86_64-linux', a.versions[0]!.version);
    expect(m[0]!.source).toBe(''); // no `from`: the artifact itself
    expect(m[0]!.to).toBe('bin/adb');
  });

  it('reads a version file given by itself, with its pkg.toml', () => {
    const { code, lines } = records([join(FIX, 'soarpkgs/packages/nushell/nushell-0.114.1.toml')]);
    expect(code).toBe(0);
    expect(lines[0]!.versions.map((v: Rec) => v.version)).toEqual(['0.114.1']);
  });

  it('names the file, line and field of malformed input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebuild-toml-'));
    const pkg = join(dir, 'p');
    mkdirSync(pkg);
    writeFileSync(join(pkg, 'pkg.toml'), '[pkg]\nname = "p"\n[host]\nsupported = ["x86_64-linux"]\n');
    writeFileSync(
      join(pkg, 'p-1.toml'),
      'version = "1"\n[url]\nx86_64-linux = "https://x/p"\n[blake3]\nx86_64-linux = "zz"\n',
    );
    writeFileSync(join(pkg, 'p-2.toml'), 'version = "2"\n[url\n');
    const { code, lines } = records([join(pkg, 'pkg.toml'), join(pkg, 'p-1.toml'), join(pkg, 'p-2.toml')]);
    expect(code).toBe(3);
    expect(lines[0]!.version_errors).toHaveLength(2);
    expect(lines[1]!.error).toMatch(/blake3\.x86_64-linux must be 64 lowercase hex digits/);
    expect(lines[2]!.error).toMatch(/not valid TOML at line 2/);
    writeFileSync(join(pkg, 'pkg.toml'), '[host]\nsupported = []\n');
    expect(records([join(pkg, 'pkg.toml')]).lines[0]!.error).toMatch(/pkg is missing/);
  });
});

describe('build.toml dialect (pkgforge/builds)', () => {
  it('reads every fixture build.toml', () => {
    const { code, lines } = records([join(FIX, 'builds')]);
    expect(code).toBe(0);
    expect(lines.map((l) => [l.pkg, l.dialect])).toEqual([
      ['alist', 'build.toml'],
      ['amdgpu_top', 'build.toml'],
      ['b3sum', 'build.toml'],
      ['nushell', 'build.toml'],
    ]);
    const b3 = lines.find((l) => l.pkg === 'b3sum')!;
    expect(b3.image_digest).toBe('sha256:b4b54b176a74db7e5c68fdfe6029be39a02ccbcfe72b6e5a3e18e2c61b57ae26');
    expect(b3.archives['aarch64-linux']).toBe('b3sum-1.8.6-aarch64-linux.tar.gz');
    expect(b3.script.startsWith('apk add --no-cache musl-dev\nrustup target add "$TARGET"\n')).toBe(true);
  });

  it('sets the environment build.py sets, [build.env] last', () => {
    const r = loadBuildToml(join(FIX, 'builds/packages/b3sum/build.toml'));
    expect(buildEnv(r, 'aarch64-linux', 1700000000)).toEqual({
      TARGET: 'aarch64-unknown-linux-musl',
      SOURCE_DATE_EPOCH: '1700000000',
      LC_ALL: 'C',
      TZ: 'UTC',
      CARGO_HOME: '/build/.cargo',
      RUSTFLAGS: '-C target-feature=+crt-static -C link-self-contained=yes',
    });
    const a = loadBuildToml(join(FIX, 'builds/packages/amdgpu_top/build.toml'));
    expect(a.source).toMatchObject({ kind: 'url', epoch: 1735689600 });
    expect(buildScript(a).split('\n').slice(0, 3)).toEqual([
      'export DEBIAN_FRONTEND=noninteractive',
      'apt-get update -qq',
      'apt-get install -y --no-install-recommends libdrm2 binutils patchelf ca-certificates curl',
    ]);
    expect(buildEnv(a, 'x86_64-linux', 0).PATH).toMatch(/^\/tools:/);
  });

  it('refuses what cannot be rebuilt faithfully or escapes the tree, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebuild-btoml-'));
    const base = (over: string) =>
      `[pkg]\nname = "x"\n[source]\ngit = "g"\ncommit = "${'a'.repeat(40)}"\nversion = "1"\n[build]\nimage = "i@sha256:${'b'.repeat(64)}"\nhosts = ["x86_64-linux"]\n[build.target]\nx86_64-linux = "t"\n[build.script]\nrun = "true"\n${over}`;
    const cases: Array<[string, RegExp]> = [
      ['[artifact]\n"../x" = "x"\n', /must be a relative path inside the source tree/],
      ['[artifact]\n"x" = "bin/x"\n', /must be a plain file name/],
      ['', /artifact is missing/],
      [
        `[artifact]\n"x" = "x"\n[[extra]]\nurl = "u"\nsha256 = "${'c'.repeat(64)}"\nto = "new/dir/x"\n`,
        /extra\[0\]\.to "new\/dir\/x" is below a directory: .*build\.py fails to stage a nested one/,
      ],
      [
        `[artifact]\n"x" = "x"\n[[extra]]\nurl = "u"\nsha256 = "${'c'.repeat(64)}"\nto = "../x"\n`,
        /must be a relative path inside the tree/,
      ],
    ];
    for (const [over, msg] of cases) {
      const f = join(dir, 'build.toml');
      writeFileSync(f, base(over));
      expect(records([f]).lines[0]!.error).toMatch(msg);
    }
    const f = join(dir, 'build.toml');
    // pathlib's `stage / "./LICENSE"` is `stage/LICENSE`, archived as `LICENSE`.
    writeFileSync(
      f,
      base(`[artifact]\n"x" = "x"\n[[extra]]\nurl = "u"\nsha256 = "${'c'.repeat(64)}"\nto = "./LICENSE"\n`),
    );
    expect(loadBuildToml(f).extra[0]!.to).toBe('LICENSE');
    writeFileSync(f, base('[artifact]\n"x" = "x"\n').replace('a'.repeat(40), 'main'));
    expect(records([f]).lines[0]!.error).toMatch(/source\.commit "main" must be a full 40-hex-digit commit/);
  });
});
