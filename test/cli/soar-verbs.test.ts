/**
 * `rebuild inspect` and `rebuild log [--diff]` as a user runs them (the
 * compiled CLI), against the real registry and a metadata server on loopback.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuild } from '../helpers/cli.js';
import {
  publishPackage,
  type RunningServer,
  startMetadataServer,
  startRegistry,
} from '../helpers/registry.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EX = join(ROOT, 'examples', 'hello-docker-run');
const PUB = join(EX, 'published', 'aarch64');

const PUBLISHED_LOG = [
  '[2025-01-22T09:51:37Z] starting build in /tmp/sbuild-8f3a2c1d/hello',
  'fetching sources',
  '[####################] 100%',
  'gcc -O2 -o hello hello.c',
  'strip hello',
  'took 12.5s',
  'done',
].join('\n');

let registry: RunningServer;
let meta: RunningServer;
let dir: string;
let upstream: string[];
let sbuildDigest: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-soar-verbs-'));
  env = { XDG_CACHE_HOME: join(dir, 'xdg'), XDG_CONFIG_HOME: join(dir, 'config') };
  registry = await startRegistry();
  await writeFile(join(dir, 'hello-rb.log'), `${PUBLISHED_LOG}\n`);
  const pub = await publishPackage(registry.url, {
    arch: 'aarch64',
    repo: 'bincache',
    pkg: 'hello-rb.static',
    pkgName: 'hello-rb',
    pkgFamily: 'hello-rb',
    pkgId: 'example.rebuild.hello-rb',
    version: 'HEAD-0123abc-250122T095137',
    buildDate: '2025-01-22T09:51:37Z',
    mainFile: 'hello-rb',
    files: [
      { name: 'hello-rb', path: join(PUB, 'hello-rb') },
      { name: 'SBUILD', path: join(EX, 'SBUILD') },
      { name: 'hello-rb.log', path: join(dir, 'hello-rb.log') },
    ],
  });
  sbuildDigest = pub.layers.find((l) => l.name === 'SBUILD')?.digest ?? '';
  meta = await startMetadataServer({ bincache: { aarch64: [pub.record] }, pkgcache: { aarch64: [] } });
  upstream = [
    '--arch',
    'aarch64',
    '--metadata-base',
    meta.url,
    '--registry-mirror',
    `ghcr.io=${registry.url}`,
  ];
}, 120_000);

afterAll(async () => {
  await meta?.stop();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('rebuild inspect', () => {
  it('prints the recipe of record byte for byte, its digest on stderr', async () => {
    const r = await rebuild(['inspect', 'hello-rb', ...upstream], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe((await readFile(join(EX, 'SBUILD'), 'utf8')).replace(/\n$/, ''));
    expect(r.stderr).toContain(sbuildDigest);
    const j = await rebuild(['inspect', 'hello-rb', '--json', ...upstream], { env });
    expect(j.exitCode).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.recipe.digest).toBe(sbuildDigest);
    expect(doc.recipe.name).toBe('SBUILD');
  }, 120_000);

  it('an unknown package: exit 3, a fix line, and a JSON error with --json', async () => {
    const r = await rebuild(['inspect', 'no-such-tool', '--json', ...upstream], { env });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/\n\s+fix: /);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.exitCode).toBe(3);
    expect(doc.error.fix).toBeTruthy();
  }, 120_000);
});

describe('rebuild log', () => {
  it('prints the published build log', async () => {
    const r = await rebuild(['log', 'hello-rb', ...upstream], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(PUBLISHED_LOG);
  }, 120_000);

  it('--diff aligns it with the rebuild log: noise folded, the real change marked', async () => {
    const out = join(dir, 'out');
    await mkdir(join(out, 'build'), { recursive: true });
    await writeFile(
      join(out, 'result.json'),
      JSON.stringify({ build: { log: 'build.log', outDir: '/gone' } }),
    );
    const rebuilt = [
      '[2026-12-01T03:00:00Z] starting build in /tmp/sbuild-00aa11bb/hello',
      'fetching sources',
      '[####################] 100%',
      'gcc -O2 -g -o hello hello.c',
      'strip hello',
      'took 3.1s',
      'done',
    ];
    await writeFile(join(out, 'build', 'build.log'), `${rebuilt.join('\n')}\n`);
    const r = await rebuild(['log', 'hello-rb', '--diff', join(out, 'result.json'), ...upstream], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('-gcc -O2 -o hello hello.c');
    expect(lines).toContain('+gcc -O2 -g -o hello hello.c');
    // timestamps, temporary paths and durations differ, but only as noise
    expect(lines.filter((l) => l.startsWith('~'))).toEqual([`~${rebuilt[0]}`, `~${rebuilt[5]}`]);
    expect(lines.filter((l) => /^[-+][^-+]/.test(l))).toHaveLength(2);
    expect(r.stdout).toMatch(
      /1 lines only in the published log, 1 only in the rebuild's; 2 differ only in noise/,
    );
  }, 120_000);

  it('--diff without a rebuild: exit 3 naming the missing result and the fix', async () => {
    const r = await rebuild(['log', 'hello-rb', '--diff', join(dir, 'nowhere', 'result.json'), ...upstream], {
      env,
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('nowhere/result.json');
    expect(r.stderr).toMatch(/fix: run `rebuild <pkg>/);
  }, 120_000);
});
