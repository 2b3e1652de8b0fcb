// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell and YAML text where ${VAR} is literal
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recipeEnv, renderScript, sbuildPkg } from '../../src/recipe/env.js';
import { MAX_RECIPE_BYTES, parseProvide, parseRecipe, pkgIdFromUrl } from '../../src/recipe/parse.js';
import type { Recipe } from '../../src/recipe/types.js';
import { RebuildError } from '../../src/util/errors.js';

const REAL = join(import.meta.dirname, 'fixtures', 'real');
const realFiles = readdirSync(REAL)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const load = (f: string): Recipe => parseRecipe(readFileSync(join(REAL, f), 'utf8'), f);

/** Parse and return the RebuildError message (fails the test if it parses). */
function errorOf(text: string, file = 'bad.yaml'): string {
  try {
    parseRecipe(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(RebuildError);
    const e = err as RebuildError;
    expect(e.category).toBe('input');
    expect(e.subject).toBe(file);
    return e.message;
  }
  throw new Error('expected the recipe to be rejected');
}

const MINIMAL = `#!/SBUILD
_disabled: false
pkg: "hello"
description: "Says hello"
src_url:
  - "https://example.org/hello"
x_exec:
  shell: "sh"
  run: |
    echo hello > "$SBUILD_OUTDIR/hello"
`;

describe('real recipes', () => {
  it('has a varied set of fixtures', () => {
    expect(realFiles.length).toBeGreaterThanOrEqual(20);
  });

  it.each(realFiles)('%s parses', (f) => {
    const r = load(f);
    expect(r.file).toBe(f);
    expect(r.pkg).not.toBe('');
    expect(r.run.length).toBeGreaterThan(0);
    expect(['docker-run', 'container', 'host']).toContain(r.mode);
    expect(r.programs.length).toBeGreaterThan(0);
    expect(r.raw).toBeTypeOf('object');
  });

  // Expected values read by hand from each recipe's text (see fixtures/SOURCES.md).
  const table: [string, Partial<Recipe>][] = [
    [
      'age.static.official.source.v1.yaml',
      {
        mode: 'docker-run',
        images: ['azathothas/alpine-builder:latest'],
        dialect: '2025',
        hosts: ['aarch64-Linux', 'x86_64-Linux'],
        programs: ['age', 'age-keygen'],
        headerVersion: 'v1.0.0',
        self: 'https://raw.githubusercontent.com/pkgforge/soarpkgs/refs/heads/main/binaries/age/static.official.source.yaml',
      },
    ],
    [
      'age.static.official.source.v2.yaml',
      {
        mode: 'docker-run',
        images: ['ghcr.io/pkgforge/devscripts/alpine-builder:latest'],
        license: [
          {
            id: 'BSD-3-Clause',
            url: 'https://github.com/FiloSottile/age/raw/482cf6fc9babd3ab06f6606762aac10447222201/LICENSE',
          },
        ],
      },
    ],
    [
      'ripgrep.static.glibc.source.yaml',
      {
        mode: 'docker-run',
        images: ['ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m)'],
        provides: [{ name: 'ripgrep', kind: 'symlink', target: 'rg', raw: 'ripgrep==rg' }],
        programs: ['ripgrep'],
      },
    ],
    [
      'ripgrep.binaries.static.stable.yaml',
      {
        mode: 'docker-run',
        images: ['ghcr.io/pkgforge/devscripts/alpine-builder:$(uname -m)'],
        shell: 'sh',
        pkgver: '15.1.0',
        hosts: ['x86_64-Linux', 'aarch64-Linux'],
      },
    ],
    [
      'ripgrep.packages.static.stable.yaml',
      {
        mode: 'container',
        dialect: '2026',
        container: 'ghcr.io/pkgforge/devscripts/alpine-builder',
        images: ['ghcr.io/pkgforge/devscripts/alpine-builder'],
        programs: ['rg'],
      },
    ],
    ['alacritty.static.ppkg.stable.yaml', { mode: 'docker-run', images: ['docker.io/alpine:edge'] }],
    [
      'nmap.archive.sharun.alpine.yaml',
      {
        mode: 'docker-run',
        images: ['alpine:edge'],
        pkgType: 'archive',
        description: 'Utilities for Network Discovery and Security Auditing',
        programs: ['ncat', 'nmap', 'nping'],
      },
    ],
    ['axel.static.official.stable.yaml', { mode: 'docker-run', hosts: [], arches: ['x86_64', 'aarch64'] }],
    [
      'b3sum.static.official.source.yaml',
      { mode: 'docker-run', images: ['ghcr.io/pkgforge/devscripts/alpine-builder:latest'] },
    ],
    ['bash.static.gnuguix.stable.yaml', { mode: 'host', images: [], disabled: true }],
    [
      'busybox.packages.static.stable.yaml',
      { mode: 'host', provides: [{ name: 'busybox', kind: 'symlink', target: '[', raw: 'busybox==[' }] },
    ],
    [
      'apk-static.static.official.source.yaml',
      {
        mode: 'host',
        provides: [{ name: 'apk-static', kind: 'alias', target: 'apk', raw: 'apk-static:apk' }],
      },
    ],
    [
      '7zip.packages.static.stable.yaml',
      {
        mode: 'host',
        pkgver: '26.00',
        provides: [{ name: '7zip', kind: 'rename', target: '7z', raw: '7zip=>7z' }],
      },
    ],
    [
      'age.packages.static.stable.yaml',
      {
        mode: 'host',
        dialect: '2026',
        programs: ['age', 'age-inspect', 'age-keygen', 'age-plugin-batchpass'],
        buildAssets: [
          {
            url: 'https://github.com/FiloSottile/age/releases/download/v${PKGVER}/age-v${PKGVER}-linux-${ARCH_ALT}.tar.gz',
            out: 'age.tar.gz',
          },
        ],
      },
    ],
    [
      '40four.packages.static.stable.yaml',
      { mode: 'host', pkgver: undefined, pkgId: 'github.com.umair9747.40four.source' },
    ],
    [
      '0ad.appimage.0ad-matters.stable.yaml',
      { mode: 'host', hosts: [], shell: 'bash', pkgType: 'appimage', pkg: '0ad' },
    ],
    ['86box.appimage.yaml', { mode: 'host', headerVersion: 'v0.4.5', pkgId: 'net._86box._86Box' }],
    [
      'aaaaxy.appimage.stable.yaml',
      {
        mode: 'host',
        disabled: false,
        license: [
          { id: 'Apache' },
          { id: 'Apache-2.0' },
          { id: 'BSD' },
          { id: 'FTL' },
          { id: 'MIT' },
          { id: 'OFL-1.1' },
        ],
      },
    ],
  ];

  it.each(table)('%s classifies as read by hand', (f, expected) => {
    const r = load(f);
    for (const [k, v] of Object.entries(expected)) expect(r[k as keyof Recipe], k).toEqual(v);
  });

  it('nmap keeps every per-program description', () => {
    expect(load('nmap.archive.sharun.alpine.yaml').descriptions).toEqual({
      _default: 'Utilities for Network Discovery and Security Auditing',
      ncat: 'Concatenate and redirect sockets [nmap]',
      nmap: 'Network exploration tool and security/port scanner [nmap]',
      nping: 'Network packet generation tool/ping utility [nmap]',
    });
  });

  it('keeps unknown keys in raw and lists them', () => {
    const r = load('ripgrep.packages.static.stable.yaml');
    expect(r.unknownKeys).toEqual([]);
    expect(r.raw.build_deps).toEqual(['docker']);
    const odd = parseRecipe(`${MINIMAL}my_key:\n  nested: 1\n`, 'odd.yaml');
    expect(odd.unknownKeys).toEqual(['my_key']);
    expect(odd.raw.my_key).toEqual({ nested: 1 });
  });
});

describe('lenient on what real recipes do', () => {
  const edit = (find: string, replace: string) => MINIMAL.replace(find, replace);

  it('accepts _disabled as a string', () => {
    expect(parseRecipe(edit('_disabled: false', '_disabled: "true"'), 'f').disabled).toBe(true);
    expect(parseRecipe(edit('_disabled: false', "_disabled: 'False'"), 'f').disabled).toBe(false);
  });

  it('stringifies numbers as written', () => {
    const r = parseRecipe(edit('pkg: "hello"', 'pkg: "hello"\npkgver: 1.10'), 'f');
    expect(r.pkgver).toBe('1.10');
    expect(parseRecipe(edit('pkg: "hello"', 'pkg: 2048'), 'f').pkg).toBe('2048');
  });

  it('accepts arch/os instead of host, and host in any case', () => {
    const r = parseRecipe(
      edit('  shell: "sh"', '  shell: "sh"\n  arch:\n    - "AARCH64"\n  os:\n    - "linux"'),
      'f',
    );
    expect(r.hosts).toEqual(['aarch64-Linux']);
    expect(r.arches).toEqual(['aarch64']);
    const h = parseRecipe(
      edit('  shell: "sh"', '  shell: "sh"\n  host: ["X86_64-LINUX", "riscv64-linux"]'),
      'f',
    );
    expect(h.hosts).toEqual(['x86_64-Linux', 'riscv64-Linux']);
    expect(h.arches).toEqual(['x86_64']);
  });

  it('derives pkg_id from the first src_url like the linter', () => {
    expect(parseRecipe(MINIMAL, 'f')).toMatchObject({ pkgId: 'example.org.hello', pkgIdDerived: true });
    expect(pkgIdFromUrl('https://github.com/a/b/?tab=x')).toBe('github.com.a.b');
  });

  it('reads the 2026 multi-package form', () => {
    const r = parseRecipe(
      edit(
        'x_exec:',
        'ghcr_pkg: "x/y"\npackages:\n  one:\n    provides: ["a", "@b"]\n  two:\n    provides: ["c"]\nx_exec:',
      ),
      'f',
    );
    expect(r.dialect).toBe('2026');
    expect(r.packages.map((p) => p.name)).toEqual(['one', 'two']);
    expect(r.programs).toEqual(['a', 'b', 'c']);
  });

  it('lets a 2026 container recipe omit run but not a 2025 one', () => {
    const noRun = MINIMAL.replace(/ {2}run: \|\n.*\n/, '');
    expect(errorOf(noRun)).toBe('x_exec.run: required field is missing');
    const r = parseRecipe(noRun.replace('  shell: "sh"', '  shell: "sh"\n  container: "alpine:edge"'), 'f');
    expect(r).toMatchObject({ mode: 'container', run: '', images: ['alpine:edge'] });
  });

  it('accepts a BOM, CRLF line ends and "#!/SBUILD" preceded by spaces', () => {
    const r = parseRecipe(`\ufeff  ${MINIMAL.replaceAll('\n', '\r\n')}`, 'f');
    expect(r.pkg).toBe('hello');
    expect(r.run).toContain('echo hello');
  });
});

describe('malformed recipes', () => {
  it('empty file', () => {
    expect(errorOf('')).toBe('file is empty');
    expect(errorOf('  \n\n')).toBe('file is empty');
  });

  it('missing #!/SBUILD', () => {
    expect(errorOf(MINIMAL.replace('#!/SBUILD\n', ''))).toBe(
      'first line must be "#!/SBUILD" (got "_disabled: false")',
    );
    expect(errorOf(MINIMAL.replace('#!/SBUILD', '#!/SBUILDX'))).toMatch(/^first line must be "#!\/SBUILD"/);
  });

  it('YAML syntax error names line and column', () => {
    const msg = errorOf(
      MINIMAL.replace('src_url:\n  - "https://example.org/hello"', 'src_url: [ "https://example.org/hello"'),
    );
    expect(msg).toMatch(/^invalid YAML: .*line \d+, column \d+/);
  });

  it('duplicate keys', () => {
    expect(errorOf(MINIMAL.replace('pkg: "hello"', 'pkg: "hello"\npkg: "again"'))).toMatch(
      /^invalid YAML: Map keys must be unique at line 4/,
    );
  });

  it('not a mapping', () => {
    expect(errorOf('#!/SBUILD\n- a\n- b\n')).toBe(
      'the YAML after "#!/SBUILD" must be a mapping of fields (got a list)',
    );
  });

  it('missing pkg', () => {
    expect(errorOf(MINIMAL.replace('pkg: "hello"\n', ''))).toBe('pkg: required field is missing');
  });

  it('bad pkg characters and empty pkg', () => {
    expect(errorOf(MINIMAL.replace('pkg: "hello"', 'pkg: "he llo"'))).toBe(
      'pkg: must only contain letters, digits, +, -, _ and .',
    );
    expect(errorOf(MINIMAL.replace('pkg: "hello"', 'pkg: ""'))).toBe('pkg: must not be empty');
  });

  it('bad shell', () => {
    expect(errorOf(MINIMAL.replace('shell: "sh"', 'shell: "python"'))).toBe(
      'x_exec.shell: must be one of sh, bash, fish, nu, oils, zsh (got "python")',
    );
  });

  it('x_exec missing run in the 2025 dialect', () => {
    expect(errorOf(MINIMAL.replace(/ {2}run: \|\n.*\n/, ''))).toBe('x_exec.run: required field is missing');
  });

  it('x_exec not a mapping', () => {
    expect(errorOf(MINIMAL.replace(/x_exec:[\s\S]*$/, 'x_exec: "bash build.sh"\n'))).toBe(
      'x_exec: must be a mapping with shell and run (got "bash build.sh")',
    );
  });

  it('non-list src_url', () => {
    expect(
      errorOf(
        MINIMAL.replace('src_url:\n  - "https://example.org/hello"', 'src_url: "https://example.org/hello"'),
      ),
    ).toBe('src_url: must be a list of URLs (got "https://example.org/hello")');
  });

  it('src_url that is not a URL', () => {
    expect(errorOf(MINIMAL.replace('https://example.org/hello', 'example.org/hello'))).toBe(
      'src_url: "example.org/hello" is not an http(s) or ftp URL',
    );
  });

  it('bad _disabled, pkg_type and host', () => {
    expect(errorOf(MINIMAL.replace('_disabled: false', '_disabled: maybe'))).toBe(
      '_disabled: must be true or false (got "maybe")',
    );
    expect(errorOf(MINIMAL.replace('_disabled: false\n', ''))).toBe('_disabled: required field is missing');
    expect(errorOf(MINIMAL.replace('pkg: "hello"', 'pkg: "hello"\npkg_type: "exe"'))).toMatch(
      /^pkg_type: must be one of appbundle, .* \(got "exe"\)$/,
    );
    expect(errorOf(MINIMAL.replace('  shell: "sh"', '  shell: "sh"\n  host: ["x86_64-windows"]'))).toMatch(
      /^x_exec\.host: "x86_64-windows" is not a supported <arch>-<os> pair/,
    );
  });

  it('bad description, licence and build_asset shapes', () => {
    expect(errorOf(MINIMAL.replace('description: "Says hello"', 'description: [a]'))).toMatch(
      /^description: must be a string or a mapping of program to description \(got a list\)$/,
    );
    expect(
      errorOf(MINIMAL.replace('pkg: "hello"', 'pkg: "hello"\nlicense:\n  - url: "https://x.org/L"')),
    ).toBe('license[0].id: must be a licence id string (got nothing)');
    expect(
      errorOf(MINIMAL.replace('pkg: "hello"', 'pkg: "hello"\nbuild_asset:\n  - url: "https://x.org/a"')),
    ).toBe('build_asset[0].out: required field is missing');
  });

  it('reports several problems at once', () => {
    const msg = errorOf('#!/SBUILD\n_disabled: false\nx_exec:\n  shell: "tcsh"\n  run: "x"\n');
    expect(msg).toContain('pkg: required field is missing');
    expect(msg).toContain('description: required field is missing');
    expect(msg).toContain('src_url: required field is missing');
    expect(msg).toContain('x_exec.shell: must be one of');
  });

  it('binary garbage', () => {
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 256;
    expect(errorOf(bytes.toString('utf8'))).toMatch(/^not a text file/);
    expect(errorOf(`#!/SBUILD\n\u0000\u0001ELF`)).toBe('not a text file (NUL byte at offset 10)');
  });

  it('a huge file is refused before parsing', () => {
    const huge = `${MINIMAL}#${'x'.repeat(MAX_RECIPE_BYTES)}\n`;
    expect(errorOf(huge)).toMatch(/^file is too large for a recipe \(4\.0 MiB; limit 4 MiB\)$/);
  });

  it('provides entries without a program name', () => {
    expect(errorOf(MINIMAL.replace('pkg: "hello"', 'pkg: "hello"\nprovides: ["@"]'))).toBe(
      'provides: "@" names no program',
    );
  });
});

describe('parseProvide', () => {
  it.each([
    ['age', { name: 'age', kind: 'plain' }],
    ['@age-keygen', { name: 'age-keygen', kind: 'extra' }],
    ['chaos:chaos-cli', { name: 'chaos', kind: 'alias', target: 'chaos-cli' }],
    ['busybox==whoami', { name: 'busybox', kind: 'symlink', target: 'whoami' }],
    ['ripgrep=>rg', { name: 'ripgrep', kind: 'rename', target: 'rg' }],
    ['test==[[', { name: 'test', kind: 'symlink', target: '[[' }],
    [' x ', { name: 'x', kind: 'plain' }],
  ])('%s', (entry, expected) => {
    expect(parseProvide(entry)).toMatchObject(expected);
  });
});

describe('environment and script', () => {
  const r = load('age.static.official.source.v2.yaml');

  it('gives every variable in lower and upper case', () => {
    const env = recipeEnv(r, {
      arch: 'aarch64',
      pkgver: 'HEAD-482cf6f-250101T000000',
      outdir: '/sbuild',
      tmpdir: '/sbuild/SBUILD_TEMP',
    });
    const expected: Record<string, string> = {
      pkg: 'age',
      pkg_id: 'github.com.FiloSottile.age',
      pkg_type: 'static',
      sbuild_pkg: 'age.static',
      sbuild_pkgver: 'HEAD-482cf6f-250101T000000',
      pkgver: 'HEAD-482cf6f-250101T000000',
      pkg_ver: 'HEAD-482cf6f-250101T000000',
      sbuild_outdir: '/sbuild',
      sbuild_tmpdir: '/sbuild/SBUILD_TEMP',
      arch: 'aarch64',
      arch_alt: 'arm64',
    };
    const want: Record<string, string> = {};
    for (const [k, v] of Object.entries(expected)) {
      want[k] = v;
      want[k.toUpperCase()] = v;
    }
    expect(env).toEqual(want);
    expect(recipeEnv(r, { arch: 'x86_64', pkgver: '1', outdir: '/o', tmpdir: '/t' }).ARCH_ALT).toBe('amd64');
  });

  it('strips whitespace from values except the directories, as pkgforge does', () => {
    const env = recipeEnv(r, {
      arch: 'x86_64',
      pkgver: ' 1.2 \n',
      outdir: '/out dir',
      tmpdir: '/out dir/SBUILD_TEMP',
    });
    expect(env.PKGVER).toBe('1.2');
    expect(env.SBUILD_OUTDIR).toBe('/out dir');
  });

  it('SBUILD_PKG is pkg alone without a pkg_type', () => {
    expect(sbuildPkg({ pkg: 'x' })).toBe('x');
    expect(
      recipeEnv(parseRecipe(MINIMAL, 'f'), { arch: 'x86_64', pkgver: '1', outdir: '/o', tmpdir: '/t' }),
    ).toMatchObject({
      PKG_TYPE: '',
      SBUILD_PKG: 'hello',
    });
  });

  it('renders the script like the builder', () => {
    expect(renderScript(parseRecipe(MINIMAL, 'f'))).toBe(
      '#!/usr/bin/env sh\nset -x\necho hello > "$SBUILD_OUTDIR/hello"\n',
    );
    expect(renderScript({ shell: 'bash', run: 'make' })).toBe('#!/usr/bin/env bash\nset -x\nmake\n');
    const script = renderScript(r);
    expect(script.startsWith('#!/usr/bin/env bash\nset -x\n#Build\n')).toBe(true);
    expect(script.endsWith('"${SBUILD_OUTDIR}"\n')).toBe(true);
  });
});
