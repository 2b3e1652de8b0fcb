/**
 * `rebuild search` and `rebuild info` as real processes (node + tsx loading
 * src/cli/main.ts) against a metadata server and the real registry on loopback.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  publishPackage,
  type RunningServer,
  recordFor,
  startMetadataServer,
  startRegistry,
} from '../helpers/registry.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRY =
  "import('./src/cli/main.ts').then(async (m) => { process.exitCode = await m.main(['node', 'rebuild', ...process.argv.slice(1)]); })";
const EX = join(ROOT, 'examples', 'hello-docker-run');
const PUB = join(EX, 'published', 'aarch64');

let registry: RunningServer;
let meta: RunningServer;
let dir: string;
let sbuildDigest: string;
let upstream: string[];
let indexFile: string;

async function rebuild(args: string[]) {
  const r = await execa('node', ['--import', 'tsx', '-e', ENTRY, ...args], {
    cwd: ROOT,
    reject: false,
    env: { NODE_OPTIONS: '', XDG_CACHE_HOME: join(dir, 'xdg') },
    timeout: 120_000,
  });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-upstream-cli-'));
  registry = await startRegistry();
  const files = [
    { name: 'hello-rb', path: join(PUB, 'hello-rb') },
    { name: 'SBUILD', path: join(EX, 'SBUILD') },
    { name: 'hello-rb.version', path: join(PUB, 'hello-rb.version') },
    { name: 'CHECKSUM', path: join(PUB, 'CHECKSUM') },
  ];
  const base = {
    arch: 'aarch64' as const,
    pkgName: 'hello-rb',
    pkgFamily: 'hello-rb',
    buildDate: '2025-01-22T09:51:37Z',
    mainFile: 'hello-rb',
    files,
  };
  const bin = await publishPackage(registry.url, {
    ...base,
    repo: 'bincache',
    pkg: 'hello-rb.static',
    pkgId: 'example.rebuild.hello-rb',
    version: 'HEAD-0123abc-250122T095137',
  });
  sbuildDigest = bin.layers.find((l) => l.name === 'SBUILD')!.digest;
  const pkgcache = await recordFor({
    ...base,
    repo: 'pkgcache',
    pkg: 'hello-rb.appimage',
    pkgId: 'example.rebuild.hello-rb.appimage',
    version: '1.0',
  });
  const broken = await recordFor({
    ...base,
    repo: 'bincache',
    pkg: 'broken-tool',
    pkgName: 'broken-tool',
    pkgFamily: 'broken-tool',
    pkgId: 'example.broken',
    version: '2',
    overrides: { bsum: 'xyz' },
  });
  const server = await startMetadataServer({
    bincache: { aarch64: [bin.record, broken] },
    pkgcache: { aarch64: [pkgcache] },
  });
  meta = server;
  upstream = [
    '--arch',
    'aarch64',
    '--metadata-base',
    meta.url,
    '--registry-mirror',
    `ghcr.io=${registry.url}`,
  ];
  indexFile = join(dir, 'bincache-aarch64.json');
  await writeFile(indexFile, JSON.stringify([bin.record, broken]));
}, 60_000);

afterAll(async () => {
  await meta?.stop();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('rebuild search', () => {
  it('prints a table of matches from both repos', async () => {
    const r = await rebuild(['search', 'hello', ...upstream]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^PKG_NAME\s+PKG\s+PKG_ID\s+REPO\s+VERSION\s+BUILD DATE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'hello-rb hello-rb.appimage example.rebuild.hello-rb.appimage pkgcache',
      'hello-rb hello-rb.static example.rebuild.hello-rb bincache',
    ]);
    expect(r.stdout).toContain('HEAD-0123abc-250122T095137');
  });

  it('--json prints JSON Lines; --repo filters; invalid records are named on stderr', async () => {
    const r = await rebuild(['search', 'e', '--json', '--repo', 'bincache', ...upstream]);
    expect(r.code).toBe(0);
    const recs = r.stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs.map((x) => x.pkg)).toEqual(['hello-rb.static']);
    expect(recs[0]).toMatchObject({ repo: 'bincache', arch: 'aarch64', build_date: '2025-01-22T09:51:37Z' });
    expect(r.stderr).toContain('broken-tool (bincache): bsum: must be 64 hex digits (got "xyz")');
  });

  it('rejects a malformed mirror', async () => {
    const r = await rebuild(['search', 'x', '--registry-mirror', 'ghcr.io']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('--registry-mirror must be HOST=URL');
  });
});

describe('rebuild info', () => {
  it('shows version, source commit, recipe of record with its digest, checksums', async () => {
    const r = await rebuild(['info', 'hello-rb#bincache', ...upstream]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('hello-rb.static HEAD-0123abc-250122T095137 (bincache, aarch64)');
    expect(r.stdout).toMatch(/source commit\s+0123abc \(2025-01-22T09:51:37Z\)/);
    expect(r.stdout).toContain(`SBUILD ${sbuildDigest}`);
    expect(r.stdout).toContain('mutable branch URL');
    expect(r.stdout).toContain('(= shasum)');
  });

  it('--json carries the same facts', async () => {
    const r = await rebuild(['info', 'example.rebuild.hello-rb', '--json', ...upstream]);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.pkg).toBe('hello-rb.static');
    expect(v.source_commit).toEqual({ sha: '0123abc', date: '2025-01-22T09:51:37Z' });
    expect(v.recipe.artifact.sbuild.digest).toBe(sbuildDigest);
    expect(v.recipe.build_script_mutable).toBe(true);
    expect(v.recipe.artifact.main.digest).toBe(`sha256:${v.checksums.shasum}`);
    expect(v.files_of_record).toEqual(['CHECKSUM', 'SBUILD', 'hello-rb', 'hello-rb.version']);
  });

  it('several matches: exit 3 listing the qualifiers', async () => {
    const r = await rebuild(['info', 'hello-rb', ...upstream]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('"hello-rb" matches 2 packages');
    expect(r.stderr).toContain('hello-rb#bincache');
    expect(r.stderr).toContain('hello-rb#pkgcache');
    expect(r.stdout).toBe('');
    // each qualifier works when pasted back
    for (const q of ['hello-rb#bincache', 'hello-rb#pkgcache']) {
      const again = await rebuild(['info', q, '--json', '--no-registry', ...upstream]);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).repo).toBe(q.split('#')[1]);
    }
  });

  it('--json carries the post-processing of record: profile, source commit and exact commands', async () => {
    const r = await rebuild(['info', 'hello-rb#bincache', '--json', ...upstream]);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    // built 2025-01-22: bincache functions.sh of 2025-01-20 (92040f2), strip --strip-debug --strip-dwo --strip-unneeded
    expect(v.postprocess.profile).toBe('bincache-2025-01-20');
    expect(v.postprocess.source).toBe('pkgforge/bincache@92040f2:scripts/runner/functions.sh');
    expect(v.postprocess.commands).toContain('strip --strip-debug --strip-dwo --strip-unneeded "{}"');
    const pc = JSON.parse(
      (await rebuild(['info', 'hello-rb#pkgcache', '--json', '--no-registry', ...upstream])).stdout,
    );
    expect(pc.postprocess.profile).toBe('pkgcache-sbuild');
    expect(pc.postprocess.commands.join('\n')).not.toMatch(/\bstrip --/);
  });

  it('registry unreachable: shows what the metadata says, one note, exit 0', async () => {
    const r = await rebuild([
      'info',
      'hello-rb#bincache',
      '--arch',
      'aarch64',
      '--metadata-base',
      meta.url,
      '--registry-mirror',
      'ghcr.io=http://127.0.0.1:9',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('hello-rb.static HEAD-0123abc-250122T095137 (bincache, aarch64)');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^note: registry not reachable .*were not checked/);
  });

  it('a repository without an index for the arch is a note, not a failure', async () => {
    const only = await startMetadataServer({
      bincache: {
        aarch64: [
          await recordFor({
            arch: 'aarch64',
            repo: 'bincache',
            pkg: 'solo.static',
            pkgName: 'solo',
            pkgFamily: 'solo',
            pkgId: 'example.solo',
            version: '1',
            buildDate: '2025-05-01T00:00:00Z',
            mainFile: 'solo',
            files: [{ name: 'solo', path: join(PUB, 'hello-rb') }],
          }),
        ],
      },
    });
    try {
      const r = await rebuild([
        'info',
        'solo',
        '--arch',
        'aarch64',
        '--metadata-base',
        only.url,
        '--no-registry',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^note: pkgcache has no aarch64 index \(.*HTTP 404\)/);
      const s = await rebuild(['search', 'solo', '--arch', 'aarch64', '--metadata-base', only.url]);
      expect(s.code).toBe(0);
      expect(s.stdout).toContain('solo.static');
    } finally {
      await only.stop();
    }
  });

  it('an invalid record: exit 3 naming package and field', async () => {
    const r = await rebuild(['info', 'broken-tool', ...upstream]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('broken-tool: bsum: must be 64 hex digits (got "xyz")');
  });

  it('--metadata FILE with --no-registry works offline; unknown names get suggestions', async () => {
    const r = await rebuild([
      'info',
      'hello-rb.static',
      '--arch',
      'aarch64',
      '--metadata',
      indexFile,
      '--no-registry',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('registry not asked');
    const miss = await rebuild([
      'info',
      'hello',
      '--arch',
      'aarch64',
      '--metadata',
      indexFile,
      '--no-registry',
    ]);
    expect(miss.code).toBe(3);
    expect(miss.stderr).toContain('did you mean: hello-rb');
    const other = await rebuild(['info', 'hello-rb.static', '--arch', 'x86_64', '--metadata', indexFile]);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('no records for x86_64');
  });
});
