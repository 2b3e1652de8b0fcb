import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecipe } from '../../src/recipe/parse.js';

// The CLI runs as a real process: node + tsx loading src/cli/main.ts, the same
// main() that bin/rebuild.js calls after a build.
const ROOT = join(import.meta.dirname, '..', '..');
const ENTRY =
  "import('./src/cli/main.ts').then(async (m) => { process.exitCode = await m.main(['node', 'rebuild', ...process.argv.slice(1)]); })";

async function rebuild(args: string[], cwd = ROOT) {
  const r = await execa('node', ['--import', 'tsx', '-e', ENTRY, ...args], {
    cwd,
    reject: false,
    env: { NODE_OPTIONS: '' },
    preferLocal: false,
    timeout: 120_000,
  });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

const REAL = 'test/recipe/fixtures/real';
const BAD = 'test/recipe/fixtures/bad';
const realNames = readdirSync(join(ROOT, REAL))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

const REQUIRED_KEYS = ['file', 'pkg', 'pkg_id', 'pkg_type', 'shell', 'hosts', 'mode', 'images'];

function jsonLines(stdout: string): Record<string, unknown>[] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('rebuild recipe (process)', () => {
  it('--json on the fixtures directory: one valid object per file, sorted, exit 0', async () => {
    const { code, stdout, stderr } = await rebuild(['recipe', '--json', REAL]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const objs = jsonLines(stdout);
    expect(objs.map((o) => o.file)).toEqual(realNames.map((f) => join(REAL, f)));
    for (const o of objs) {
      for (const k of REQUIRED_KEYS) expect(o, `${o.file} lacks ${k}`).toHaveProperty(k);
      expect(o).not.toHaveProperty('error');
      expect(Array.isArray(o.hosts) && Array.isArray(o.images)).toBe(true);
      expect(['docker-run', 'container', 'host']).toContain(o.mode);
    }
    const byName = (n: string) => objs.find((o) => o.file === join(REAL, n))!;
    expect(byName('ripgrep.packages.static.stable.yaml')).toMatchObject({
      pkg: 'ripgrep',
      pkg_id: 'burntsushi.ripgrep',
      pkg_type: 'static',
      shell: 'bash',
      mode: 'container',
      images: ['ghcr.io/pkgforge/devscripts/alpine-builder'],
      hosts: ['x86_64-Linux', 'aarch64-Linux'],
    });
    expect(byName('0ad.appimage.0ad-matters.stable.yaml')).toMatchObject({
      hosts: [],
      mode: 'host',
      images: [],
    });
  });

  it('keeps the order given, mixes valid and invalid lines, exit 3', async () => {
    const args = [
      join(REAL, 'age.static.official.source.v2.yaml'),
      join(BAD, 'bad-shell.yaml'),
      'does/not/exist.yaml',
      join(BAD, 'no-header.yaml'),
      join(REAL, 'ripgrep.static.glibc.source.yaml'),
      join(BAD, 'yaml-error.yaml'),
    ];
    const { code, stdout } = await rebuild(['recipe', ...args, '--json']);
    expect(code).toBe(3);
    const objs = jsonLines(stdout);
    expect(objs.map((o) => o.file)).toEqual(args);
    expect(objs[0]).toMatchObject({ pkg: 'age', mode: 'docker-run' });
    expect(objs[1]).toEqual({
      file: args[1],
      error: 'x_exec.shell: must be one of sh, bash, fish, nu, oils, zsh (got "python")',
      fix: `correct what the error names in ${args[1]}, then run \`rebuild recipe ${args[1]}\` again`,
    });
    expect(objs[2]).toEqual({
      file: 'does/not/exist.yaml',
      error: 'no such file or directory',
      fix: 'check the path does/not/exist.yaml',
    });
    for (const o of objs.filter((x) => 'error' in x)) expect(o.fix, String(o.file)).toBeTruthy();
    expect(objs[3]).toMatchObject({
      file: args[3],
      error: 'first line must be "#!/SBUILD" (got "_disabled: false")',
    });
    expect(objs[4]).toMatchObject({
      pkg: 'ripgrep',
      images: ['ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m)'],
    });
    expect(Object.keys(objs[5]!)).toEqual(['file', 'error', 'fix']);
    expect(objs[5]!.error).toMatch(/^invalid YAML: .*line \d+, column \d+/);
    expect(objs[5]!.fix).toMatch(/correct the YAML at that line/);
  });

  it('prints a human summary without --json', async () => {
    const { code, stdout } = await rebuild([
      'recipe',
      join(REAL, 'ripgrep.packages.static.stable.yaml'),
      join(BAD, 'bad-shell.yaml'),
    ]);
    expect(code).toBe(3);
    expect(stdout).toContain('pkg       ripgrep (burntsushi.ripgrep), static');
    expect(stdout).toContain('mode      container');
    expect(stdout).toContain('images    ghcr.io/pkgforge/devscripts/alpine-builder');
    expect(stdout).toContain('programs  rg');
    expect(stdout).toContain('inside the builder ghcr.io/pkgforge/devscripts/alpine-builder:<arch>');
    expect(stdout).toContain('invalid   x_exec.shell: must be one of');
    // every invalid recipe ends with what to do about it
    expect(stdout).toMatch(/\n {2}fix {7}\S/);
    expect(stdout.trimEnd().endsWith('2 recipe(s): 1 valid, 1 invalid')).toBe(true);
  });

  it('without arguments is a usage error', async () => {
    const { code, stderr } = await rebuild(['recipe']);
    expect(code).toBe(3);
    expect(stderr).toMatch(/missing required argument/);
  });
});

describe('rebuild recipe on a tree of ~3000 recipes', () => {
  let dir: string;
  const COPIES = 130;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rebuild-recipes-'));
    for (let i = 0; i < COPIES; i++) {
      const sub = join(dir, 'binaries', `p${String(i).padStart(3, '0')}`);
      mkdirSync(sub, { recursive: true });
      for (const f of realNames) cpSync(join(ROOT, REAL, f), join(sub, f));
    }
    // Invalid ones, a non-recipe file, and a hidden directory that must be skipped.
    cpSync(join(ROOT, BAD, 'bad-shell.yaml'), join(dir, 'binaries', 'p000', 'zz-bad.yaml'));
    cpSync(join(ROOT, BAD, 'no-header.yaml'), join(dir, 'binaries', 'p129', 'zz-bad.yml'));
    writeFileSync(join(dir, 'binaries', 'README.md'), '# not a recipe\n');
    mkdirSync(join(dir, '.github', 'workflows'), { recursive: true });
    writeFileSync(join(dir, '.github', 'workflows', 'ci.yaml'), 'on: push\n');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports every file correctly, in sorted order', async () => {
    const expected = new Map(
      realNames.map((f) => [f, parseRecipe(readFileSync(join(ROOT, REAL, f), 'utf8'), f)]),
    );
    const { code, stdout } = await rebuild(['recipe', '--json', dir]);
    expect(code).toBe(3);
    const objs = jsonLines(stdout);
    expect(objs).toHaveLength(COPIES * realNames.length + 2);
    const files = objs.map((o) => o.file as string);
    expect(files).toEqual([...files].sort());
    expect(files.some((f) => f.includes('.github'))).toBe(false);
    let invalid = 0;
    for (const o of objs) {
      const rel = relative(dir, o.file as string);
      const base = rel.split('/').pop()!;
      if (base.startsWith('zz-bad')) {
        invalid++;
        expect(o.error).toBeTypeOf('string');
        continue;
      }
      const want = expected.get(base)!;
      expect(o, rel).toMatchObject({
        pkg: want.pkg,
        pkg_id: want.pkgId,
        mode: want.mode,
        images: want.images,
        hosts: want.hosts,
        shell: want.shell,
      });
    }
    expect(invalid).toBe(2);
  }, 120_000);
});
